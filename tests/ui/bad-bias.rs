// `bias` is a boolean.
mlp::mlp! {
    pub struct Net { input: 2, layers: [1 identity], bias: yes }
}
fn main() {}
