// An empty operator list is refused, naming the operators there are.
mlp::mlp! {
    pub struct Net { input: 2, layers: [8 tanh, 1 identity], operators: [] }
}
fn main() {}
