// An unknown key is reported at the key, with the closest known one.
mlp::mlp! {
    pub struct Net { inputs: 2, layers: [8 tanh, 1 identity], dropout: 0.5 }
}
fn main() {}
