// The network's name is an identifier, not a keyword; reported once.
mlp::mlp! {
    pub struct Self { input: 2, layers: [1 identity] }
}
fn main() {}
