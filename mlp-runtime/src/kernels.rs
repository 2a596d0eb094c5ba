//! Shape-typed kernels: every product in generated code is one of these calls.
//!
//! Weights are stored **row-major, output-major**: `w: [[T; IN]; OUT]`, where row `i` holds
//! the weights into output unit `i`, so `w[i][j]` is `W[i, j]` (as in PyTorch's `Linear`).
//! The const generics carry the shapes, so a mismatched product in generated code is a type
//! error, found at compile time.
//!
//! In optimised builds the kernels the per-sample passes call are `#[inline(always)]`:
//! generated code runs them inside a function compiled for the widest vectors the CPU has
//! (`wide`), and a kernel left out of line would be compiled for the build's baseline target
//! instead. Unoptimised builds only hint (`#[inline]`), since there every inlined local keeps
//! its own stack slot and a wide layer's frames would grow with them.

use crate::{Activation, Scalar};

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod avx512;

/// Computes `y = W x`, W: OUT×IN.
///
/// Each `y_i` is a dot product in eight running sums added pairwise, in a fixed order. Where
/// the CPU has AVX-512, `f32` products with eight or more inputs and outputs take eight rows
/// at a time in the same order, so the result is the same bit for bit either way.
///
/// ```
/// let w = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
/// let x = [1.0, 0.5, -1.0];
/// let y = mlp::kernels::gemv(&w, &x);
/// let naive = [w[0][0] * x[0] + w[0][1] * x[1] + w[0][2] * x[2],
///              w[1][0] * x[0] + w[1][1] * x[1] + w[1][2] * x[2]];
/// assert_eq!(y, naive);
/// ```
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn gemv<T: Scalar, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    x: &[T; IN],
) -> [T; OUT] {
    // Eight rows at a time on AVX-512, in the same order (the same bits).
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if IN >= 8
        && OUT >= 8
        && T::KIND == crate::scalar::sealed::Kind::F32
        && std::arch::is_x86_feature_detected!("avx512f")
    {
        let mut y = [T::ZERO; OUT];
        let rows = OUT - OUT % 8;
        // SAFETY: `T` is `f32` (`T::KIND`), `w` holds `OUT · IN` values row-major, `x` holds
        // `IN` and `y` holds `OUT ≥ rows`; the CPU supports AVX-512F.
        unsafe {
            avx512::gemv_rows8_f32(
                w.as_ptr().cast(),
                IN,
                x.as_ptr().cast(),
                rows,
                y.as_mut_ptr().cast(),
            );
        }
        for i in rows..OUT {
            y[i] = dot(&w[i], x);
        }
        return y;
    }
    let mut y = [T::ZERO; OUT];
    // Four rows per iteration: a loop over single rows would be vectorised across the rows,
    // with a gather down every column.
    let mut i = 0;
    while i + 4 <= OUT {
        y[i] = dot(&w[i], x);
        y[i + 1] = dot(&w[i + 1], x);
        y[i + 2] = dot(&w[i + 2], x);
        y[i + 3] = dot(&w[i + 3], x);
        i += 4;
    }
    while i < OUT {
        y[i] = dot(&w[i], x);
        i += 1;
    }
    y
}

/// Computes `x = Wᵀ d`, W: OUT×IN, so `x` has IN entries.
///
/// ```
/// let w = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
/// let d = [1.0, -2.0];
/// let x = mlp::kernels::gemv_tr(&w, &d);
/// let naive = [w[0][0] * d[0] + w[1][0] * d[1],
///              w[0][1] * d[0] + w[1][1] * d[1],
///              w[0][2] * d[0] + w[1][2] * d[1]];
/// assert_eq!(x, naive);
/// ```
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn gemv_tr<T: Scalar, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    d: &[T; OUT],
) -> [T; IN] {
    // `Wᵀ d = Σ_i d_i W[i]`: W's rows are broadcast rows of the product.
    broadcast_sum([T::ZERO; IN], w, d)
}

/// Accumulates the outer product `G += d xᵀ`, G: OUT×IN (BLAS `ger` with α = 1).
///
/// ```
/// let mut g = [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]];
/// let d = [2.0, -1.0];
/// let x = [1.0, 2.0, 3.0];
/// mlp::kernels::ger(&mut g, &d, &x);
/// assert_eq!(g, [[1.0 + 2.0 * 1.0, 1.0 + 2.0 * 2.0, 1.0 + 2.0 * 3.0],
///                [-1.0 * 1.0, -1.0 * 2.0, -1.0 * 3.0]]);
/// ```
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn ger<T: Scalar, const IN: usize, const OUT: usize>(
    g: &mut [[T; IN]; OUT],
    d: &[T; OUT],
    x: &[T; IN],
) {
    outer_rows(g, d, x, |gij, v| *gij += v);
}

/// Writes the outer product `G = d xᵀ`, G: OUT×IN, over what `G` held: one sample's
/// `∂L/∂W_l = δ_l h_(l−1)ᵀ` without zeroing the gradient first.
///
/// ```
/// let mut g = [[9.0, 9.0, 9.0], [9.0, 9.0, 9.0]];
/// mlp::kernels::outer(&mut g, &[2.0, -1.0], &[1.0, 2.0, 3.0]);
/// assert_eq!(g, [[2.0, 4.0, 6.0], [-1.0, -2.0, -3.0]]);
/// ```
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn outer<T: Scalar, const IN: usize, const OUT: usize>(
    g: &mut [[T; IN]; OUT],
    d: &[T; OUT],
    x: &[T; IN],
) {
    outer_rows(g, d, x, |gij, v| *gij = v);
}

/// `put(G[i][j], dᵢ xⱼ)` for every element, a whole row at a time: [`ger`] and [`outer`].
#[inline(always)]
fn outer_rows<T: Scalar, const IN: usize, const OUT: usize>(
    g: &mut [[T; IN]; OUT],
    d: &[T; OUT],
    x: &[T; IN],
    put: impl Fn(&mut T, T),
) {
    // Copies in locals: `g` may live on the heap, where the compiler cannot rule out that it
    // overlaps `d` or `x`, which would keep every update scalar and in order.
    let (d, x) = (*d, *x);
    let row = |row: &mut [T; IN], di: T| {
        for (gij, &xj) in row.iter_mut().zip(&x) {
            put(gij, di * xj);
        }
    };
    // Four rows per iteration: a loop over single rows would be vectorised across the rows,
    // with a gather and a scatter down every column, in place of a load and a store per row.
    let mut i = 0;
    while i + 4 <= OUT {
        row(&mut g[i], d[i]);
        row(&mut g[i + 1], d[i + 1]);
        row(&mut g[i + 2], d[i + 2]);
        row(&mut g[i + 3], d[i + 3]);
        i += 4;
    }
    while i < OUT {
        row(&mut g[i], d[i]);
        i += 1;
    }
}

/// Writes `y = x` over what `y` held, e.g. one sample's `∂L/∂b = δ`.
///
/// ```
/// let mut y = [9.0, 9.0];
/// mlp::kernels::assign(&mut y, &[0.5, -2.0]);
/// assert_eq!(y, [0.5, -2.0]);
/// ```
#[inline(always)]
pub fn assign<T: Scalar, const N: usize>(y: &mut [T; N], x: &[T; N]) {
    *y = *x;
}

/// Accumulates `y += x` (BLAS `axpy` with α = 1), e.g. `∂L/∂b += δ`.
///
/// ```
/// let mut y = [1.0, 2.0];
/// mlp::kernels::axpy(&mut y, &[0.5, -2.0]);
/// assert_eq!(y, [1.0 + 0.5, 2.0 - 2.0]);
/// ```
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn axpy<T: Scalar, const N: usize>(y: &mut [T; N], x: &[T; N]) {
    let x = *x;
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += xi;
    }
}

/// Computes one layer, `h = σ(W x + b)`, W: OUT×IN, without keeping `z`.
///
/// ```
/// use mlp::{activation::Tanh, kernels::dense};
/// let w = [[0.5, -1.0], [2.0, 0.25]];
/// let b = [0.1, -0.2];
/// let x = [1.0, 2.0];
/// let h = dense(&w, &b, &x, &Tanh);
/// let naive = [f64::tanh(0.5 * 1.0 - 1.0 * 2.0 + 0.1), f64::tanh(2.0 * 1.0 + 0.25 * 2.0 - 0.2)];
/// assert_eq!(h, naive);
/// ```
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn dense<T: Scalar, A: Activation<T>, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    b: &[T; OUT],
    x: &[T; IN],
    act: &A,
) -> [T; OUT] {
    let mut h = gemv(w, x);
    axpy(&mut h, b);
    activate(act, &mut h);
    h
}

/// Computes one layer without bias, `h = σ(W x)`, W: OUT×IN, without keeping `z`.
///
/// ```
/// use mlp::{activation::Relu, kernels::dense_unbiased};
/// let w = [[0.5, -1.0], [2.0, 0.25]];
/// let x = [1.0, 2.0];
/// let h = dense_unbiased(&w, &x, &Relu);
/// assert_eq!(h, [f64::max(0.5 * 1.0 - 1.0 * 2.0, 0.0), f64::max(2.0 * 1.0 + 0.25 * 2.0, 0.0)]);
/// ```
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn dense_unbiased<T: Scalar, A: Activation<T>, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    x: &[T; IN],
    act: &A,
) -> [T; OUT] {
    let mut h = gemv(w, x);
    activate(act, &mut h);
    h
}

/// Applies `h = σ(h)` element-wise, in place.
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
fn activate<T: Scalar, A: Activation<T>, const N: usize>(act: &A, h: &mut [T; N]) {
    for hi in h {
        *hi = act.f(*hi);
    }
}

/// Computes one layer and keeps what backward needs: `z = W x + b`, `h = σ(z)`; returns `h`
/// as well, so that the next layer reads it from a local rather than back from the cache.
///
/// ```
/// use mlp::{activation::Sigmoid, kernels::dense_cached};
/// let w = [[0.5, 1.0]];
/// let x = [1.0, 2.0];
/// let (mut z, mut h) = ([0.0], [0.0]);
/// let out = dense_cached(&w, &[0.25], &x, &Sigmoid, &mut z, &mut h);
/// assert_eq!(z, [0.5 * 1.0 + 1.0 * 2.0 + 0.25]);
/// assert_eq!(h, [1.0 / (1.0 + f64::exp(-z[0]))]);
/// assert_eq!(out, h);
/// ```
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn dense_cached<T: Scalar, A: Activation<T>, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    b: &[T; OUT],
    x: &[T; IN],
    act: &A,
    z: &mut [T; OUT],
    h: &mut [T; OUT],
) -> [T; OUT] {
    // In locals, then stored once: the activation then reads registers, not the cache.
    let mut zl = gemv(w, x);
    axpy(&mut zl, b);
    let mut hl = zl;
    activate(act, &mut hl);
    *z = zl;
    *h = hl;
    hl
}

/// Computes one layer without bias and keeps what backward needs: `z = W x`, `h = σ(z)`;
/// returns `h` as well.
///
/// ```
/// use mlp::{activation::Tanh, kernels::dense_cached_unbiased};
/// let w = [[0.5, -1.0]];
/// let x = [1.0, 2.0];
/// let (mut z, mut h) = ([0.0], [0.0]);
/// let out = dense_cached_unbiased(&w, &x, &Tanh, &mut z, &mut h);
/// assert_eq!(z, [0.5 * 1.0 - 1.0 * 2.0]);
/// assert_eq!(h, [f64::tanh(z[0])]);
/// assert_eq!(out, h);
/// ```
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn dense_cached_unbiased<T: Scalar, A: Activation<T>, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
    x: &[T; IN],
    act: &A,
    z: &mut [T; OUT],
    h: &mut [T; OUT],
) -> [T; OUT] {
    let zl = gemv(w, x);
    let mut hl = zl;
    activate(act, &mut hl);
    *z = zl;
    *h = hl;
    hl
}

/// Computes `δ = σ'(z) ⊙ g`, where `g = ∂L/∂h` and `h = σ(z)` come from the cache.
///
/// ```
/// use mlp::{activation::Tanh, kernels::delta};
/// let z = [0.3, -1.2];
/// let h = [f64::tanh(0.3), f64::tanh(-1.2)];
/// let g = [2.0, 0.5];
/// let d = delta(&Tanh, &z, &h, &g);
/// assert_eq!(d, [(1.0 - h[0] * h[0]) * 2.0, (1.0 - h[1] * h[1]) * 0.5]);
/// ```
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn delta<T: Scalar, A: Activation<T>, const N: usize>(
    act: &A,
    z: &[T; N],
    h: &[T; N],
    g: &[T; N],
) -> [T; N] {
    let mut d = [T::ZERO; N];
    for i in 0..N {
        d[i] = act.df(z[i], h[i]) * g[i];
    }
    d
}

/// One layer of a fused SGD step, from layer `l` to `l − 1`: computes `δ = σ'(z) ⊙ g`
/// (`g = ∂L/∂h`, with `z` and `h = σ(z)` from the cache), returns `Wᵀ δ = ∂L/∂x` from the
/// weights as they were, then updates `W ← W − lr δ xᵀ` and `b ← b − lr δ` in place, W:
/// OUT×IN. Pass `b = None` for a layer without bias. No gradient is stored.
///
/// ```
/// use mlp::{activation::Tanh, kernels::sgd_layer};
/// let (mut w, mut b) = ([[0.5, -1.0], [2.0, 0.25]], [0.1, -0.2]);
/// let (w0, b0) = (w, b);
/// let x = [1.0, 2.0];
/// let z = [0.5 * 1.0 - 1.0 * 2.0 + 0.1, 2.0 * 1.0 + 0.25 * 2.0 - 0.2];
/// let h = [f64::tanh(z[0]), f64::tanh(z[1])];
/// let g = [0.3, -0.6];
/// let lr = 0.1;
/// let dx = sgd_layer(&mut w, Some(&mut b), &Tanh, (&z, &h), &g, &x, lr);
/// let d = [(1.0 - h[0] * h[0]) * g[0], (1.0 - h[1] * h[1]) * g[1]];
/// let close = |a: f64, e: f64| (a - e).abs() <= 4.0 * f64::EPSILON * e.abs().max(1.0);
/// assert!(close(dx[0], w0[0][0] * d[0] + w0[1][0] * d[1]));
/// assert!(close(dx[1], w0[0][1] * d[0] + w0[1][1] * d[1]));
/// for i in 0..2 {
///     assert!(close(b[i], b0[i] - lr * d[i]));
///     for j in 0..2 {
///         assert!(close(w[i][j], w0[i][j] - lr * d[i] * x[j]));
///     }
/// }
/// ```
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn sgd_layer<T: Scalar, A: Activation<T>, const IN: usize, const OUT: usize>(
    w: &mut [[T; IN]; OUT],
    b: Option<&mut [T; OUT]>,
    act: &A,
    (z, h): (&[T; OUT], &[T; OUT]),
    g: &[T; OUT],
    x: &[T; IN],
    lr: T,
) -> [T; IN] {
    let d = delta(act, z, h, g);
    let dx = gemv_tr(w, &d);
    let mut s = d;
    s.iter_mut().for_each(|si| *si = -lr * *si);
    ger(w, &s, x);
    if let Some(b) = b {
        axpy(b, &s);
    }
    dx
}

/// The dot product `Σ aᵢ bᵢ`, in eight running sums (the one for `i ≡ k mod 8` holds term
/// `i`) added pairwise at the end, `((s₀ + s₄) + (s₂ + s₆)) + ((s₁ + s₅) + (s₃ + s₇))`: the
/// products of a row vectorise and the chains of dependent additions are short. The order is
/// fixed, so the result is the same bit for bit on every call.
#[inline(always)]
fn dot<T: Scalar, const N: usize>(a: &[T; N], b: &[T; N]) -> T {
    let mut s = [T::ZERO; 8];
    let mut i = 0;
    while i + 8 <= N {
        for k in 0..8 {
            s[k] += a[i + k] * b[i + k];
        }
        i += 8;
    }
    for k in 0..8 {
        if i + k < N {
            s[k] += a[i + k] * b[i + k];
        }
    }
    // Only the sums that received a term are added (`N` is a constant, so are the tests).
    for k in 0..4 {
        if N > k + 4 {
            s[k] += s[k + 4];
        }
    }
    for k in 0..2 {
        if N > k + 2 {
            s[k] += s[k + 2];
        }
    }
    if N > 1 {
        s[0] += s[1];
    }
    s[0]
}

/// Computes `s = σ'(z)` element-wise, where `h = σ(z)` comes from the cache: the diagonal
/// of `∂h/∂z`.
///
/// ```
/// use mlp::{activation::Tanh, kernels::derivative};
/// let z = [0.3, -1.2];
/// let h = [f64::tanh(0.3), f64::tanh(-1.2)];
/// assert_eq!(derivative(&Tanh, &z, &h), [1.0 - h[0] * h[0], 1.0 - h[1] * h[1]]);
/// ```
#[inline]
pub fn derivative<T: Scalar, A: Activation<T>, const N: usize>(
    act: &A,
    z: &[T; N],
    h: &[T; N],
) -> [T; N] {
    let mut s = [T::ZERO; N];
    for ((si, &zi), &hi) in s.iter_mut().zip(z).zip(h) {
        *si = act.df(zi, hi);
    }
    s
}

/// Computes `C = diag(s) A`, A and C: M×N, overwriting `C`: row `i` of `A` scaled by `sᵢ`.
///
/// ```
/// let a = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
/// let s = [2.0, -0.5];
/// let mut c = [[f64::NAN; 3]; 2];
/// mlp::kernels::scale_rows(&mut c, &s, &a);
/// assert_eq!(c, [[2.0 * 1.0, 2.0 * 2.0, 2.0 * 3.0],
///                [-0.5 * 4.0, -0.5 * 5.0, -0.5 * 6.0]]);
/// ```
#[inline]
pub fn scale_rows<T: Scalar, const N: usize, const M: usize>(
    c: &mut [[T; N]; M],
    s: &[T; M],
    a: &[[T; N]; M],
) {
    for ((c_row, &si), a_row) in c.iter_mut().zip(s).zip(a) {
        for (cij, &aij) in c_row.iter_mut().zip(a_row) {
            *cij = si * aij;
        }
    }
}

/// Computes `C = A diag(s) B`, A: M×K, B: K×N, C: M×N, overwriting `C`:
/// `C[i][j] = Σ_k (A[i][k] s[k]) B[k][j]`.
///
/// The loops run `i`, `k`, `j`, so the inner loop walks a row of `B` and a row of `C`
/// (both contiguous in row-major storage).
///
/// ```
/// let a = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]; // 3×2
/// let s = [0.5, -2.0];
/// let b = [[1.0, 0.0, 2.0, -1.0], [0.5, 3.0, 1.0, 2.0]]; // 2×4
/// let mut c = [[f64::NAN; 4]; 3];
/// mlp::kernels::gemm_diag(&mut c, &a, &s, &b);
/// let mut naive = [[0.0; 4]; 3];
/// for i in 0..3 {
///     for j in 0..4 {
///         naive[i][j] = a[i][0] * s[0] * b[0][j] + a[i][1] * s[1] * b[1][j];
///     }
/// }
/// assert_eq!(c, naive);
/// ```
#[inline]
pub fn gemm_diag<T: Scalar, const K: usize, const M: usize, const N: usize>(
    c: &mut [[T; N]; M],
    a: &[[T; K]; M],
    s: &[T; K],
    b: &[[T; N]; K],
) {
    for (c_row, a_row) in c.iter_mut().zip(a) {
        c_row.fill(T::ZERO);
        for ((&aik, &sk), b_row) in a_row.iter().zip(s).zip(b) {
            let f = aik * sk;
            for (cij, &bkj) in c_row.iter_mut().zip(b_row) {
                *cij += f * bkj;
            }
        }
    }
}

/// Copies `W` (OUT×IN, output-major) into `Wᵀ` stored input-major, `wt[j][i] = W[i][j]`, on
/// the heap: the layout of [`dense_input_major`].
///
/// ```
/// let w = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
/// let wt = mlp::kernels::transpose(&w);
/// assert_eq!(*wt, [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]);
/// ```
pub fn transpose<T: Scalar, const IN: usize, const OUT: usize>(
    w: &[[T; IN]; OUT],
) -> crate::Boxed<[[T; OUT]; IN]> {
    let mut wt = crate::boxed::zeros_matrix::<T, OUT, IN>();
    for (i, row) in w.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            wt[j][i] = v;
        }
    }
    wt
}

/// Computes one layer, `h = σ(W x + b)`, from `Wᵀ` stored input-major (`wt[j][i] = W[i, j]`,
/// as [`transpose`] makes it): `W x = Σ_j x_j wt[j]`, one broadcast multiply-add of a
/// contiguous row per input, which vectorises across the outputs. Pass `b = None` for a layer
/// without bias.
///
/// ```
/// use mlp::{activation::Tanh, kernels::{dense, dense_input_major, transpose}};
/// let w = [[0.5, -1.0], [2.0, 0.25]];
/// let b = [0.1, -0.2];
/// let x = [1.0, 2.0];
/// let h = dense_input_major(&transpose(&w), Some(&b), &x, &Tanh);
/// let naive = [f64::tanh(0.5 * 1.0 - 1.0 * 2.0 + 0.1), f64::tanh(2.0 * 1.0 + 0.25 * 2.0 - 0.2)];
/// for (a, e) in h.iter().zip(naive) {
///     assert!((a - e).abs() <= 4.0 * f64::EPSILON);
/// }
/// ```
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn dense_input_major<T: Scalar, A: Activation<T>, const IN: usize, const OUT: usize>(
    wt: &[[T; OUT]; IN],
    b: Option<&[T; OUT]>,
    x: &[T; IN],
    act: &A,
) -> [T; OUT] {
    let h = match b {
        Some(b) => *b,
        None => [T::ZERO; OUT],
    };
    let mut h = broadcast_sum(h, wt, x);
    activate(act, &mut h);
    h
}

/// Computes `h + Σ_j x_j wt[j]` (`h + W x` for `wt = Wᵀ`), each term one broadcast
/// multiply-add of a contiguous row, which vectorises across the outputs.
///
/// The terms go into four running sums (the one for `j ≡ k mod 4` holds term `j`, the first
/// starts from `h`), added as `(s₀ + s₂) + (s₁ + s₃)` at the end: four short chains of
/// dependent additions in place of one long one. The order is fixed, so the result is the same
/// bit for bit on every call.
#[inline(always)]
fn broadcast_sum<T: Scalar, const IN: usize, const OUT: usize>(
    h: [T; OUT],
    wt: &[[T; OUT]; IN],
    x: &[T; IN],
) -> [T; OUT] {
    /// `s += x_j wt[j]`.
    #[inline(always)]
    fn add<T: Scalar, const N: usize>(s: &mut [T; N], row: &[T; N], xj: T) {
        for (si, &wij) in s.iter_mut().zip(row) {
            *si += wij * xj;
        }
    }
    // Four separate locals, and a loop of four terms at a time, so that the sums stay in
    // registers (an array indexed by `j mod 4` would be kept in memory).
    let (mut s0, mut s1, mut s2, mut s3) = (h, [T::ZERO; OUT], [T::ZERO; OUT], [T::ZERO; OUT]);
    let mut j = 0;
    while j + 4 <= IN {
        add(&mut s0, &wt[j], x[j]);
        add(&mut s1, &wt[j + 1], x[j + 1]);
        add(&mut s2, &wt[j + 2], x[j + 2]);
        add(&mut s3, &wt[j + 3], x[j + 3]);
        j += 4;
    }
    // `IN` is a constant: so are these tests, and only the sums that received a term are added.
    if j < IN {
        add(&mut s0, &wt[j], x[j]);
    }
    if j + 1 < IN {
        add(&mut s1, &wt[j + 1], x[j + 1]);
    }
    if j + 2 < IN {
        add(&mut s2, &wt[j + 2], x[j + 2]);
    }
    let sum = |a: &mut [T; OUT], b: [T; OUT]| a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
    if IN > 3 {
        sum(&mut s1, s3);
    }
    if IN > 2 {
        sum(&mut s0, s2);
    }
    if IN > 1 {
        sum(&mut s0, s1);
    }
    s0
}
