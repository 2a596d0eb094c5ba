// Activations other than leaky_relu take no parameters.
mlp::mlp! {
    pub struct Net { input: 2, layers: [8 tanh(0.5), 1 identity] }
}
fn main() {}
