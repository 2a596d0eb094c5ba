// Every layer names its activation.
mlp::mlp! {
    pub struct Net { input: 2, layers: [8, 1 identity] }
}
fn main() {}
