//! AVX-512 dot-product kernels for [`super::gemm`] and [`super::thin`], for products whose
//! operands both run along the sum (`C = A B` with A's rows and B's columns contiguous): one
//! dot product in the order of the portable [`super::thin::dot`] (same bits), and blocks of
//! 4 × 4 of them with fused multiply-adds, which read both operands in place (a weight
//! gradient `Z̄ Hᵀ` over a long batch needs no transposed copy).

use super::blocking::Product;
use core::arch::x86_64::*;

macro_rules! dot {
    ($name:ident, $t:ty, $lanes:expr, $mask:ty, $zero:ident, $load:ident, $loadu:ident,
     $mul:ident, $add:ident, $store:ident) => {
        /// `Σ_s a_s b_s` over `k` values, in the order of [`super::thin::dot`]: 64 interleaved
        /// sums (sum `t` takes the products at `t`, `t + 64`, …, then the last partial
        /// chunk's, zero past `k`), then added pairwise.
        ///
        /// # Safety
        /// `a` and `b` address `k` values each; the CPU supports AVX-512F.
        #[target_feature(enable = "avx512f")]
        pub(crate) unsafe fn $name(a: *const $t, b: *const $t, k: usize) -> $t {
            const V: usize = 64 / $lanes;
            let mut acc = [$zero(); V];
            let full = k - k % 64;
            let mut s = 0;
            while s < full {
                for (q, x) in acc.iter_mut().enumerate() {
                    let at = s + q * $lanes;
                    // SAFETY: `s + 64 ≤ k`, so the vector at `at` is in both.
                    let (u, v) = unsafe { ($load(a.add(at)), $load(b.add(at))) };
                    *x = $add(*x, $mul(u, v));
                }
                s += 64;
            }
            // The last partial chunk, masked: the lanes past `k` add `0 · 0`.
            for (q, x) in acc.iter_mut().enumerate() {
                let left = k.saturating_sub(s + q * $lanes);
                let m: $mask = if left >= $lanes { !0 } else { (1 << left) - 1 };
                // SAFETY: the lanes `m` selects are values below `k` of both.
                let p = unsafe {
                    $mul(
                        $loadu(m, a.add(s + q * $lanes)),
                        $loadu(m, b.add(s + q * $lanes)),
                    )
                };
                *x = $add(*x, p);
            }
            // Pairwise: sums `j` and `j + w` for w = 32, 16, … while whole vectors, then in a
            // lane array.
            let mut w = V;
            while w > 1 {
                w /= 2;
                for j in 0..w {
                    acc[j] = $add(acc[j], acc[j + w]);
                }
            }
            let mut part = [0.0 as $t; $lanes];
            // SAFETY: `part` holds one vector.
            unsafe { $store(part.as_mut_ptr(), acc[0]) };
            let mut w = $lanes;
            while w > 1 {
                w /= 2;
                for j in 0..w {
                    part[j] += part[j + w];
                }
            }
            part[0]
        }
    };
}

dot!(
    dot_f32,
    f32,
    16,
    __mmask16,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_maskz_loadu_ps,
    _mm512_mul_ps,
    _mm512_add_ps,
    _mm512_storeu_ps
);
dot!(
    dot_f64,
    f64,
    8,
    __mmask8,
    _mm512_setzero_pd,
    _mm512_loadu_pd,
    _mm512_maskz_loadu_pd,
    _mm512_mul_pd,
    _mm512_add_pd,
    _mm512_storeu_pd
);

/// The sum of the lanes of each of 4 × 4 vectors, by a tree of shuffles that adds them all
/// at once (four rounds of 8, 4, 2 and 1 shuffle pairs rather than four per vector).
#[inline]
#[target_feature(enable = "avx512f")]
fn lane_sums_ps(acc: [[__m512; 4]; 4]) -> [[f32; 4]; 4] {
    let v: [__m512; 16] = core::array::from_fn(|i| acc[i / 4][i % 4]);
    // Quarters 0, 1 of `s[i]` hold partial sums of `v[2i]`, quarters 2, 3 those of `v[2i + 1]`.
    let s: [__m512; 8] = core::array::from_fn(|i| {
        let (a, b) = (v[2 * i], v[2 * i + 1]);
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0b01_00_01_00>(a, b),
            _mm512_shuffle_f32x4::<0b11_10_11_10>(a, b),
        )
    });
    // Quarter `q` of `u[j]` holds partial sums of `v[4j + q]`.
    let u: [__m512; 4] = core::array::from_fn(|j| {
        let (a, b) = (s[2 * j], s[2 * j + 1]);
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0b10_00_10_00>(a, b),
            _mm512_shuffle_f32x4::<0b11_01_11_01>(a, b),
        )
    });
    // In quarter `q` of `w[k]`, lanes 0, 1 hold partial sums of `v[8k + q]`, lanes 2, 3 of
    // `v[8k + 4 + q]`.
    let w: [__m512; 2] = core::array::from_fn(|k| {
        let (a, b) = (u[2 * k], u[2 * k + 1]);
        _mm512_add_ps(
            _mm512_shuffle_ps::<0b01_00_01_00>(a, b),
            _mm512_shuffle_ps::<0b11_10_11_10>(a, b),
        )
    });
    // Lane `4q + f` holds the sum of `v[4f + q]`, that is of `acc[f][q]`.
    let t = _mm512_add_ps(
        _mm512_shuffle_ps::<0b10_00_10_00>(w[0], w[1]),
        _mm512_shuffle_ps::<0b11_01_11_01>(w[0], w[1]),
    );
    let mut lanes = [0.0f32; 16];
    // SAFETY: `lanes` holds one vector.
    unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), t) };
    core::array::from_fn(|r| core::array::from_fn(|c| lanes[4 * c + r]))
}

/// The sum of the lanes of each of 4 × 4 vectors of `f64`.
#[inline]
#[target_feature(enable = "avx512f")]
fn lane_sums_pd(acc: [[__m512d; 4]; 4]) -> [[f64; 4]; 4] {
    acc.map(|row| row.map(|v| _mm512_reduce_add_pd(v)))
}

macro_rules! dots {
    ($name:ident, $t:ty, $lanes:expr, $mask:ty, $zero:ident, $load:ident, $loadu:ident,
     $fmadd:ident, $reduce:ident) => {
        /// `C (+)= A B` where A's rows and B's columns are both contiguous along `k` (a weight
        /// gradient `Z̄ Hᵀ` over many samples): each element a dot product, a block of 4 × 4
        /// of them at a time in 16 vector sums (8 loads per 16 fused multiply-adds), added
        /// across lanes at the end. No operand is packed or transposed.
        ///
        /// # Safety
        /// `p` keeps [`Product`]'s promise, with `a.cs == 1` and `b.rs == 1`; the CPU supports
        /// AVX-512F.
        #[target_feature(enable = "avx512f")]
        pub(crate) unsafe fn $name(p: &Product<$t>) {
            const B: usize = 4;
            let full = p.k - p.k % $lanes;
            let left = p.k - full;
            let tail: $mask = if left == 0 { 0 } else { (1 << left) - 1 };
            for i0 in (0..p.m).step_by(B) {
                // Rows past `m` repeat the last one; their sums are not stored.
                // SAFETY: row `min(i0 + r, m − 1)` of A has `k` contiguous values.
                let a: [*const $t; B] = core::array::from_fn(|r| unsafe {
                    p.a.ptr.add((i0 + r).min(p.m - 1) * p.a.rs)
                });
                for j0 in (0..p.n).step_by(B) {
                    // SAFETY: column `min(j0 + c, n − 1)` of B has `k` contiguous values.
                    let b: [*const $t; B] = core::array::from_fn(|c| unsafe {
                        p.b.ptr.add((j0 + c).min(p.n - 1) * p.b.cs)
                    });
                    let mut acc = [[$zero(); B]; B];
                    let mut s = 0;
                    while s < full {
                        // SAFETY: `s + lanes ≤ k`: a whole vector of each row and column.
                        let (av, bv): ([_; B], [_; B]) = unsafe {
                            (
                                core::array::from_fn(|r| $load(a[r].add(s))),
                                core::array::from_fn(|c| $load(b[c].add(s))),
                            )
                        };
                        for (row, &x) in acc.iter_mut().zip(&av) {
                            for (sum, &y) in row.iter_mut().zip(&bv) {
                                *sum = $fmadd(x, y, *sum);
                            }
                        }
                        s += $lanes;
                    }
                    if tail != 0 {
                        // SAFETY: the lanes `tail` selects are the values past `full`, below `k`.
                        let (av, bv): ([_; B], [_; B]) = unsafe {
                            (
                                core::array::from_fn(|r| $loadu(tail, a[r].add(s))),
                                core::array::from_fn(|c| $loadu(tail, b[c].add(s))),
                            )
                        };
                        for (row, &x) in acc.iter_mut().zip(&av) {
                            for (sum, &y) in row.iter_mut().zip(&bv) {
                                *sum = $fmadd(x, y, *sum);
                            }
                        }
                    }
                    let sums = $reduce(acc);
                    for (r, row) in sums.iter().enumerate().take(p.m - i0) {
                        for (c, &v) in row.iter().enumerate().take(p.n - j0) {
                            // SAFETY: `(i0 + r, j0 + c)` is an element of C (r < m − i0,
                            // c < n − j0), written by this call alone.
                            unsafe {
                                let out = p.c.add((i0 + r) * p.rsc + j0 + c);
                                *out = if p.accumulate { *out + v } else { v };
                            }
                        }
                    }
                }
            }
        }
    };
}

dots!(
    dots_f32,
    f32,
    16,
    __mmask16,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_maskz_loadu_ps,
    _mm512_fmadd_ps,
    lane_sums_ps
);
dots!(
    dots_f64,
    f64,
    8,
    __mmask8,
    _mm512_setzero_pd,
    _mm512_loadu_pd,
    _mm512_maskz_loadu_pd,
    _mm512_fmadd_pd,
    lane_sums_pd
);
