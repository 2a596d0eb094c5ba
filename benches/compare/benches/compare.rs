//! `C = A B` in `f32` at the shapes of W3/W4 and at 1024³, one thread, for each product the
//! project compared: the batched path's kernel (`mlp_runtime::batch::matmul`), the
//! matrixmultiply crate with its AVX-512 kernels (its default features; ndarray turns them
//! off), and the `gemm` crate. "Mitem/s" reads as Mflop/s (`2 m n k` per product).
//!
//! Run with `cargo bench --manifest-path benches/compare/Cargo.toml`.


fn main() {
    divan::main();
}

#[path = "../../gemm_shapes.rs"]
mod shapes;
use shapes::{flops, operands, SHAPES};

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
