//! Products with a thin side, which the blocked kernels would pad to a full block: one or two
//! rows of `A` (an output layer of one or two units), one or two columns of `B` (the weight
//! gradient of an input layer of two features), or a depth of one or two (such a layer's
//! forward product, or the adjoint of a one-unit layer's input). They take plain loops
//! (compiled for AVX-512 where the CPU has it), at the memory's speed rather than the padded
//! block's.
//!
//! Each element of `C` is summed in one fixed order whatever the CPU, so the result is the
//! same bit for bit with or without AVX-512.

use super::blocking::Product;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
use crate::scalar::sealed::Kind;
use crate::wide::wide;
use crate::Scalar;

/// A side this short (rows of `A`, columns of `B`, or the depth) makes a product thin.
const THIN: usize = 3;

/// The columns of `C` one step of [`rows`] sums in a buffer that stays in L1 while it
/// streams the rows of `B`, for a depth of [`THIN`] or more.
const CHUNK: usize = 256;

/// The interleaved sums of [`dot`]: four 512-bit vectors of `f32`.
const LANES: usize = 64;

/// Computes `p` if it is thin and its operands suit one of the loops here; returns whether it
/// did. The choice depends only on `m`, `n`, `k` and the strides, so a product split by rows
/// across threads (pieces of many rows) takes the same path in every piece.
///
/// # Safety
/// `p` keeps [`Product`]'s promise.
pub(crate) unsafe fn gemm<T: Scalar>(p: &Product<T>) -> bool {
    let (a_along_k, b_along_k) = (p.a.cs == 1 || p.k == 1, p.b.rs == 1 || p.k == 1);
    let path = if (p.m < THIN || p.n < THIN) && a_along_k && b_along_k && p.k >= THIN {
        Path::Dots
    } else if (p.m < THIN || p.k < THIN) && (p.b.cs == 1 || p.n == 1) {
        Path::Rows
    } else {
        return false;
    };
    // The closure forced inline, so that its loops are compiled for AVX-512, 16 `f32` lanes
    // wide.
    wide(
        #[inline(always)]
        || {
            // SAFETY: the caller's promise.
            unsafe { run(p, path) }
        },
    );
    true
}

/// The loop a thin product takes.
#[derive(Clone, Copy)]
enum Path {
    /// [`dots`]: A's rows and B's columns are contiguous.
    Dots,
    /// [`rows`]: B's rows are contiguous.
    Rows,
}

/// `p` by `path`.
///
/// # Safety
/// `p` keeps [`Product`]'s promise, with the layout `path` needs.
#[inline(always)]
unsafe fn run<T: Scalar>(p: &Product<T>, path: Path) {
    // SAFETY: the caller's promise.
    unsafe {
        match path {
            Path::Dots => dots(p),
            Path::Rows => rows(p),
        }
    }
}

/// `C_ij (+)= A_i · B_j`: each element a dot product of a row of `A` and a column of `B`,
/// both contiguous.
///
/// # Safety
/// `p` keeps [`Product`]'s promise, with `a.cs == 1` and `b.rs == 1` (or `k == 1`).
#[inline(always)]
unsafe fn dots<T: Scalar>(p: &Product<T>) {
    for i in 0..p.m {
        // SAFETY: row `i < m` of A has `k` contiguous elements (the caller's promise).
        let a = unsafe { core::slice::from_raw_parts(p.a.ptr.add(i * p.a.rs), p.k) };
        for j in 0..p.n {
            // SAFETY: column `j < n` of B has `k` contiguous elements, and `(i, j)` is an
            // element of C, written by this call alone.
            unsafe {
                let b = core::slice::from_raw_parts(p.b.ptr.add(j * p.b.cs), p.k);
                let c = p.c.add(i * p.rsc + j);
                let s = dot_fast(a, b);
                *c = if p.accumulate { *c + s } else { s };
            }
        }
    }
}

/// [`dot`], by the AVX-512 kernel of the same order where the CPU has it.
#[inline(always)]
fn dot_fast<T: Scalar>(a: &[T], b: &[T]) -> T {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if super::gemm::avx512_detected() {
        let k = a.len().min(b.len());
        // SAFETY: both hold `k` values, the CPU supports AVX-512F, and `T::KIND` says which
        // type `T` is, so each cast sees the values as the type they are.
        return unsafe {
            match T::KIND {
                Kind::F32 => T::from_f64(f64::from(super::dots::dot_f32(
                    a.as_ptr().cast(),
                    b.as_ptr().cast(),
                    k,
                ))),
                Kind::F64 => T::from_f64(super::dots::dot_f64(
                    a.as_ptr().cast(),
                    b.as_ptr().cast(),
                    k,
                )),
            }
        };
    }
    dot(a, b)
}

/// `Σ_s a_s b_s` in [`LANES`] interleaved sums (so that it vectorises, with enough
/// independent sums to hide the additions' latency), added pairwise in a fixed order.
#[inline(always)]
pub(crate) fn dot<T: Scalar>(a: &[T], b: &[T]) -> T {
    let ((ac, ar), (bc, br)) = (a.as_chunks::<LANES>(), b.as_chunks::<LANES>());
    let mut part = [T::ZERO; LANES];
    for (x, y) in ac.iter().zip(bc) {
        for t in 0..LANES {
            part[t] += x[t] * y[t];
        }
    }
    // The last partial chunk in sums of its own (so that `part` is indexed only by
    // constants, and stays in registers), then added lane by lane.
    let mut tail = [T::ZERO; LANES];
    for ((s, &u), &v) in tail.iter_mut().zip(ar).zip(br) {
        *s = u * v;
    }
    for t in 0..LANES {
        part[t] += tail[t];
    }
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for j in 0..w {
            part[j] += part[j + w];
        }
    }
    part[0]
}

/// `C_i (+)= Σ_k A_ik B_k`: each row of `C` a combination of the rows of `B`, summed over `k`
/// in order, [`SHORT`] columns at a time in registers for a depth under [`THIN`], else
/// [`CHUNK`] columns at a time in a buffer.
///
/// # Safety
/// `p` keeps [`Product`]'s promise, with `b.cs == 1` (or `n == 1`).
#[inline(always)]
unsafe fn rows<T: Scalar>(p: &Product<T>) {
    // SAFETY: the caller's promise.
    unsafe {
        if p.k < THIN {
            rows_by::<T, SHORT>(p);
        } else {
            rows_by::<T, CHUNK>(p);
        }
    }
}

/// The columns of `C` one step of [`rows`] keeps in registers when the depth is short.
const SHORT: usize = 64;

/// [`rows`], `W` columns at a time.
///
/// # Safety
/// As [`rows`].
#[inline(always)]
unsafe fn rows_by<T: Scalar, const W: usize>(p: &Product<T>) {
    for i in 0..p.m {
        // SAFETY: `(i, kk)` is an element of A for `kk < k` (the caller's promise).
        let a = |kk: usize| unsafe { *p.a.ptr.add(i * p.a.rs + kk * p.a.cs) };
        // SAFETY: row `kk < k` of B has `n` contiguous elements (the caller's promise).
        let b = |kk: usize, j0: usize| unsafe { p.b.ptr.add(kk * p.b.rs + j0) };
        // SAFETY: row `i < m` of C has `n` elements, written by this call alone.
        let c = unsafe { core::slice::from_raw_parts_mut(p.c.add(i * p.rsc), p.n) };
        let mut chunks = c.chunks_exact_mut(W);
        for (q, out) in (&mut chunks).enumerate() {
            let mut acc = [T::ZERO; W];
            for kk in 0..p.k {
                let av = a(kk);
                // SAFETY: `W` elements of row `kk` from column `q · W` (a full chunk).
                let row = unsafe { &*b(kk, q * W).cast::<[T; W]>() };
                for (x, &bv) in acc.iter_mut().zip(row) {
                    *x += av * bv;
                }
            }
            for (o, &x) in out.iter_mut().zip(&acc) {
                *o = if p.accumulate { *o + x } else { x };
            }
        }
        let out = chunks.into_remainder();
        if out.is_empty() {
            continue;
        }
        let (j0, w) = (p.n - out.len(), out.len());
        let mut acc = [T::ZERO; W];
        for kk in 0..p.k {
            let av = a(kk);
            // SAFETY: the last `w` elements of row `kk`.
            let row = unsafe { core::slice::from_raw_parts(b(kk, j0), w) };
            for (x, &bv) in acc.iter_mut().zip(row) {
                *x += av * bv;
            }
        }
        for (o, &x) in out.iter_mut().zip(&acc) {
            *o = if p.accumulate { *o + x } else { x };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{dot, dot_fast};

    /// The AVX-512 dot product (where the CPU has it) gives the portable one's bits, at
    /// lengths around every chunk and vector edge; both are near the f64 sum.
    #[test]
    fn dots_match_the_portable_order_bit_for_bit() {
        for k in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 1000, 1024] {
            let a: Vec<f64> = (0..k)
                .map(|i| ((i * 37) % 101) as f64 / 101.0 - 0.5)
                .collect();
            let b: Vec<f64> = (0..k)
                .map(|i| ((i * 11) % 97) as f64 / 97.0 - 0.4)
                .collect();
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let got = dot_fast(&a, &b);
            assert_eq!(got.to_bits(), dot(&a, &b).to_bits(), "f64, {k}");
            assert!((got - exact).abs() <= 1e-12, "f64, {k}");
            let (a, b): (Vec<f32>, Vec<f32>) = (
                a.iter().map(|&v| v as f32).collect(),
                b.iter().map(|&v| v as f32).collect(),
            );
            let got = dot_fast(&a, &b);
            assert_eq!(got.to_bits(), dot(&a, &b).to_bits(), "f32, {k}");
            assert!((f64::from(got) - exact).abs() <= 1e-4, "f32, {k}");
        }
    }
}
