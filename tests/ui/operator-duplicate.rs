// An operator listed twice is reported at the second one.
mlp::mlp! {
    pub struct Net { input: 2, layers: [8 tanh, 1 identity], operators: [laplacian, laplacian] }
}
fn main() {}
