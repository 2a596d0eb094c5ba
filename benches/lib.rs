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
