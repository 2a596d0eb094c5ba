// An activation is an expression of its variable and its constant parameters only.
mlp::mlp! {
    activation scaled(z; a = 0.5) = a * x + b;
    pub struct Net { input: 2, layers: [4 scaled, 1 identity] }
}
fn main() {}
