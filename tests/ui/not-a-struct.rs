// The declaration is a struct.
mlp::mlp! {
    pub enum Net { input: 2, layers: [1 identity] }
}
fn main() {}
