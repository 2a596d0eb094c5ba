//! The batched passes of jets: the stacked columns `[H | ∂₁H … ∂_DH | L₁H … L_KH]` of a
//! batch go through one matrix product per layer and pass.

// The loops index a unit `i` of several `[d][i]`-shaped arrays at once, which iterators
// would hide.
#![allow(clippy::needless_range_loop)]

use super::SecondOrder;
use crate::batch::{matmul, Batch, BatchError};
use crate::error::ShapeError;
use crate::Scalar;
use ndarray::{ArrayView2, ArrayViewMut2};

/// The jets of a batch at one layer of width `N`: `N` rows of `B · (1 + D + K)` columns, the
/// values of the `B` samples first, then their derivatives along each input direction, then
/// each second-order channel. Resizing reuses the buffer, so that after the first batch of
/// the largest size nothing allocates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Jets<T, const N: usize> {
    batch: Batch<T, N>,
    samples: usize,
    directions: usize,
    channels: usize,
}

impl<T: Scalar, const N: usize> Jets<T, N> {
    /// The number of samples `B`.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// The number of input directions `D`.
    pub fn directions(&self) -> usize {
        self.directions
    }

    /// The number of second-order channels `K`.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The number of columns, `B · (1 + D + K)`.
    pub fn columns(&self) -> usize {
        self.samples * (1 + self.directions + self.channels)
    }

    /// Makes room for `samples` samples of `directions` and `channels`; the values are
    /// unspecified until written.
    pub fn resize(&mut self, samples: usize, directions: usize, channels: usize) {
        self.samples = samples;
        self.directions = directions;
        self.channels = channels;
        self.batch.resize(self.columns());
    }

    /// As [`Jets::resize`], with every value 0 (a seed to fill before a backward pass).
    pub fn zeroed(&mut self, samples: usize, directions: usize, channels: usize) {
        self.resize(samples, directions, channels);
        self.batch.as_mut_slice().fill(T::ZERO);
    }

    /// The values, `N × B (1 + D + K)`, row-major.
    pub fn as_slice(&self) -> &[T] {
        self.batch.as_slice()
    }

    /// The values, `N × B (1 + D + K)`, row-major.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        self.batch.as_mut_slice()
    }

    /// The index of unit `i` of column block `block` (0 value, `1 + d` direction `d`,
    /// `1 + D + k` channel `k`) at sample `s`.
    fn index(&self, block: usize, s: usize, i: usize) -> usize {
        i * self.columns() + block * self.samples + s
    }

    /// `h_i` at sample `s`.
    pub fn value(&self, s: usize, i: usize) -> T {
        self.as_slice()[self.index(0, s, i)]
    }

    /// `∂h_i/∂x_d` at sample `s`.
    pub fn gradient(&self, s: usize, d: usize, i: usize) -> T {
        self.as_slice()[self.index(1 + d, s, i)]
    }

    /// `L_k h_i` at sample `s`.
    pub fn second(&self, s: usize, k: usize, i: usize) -> T {
        self.as_slice()[self.index(1 + self.directions + k, s, i)]
    }

    /// Sets the entry that [`Jets::value`] reads (an adjoint, in a seed).
    pub fn set_value(&mut self, s: usize, i: usize, v: T) {
        let at = self.index(0, s, i);
        self.as_mut_slice()[at] = v;
    }

    /// Sets the entry that [`Jets::gradient`] reads.
    pub fn set_gradient(&mut self, s: usize, d: usize, i: usize, v: T) {
        let at = self.index(1 + d, s, i);
        self.as_mut_slice()[at] = v;
    }

    /// Sets the entry that [`Jets::second`] reads.
    pub fn set_second(&mut self, s: usize, k: usize, i: usize, v: T) {
        let at = self.index(1 + self.directions + k, s, i);
        self.as_mut_slice()[at] = v;
    }

    fn view(&self) -> ArrayView2<'_, T> {
        let cols = self.columns();
        ArrayView2::from_shape((N, cols), self.as_slice())
            .unwrap_or_else(|e| unreachable!("a jets view fits its buffer: {e}"))
    }

    fn view_mut(&mut self) -> ArrayViewMut2<'_, T> {
        let cols = self.columns();
        ArrayViewMut2::from_shape((N, cols), self.as_mut_slice())
            .unwrap_or_else(|e| unreachable!("a jets view fits its buffer: {e}"))
    }

    /// Fails unless `self` has the samples, directions and channels of `other`.
    pub fn check_like<const M: usize>(
        &self,
        what: &'static str,
        other: &Jets<T, M>,
    ) -> Result<(), BatchError> {
        ShapeError::columns(what, other.columns(), self.columns())?;
        ShapeError::columns(what, other.samples, self.samples)?;
        Ok(())
    }
}

/// The input layer's jets of a batch: `H = X`, `∂_d H = e_d 1ᵀ`, `L_k H = c_k 1ᵀ`.
pub fn jets_input<T, S, const D: usize, const K: usize>(x: &[[T; D]], op: &S, jets: &mut Jets<T, D>)
where
    T: Scalar,
    S: SecondOrder<T, D, K>,
{
    let b = x.len();
    jets.resize(b, D, K);
    let cols = jets.columns();
    let data = jets.as_mut_slice();
    for (i, row) in data.chunks_exact_mut(cols.max(1)).enumerate().take(D) {
        let (value, rest) = row.split_at_mut(b);
        for (v, xs) in value.iter_mut().zip(x) {
            *v = xs[i];
        }
        let (grad, second) = rest.split_at_mut(D * b);
        for (d, block) in grad.chunks_exact_mut(b.max(1)).enumerate() {
            block.fill(if d == i { T::ONE } else { T::ZERO });
        }
        for (k, block) in second.chunks_exact_mut(b.max(1)).enumerate() {
            block.fill(op.drift(k, i));
        }
    }
}

/// `C = W X` over every column (W: OUT×IN, X: IN×cols), overwriting or adding into `c`.
fn product<T: Scalar>(
    w: ArrayView2<'_, T>,
    x: ArrayView2<'_, T>,
    c: ArrayViewMut2<'_, T>,
    add: bool,
) {
    // The shapes come from the const generics and from one `Jets`; the rows of C are
    // contiguous. Neither failure of `matmul` can happen.
    if let Err(e) = matmul(w, x, c, add) {
        unreachable!("jets products have matching shapes: {e}");
    }
}

/// One layer of a batch of jets forward: one product `Z = W [H | ∂H | LH]` over all the
/// stacked columns, the bias on the value columns, then per unit and sample
/// `h = σ(z)`, `∂h = σ'(z) ∂z`, `L_k h = σ'(z) L_k z + σ''(z) q_k(∂z)`. Keeps `Z` in `z` for
/// the backward pass when given; without it (inference), `H` is computed in place.
pub fn jets_dense<T, S, F, const IN: usize, const OUT: usize, const D: usize, const K: usize>(
    w: &[[T; IN]; OUT],
    b: Option<&[T; OUT]>,
    act: F,
    op: &S,
    x: &Jets<T, IN>,
    mut z: Option<&mut Jets<T, OUT>>,
    h: &mut Jets<T, OUT>,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T) -> [T; 4],
{
    let bs = x.samples();
    h.resize(bs, D, K);
    let wv = ArrayView2::from_shape((OUT, IN), w.as_flattened())
        .unwrap_or_else(|e| unreachable!("a weight view fits its array: {e}"));
    match z.as_deref_mut() {
        Some(z) => {
            z.resize(bs, D, K);
            product(wv, x.view(), z.view_mut(), false);
        }
        None => product(wv, x.view(), h.view_mut(), false),
    }
    let cols = h.columns();
    if cols == 0 {
        return;
    }
    let bias = b.map(|b| &b[..]);
    let (zs, hs) = (z.map(|z| z.as_mut_slice()), h.as_mut_slice());
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::arch::is_x86_feature_detected!("avx512f") {
        /// [`forward_rows`] compiled for AVX-512, so that its tiles run 16 `f32` lanes wide.
        #[target_feature(enable = "avx512f")]
        unsafe fn avx512<T, S, F, const D: usize, const K: usize>(
            zs: Option<&mut [T]>,
            hs: &mut [T],
            rows: Rows<'_, T>,
            act: &F,
            op: &S,
        ) where
            T: Scalar,
            S: SecondOrder<T, D, K>,
            F: Fn(T) -> [T; 4],
        {
            forward_rows(zs, hs, rows, act, op);
        }
        // SAFETY: the CPU supports AVX-512F (checked above).
        unsafe {
            avx512(
                zs,
                hs,
                Rows {
                    bias,
                    samples: bs,
                    columns: cols,
                },
                &act,
                op,
            )
        };
        return;
    }
    forward_rows(
        zs,
        hs,
        Rows {
            bias,
            samples: bs,
            columns: cols,
        },
        &act,
        op,
    );
}

/// The shape of an element-wise pass: the samples `B`, the columns of a row, the bias.
#[derive(Clone, Copy)]
struct Rows<'a, T> {
    bias: Option<&'a [T]>,
    samples: usize,
    columns: usize,
}

/// The element-wise part of [`jets_dense`]: per unit and sample, the bias, then `h = σ(z)`,
/// `∂h = σ'(z) ∂z`, `L_k h = σ'(z) L_k z + σ''(z) q_k(∂z)`.
#[inline(always)]
fn forward_rows<T, S, F, const D: usize, const K: usize>(
    zs: Option<&mut [T]>,
    hs: &mut [T],
    rows: Rows<'_, T>,
    act: &F,
    op: &S,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T) -> [T; 4],
{
    let (bs, cols, b) = (rows.samples, rows.columns, rows.bias);
    let mut zs = zs.map(|zs| zs.chunks_exact_mut(cols));
    let hs = hs.chunks_exact_mut(cols);
    for (i, hr) in hs.enumerate() {
        // Z's row, or H's when Z is not kept (H is then computed in place).
        let mut zr = zs.as_mut().and_then(Iterator::next);
        let bias = b.map_or(T::ZERO, |b| b[i]);
        // Tiles of LANES samples, copied into fixed-size arrays so that the loop over a tile
        // has no bounds checks and vectorises, `σ` and its derivatives included.
        for s0 in (0..bs).step_by(LANES) {
            let n = LANES.min(bs - s0);
            let mut zt = [T::ZERO; LANES];
            let src: &[T] = zr.as_deref().unwrap_or(hr);
            copy(&mut zt[..n], &src[s0..s0 + n]);
            let mut jt = [[T::ZERO; LANES]; D];
            for (d, row) in jt.iter_mut().enumerate() {
                let at = (1 + d) * bs + s0;
                copy(&mut row[..n], &src[at..at + n]);
            }
            let mut lt = [[T::ZERO; LANES]; K];
            for (k, row) in lt.iter_mut().enumerate() {
                let at = (1 + D + k) * bs + s0;
                copy(&mut row[..n], &src[at..at + n]);
            }
            let mut ht = [T::ZERO; LANES];
            for t in 0..LANES {
                let zi = zt[t] + bias;
                zt[t] = zi;
                let [f, d1, d2, _] = act(zi);
                ht[t] = f;
                let j: [T; D] = core::array::from_fn(|d| jt[d][t]);
                for k in 0..K {
                    lt[k][t] = d1 * lt[k][t] + d2 * op.quad(k, &j);
                }
                for row in jt.iter_mut() {
                    row[t] = d1 * row[t];
                }
            }
            if let Some(zr) = zr.as_deref_mut() {
                copy(&mut zr[s0..s0 + n], &zt[..n]);
            }
            copy(&mut hr[s0..s0 + n], &ht[..n]);
            for (d, row) in jt.iter().enumerate() {
                let at = (1 + d) * bs + s0;
                copy(&mut hr[at..at + n], &row[..n]);
            }
            for (k, row) in lt.iter().enumerate() {
                let at = (1 + D + k) * bs + s0;
                copy(&mut hr[at..at + n], &row[..n]);
            }
        }
    }
}

/// The samples the element-wise passes handle at once: a tile of fixed-size arrays.
const LANES: usize = 16;

/// One layer of a batch of jets backward: turns the output adjoints `dh` into `Z̄` in place
/// (the rules of [`jet_dense_backward`](super::jet_dense_backward)), then adds
/// `∂Loss/∂W += Z̄ Xᵀ` (one product over all the stacked columns) and `∂Loss/∂b += Σ_s z̄`, and
/// writes `X̄ = Wᵀ Z̄` into `dx` when given.
#[allow(clippy::too_many_arguments)]
pub fn jets_dense_backward<
    T,
    S,
    F,
    const IN: usize,
    const OUT: usize,
    const D: usize,
    const K: usize,
>(
    w: &[[T; IN]; OUT],
    act: F,
    op: &S,
    x: &Jets<T, IN>,
    z: &Jets<T, OUT>,
    dh: &mut Jets<T, OUT>,
    gw: &mut [[T; IN]; OUT],
    gb: Option<&mut [T; OUT]>,
    dx: Option<&mut Jets<T, IN>>,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T) -> [T; 4],
{
    let bs = z.samples();
    let cols = z.columns();
    if cols == 0 {
        return;
    }
    let rows = Rows {
        bias: None,
        samples: bs,
        columns: cols,
    };
    let gb = gb.map(|g| &mut g[..]);
    let (zs, ds) = (z.as_slice(), dh.as_mut_slice());
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::arch::is_x86_feature_detected!("avx512f") {
        /// [`backward_rows`] compiled for AVX-512.
        #[target_feature(enable = "avx512f")]
        unsafe fn avx512<T, S, F, const D: usize, const K: usize>(
            zs: &[T],
            ds: &mut [T],
            gb: Option<&mut [T]>,
            rows: Rows<'_, T>,
            act: &F,
            op: &S,
        ) where
            T: Scalar,
            S: SecondOrder<T, D, K>,
            F: Fn(T) -> [T; 4],
        {
            backward_rows(zs, ds, gb, rows, act, op);
        }
        // SAFETY: the CPU supports AVX-512F (checked above).
        unsafe { avx512(zs, ds, gb, rows, &act, op) };
    } else {
        backward_rows(zs, ds, gb, rows, &act, op);
    }
    #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
    backward_rows(zs, ds, gb, rows, &act, op);
    let gv = ArrayViewMut2::from_shape((OUT, IN), gw.as_flattened_mut())
        .unwrap_or_else(|e| unreachable!("a weight view fits its array: {e}"));
    product(dh.view(), x.view().t(), gv, true);
    if let Some(dx) = dx {
        dx.resize(bs, D, K);
        let wv = ArrayView2::from_shape((OUT, IN), w.as_flattened())
            .unwrap_or_else(|e| unreachable!("a weight view fits its array: {e}"));
        product(wv.t(), dh.view(), dx.view_mut(), false);
    }
}

/// The element-wise part of [`jets_dense_backward`]: the output adjoints of each unit and
/// sample turned into the pre-activation's, in place, and `Σ_s z̄` added into `gb`.
#[inline(always)]
fn backward_rows<T, S, F, const D: usize, const K: usize>(
    zs: &[T],
    ds: &mut [T],
    mut gb: Option<&mut [T]>,
    rows: Rows<'_, T>,
    act: &F,
    op: &S,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T) -> [T; 4],
{
    let (bs, cols) = (rows.samples, rows.columns);
    let zs = zs.chunks_exact(cols);
    let ds = ds.chunks_exact_mut(cols);
    for (i, (zr, dr)) in zs.zip(ds).enumerate() {
        let mut bias = T::ZERO;
        for s0 in (0..bs).step_by(LANES) {
            let n = LANES.min(bs - s0);
            // The forward values and the adjoints of one tile, in fixed-size arrays.
            let load = |row: &[T], block: usize| {
                let mut t = [T::ZERO; LANES];
                copy(&mut t[..n], &row[block * bs + s0..block * bs + s0 + n]);
                t
            };
            let zt = load(zr, 0);
            let jt: [[T; LANES]; D] = core::array::from_fn(|d| load(zr, 1 + d));
            let lzt: [[T; LANES]; K] = core::array::from_fn(|k| load(zr, 1 + D + k));
            let mut dv = load(dr, 0);
            let mut dg: [[T; LANES]; D] = core::array::from_fn(|d| load(dr, 1 + d));
            let mut dl: [[T; LANES]; K] = core::array::from_fn(|k| load(dr, 1 + D + k));
            for t in 0..LANES {
                let [_, s1, s2, s3] = act(zt[t]);
                let j: [T; D] = core::array::from_fn(|d| jt[d][t]);
                let mut v = s1 * dv[t];
                let mut g: [T; D] = core::array::from_fn(|d| {
                    let a = dg[d][t];
                    v += s2 * a * j[d];
                    s1 * a
                });
                for k in 0..K {
                    let lb = dl[k][t];
                    v += lb * (s2 * lzt[k][t] + s3 * op.quad(k, &j));
                    dl[k][t] = s1 * lb;
                    let q = op.quad_grad(k, &j);
                    for d in 0..D {
                        g[d] += s2 * lb * q[d];
                    }
                }
                for d in 0..D {
                    dg[d][t] = g[d];
                }
                dv[t] = v;
            }
            for &v in &dv[..n] {
                bias += v;
            }
            let mut store = |block: usize, t: &[T; LANES]| {
                copy(&mut dr[block * bs + s0..block * bs + s0 + n], &t[..n]);
            };
            store(0, &dv);
            for (d, t) in dg.iter().enumerate() {
                store(1 + d, t);
            }
            for (k, t) in dl.iter().enumerate() {
                store(1 + D + k, t);
            }
        }
        if let Some(gb) = gb.as_deref_mut() {
            gb[i] += bias;
        }
    }
}

/// `dst = src` for a tile: a fixed-size copy (inlined, vectorised) when the tile is full.
#[inline(always)]
fn copy<T: Copy>(dst: &mut [T], src: &[T]) {
    match (
        <&mut [T; LANES]>::try_from(&mut *dst),
        <&[T; LANES]>::try_from(src),
    ) {
        (Ok(d), Ok(s)) => *d = *s,
        _ => dst.copy_from_slice(src),
    }
}
