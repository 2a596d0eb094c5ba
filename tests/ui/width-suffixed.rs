// Widths are unsuffixed integers.
mlp::mlp! {
    pub struct Net { input: 2u8, layers: [8 tanh, 1 identity] }
}
fn main() {}
