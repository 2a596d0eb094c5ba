// Every constant of an f32 network must be a finite f32: literals, folded constants,
// parameter values and defaults, the slope of leaky_relu, and the derivative's constants.
mlp::mlp! {
    activation big(z) = 1e39 * z;
    activation folded(z) = 1e30 * 1e30 * z;
    activation tiny(z) = 1e-50 * z;
    activation cubic(z) = 2e38 * z.powi(3);
    activation scaled(z; a = 1e39) = a * z;
    activation shifted(z; b) = z + b;
    pub struct Net {
        input: 2,
        layers: [4 big, 4 folded, 4 tiny, 4 cubic, 4 scaled, 4 shifted(-1e39), 4 leaky_relu(1e-50), 1 identity],
    }
}
fn main() {}
