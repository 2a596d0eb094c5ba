//! Single-precision matrix products at the shapes of W3/W4 and at 1024³: the kernel of the
//! batched path (`mlp::batch::matmul`) against ndarray's default product (`general_mat_mul`,
//! the matrixmultiply crate as ndarray builds it). The throughput column counts floating-point
//! operations (`2 m n k` per product): "Mitem/s" reads as Mflop/s.
//!
//! One thread. Run with `cargo bench -p mlp-benches --bench gemm`.

use divan::counter::ItemsCount;
use ndarray::linalg::general_mat_mul;
use ndarray::Array2;

fn main() {
    divan::main();
}

/// `(m, n, k)` of the products: W3's and W4's layer products, and a large square one.
const SHAPES: &[(usize, usize, usize)] = &[
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

fn operands(m: usize, n: usize, k: usize) -> (Array2<f32>, Array2<f32>, Array2<f32>) {
    let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 17) as f32 / 17.0 - 0.5);
    let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j * 11) % 19) as f32 / 19.0 - 0.5);
    (a, b, Array2::zeros((m, n)))
}

fn flops(&(m, n, k): &(usize, usize, usize)) -> ItemsCount {
    ItemsCount::new(2 * m * n * k)
}

#[divan::bench(args = SHAPES)]
fn mlp_kernel(bencher: divan::Bencher, shape: &(usize, usize, usize)) {
    let &(m, n, k) = shape;
    let (a, b, mut c) = operands(m, n, k);
    bencher
        .counter(flops(shape))
        .bench_local(|| mlp::batch::matmul(a.view(), b.view(), c.view_mut(), false).unwrap());
}

#[divan::bench(args = SHAPES)]
fn ndarray_matrixmultiply(bencher: divan::Bencher, shape: &(usize, usize, usize)) {
    let &(m, n, k) = shape;
    let (a, b, mut c) = operands(m, n, k);
    bencher
        .counter(flops(shape))
        .bench_local(|| general_mat_mul(1.0, &a, &b, 0.0, &mut c));
}
