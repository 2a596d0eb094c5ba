// `input` and `layers` are required.
mlp::mlp! {
    pub struct Net { scalar: f64 }
}
fn main() {}
