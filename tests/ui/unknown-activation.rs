// A misspelt activation gets a suggestion; an unrelated name gets the list.
mlp::mlp! {
    pub struct Net { input: 2, layers: [8 tahn, 8 convolution, 1 identity] }
}
fn main() {}
