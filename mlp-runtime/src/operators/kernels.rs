//! The per-sample passes of a [`Jet`] through one layer: fixed-size arrays, no allocation.

// The loops index a unit `i` of several `[d][i]`-shaped arrays at once, which iterators
// would hide.
#![allow(clippy::needless_range_loop)]

use super::{Jet, SecondOrder};
use crate::Scalar;

/// `Σ_j a_j b_j`.
#[inline(always)]
fn dot<T: Scalar, const N: usize>(a: &[T; N], b: &[T; N]) -> T {
    let mut s = T::ZERO;
    for (&x, &y) in a.iter().zip(b) {
        s += x * y;
    }
    s
}

/// The input layer's jet: `h = x`, `∂_d h = e_d`, `L_k h = c_k`.
///
/// ```
/// use mlp::operators::{jet_input, Jet, Operator};
/// let op = Operator { a: [[1.0, 0.0], [0.0, 1.0]], b: [0.5, -1.0] };
/// let mut jet = Jet::<f64, 2, 2, 1>::zeros();
/// jet_input(&[3.0, 4.0], &op, &mut jet);
/// assert_eq!(jet.value, [3.0, 4.0]);
/// assert_eq!(jet.gradient, [[1.0, 0.0], [0.0, 1.0]]);
/// assert_eq!(jet.second, [[0.5, -1.0]]);
/// ```
pub fn jet_input<T: Scalar, S: SecondOrder<T, D, K>, const D: usize, const K: usize>(
    x: &[T; D],
    op: &S,
    jet: &mut Jet<T, D, D, K>,
) {
    jet.value = *x;
    for (d, row) in jet.gradient.iter_mut().enumerate() {
        *row = core::array::from_fn(|i| if i == d { T::ONE } else { T::ZERO });
    }
    for (k, row) in jet.second.iter_mut().enumerate() {
        *row = core::array::from_fn(|d| op.drift(k, d));
    }
}

/// Where a layer's reverse pass adds its results: `∂L/∂W_l`, `∂L/∂b_l` (`None` without
/// bias) and, when asked for, the adjoint `X` of the layer's input.
pub type LayerGrads<'a, T, const IN: usize, const OUT: usize, X> = (
    &'a mut [[T; IN]; OUT],
    Option<&'a mut [T; OUT]>,
    Option<&'a mut X>,
);

/// One layer forward: `z = W x + b`, `∂z = W ∂x`, `L z = W L x`, then `h = σ(z)`,
/// `∂h = σ'(z) ⊙ ∂z`, `L_k h = σ'(z) ⊙ L_k z + σ''(z) ⊙ q_k(∂z)` (W: OUT×IN). `act(z)` returns
/// `[σ(z), σ'(z), σ''(z), σ'''(z)]`.
///
/// ```
/// use mlp::operators::{jet_dense, jet_input, Jet, Laplacian};
/// // One tanh unit of z = 2 x_1 − x_2: Δ tanh(z) = tanh''(z) · (2² + 1²).
/// let act = |z: f64| {
///     let t = z.tanh();
///     [t, 1.0 - t * t, -2.0 * t * (1.0 - t * t), 0.0]
/// };
/// let (mut x, mut z, mut h) = (Jet::zeros(), Jet::zeros(), Jet::zeros());
/// jet_input(&[0.3, 0.1], &Laplacian, &mut x);
/// jet_dense(&[[2.0, -1.0]], Some(&[0.0]), act, &Laplacian, &x, &mut z, &mut h);
/// let t = 0.5f64.tanh();
/// assert!((h.second[0][0] - (-2.0 * t * (1.0 - t * t) * 5.0)).abs() < 1e-15);
/// assert!((h.gradient[1][0] + (1.0 - t * t)).abs() < 1e-15);
/// ```
#[inline]
pub fn jet_dense<T, S, F, const IN: usize, const OUT: usize, const D: usize, const K: usize>(
    w: &[[T; IN]; OUT],
    b: Option<&[T; OUT]>,
    act: F,
    op: &S,
    x: &Jet<T, IN, D, K>,
    z: &mut Jet<T, OUT, D, K>,
    h: &mut Jet<T, OUT, D, K>,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T) -> [T; 4],
{
    for (i, row) in w.iter().enumerate() {
        let zi = dot(row, &x.value) + b.map_or(T::ZERO, |b| b[i]);
        z.value[i] = zi;
        let j: [T; D] = core::array::from_fn(|d| dot(row, &x.gradient[d]));
        let [f, d1, d2, _] = act(zi);
        h.value[i] = f;
        for d in 0..D {
            z.gradient[d][i] = j[d];
            h.gradient[d][i] = d1 * j[d];
        }
        for k in 0..K {
            let lz = dot(row, &x.second[k]);
            z.second[k][i] = lz;
            h.second[k][i] = d1 * lz + d2 * op.quad(k, &j);
        }
    }
}

/// One layer backward: from the adjoints `dh` of the layer's output jet, adds
/// `∂Loss/∂W = Σ_columns z̄ xᵀ` into `gw` and `∂Loss/∂b = z̄` (value column) into `gb`, and
/// writes the input's adjoints `Wᵀ z̄` into `dx` when given. With `s_n = σ⁽ⁿ⁾(z)` and
/// `j = ∂z` of a unit:
///
/// ```text
/// z̄     = s1 h̄ + s2 Σ_d ∂_dh̄ j_d + Σ_k L_kh̄ (s2 L_k z + s3 q_k(j))
/// ∂_dz̄  = s1 ∂_dh̄ + s2 Σ_k L_kh̄ ∂q_k/∂j_d
/// L_kz̄  = s1 L_kh̄
/// ```
#[inline]
pub fn jet_dense_backward<
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
    x: &Jet<T, IN, D, K>,
    z: &Jet<T, OUT, D, K>,
    dh: &Jet<T, OUT, D, K>,
    (gw, gb, dx): LayerGrads<'_, T, IN, OUT, Jet<T, IN, D, K>>,
) where
    T: Scalar,
    S: SecondOrder<T, D, K>,
    F: Fn(T) -> [T; 4],
{
    let mut dz = Jet::<T, OUT, D, K>::zeros();
    for i in 0..OUT {
        let [_, s1, s2, s3] = act(z.value[i]);
        let j: [T; D] = core::array::from_fn(|d| z.gradient[d][i]);
        let mut v = s1 * dh.value[i];
        for d in 0..D {
            v += s2 * dh.gradient[d][i] * j[d];
            dz.gradient[d][i] = s1 * dh.gradient[d][i];
        }
        for k in 0..K {
            let lb = dh.second[k][i];
            v += lb * (s2 * z.second[k][i] + s3 * op.quad(k, &j));
            dz.second[k][i] = s1 * lb;
            let g = op.quad_grad(k, &j);
            for d in 0..D {
                dz.gradient[d][i] += s2 * lb * g[d];
            }
        }
        dz.value[i] = v;
    }
    for (i, row) in gw.iter_mut().enumerate() {
        for (c, g) in row.iter_mut().enumerate() {
            let mut s = dz.value[i] * x.value[c];
            for d in 0..D {
                s += dz.gradient[d][i] * x.gradient[d][c];
            }
            for k in 0..K {
                s += dz.second[k][i] * x.second[k][c];
            }
            *g += s;
        }
    }
    if let Some(gb) = gb {
        for (g, &v) in gb.iter_mut().zip(&dz.value) {
            *g += v;
        }
    }
    if let Some(dx) = dx {
        let back = |col: &[T; OUT]| -> [T; IN] {
            core::array::from_fn(|c| {
                let mut s = T::ZERO;
                for (row, &v) in w.iter().zip(col) {
                    s += row[c] * v;
                }
                s
            })
        };
        dx.value = back(&dz.value);
        for d in 0..D {
            dx.gradient[d] = back(&dz.gradient[d]);
        }
        for k in 0..K {
            dx.second[k] = back(&dz.second[k]);
        }
    }
}
