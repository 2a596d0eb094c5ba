// Fractional and string widths are rejected at the literal.
mlp::mlp! {
    pub struct Net { input: 2.5, layers: [8 tanh, "1" identity] }
}
fn main() {}
