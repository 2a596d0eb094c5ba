// Absurdly large widths are rejected with the limit.
mlp::mlp! {
    pub struct Net { input: 2, layers: [100000 tanh, 99999999999999999999999 identity] }
}
fn main() {}
