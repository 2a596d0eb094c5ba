//! The element-wise passes of the batched path: bias and activation on each block of a
//! layer's product as the product finishes it (fused, while the block is in cache), and the
//! activation's derivative on `δ`, likewise fused into the product `Wᵀ δ` or as one pass for
//! the output layer. Each loop is written to vectorise; the fused ones are inlined into the
//! product's kernel, so with AVX-512 (detected at run time) they are compiled for 512-bit
//! registers, as the separate pass is by `wide`.

use crate::wide::{lane_sums, wide};
use crate::{Activation, DerivativeReads, Scalar};

/// `d ⊙= σ'(z, h)`: turns `g = ∂L/∂h` into `δ = ∂L/∂z`, in place.
pub(crate) fn delta<T: Scalar, A: Activation<T>>(act: &A, z: &[T], h: &[T], d: &mut [T]) {
    if delta_is_identity(act) {
        return;
    }
    wide(|| {
        for ((dv, &zv), &hv) in d.iter_mut().zip(z).zip(h) {
            *dv = act.df(zv, hv) * *dv;
        }
    });
}

/// `b_i += Σ_s d_{i,s}` (or `b_i = Σ_s d_{i,s}` unless `accumulate`): each row's sum, in 16
/// interleaved partial sums so that it vectorises.
pub(crate) fn row_sums<T: Scalar>(d: &[T], b: &mut [T], samples: usize, accumulate: bool) {
    if !accumulate {
        b.fill(T::ZERO);
    }
    if samples == 0 {
        return;
    }
    wide(|| row_sums_body(d, b, samples));
}

/// [`row_sums`]' accumulation, inlined into [`wide`].
#[inline(always)]
fn row_sums_body<T: Scalar>(d: &[T], b: &mut [T], samples: usize) {
    for (bi, row) in b.iter_mut().zip(d.chunks_exact(samples)) {
        let mut part = lane_sums(row, |v| v);
        // Pairwise, in a fixed order.
        let mut w = 16;
        while w > 1 {
            w /= 2;
            for j in 0..w {
                part[j] += part[j + w];
            }
        }
        *bi += part[0];
    }
}

/// [`bias_act`] on one finished block of a product, fused into it: rows `i0..i0 + mr`,
/// columns `j0..j0 + nr` of the `N × samples` batches at `z` and `h`.
///
/// # Safety
/// `z` and `h` hold the block's rows (stride `samples`), do not overlap, and `bias` (if any)
/// has an entry per row.
#[inline(always)]
pub(crate) unsafe fn bias_act_block<T: Scalar, A: Activation<T>>(
    act: &A,
    bias: Option<&[T]>,
    z: *mut T,
    h: *mut T,
    samples: usize,
    (i0, mr, j0, nr): (usize, usize, usize, usize),
) {
    for i in i0..i0 + mr {
        let bi = bias.map_or(T::ZERO, |b| b[i]);
        // SAFETY: row `i` of the block has `nr` values from column `j0` in `z` and in `h`
        // (the caller's promise), two buffers that do not overlap.
        let (zr, hr) = unsafe {
            (
                core::slice::from_raw_parts_mut(z.add(i * samples + j0), nr),
                core::slice::from_raw_parts_mut(h.add(i * samples + j0), nr),
            )
        };
        for (zv, hv) in zr.iter_mut().zip(hr) {
            let v = *zv + bi;
            *zv = v;
            *hv = act.f(v);
        }
    }
}

/// [`bias_act_in_place`] on one finished block of a product (see [`bias_act_block`]).
///
/// # Safety
/// As [`bias_act_block`], for `h` alone.
#[inline(always)]
pub(crate) unsafe fn bias_act_in_place_block<T: Scalar, A: Activation<T>>(
    act: &A,
    bias: Option<&[T]>,
    h: *mut T,
    samples: usize,
    (i0, mr, j0, nr): (usize, usize, usize, usize),
) {
    for i in i0..i0 + mr {
        let bi = bias.map_or(T::ZERO, |b| b[i]);
        // SAFETY: row `i` of the block has `nr` values from column `j0` (the caller's promise).
        let hr = unsafe { core::slice::from_raw_parts_mut(h.add(i * samples + j0), nr) };
        for hv in hr {
            *hv = act.f(*hv + bi);
        }
    }
}

/// Whether [`delta`] leaves `d` as it is: the derivative reads nothing and is 1.
pub(crate) fn delta_is_identity<T: Scalar, A: Activation<T>>(act: &A) -> bool {
    A::DERIVATIVE_READS == DerivativeReads::Nothing && act.df(T::ZERO, T::ZERO) == T::ONE
}

/// [`delta`] on one finished block of a product (see [`bias_act_block`]).
///
/// # Safety
/// `z`, `h` and `d` hold the block's rows (stride `samples`), and `d` overlaps neither.
#[inline(always)]
pub(crate) unsafe fn delta_block<T: Scalar, A: Activation<T>>(
    act: &A,
    z: *const T,
    h: *const T,
    d: *mut T,
    samples: usize,
    (i0, mr, j0, nr): (usize, usize, usize, usize),
) {
    for i in i0..i0 + mr {
        let o = i * samples + j0;
        // SAFETY: row `i` of the block has `nr` values from column `j0` in `z`, `h` and `d`
        // (the caller's promise), and `d`, the one written, overlaps neither.
        let (zr, hr, dr) = unsafe {
            (
                core::slice::from_raw_parts(z.add(o), nr),
                core::slice::from_raw_parts(h.add(o), nr),
                core::slice::from_raw_parts_mut(d.add(o), nr),
            )
        };
        for ((dv, &zv), &hv) in dr.iter_mut().zip(zr).zip(hr) {
            *dv = act.df(zv, hv) * *dv;
        }
    }
}
