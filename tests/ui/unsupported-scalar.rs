// Only f32 and f64 are supported.
mlp::mlp! {
    pub struct Net { scalar: f16, input: 2, layers: [1 identity] }
}
fn main() {}
