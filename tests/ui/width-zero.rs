// A layer of width zero is rejected at the width.
mlp::mlp! {
    pub struct Net { input: 2, layers: [0 tanh, 1 identity] }
}
fn main() {}
