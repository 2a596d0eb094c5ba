// A comma with no key before it.
mlp::mlp! {
    pub struct Net { input: 2,, layers: [1 identity] }
}
fn main() {}
