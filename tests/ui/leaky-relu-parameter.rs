// The slope of leaky_relu must lie strictly between 0 and 1.
mlp::mlp! {
    pub struct Net { input: 2, layers: [8 leaky_relu(1.5), 8 leaky_relu(-0.1), 4 leaky_relu(0.1, 0.2), 1 leaky_relu("a")] }
}
fn main() {}
