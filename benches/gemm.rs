//! Single-precision matrix products at the shapes of W3/W4 and at 1024³: the kernel of the
//! batched path (`mlp::batch::matmul`) against ndarray's default product (`general_mat_mul`,
//! the matrixmultiply crate as ndarray builds it). The throughput column counts floating-point
//! operations (`2 m n k` per product): "Mitem/s" reads as Mflop/s.
//!
//! One thread. Run with `cargo bench -p mlp-benches --bench gemm`.

use ndarray::linalg::general_mat_mul;

fn main() {
    divan::main();
}

#[path = "gemm_shapes.rs"]
mod shapes;
use shapes::{flops, operands, SHAPES};

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
