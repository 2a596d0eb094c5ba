//! Element-wise loops compiled for the widest vectors the CPU has: [`wide`] runs a closure
//! compiled for AVX-512 when the CPU supports it (detected at run time), else as the build
//! targets. Only `+`, `−`, `×`, `÷` and `sqrt` are used in these loops, each rounded once, so
//! the results are the same bit for bit either way.

/// Runs `f`, compiled for AVX-512 where the CPU has it (a loop inside `f` then vectorises 16
/// `f32` lanes wide), else for the build's target.
#[inline(always)]
pub(crate) fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::arch::is_x86_feature_detected!("avx512f") {
        /// `f()`, with `f` inlined into a function compiled for AVX-512.
        #[target_feature(enable = "avx512f")]
        unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the CPU supports AVX-512F (checked above).
        return unsafe { avx512(f) };
    }
    f()
}
