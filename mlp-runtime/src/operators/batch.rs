//! The batched passes of jets: the stacked columns `[H | ∂₁H … ∂_DH | L₁H … L_KH]` of a
//! batch go through one matrix product per layer and pass.

// The loops index a unit `i` of several `[d][i]`-shaped arrays at once, which iterators
// would hide.
#![allow(clippy::needless_range_loop)]

use super::SecondOrder;
use crate::batch::{matmul, Batch, BatchError};
use crate::error::ShapeError;
use crate::wide::wide;
use crate::Scalar;
use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};

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
    z: Option<&mut Jets<T, OUT>>,
    h: &mut Jets<T, OUT>,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T) -> [T; 4],
{
    let product = |out: &mut [T]| layer_product(w, x.as_slice(), out);
    jets_dense_by(b, (act, op), x.samples(), (z, h), product);
}

/// [`jets_dense`] for the first layer, whose input jets are those [`jets_input`] makes with
/// the same `op`: there `∂z = W e_d` is column `d` of `W` and `L_k z = W c_k` is the same for
/// every sample, so only the value columns take a product (`B` columns rather than
/// `B (1 + D + K)`); the others are filled.
pub fn jets_dense_input<T, S, F, const D: usize, const OUT: usize, const K: usize>(
    w: &[[T; D]; OUT],
    b: Option<&[T; OUT]>,
    act: F,
    op: &S,
    x: &Jets<T, D>,
    z: Option<&mut Jets<T, OUT>>,
    h: &mut Jets<T, OUT>,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T) -> [T; 4],
{
    let bs = x.samples();
    let product = |out: &mut [T]| {
        let cols = bs * (1 + D + K);
        if cols == 0 {
            return;
        }
        let view = |rows| {
            ArrayView2::from_shape((rows, bs).strides((cols, 1)), x.as_slice())
                .unwrap_or_else(|e| unreachable!("a jets view fits its buffer: {e}"))
        };
        let wv = ArrayView2::from_shape((OUT, D), w.as_flattened())
            .unwrap_or_else(|e| unreachable!("a weight view fits its array: {e}"));
        let zv = ArrayViewMut2::from_shape((OUT, bs).strides((cols, 1)), &mut *out)
            .unwrap_or_else(|e| unreachable!("a jets view fits its buffer: {e}"));
        product(wv, view(D), zv, false);
        // The closure forced inline, so that it is compiled for AVX-512 and stores 512 bits
        // at a time.
        wide(
            #[inline(always)]
            || fill_input_columns(w, op, out, bs),
        );
    };
    jets_dense_by(b, (act, op), bs, (z, h), product);
}

/// The derivative columns of the first layer's `Z` (rows of `B (1 + D + K)` columns in `out`):
/// `∂_d z_i = W_id` and `L_k z_i = Σ_j W_ij c_k[j]` at every sample.
#[inline(always)]
fn fill_input_columns<T, S, const D: usize, const OUT: usize, const K: usize>(
    w: &[[T; D]; OUT],
    op: &S,
    out: &mut [T],
    bs: usize,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
{
    let cols = bs * (1 + D + K);
    for (row, wr) in out.chunks_exact_mut(cols).zip(w) {
        let (grad, second) = row[bs..].split_at_mut(D * bs);
        for (block, &wd) in grad.chunks_exact_mut(bs).zip(wr) {
            block.fill(wd);
        }
        for (k, block) in second.chunks_exact_mut(bs).enumerate() {
            let lz = (0..D).fold(T::ZERO, |acc, d| acc + wr[d] * op.drift(k, d));
            block.fill(lz);
        }
    }
}

/// The rest of [`jets_dense`] once `product` has written `Z = W X` (into `z`'s buffer when
/// given, else `h`'s): the bias and the element-wise pass.
fn jets_dense_by<T, S, F, const OUT: usize, const D: usize, const K: usize>(
    b: Option<&[T; OUT]>,
    (act, op): (F, &S),
    bs: usize,
    (mut z, h): (Option<&mut Jets<T, OUT>>, &mut Jets<T, OUT>),
    product: impl FnOnce(&mut [T]),
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T) -> [T; 4],
{
    h.resize(bs, D, K);
    match z.as_deref_mut() {
        Some(z) => {
            z.resize(bs, D, K);
            product(z.as_mut_slice());
        }
        None => product(h.as_mut_slice()),
    }
    let cols = h.columns();
    if cols == 0 {
        return;
    }
    let bias = b.map(|b| &b[..]);
    let (zs, hs) = (z.map(|z| z.as_mut_slice()), h.as_mut_slice());
    let rows = Rows {
        bias,
        samples: bs,
        columns: cols,
    };
    // The closure forced inline, so that its tiles are compiled for AVX-512, 16 `f32` wide.
    wide(
        #[inline(always)]
        || forward_rows(zs, hs, rows, &act, op),
    );
}

/// `Z = W X` (W: OUT×IN, X and Z of `cols = x.len() / IN` columns, rows contiguous).
fn layer_product<T: Scalar, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    x: &[T],
    z: &mut [T],
) {
    let cols = x.len() / IN.max(1);
    let wv = ArrayView2::from_shape((OUT, IN), w.as_flattened())
        .unwrap_or_else(|e| unreachable!("a weight view fits its array: {e}"));
    let xv = ArrayView2::from_shape((IN, cols), x)
        .unwrap_or_else(|e| unreachable!("a jets view fits its buffer: {e}"));
    let zv = ArrayViewMut2::from_shape((OUT, cols), z)
        .unwrap_or_else(|e| unreachable!("a jets view fits its buffer: {e}"));
    product(wv, xv, zv, false);
}

/// The shape of an element-wise pass: the samples `B`, the columns of a row, the bias.
#[derive(Clone, Copy)]
struct Rows<'a, T> {
    bias: Option<&'a [T]>,
    samples: usize,
    columns: usize,
}

/// The element-wise part of [`jets_dense`]: per unit and sample, the bias, then `h = σ(z)`,
/// `∂h = σ'(z) ∂z`, `L_k h = σ'(z) L_k z + σ''(z) q_k(∂z)`. Works on the rows themselves,
/// a tile of `LANES` samples of every column block at a time, so that the loop over a tile
/// vectorises with no copy; with `zs` the bias goes into Z's values and H is written from Z,
/// without it H is computed in place.
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
    let (bs, cols) = (rows.samples, rows.columns);
    let mut zs = zs.map(|zs| zs.chunks_exact_mut(cols));
    for (i, hr) in hs.chunks_exact_mut(cols).enumerate() {
        let bias = rows.bias.map_or(T::ZERO, |b| b[i]);
        let (mut h, mut z) = (blocks::<T, D, K>(hr, bs), None);
        if let Some(zr) = zs.as_mut().and_then(Iterator::next) {
            z = Some(blocks::<T, D, K>(zr, bs));
        }
        // (A loop, not a closure: a closure would not be compiled for AVX-512 with the rest.)
        for s0 in (0..bs - bs % LANES).step_by(LANES) {
            let h = tile::<T, D, K, LANES>(&mut h, s0);
            let z = z.as_mut().map(|z| tile::<T, D, K, LANES>(z, s0));
            forward_tile(bias, z, h, act, op);
        }
        for s in bs - bs % LANES..bs {
            let h = tile::<T, D, K, 1>(&mut h, s);
            let z = z.as_mut().map(|z| tile::<T, D, K, 1>(z, s));
            forward_tile(bias, z, h, act, op);
        }
    }
}

/// A tile of `W` samples of the column blocks of a row (see [`blocks`]), from sample `s0`.
type Tile<'a, T, const D: usize, const K: usize, const W: usize> =
    (&'a mut [T; W], [&'a mut [T; W]; D], [&'a mut [T; W]; K]);

/// The column blocks of a row: the values, the `D` directions, the `K` channels.
type Blocks<'a, T, const D: usize, const K: usize> =
    (&'a mut [T], [&'a mut [T]; D], [&'a mut [T]; K]);

/// The tile of `W` samples from `s0` of each block of `b`.
#[inline(always)]
fn tile<'a, T, const D: usize, const K: usize, const W: usize>(
    b: &'a mut Blocks<'_, T, D, K>,
    s0: usize,
) -> Tile<'a, T, D, K, W> {
    fn fixed<T, const W: usize>(s: &mut [T], s0: usize) -> &mut [T; W] {
        <&mut [T; W]>::try_from(&mut s[s0..s0 + W])
            .unwrap_or_else(|_| unreachable!("a tile of {W} is {W} long"))
    }
    let (v, g, l) = b;
    (
        fixed(v, s0),
        g.each_mut().map(|s| fixed(s, s0)),
        l.each_mut().map(|s| fixed(s, s0)),
    )
}

/// [`forward_rows`] on one tile: from Z's tile when kept (its values get the bias), else in
/// place in H's.
#[inline(always)]
fn forward_tile<T, S, F, const D: usize, const K: usize, const W: usize>(
    bias: T,
    z: Option<Tile<'_, T, D, K, W>>,
    h: Tile<'_, T, D, K, W>,
    act: &F,
    op: &S,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T) -> [T; 4],
{
    let (hv, mut hg, mut hl) = h;
    match z {
        Some((zv, zg, zl)) => {
            for t in 0..W {
                let zt = zv[t] + bias;
                zv[t] = zt;
                let j: [T; D] = core::array::from_fn(|d| zg[d][t]);
                let lz: [T; K] = core::array::from_fn(|k| zl[k][t]);
                put((&mut *hv, &mut hg, &mut hl), t, point(zt, &j, &lz, act, op));
            }
        }
        None => {
            for t in 0..W {
                let j: [T; D] = core::array::from_fn(|d| hg[d][t]);
                let lz: [T; K] = core::array::from_fn(|k| hl[k][t]);
                let out = point(hv[t] + bias, &j, &lz, act, op);
                put((&mut *hv, &mut hg, &mut hl), t, out);
            }
        }
    }
}

/// Writes sample `t` of a tile: `(σ(z), ∂h, L h)` as [`point`] returns them.
#[inline(always)]
fn put<T: Copy, const D: usize, const K: usize, const W: usize>(
    (hv, hg, hl): (&mut [T; W], &mut [&mut [T; W]; D], &mut [&mut [T; W]; K]),
    t: usize,
    (f, g, l): (T, [T; D], [T; K]),
) {
    hv[t] = f;
    for d in 0..D {
        hg[d][t] = g[d];
    }
    for k in 0..K {
        hl[k][t] = l[k];
    }
}

/// One unit at one sample forward: from `z`, `j = ∂z` and `L z`, the values `σ(z)`,
/// `σ'(z) j` and `σ'(z) L_k z + σ''(z) q_k(j)`.
#[inline(always)]
fn point<T, S, F, const D: usize, const K: usize>(
    z: T,
    j: &[T; D],
    lz: &[T; K],
    act: &F,
    op: &S,
) -> (T, [T; D], [T; K])
where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T) -> [T; 4],
{
    let [f, d1, d2, _] = act(z);
    let l = core::array::from_fn(|k| d1 * lz[k] + d2 * op.quad(k, j));
    (f, j.map(|v| d1 * v), l)
}

/// A row of jets cut into its column blocks of `samples` entries each.
#[inline(always)]
fn blocks<T, const D: usize, const K: usize>(row: &mut [T], samples: usize) -> Blocks<'_, T, D, K> {
    let mut rest = row;
    let mut next = || {
        let (block, tail) = core::mem::take(&mut rest).split_at_mut(samples);
        rest = tail;
        block
    };
    let v = next();
    let g = core::array::from_fn(|_| next());
    let l = core::array::from_fn(|_| next());
    (v, g, l)
}

/// The samples the element-wise passes handle at once: a tile of fixed-size arrays.
const LANES: usize = 16;

/// One layer of a batch of jets backward: turns the output adjoints `dh` into `Z̄` in place
/// (the rules of [`jet_dense_backward`](super::jet_dense_backward)), then adds
/// `∂Loss/∂W += Z̄ Xᵀ` (one product over all the stacked columns) and `∂Loss/∂b += Σ_s z̄`, and
/// writes `X̄ = Wᵀ Z̄` into `dx` when given. `act(z, h)` returns `[σ(z), σ'(z), σ''(z),
/// σ'''(z)]` given `h = σ(z)`, read from the layer's forward values `H` (of `(Z, H)`), so that
/// `σ` is not computed again.
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
    (z, h): (&Jets<T, OUT>, &Jets<T, OUT>),
    dh: &mut Jets<T, OUT>,
    (gw, gb, dx): super::LayerGrads<'_, T, IN, OUT, Jets<T, IN>>,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T, T) -> [T; 4],
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
    // H's rows have Z's columns: both come from the same forward pass.
    let (zs, ds) = ((z.as_slice(), h.as_slice()), dh.as_mut_slice());
    // The closure forced inline, so that it is compiled for AVX-512.
    wide(
        #[inline(always)]
        || backward_rows(zs, ds, gb, rows, &act, op),
    );
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
    (zs, hs): (&[T], &[T]),
    ds: &mut [T],
    mut gb: Option<&mut [T]>,
    rows: Rows<'_, T>,
    act: &F,
    op: &S,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T, T) -> [T; 4],
{
    let (bs, cols) = (rows.samples, rows.columns);
    let zs = zs.chunks_exact(cols);
    let ds = ds.chunks_exact_mut(cols);
    for (i, (zr, dr)) in zs.zip(ds).enumerate() {
        // σ(z) of the row, which the derivatives may read.
        let hv = &hs[i * cols..i * cols + bs];
        // `blocks` cuts mutable rows; Z's row is only read.
        let (zv, zrest) = zr.split_at(bs);
        let (zg, zl) = zrest.split_at(D * bs);
        let mut dblocks = blocks::<T, D, K>(dr, bs);
        let mut bias = [T::ZERO; LANES];
        // (A loop, not a closure: a closure would not be compiled for AVX-512 with the rest.)
        for s0 in (0..bs - bs % LANES).step_by(LANES) {
            let z = read_tile::<T, D, K, LANES>((zv, zg, zl), bs, s0);
            let dt = tile::<T, D, K, LANES>(&mut dblocks, s0);
            backward_tile(z, fixed(hv, s0), dt, &mut bias, act, op);
        }
        let mut rest = [T::ZERO; 1];
        for s in bs - bs % LANES..bs {
            let z = read_tile::<T, D, K, 1>((zv, zg, zl), bs, s);
            let dt = tile::<T, D, K, 1>(&mut dblocks, s);
            backward_tile(z, fixed(hv, s), dt, &mut rest, act, op);
        }
        if let Some(gb) = gb.as_deref_mut() {
            // The tile's 16 partial sums pairwise, in a fixed order, then the rest.
            let mut w = LANES;
            while w > 1 {
                w /= 2;
                for j in 0..w {
                    bias[j] += bias[j + w];
                }
            }
            gb[i] += bias[0] + rest[0];
        }
    }
}

/// A read-only tile of `W` samples from `s0` of a row's column blocks `(values, D · samples
/// directions, K · samples channels)`.
#[inline(always)]
#[allow(clippy::type_complexity)]
fn read_tile<'a, T, const D: usize, const K: usize, const W: usize>(
    (v, g, l): (&'a [T], &'a [T], &'a [T]),
    samples: usize,
    s0: usize,
) -> (&'a [T; W], [&'a [T; W]; D], [&'a [T; W]; K]) {
    (
        fixed(v, s0),
        core::array::from_fn(|d| fixed(g, d * samples + s0)),
        core::array::from_fn(|k| fixed(l, k * samples + s0)),
    )
}

/// The `W` entries of `s` from `at`.
#[inline(always)]
fn fixed<T, const W: usize>(s: &[T], at: usize) -> &[T; W] {
    <&[T; W]>::try_from(&s[at..at + W])
        .unwrap_or_else(|_| unreachable!("a tile of {W} is {W} long"))
}

/// [`backward_rows`] on one tile, given `σ(z)` in `hv`: the adjoints turned into the pre-activation's in place (the
/// rules of [`jet_dense_backward`](super::jet_dense_backward)), and each sample's `z̄` added
/// into `bias[t]`.
#[inline(always)]
#[allow(clippy::type_complexity)]
fn backward_tile<T, S, F, const D: usize, const K: usize, const W: usize>(
    (zv, zg, zl): (&[T; W], [&[T; W]; D], [&[T; W]; K]),
    hv: &[T; W],
    (dv, dg, dl): Tile<'_, T, D, K, W>,
    bias: &mut [T; W],
    act: &F,
    op: &S,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T, T) -> [T; 4],
{
    for t in 0..W {
        let [_, s1, s2, s3] = act(zv[t], hv[t]);
        let j: [T; D] = core::array::from_fn(|d| zg[d][t]);
        let mut v = s1 * dv[t];
        let mut g: [T; D] = core::array::from_fn(|d| {
            let a = dg[d][t];
            v += s2 * a * j[d];
            s1 * a
        });
        for k in 0..K {
            let lb = dl[k][t];
            v += lb * (s2 * zl[k][t] + s3 * op.quad(k, &j));
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
        bias[t] += v;
    }
}
