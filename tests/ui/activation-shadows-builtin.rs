// A custom activation may not take the name of a built-in one, nor be defined twice.
mlp::mlp! {
    activation tanh(z) = z;
    activation mine(z) = z;
    activation mine(z) = -z;
    pub struct Net { input: 2, layers: [4 mine, 1 identity] }
}
fn main() {}
