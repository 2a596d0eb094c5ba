// Loops, blocks, conditionals and other statements are not expressions the macro differentiates.
mlp::mlp! {
    activation looped(z) = { let mut s = 0.0; for _ in 0..3 { s += z; } s };
    activation branchy(z) = if z > 0.0 { z } else { 0.0 };
    activation modulo(z) = z % 2.0;
    pub struct Net { input: 2, layers: [4 looped, 4 branchy, 1 modulo] }
}
fn main() {}
