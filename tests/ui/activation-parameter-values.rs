// A custom activation's parameters: no more values than parameters, and a value for each
// parameter without a default.
mlp::mlp! {
    activation scaled(z; a, b = 2.0) = a * z + b;
    pub struct Net { input: 2, layers: [4 scaled, 4 scaled(1.0, 2.0, 3.0), 4 scaled(1), 1 scaled(1.0)] }
}
fn main() {}
