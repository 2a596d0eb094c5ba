// Constant folding never yields an infinity or a NaN, and nothing divides by a constant zero.
mlp::mlp! {
    activation a(z) = z + 1.0 / 0.0;
    activation b(z) = z * (0.0 / 0.0);
    activation c(z) = z - ln(0.0);
    activation d(z) = z * sqrt(-1.0);
    activation e(z) = z / 0.0;
    activation f(z) = z * 0.0.powi(-1);
    activation g(z) = z + 1e308 * 1e308;
    activation h(z; p = 1e-400) = p * z;
    pub struct Net { scalar: f64, input: 2, layers: [4 a, 4 b, 4 c, 4 d, 4 e, 4 f, 4 g, 1 h] }
}
fn main() {}
