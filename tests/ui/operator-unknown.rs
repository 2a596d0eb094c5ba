// An unknown operator is reported at its name, with the closest known one.
mlp::mlp! {
    pub struct Net { input: 2, layers: [8 tanh, 1 identity], operators: [laplacain] }
}
fn main() {}
