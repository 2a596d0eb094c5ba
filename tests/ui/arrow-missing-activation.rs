// In the arrow form too, every layer names its activation.
mlp::mlp! {
    pub struct Net = 2 -> 8 -> 1 identity;
}
fn main() {}
