//! The benchmarks of mlp live in this package's `[[bench]]` targets (`single.rs`,
//! `batched.rs`, `gemm.rs`); run them with `cargo bench -p mlp-benches --bench NAME`.

/// Runs `f` inlined into a function compiled for AVX-512 where the CPU has it, else as the
/// build targets: hand-written baselines compiled as the generated passes are.
#[inline(always)]
pub fn avx512<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        /// `f()`, with `f` inlined into a function compiled for AVX-512.
        #[target_feature(enable = "avx512f")]
        unsafe fn wide<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the CPU supports AVX-512F (checked above).
        return unsafe { wide(f) };
    }
    f()
}

/// `n` inputs of W3/W4's width, 784, in `[0, 1)`, in 10 classes.
pub fn mnist_data(n: usize) -> mlp::data::Dataset<f32> {
    let x = mlp::ndarray::Array2::from_shape_fn((n, 784), |(i, j)| {
        ((i * 131 + j * 7) % 97) as f32 / 97.0
    });
    mlp::data::Dataset::classification(x, (0..n).map(|i| i % 10).collect(), 10).unwrap()
}

/// The trainer of the W3 benchmarks: one epoch of plain SGD at `batch`, no progress bar.
pub fn w3_trainer(
    batch: usize,
) -> mlp::train::Trainer<mlp::loss::SoftmaxCrossEntropy, mlp::optim::Sgd<f32>> {
    mlp::train::Trainer::new(mlp::loss::SoftmaxCrossEntropy, mlp::optim::Sgd::new(1e-3))
        .epochs(1)
        .batch_size(batch)
        .progress(false)
}
