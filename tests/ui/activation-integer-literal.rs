// Constants are float literals; an integer where a float is needed is rejected at the literal.
mlp::mlp! {
    activation half(z; a = 1) = z / 2 + a * z.powf(2.5) + z.powi(2.5);
    pub struct Net { input: 2, layers: [4 half(3), 1 identity] }
}
fn main() {}
