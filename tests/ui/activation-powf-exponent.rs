// The exponent of powf is a constant: it may not depend on the variable.
mlp::mlp! {
    activation selfpow(z) = (1.0 + z * z).powf(z);
    pub struct Net { input: 2, layers: [4 selfpow, 1 identity] }
}
fn main() {}
