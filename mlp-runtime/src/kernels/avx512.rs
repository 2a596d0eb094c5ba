//! An AVX-512 path for [`super::gemv`] on `f32`: eight rows' dot products at a time, each in
//! the order of the portable [`super::dot`] (same bits), with the eight running sums of the
//! rows added across the rows rather than inside each row's vector.

use core::arch::x86_64::*;

/// `y[i] = Σ_j w[i][j] x[j]` for the rows `i < rows` (a multiple of 8) of the row-major `w`
/// (`n` values a row, `n ≥ 8`), each as [`super::dot`] adds it: eight running sums (sum `k`
/// takes the products at `j ≡ k mod 8`, from `0`), then `((s₀ + s₄) + (s₂ + s₆)) + ((s₁ + s₅)
/// + (s₃ + s₇))`. The lanes of the last partial chunk past `n` add `+0`, which changes no sum
/// (a running sum that starts from `+0` is never `−0`).
///
/// # Safety
/// `w` addresses `rows · n` values, `x` addresses `n` and `y` addresses `rows`; the CPU
/// supports AVX-512F.
// Inlined into the generated passes (compiled for AVX-512 themselves) from other crates.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemv_rows8_f32(
    w: *const f32,
    n: usize,
    x: *const f32,
    rows: usize,
    y: *mut f32,
) {
    let full = n - n % 8;
    // Lanes `k < n % 8` of the last partial chunk.
    let tail = _mm256_cmpgt_epi32(
        _mm256_set1_epi32((n % 8) as i32),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    );
    // The eight running sums of row `r < rows`.
    let sums = |r: usize| {
        // SAFETY: row `r < rows` starts at `w + r n`, inside the `rows · n` values.
        let row = unsafe { w.add(r * n) };
        let mut s = _mm256_setzero_ps();
        let mut j = 0;
        while j < full {
            // SAFETY: `j + 8 ≤ full ≤ n`: eight values of the row and of `x`.
            let p =
                unsafe { _mm256_mul_ps(_mm256_loadu_ps(row.add(j)), _mm256_loadu_ps(x.add(j))) };
            s = _mm256_add_ps(s, p);
            j += 8;
        }
        if full < n {
            // SAFETY: `tail` selects the lanes `full + k < n`, values of the row and of `x`;
            // the masked load reads no other lane.
            let p = unsafe {
                _mm256_mul_ps(
                    _mm256_maskload_ps(row.add(full), tail),
                    _mm256_maskload_ps(x.add(full), tail),
                )
            };
            s = _mm256_add_ps(s, p);
        }
        s
    };
    // s_k + s_(k+4): rows `a` and `b` in one vector, four sums each, [a | b].
    let half = |a: __m256, b: __m256| {
        _mm256_add_ps(
            _mm256_permute2f128_ps(a, b, 0x20),
            _mm256_permute2f128_ps(a, b, 0x31),
        )
    };
    // + s_(k+2): from [a | b] and [c | d], two sums per row, [a, c | b, d].
    let quarter = |u: __m256, v: __m256| {
        _mm256_add_ps(_mm256_shuffle_ps(u, v, 0x44), _mm256_shuffle_ps(u, v, 0xEE))
    };
    // Lane `l` of the last step holds row [0, 2, 4, 6, 1, 3, 5, 7][l]; this puts them in order.
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let mut r = 0;
    while r < rows {
        let u0 = half(sums(r), sums(r + 1));
        let u1 = half(sums(r + 2), sums(r + 3));
        let u2 = half(sums(r + 4), sums(r + 5));
        let u3 = half(sums(r + 6), sums(r + 7));
        let (v0, v1) = (quarter(u0, u1), quarter(u2, u3));
        // + s_(k+1): [0, 2, 4, 6 | 1, 3, 5, 7].
        let d = _mm256_add_ps(
            _mm256_shuffle_ps(v0, v1, 0x88),
            _mm256_shuffle_ps(v0, v1, 0xDD),
        );
        // SAFETY: rows `r .. r + 8` are below `rows`.
        unsafe { _mm256_storeu_ps(y.add(r), _mm256_permutevar8x32_ps(d, order)) };
        r += 8;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{dot, gemv};

    /// Values of every kind: ordinary ones of mixed signs and magnitudes, `±0`, subnormals,
    /// `±∞`, NaN, and large ones whose products overflow.
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let special = [
            0.0,
            -0.0,
            1e-40,
            -1e-41,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            3e38,
        ];
        let mut s = seed;
        (0..n)
            .map(|i| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                if i % 13 == 5 {
                    special[(s >> 29) as usize]
                } else {
                    let m = f32::from(u16::try_from(s >> 16).unwrap()) / 65536.0 - 0.5;
                    m * 2f32.powi(i32::try_from((s >> 8) % 16).unwrap() - 8)
                }
            })
            .collect()
    }

    /// `gemv` (on this path where the CPU has AVX-512F) against `dot` row by row, bit for bit
    /// (NaN against NaN).
    fn check<const IN: usize, const OUT: usize>(seed: u32) {
        let flat = values(IN * OUT, seed);
        let mut w = [[0.0f32; IN]; OUT];
        for (i, row) in w.iter_mut().enumerate() {
            row.copy_from_slice(&flat[i * IN..(i + 1) * IN]);
        }
        let x: [f32; IN] = values(IN, seed ^ 0x9e37_79b9).try_into().unwrap();
        let y = gemv(&w, &x);
        for (i, (row, &yi)) in w.iter().zip(&y).enumerate() {
            let e = dot(row, &x);
            let same = yi.to_bits() == e.to_bits() || (yi.is_nan() && e.is_nan());
            assert!(same, "{IN}×{OUT}, row {i}: {yi:e} against {e:e}");
        }
    }

    #[test]
    fn eight_rows_at_a_time_as_dot() {
        for seed in 0..20 {
            check::<8, 8>(seed);
            check::<9, 8>(seed);
            check::<15, 16>(seed);
            check::<16, 16>(seed);
            check::<17, 24>(seed);
            check::<33, 9>(seed);
            check::<64, 17>(seed);
            check::<100, 31>(seed);
        }
    }
}
