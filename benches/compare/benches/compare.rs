//! `C = A B` in `f32` at the shapes of W3/W4 and at 1024³, one thread, for each product the
//! project compared: the batched path's kernel (`mlp_runtime::batch::matmul`), the
//! matrixmultiply crate with its AVX-512 kernels (its default features; ndarray turns them
//! off), and the `gemm` crate. "Mitem/s" reads as Mflop/s (`2 m n k` per product).
//!
//! Run with `cargo bench --manifest-path benches/compare/Cargo.toml`.

use divan::counter::ItemsCount;
use ndarray::Array2;

fn main() {
    divan::main();
}

const SHAPES: &[(usize, usize, usize)] = &[
    (256, 64, 784),
    (256, 784, 64),
    (128, 64, 256),
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
        .bench_local(|| mlp_runtime::batch::matmul(a.view(), b.view(), c.view_mut(), false).unwrap());
}

#[divan::bench(args = SHAPES)]
fn matrixmultiply_avx512(bencher: divan::Bencher, shape: &(usize, usize, usize)) {
    let &(m, n, k) = shape;
    let (a, b, mut c) = operands(m, n, k);
    bencher.counter(flops(shape)).bench_local(|| unsafe {
        matrixmultiply::sgemm(
            m, k, n, 1.0,
            a.as_ptr(), k as isize, 1,
            b.as_ptr(), n as isize, 1,
            0.0,
            c.as_mut_ptr(), n as isize, 1,
        )
    });
}

#[divan::bench(args = SHAPES)]
fn gemm_crate(bencher: divan::Bencher, shape: &(usize, usize, usize)) {
    let &(m, n, k) = shape;
    let (a, b, mut c) = operands(m, n, k);
    bencher.counter(flops(shape)).bench_local(|| unsafe {
        gemm::gemm(
            m, n, k,
            c.as_mut_ptr(), 1, n as isize,
            false,
            a.as_ptr(), 1, k as isize,
            b.as_ptr(), 1, n as isize,
            0.0, 1.0,
            false, false, false,
            gemm::Parallelism::None,
        )
    });
}
