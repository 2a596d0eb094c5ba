//! `Sensor`, with weights drawn by `TestRng::new(4)`; its activations are the library's.
//!
//! A 3-layer perceptron `3-6-4-2` in `f32` with 62 parameters, written out by
//! `mlp::export`: its weights as `const` arrays and [`forward`], which needs
//! only `core` and `mlp` without default features. Generated: do not edit.
#![allow(clippy::approx_constant, clippy::unreadable_literal)]

/// The input width `N_0`.
pub const INPUT: usize = 3;
/// The output width `N_3`.
pub const OUTPUT: usize = 2;

/// `W_1` (6×3): row `i` holds the weights into unit `i` of `z_1`.
pub const W1: [[f32; 3]; 6] = [
    [-0.13708836, 0.7848137, 0.7182343],
    [-0.016451472, -0.21083902, 0.17343669],
    [0.84135985, -0.102521434, -0.6364285],
    [0.0753426, 0.5880957, 0.39361566],
    [0.086444356, 0.3604389, 0.7024492],
    [0.5889638, 0.21570767, -0.66201866],
];

/// `b_1` (6): the bias of `z_1`.
pub const B1: [f32; 6] = [0.5229874, -0.73119175, -0.26791555, -0.97818565, 0.22741948, -0.7346125];

/// `W_2` (4×6): row `i` holds the weights into unit `i` of `z_2`.
pub const W2: [[f32; 6]; 4] = [
    [0.0739905, 0.8142894, 0.12837395, 0.73954993, -0.50054026, 0.32622328],
    [0.8720242, -0.8933887, -0.33759594, -0.6334881, 0.77392226, 0.73399585],
    [0.22702149, 0.9707958, 0.6788717, -0.60157585, 0.49179947, 0.95654213],
    [-0.99479324, -0.47869703, -0.6765397, 0.009035174, 0.9350818, -0.115855865],
];

/// `b_2` (4): the bias of `z_2`.
pub const B2: [f32; 4] = [0.8365264, -0.26574272, 0.5324343, -0.0728345];

/// `W_3` (2×4): row `i` holds the weights into unit `i` of `z_3`.
pub const W3: [[f32; 4]; 2] = [
    [0.050567605, -0.47199777, 0.44272375, 0.6924716],
    [0.77590483, 0.35743368, -0.72176236, -0.6577623],
];

/// `b_3` (2): the bias of `z_3`.
pub const B3: [f32; 2] = [0.081238694, -0.11898099];

/// Computes `y = h_3` for one sample, as the exported network's `forward` does, bit for bit.
///
/// ```text
/// h_0 = x
/// h_1 = softsign(W_1 h_0 + b_1)   (6×3)
/// h_2 = leaky(0.2)(W_2 h_1 + b_2)   (4×6)
/// h_3 = identity(W_3 h_2 + b_3)   (2×4)
/// y = h_3
/// ```
#[must_use]
pub fn forward(x: &[f32; 3]) -> [f32; 2] {
    let h1 = mlp::kernels::dense(&W1, &B1, x, &crate::SensorSoftsign);
    let h2 = mlp::kernels::dense(&W2, &B2, &h1, &crate::SensorLeaky { a: 0.2 });
    mlp::kernels::dense(&W3, &B3, &h2, &mlp::activation::Identity)
}
