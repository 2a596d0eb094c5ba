// Widths are integer literals, not constant expressions.
mlp::mlp! {
    pub struct Net { input: 2 + 2, layers: [1 identity] }
}
fn main() {}
