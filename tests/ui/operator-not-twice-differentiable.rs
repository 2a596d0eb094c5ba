// A second-order operator on a network with a kink (relu) is refused at the activation.
mlp::mlp! {
    pub struct Net { input: 2, layers: [8 relu, 1 identity], operators: [gradient, laplacian] }
}
fn main() {}
