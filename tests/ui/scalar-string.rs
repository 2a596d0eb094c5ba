// The scalar is a type name, not a string.
mlp::mlp! {
    pub struct Net { scalar: "f32", input: 2, layers: [1 identity] }
}
fn main() {}
