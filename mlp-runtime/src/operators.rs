//! Differential operators of a network's output with respect to its input, carried forward
//! layer by layer with the values (the Forward Laplacian), and their parameter gradients.
//!
//! For `y = f(x)`, `x ∈ ℝ^D`, a [`Jet`] holds, for every unit of a layer, the value `h`, the
//! `D` directional derivatives `∂h/∂x_d` and `K` second-order channels `L_k h`, where each
//! channel is a constant-coefficient operator
//!
//! ```text
//! L_k u = Σ_ab A_k[a][b] ∂²u/∂x_a∂x_b + Σ_a c_k[a] ∂u/∂x_a.
//! ```
//!
//! A [`SecondOrder`] says which channels a pass carries: [`Laplacian`] (`A = I`, `c = 0`),
//! [`HessianDiagonal`] (`K = D` channels `∂²/∂x_d²`), [`Operator`] (any `A` and `c`, given at
//! run time) and [`Gradient`] (no channel). Through `z = W h + b` and `h' = σ(z)`:
//!
//! ```text
//! z = W h + b        ∂z = W ∂h        L z = W L h
//! h' = σ(z)          ∂h' = σ'(z) ⊙ ∂z
//! L h' = σ'(z) ⊙ L z + σ''(z) ⊙ q(∂z),   q_i(∂z) = Σ_ab A[a][b] ∂_a z_i ∂_b z_i
//! ```
//!
//! starting from `h = x`, `∂_d x = e_d` and `L x = c`. The reverse pass, given the adjoints of
//! all three, adds `∂Loss/∂W` and `∂Loss/∂b` into a network's gradients; it needs `σ'''`.
//! Networks declared with `operators: [...]` in `mlp!` generate the calls, with `σ''` and
//! `σ'''` derived by the macro.

#[cfg(feature = "std")]
mod batch;
#[cfg(feature = "std")]
mod collocation;
#[cfg(feature = "std")]
mod fit;
mod kernels;

#[cfg(feature = "std")]
pub use batch::{jets_dense, jets_dense_backward, jets_dense_input, jets_input, Jets};
#[cfg(feature = "std")]
pub use collocation::Collocation;
#[cfg(feature = "std")]
pub use fit::{fit_residual, ResidualHistory};
pub use kernels::{jet_dense, jet_dense_backward, jet_input, LayerGrads};

use crate::Scalar;

/// The value of a layer at one sample with its first derivatives and `K` second-order
/// channels (row-major: `gradient[d][i] = ∂h_i/∂x_d`, `second[k][i] = L_k h_i`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Jet<T, const N: usize, const D: usize, const K: usize> {
    /// `h`, the layer's values.
    pub value: [T; N],
    /// `∂h/∂x_d` for each input direction `d`.
    pub gradient: [[T; N]; D],
    /// `L_k h` for each channel `k` of the operator.
    pub second: [[T; N]; K],
}

impl<T: Scalar, const N: usize, const D: usize, const K: usize> Jet<T, N, D, K> {
    /// All zeros.
    pub fn zeros() -> Self {
        Jet {
            value: [T::ZERO; N],
            gradient: [[T::ZERO; N]; D],
            second: [[T::ZERO; N]; K],
        }
    }
}

impl<T: Scalar, const N: usize, const D: usize, const K: usize> Default for Jet<T, N, D, K> {
    fn default() -> Self {
        Self::zeros()
    }
}

/// The second-order channels a pass carries: for channel `k`, the coefficients `A_k` (through
/// the quadratic form `q_k(j) = jᵀ A_k j` of a unit's input gradient `j`) and `c_k`.
pub trait SecondOrder<T: Scalar, const D: usize, const K: usize> {
    /// `c_k[d]`: channel `k` applied to the input coordinate `x_d`.
    fn drift(&self, k: usize, d: usize) -> T;
    /// `q_k(j) = jᵀ A_k j`.
    fn quad(&self, k: usize, j: &[T; D]) -> T;
    /// `∂q_k/∂j = (A_k + A_kᵀ) j`.
    fn quad_grad(&self, k: usize, j: &[T; D]) -> [T; D];
}

/// No second-order channel: the values and the input gradient `∇ₓy` only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gradient;

/// One channel, the Laplacian `Δ = Σ_d ∂²/∂x_d²` (`A = I`, `c = 0`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Laplacian;

/// `D` channels, the diagonal of the input Hessian: channel `d` is `∂²/∂x_d²`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HessianDiagonal;

/// One channel, a general constant-coefficient operator
/// `L u = Σ_ab a[a][b] ∂²u/∂x_a∂x_b + Σ_a b[a] ∂u/∂x_a`, e.g. `u_t − ν u_xx` for `x = (t, x)`
/// is `a = [[0, 0], [0, −ν]]`, `b = [1, 0]`, and `u_xy` is `a = [[0, ½], [½, 0]]`.
///
/// ```
/// use mlp::operators::{Operator, SecondOrder};
/// let heat = Operator { a: [[0.0, 0.0], [0.0, -0.1]], b: [1.0, 0.0] };
/// // q(j) = jᵀ a j for a unit whose input gradient is j = (2, 3): −0.1 · 3².
/// assert!((heat.quad(0, &[2.0f64, 3.0]) + 0.9).abs() < 1e-15);
/// assert_eq!(heat.drift(0, 0), 1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Operator<T, const D: usize> {
    /// The second-order coefficients `a[a][b]` (only `a + aᵀ` matters).
    pub a: [[T; D]; D],
    /// The first-order coefficients.
    pub b: [T; D],
}

impl<T: Scalar, const D: usize> SecondOrder<T, D, 0> for Gradient {
    fn drift(&self, _: usize, _: usize) -> T {
        T::ZERO
    }
    fn quad(&self, _: usize, _: &[T; D]) -> T {
        T::ZERO
    }
    fn quad_grad(&self, _: usize, _: &[T; D]) -> [T; D] {
        [T::ZERO; D]
    }
}

impl<T: Scalar, const D: usize> SecondOrder<T, D, 1> for Laplacian {
    #[inline(always)]
    fn drift(&self, _: usize, _: usize) -> T {
        T::ZERO
    }
    #[inline(always)]
    fn quad(&self, _: usize, j: &[T; D]) -> T {
        j.iter().fold(T::ZERO, |acc, &v| acc + v * v)
    }
    #[inline(always)]
    fn quad_grad(&self, _: usize, j: &[T; D]) -> [T; D] {
        j.map(|v| v + v)
    }
}

impl<T: Scalar, const D: usize> SecondOrder<T, D, D> for HessianDiagonal {
    #[inline(always)]
    fn drift(&self, _: usize, _: usize) -> T {
        T::ZERO
    }
    #[inline(always)]
    fn quad(&self, k: usize, j: &[T; D]) -> T {
        j[k] * j[k]
    }
    #[inline(always)]
    fn quad_grad(&self, k: usize, j: &[T; D]) -> [T; D] {
        core::array::from_fn(|d| if d == k { j[k] + j[k] } else { T::ZERO })
    }
}

impl<T: Scalar, const D: usize> SecondOrder<T, D, 1> for Operator<T, D> {
    #[inline(always)]
    fn drift(&self, _: usize, d: usize) -> T {
        self.b[d]
    }
    #[inline(always)]
    fn quad(&self, _: usize, j: &[T; D]) -> T {
        let mut q = T::ZERO;
        for (row, &ja) in self.a.iter().zip(j) {
            for (&a, &jb) in row.iter().zip(j) {
                q += a * ja * jb;
            }
        }
        q
    }
    #[inline(always)]
    fn quad_grad(&self, _: usize, j: &[T; D]) -> [T; D] {
        core::array::from_fn(|c| {
            let mut g = T::ZERO;
            for (e, &je) in j.iter().enumerate() {
                g += (self.a[c][e] + self.a[e][c]) * je;
            }
            g
        })
    }
}
