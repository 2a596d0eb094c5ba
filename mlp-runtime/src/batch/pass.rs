//! The element-wise passes of the batched path: bias and activation in one pass over a
//! layer's output, and the activation's derivative in one pass over `δ`. Each loop is written
//! to vectorise; with AVX-512 (detected at run time) the same code is compiled for 512-bit
//! registers.

use crate::{Activation, DerivativeReads, Scalar};

/// Runs `$body(args)` compiled for AVX-512 when the CPU has it, else for the baseline target.
macro_rules! dispatch {
    ($wide:ident, $body:ident, <$($g:ident: $b:path),*>, ($($arg:ident: $ty:ty),*)) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        unsafe fn $wide<$($g: $b),*>($($arg: $ty),*) {
            $body($($arg),*)
        }
    };
}

/// `z_i += b_i; h_i = σ(z_i)` for every unit `i` (a row of `samples` entries).
pub(crate) fn bias_act<T: Scalar, A: Activation<T>>(
    act: &A,
    bias: Option<&[T]>,
    z: &mut [T],
    h: &mut [T],
    samples: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if super::gemm::avx512_detected() {
        // SAFETY: the CPU supports AVX-512F.
        return unsafe { bias_act_wide(act, bias, z, h, samples) };
    }
    bias_act_body(act, bias, z, h, samples);
}

dispatch!(bias_act_wide, bias_act_body, <T: Scalar, A: Activation<T>>,
    (act: &A, bias: Option<&[T]>, z: &mut [T], h: &mut [T], samples: usize));

#[inline(always)]
fn bias_act_body<T: Scalar, A: Activation<T>>(
    act: &A,
    bias: Option<&[T]>,
    z: &mut [T],
    h: &mut [T],
    samples: usize,
) {
    if samples == 0 {
        return;
    }
    for (i, (zr, hr)) in z
        .chunks_exact_mut(samples)
        .zip(h.chunks_exact_mut(samples))
        .enumerate()
    {
        let bi = bias.map_or(T::ZERO, |b| b[i]);
        for (zv, hv) in zr.iter_mut().zip(hr) {
            let v = *zv + bi;
            *zv = v;
            *hv = act.f(v);
        }
    }
}

/// `h_i = σ(h_i + b_i)` in place, for inference (no `z` kept).
pub(crate) fn bias_act_in_place<T: Scalar, A: Activation<T>>(
    act: &A,
    bias: Option<&[T]>,
    h: &mut [T],
    samples: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if super::gemm::avx512_detected() {
        // SAFETY: the CPU supports AVX-512F.
        return unsafe { bias_act_in_place_wide(act, bias, h, samples) };
    }
    bias_act_in_place_body(act, bias, h, samples);
}

dispatch!(bias_act_in_place_wide, bias_act_in_place_body, <T: Scalar, A: Activation<T>>,
    (act: &A, bias: Option<&[T]>, h: &mut [T], samples: usize));

#[inline(always)]
fn bias_act_in_place_body<T: Scalar, A: Activation<T>>(
    act: &A,
    bias: Option<&[T]>,
    h: &mut [T],
    samples: usize,
) {
    if samples == 0 {
        return;
    }
    for (i, hr) in h.chunks_exact_mut(samples).enumerate() {
        let bi = bias.map_or(T::ZERO, |b| b[i]);
        for hv in hr {
            *hv = act.f(*hv + bi);
        }
    }
}

/// `d ⊙= σ'(z, h)`: turns `g = ∂L/∂h` into `δ = ∂L/∂z`, in place.
pub(crate) fn delta<T: Scalar, A: Activation<T>>(act: &A, z: &[T], h: &[T], d: &mut [T]) {
    if A::DERIVATIVE_READS == DerivativeReads::Nothing {
        let one = act.df(T::ZERO, T::ZERO);
        if one == T::ONE {
            return;
        }
    }
    #[cfg(target_arch = "x86_64")]
    if super::gemm::avx512_detected() {
        // SAFETY: the CPU supports AVX-512F.
        return unsafe { delta_wide(act, z, h, d) };
    }
    delta_body(act, z, h, d);
}

dispatch!(delta_wide, delta_body, <T: Scalar, A: Activation<T>>,
    (act: &A, z: &[T], h: &[T], d: &mut [T]));

#[inline(always)]
fn delta_body<T: Scalar, A: Activation<T>>(act: &A, z: &[T], h: &[T], d: &mut [T]) {
    for ((dv, &zv), &hv) in d.iter_mut().zip(z).zip(h) {
        *dv = act.df(zv, hv) * *dv;
    }
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
    for (bi, row) in b.iter_mut().zip(d.chunks_exact(samples)) {
        let mut part = [T::ZERO; 16];
        let mut chunks = row.chunks_exact(16);
        for c in &mut chunks {
            for (p, &v) in part.iter_mut().zip(c) {
                *p += v;
            }
        }
        for (p, &v) in part.iter_mut().zip(chunks.remainder()) {
            *p += v;
        }
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
