//! The PyTorch fixture `tests/fixtures/pytorch/no_bias_f64.safetensors`.
//!
//! A 2-layer perceptron `2-3-2` in `f64` with 12 parameters, written out by
//! `mlp::export`: its weights as `const` arrays and [`forward`], which needs
//! only `core` and `mlp` without default features. Generated: do not edit.
#![allow(clippy::approx_constant, clippy::unreadable_literal)]

/// The input width `N_0`.
pub const INPUT: usize = 2;
/// The output width `N_2`.
pub const OUTPUT: usize = 2;

/// `W_1` (3×2): row `i` holds the weights into unit `i` of `z_1`.
pub const W1: [[f64; 2]; 3] = [
    [-1.7526930570602417, -1.3945229053497314],
    [-0.7571611404418945, -1.6724671125411987],
    [-0.10035838931798935, -1.5552237033843994],
];

/// `W_2` (2×3): row `i` holds the weights into unit `i` of `z_2`.
pub const W2: [[f64; 3]; 2] = [
    [0.7848090529441833, 0.703499436378479, 0.27257055044174194],
    [1.1196457147598267, -0.14136037230491638, 0.8645549416542053],
];

/// Computes `y = h_2` for one sample, as the exported network's `forward` does, bit for bit.
///
/// ```text
/// h_0 = x
/// h_1 = tanh(W_1 h_0)   (3×2)
/// h_2 = sigmoid(W_2 h_1)   (2×3)
/// y = h_2
/// ```
#[must_use]
pub fn forward(x: &[f64; 2]) -> [f64; 2] {
    let h1 = mlp::kernels::dense_unbiased(&W1, x, &mlp::activation::Tanh);
    mlp::kernels::dense_unbiased(&W2, &h1, &mlp::activation::Sigmoid)
}
