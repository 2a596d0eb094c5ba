//! The products both GEMM benchmarks measure (`gemm.rs` here and `compare/`), and their
//! operands: one definition, included with `#[path]`.

use divan::counter::ItemsCount;
use ndarray::Array2;

/// `(m, n, k)` of the products: W3's and W4's layer products, and a large square one.
pub const SHAPES: &[(usize, usize, usize)] = &[
    // W3 forward, layer 1: Z₁ (256 × 64) = W₁ (256 × 784) · X (784 × 64).
    (256, 64, 784),
    // W3 backward, layer 1: ∂L/∂W₁ (256 × 784) += δ₁ (256 × 64) · X (64 × 784).
    (256, 784, 64),
    // W3 forward, layer 2.
    (128, 64, 256),
    // W4 forward, layer 1, batch 256.
    (256, 256, 784),
    (1024, 1024, 1024),
];

/// `A` (m×k) and `B` (k×n) with fixed values in `[−0.5, 0.5)`, and `C` (m×n) zeroed.
pub fn operands(m: usize, n: usize, k: usize) -> (Array2<f32>, Array2<f32>, Array2<f32>) {
    let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 17) as f32 / 17.0 - 0.5);
    let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j * 11) % 19) as f32 / 19.0 - 0.5);
    (a, b, Array2::zeros((m, n)))
}

/// The floating-point operations of one product, `2 m n k`.
pub fn flops(&(m, n, k): &(usize, usize, usize)) -> ItemsCount {
    ItemsCount::new(2 * m * n * k)
}
