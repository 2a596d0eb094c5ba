// Nothing may follow the network declaration.
mlp::mlp! {
    pub struct Net { input: 2, layers: [1 identity] } extra
}
fn main() {}
