// An activation is an expression of its variable: it cannot call itself, another
// activation defined in the call, or a built-in activation that is not a function.
mlp::mlp! {
    activation a(z) = b(z);
    activation b(z) = a(z) + 1.0;
    activation c(z) = 2.0 * c(z);
    activation d(z) = relu(z) + z.gelu();
    pub struct Net { input: 2, layers: [4 a, 4 b, 4 c, 1 d] }
}
fn main() {}
