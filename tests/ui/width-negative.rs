// A negative width is rejected at the width, minus sign included.
mlp::mlp! {
    pub struct Net { input: -2, layers: [8 tanh, 1 identity] }
}
fn main() {}
