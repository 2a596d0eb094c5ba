// A network needs at least one layer.
mlp::mlp! {
    pub struct Net { input: 2, layers: [] }
}
fn main() {}
