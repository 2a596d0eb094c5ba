//! Element-wise loops compiled for the widest vectors the CPU has: [`wide`] runs a closure
//! compiled for AVX-512 when the CPU supports it (detected at run time), else as the build
//! targets. Only `+`, `−`, `×`, `÷` and `sqrt` are used in these loops, each rounded once, so
//! the results are the same bit for bit either way.

/// Runs `f`, compiled for AVX-512 where the CPU has it (a loop inside `f` then vectorises 16
/// `f32` lanes wide), else for the build's target.
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::arch::is_x86_feature_detected!("avx512f") {
        /// `f()`, with `f` inlined into a function compiled for AVX-512.
        ///
        /// # Safety
        /// The CPU supports AVX-512F.
        #[target_feature(enable = "avx512f")]
        unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the CPU supports AVX-512F (checked above).
        return unsafe { avx512(f) };
    }
    f()
}

/// 16 interleaved running sums of `f(x)` over `v` (sum `j` takes the values at `j`, `j + 16`,
/// …), so that a loop over them vectorises while the order of every addition stays fixed.
#[inline(always)]
pub(crate) fn lane_sums<T: crate::Scalar>(v: &[T], f: impl Fn(T) -> T) -> [T; 16] {
    let mut sums = [T::ZERO; 16];
    let mut chunks = v.chunks_exact(16);
    for c in &mut chunks {
        for (s, &x) in sums.iter_mut().zip(c) {
            *s += f(x);
        }
    }
    for (s, &x) in sums.iter_mut().zip(chunks.remainder()) {
        *s += f(x);
    }
    sums
}

/// Whether every value of `v` is finite, in one pass that vectorises (no early exit): `x · 0`
/// is `±0` for a finite `x` and NaN for `±∞` or NaN, so the [`lane_sums`] of them all stay 0
/// exactly when every value is finite.
pub(crate) fn all_finite<T: crate::Scalar>(v: &[T]) -> bool {
    wide(|| lane_sums(v, |x| x * T::ZERO).iter().all(|&s| s == T::ZERO))
}

#[cfg(test)]
mod tests {
    use super::all_finite;

    #[test]
    fn all_finite_finds_every_non_finite_value_anywhere() {
        for len in [0, 1, 15, 16, 17, 40] {
            let mut v: Vec<f32> = (0..len).map(|i| i as f32 * 1e37 - 2e38).collect();
            v.iter_mut().for_each(|x| *x = x.clamp(-f32::MAX, f32::MAX));
            assert!(all_finite(&v), "{len} finite values");
            for i in 0..len {
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    let keep = v[i];
                    v[i] = bad;
                    assert!(!all_finite(&v), "{bad} at {i} of {len}");
                    v[i] = keep;
                }
            }
        }
        assert!(all_finite(&[f64::MAX, f64::MIN_POSITIVE / 4.0, -0.0]));
        assert!(!all_finite(&[1.0, f64::NAN]));
    }
}
