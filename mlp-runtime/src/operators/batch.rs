//! The batched passes of jets: the stacked columns `[H | ∂₁H … ∂_DH | L₁H … L_KH]` of a
//! batch go through one matrix product per layer and pass.

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
/// `h = σ(z)`, `∂h = σ'(z) ∂z`, `L_k h = σ'(z) L_k z + σ''(z) q_k(∂z)`.
pub fn jets_dense<T, S, F, const IN: usize, const OUT: usize, const D: usize, const K: usize>(
    w: &[[T; IN]; OUT],
    b: Option<&[T; OUT]>,
    act: F,
    op: &S,
    x: &Jets<T, IN>,
    z: &mut Jets<T, OUT>,
    h: &mut Jets<T, OUT>,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T) -> [T; 4],
{
    let bs = x.samples();
    z.resize(bs, D, K);
    h.resize(bs, D, K);
    let wv = ArrayView2::from_shape((OUT, IN), w.as_flattened())
        .unwrap_or_else(|e| unreachable!("a weight view fits its array: {e}"));
    product(wv, x.view(), z.view_mut(), false);
    let cols = z.columns();
    if cols == 0 {
        return;
    }
    let zs = z.as_mut_slice().chunks_exact_mut(cols);
    let hs = h.as_mut_slice().chunks_exact_mut(cols);
    for (i, (zr, hr)) in zs.zip(hs).enumerate() {
        let bias = b.map_or(T::ZERO, |b| b[i]);
        let (zv, zrest) = zr.split_at_mut(bs);
        let (hv, hrest) = hr.split_at_mut(bs);
        let (zg, zl) = zrest.split_at(D * bs);
        let (hg, hl) = hrest.split_at_mut(D * bs);
        for s in 0..bs {
            let zi = zv[s] + bias;
            zv[s] = zi;
            let [f, d1, d2, _] = act(zi);
            hv[s] = f;
            let j: [T; D] = core::array::from_fn(|d| zg[d * bs + s]);
            for d in 0..D {
                hg[d * bs + s] = d1 * j[d];
            }
            for k in 0..K {
                hl[k * bs + s] = d1 * zl[k * bs + s] + d2 * op.quad(k, &j);
            }
        }
    }
}

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
    let mut gb = gb;
    let zs = z.as_slice().chunks_exact(cols);
    let ds = dh.as_mut_slice().chunks_exact_mut(cols);
    for (i, (zr, dr)) in zs.zip(ds).enumerate() {
        let (zv, zrest) = zr.split_at(bs);
        let (zg, zl) = zrest.split_at(D * bs);
        let (dv, drest) = dr.split_at_mut(bs);
        let (dg, dl) = drest.split_at_mut(D * bs);
        let mut bias = T::ZERO;
        for s in 0..bs {
            let [_, s1, s2, s3] = act(zv[s]);
            let j: [T; D] = core::array::from_fn(|d| zg[d * bs + s]);
            let mut v = s1 * dv[s];
            let mut g: [T; D] = core::array::from_fn(|d| {
                let a = dg[d * bs + s];
                v += s2 * a * j[d];
                s1 * a
            });
            for k in 0..K {
                let lb = dl[k * bs + s];
                v += lb * (s2 * zl[k * bs + s] + s3 * op.quad(k, &j));
                dl[k * bs + s] = s1 * lb;
                let q = op.quad_grad(k, &j);
                for d in 0..D {
                    g[d] += s2 * lb * q[d];
                }
            }
            for d in 0..D {
                dg[d * bs + s] = g[d];
            }
            dv[s] = v;
            bias += v;
        }
        if let Some(gb) = gb.as_deref_mut() {
            gb[i] += bias;
        }
    }
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
