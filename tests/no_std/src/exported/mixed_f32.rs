//! The PyTorch fixture `tests/fixtures/pytorch/mixed_f32.safetensors`.
//!
//! A 5-layer perceptron `4-6-5-5-4-3` in `f32` with 134 parameters, written out by
//! `mlp::export`: its weights as `const` arrays and [`forward`], which needs
//! only `core` and `mlp` without default features. Generated: do not edit.
#![allow(clippy::approx_constant, clippy::unreadable_literal)]

/// The input width `N_0`.
pub const INPUT: usize = 4;
/// The output width `N_5`.
pub const OUTPUT: usize = 3;

/// `W_1` (6×4): row `i` holds the weights into unit `i` of `z_1`.
pub const W1: [[f32; 4]; 6] = [
    [0.28673768, -0.29746786, 0.34278587, -0.0638473],
    [0.5339846, 0.29759094, -0.14366835, -1.0105784],
    [0.285393, -1.1066808, 0.164285, 0.083072335],
    [-0.27487293, 1.0221212, 0.08342102, 0.5183481],
    [0.5289935, -0.7374145, -0.48054308, 1.2021476],
    [-1.2243468, -0.084897876, -0.099062175, 0.88663685],
];

/// `b_1` (6): the bias of `z_1`.
pub const B1: [f32; 6] = [
    -0.11883691, 0.32914728, -0.060004592, -0.69993347, -0.70848775, -0.6072922,
];

/// `W_2` (5×6): row `i` holds the weights into unit `i` of `z_2`.
pub const W2: [[f32; 6]; 5] = [
    [-0.9271365, -0.66236484, 0.24020201, 0.6717175, 0.050278112, -0.4678421],
    [0.448546, -0.39178836, -0.22608677, -0.5595117, -0.3204775, -0.94570696],
    [0.43548852, 0.39685386, 0.20272954, 0.50110567, 0.43257153, 0.04515542],
    [0.10808938, 0.07793581, 0.5446009, 0.6855986, 0.73295426, 0.5915575],
    [-0.24883701, -0.045435622, -0.20741299, 0.5937277, 0.113348216, 0.9446222],
];

/// `b_2` (5): the bias of `z_2`.
pub const B2: [f32; 5] = [0.5176511, -0.87228286, 0.29856443, 0.9806882, 0.9065602];

/// `W_3` (5×5): row `i` holds the weights into unit `i` of `z_3`.
pub const W3: [[f32; 5]; 5] = [
    [-0.01756964, 0.37091208, -1.0487735, -0.35643026, 0.5451973],
    [-1.0184875, 0.9740347, -0.73524624, 0.3535474, -0.04232694],
    [0.19701682, 0.10832056, -1.0451745, -0.24015383, -0.7067216],
    [0.95050126, -0.13723819, -1.1132462, 0.27078664, 0.4855289],
    [-0.50049746, -0.10488047, 0.48333764, -0.6956482, -0.5910111],
];

/// `b_3` (5): the bias of `z_3`.
pub const B3: [f32; 5] = [-0.1078526, -0.7851439, 0.6871417, 0.0914453, 0.6689245];

/// `W_4` (4×5): row `i` holds the weights into unit `i` of `z_4`.
pub const W4: [[f32; 5]; 4] = [
    [0.59854585, -0.8616258, -0.6968641, -0.7647153, -0.3593371],
    [-0.40855688, -0.18014944, -1.0815867, 0.47214213, 0.63426805],
    [0.35434204, 0.71046257, 0.83990103, -1.1036955, 0.16888472],
    [1.0371011, -0.81025773, -0.4978099, -0.058877654, -0.69551045],
];

/// `b_4` (4): the bias of `z_4`.
pub const B4: [f32; 4] = [-0.21072908, -0.1652126, 0.99613595, -0.07030069];

/// `W_5` (3×4): row `i` holds the weights into unit `i` of `z_5`.
pub const W5: [[f32; 4]; 3] = [
    [0.67784, 0.91534436, 0.5569036, -1.0870442],
    [0.9368813, 0.82431227, -0.8960767, -0.44571474],
    [0.85078716, -1.2151313, -1.0955827, -0.8471979],
];

/// `b_5` (3): the bias of `z_5`.
pub const B5: [f32; 3] = [0.38949892, -0.5104606, -1.1148007];

/// Computes `y = h_5` for one sample, as the exported network's `forward` does, bit for bit.
///
/// ```text
/// h_0 = x
/// h_1 = relu(W_1 h_0 + b_1)   (6×4)
/// h_2 = gelu(W_2 h_1 + b_2)   (5×6)
/// h_3 = identity(W_3 h_2 + b_3)   (5×5)
/// h_4 = softplus(W_4 h_3 + b_4)   (4×5)
/// h_5 = leaky_relu(0.1)(W_5 h_4 + b_5)   (3×4)
/// y = h_5
/// ```
#[must_use]
pub fn forward(x: &[f32; 4]) -> [f32; 3] {
    let h1 = mlp::kernels::dense(&W1, &B1, x, &mlp::activation::Relu);
    let h2 = mlp::kernels::dense(&W2, &B2, &h1, &mlp::activation::Gelu);
    let h3 = mlp::kernels::dense(&W3, &B3, &h2, &mlp::activation::Identity);
    let h4 = mlp::kernels::dense(&W4, &B4, &h3, &mlp::activation::Softplus);
    mlp::kernels::dense(&W5, &B5, &h4, &mlp::activation::LeakyRelu(0.1f32))
}
