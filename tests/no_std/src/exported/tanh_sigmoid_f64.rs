//! The PyTorch fixture `tests/fixtures/pytorch/tanh_sigmoid_f64.safetensors`.
//!
//! A 3-layer perceptron `3-5-4-2` in `f64` with 54 parameters, written out by
//! `mlp::export`: its weights as `const` arrays and [`forward`], which needs
//! only `core` and `mlp` without default features. Generated: do not edit.
#![allow(clippy::approx_constant, clippy::unreadable_literal)]

/// The input width `N_0`.
pub const INPUT: usize = 3;
/// The output width `N_3`.
pub const OUTPUT: usize = 2;

/// `W_1` (5×3): row `i` holds the weights into unit `i` of `z_1`.
pub const W1: [[f64; 3]; 5] = [
    [0.7437183856964111, -0.6370745897293091, -0.2798149585723877],
    [0.6774756908416748, -1.3588470220565796, 0.8656173348426819],
    [-0.2969388961791992, 0.7343084812164307, 0.20065373182296753],
    [-0.17673291265964508, 0.40033596754074097, 0.0712042972445488],
    [0.5271614789962769, -0.5624849200248718, -0.10523472726345062],
];

/// `b_1` (5): the bias of `z_1`.
pub const B1: [f64; 5] = [
    -0.12994325160980225, 0.20920857787132263, -0.005766029469668865, 1.2617509365081787,
    0.4491642415523529,
];

/// `W_2` (4×5): row `i` holds the weights into unit `i` of `z_2`.
pub const W2: [[f64; 5]; 4] = [
    [-0.41636285185813904, -0.6752493381500244, -0.1873999983072281, -0.4822535514831543,
     -0.35827234387397766],
    [0.05353325977921486, 0.6664910912513733, 0.6076924800872803, -1.0929350852966309,
     0.6930922269821167],
    [0.31233829259872437, 1.0605171918869019, 0.7379692792892456, -1.0186829566955566,
     -1.0630360841751099],
    [-0.5392636656761169, 0.9817587733268738, -0.18622979521751404, 0.4784731864929199,
     -0.5195631980895996],
];

/// `b_2` (4): the bias of `z_2`.
pub const B2: [f64; 4] = [
    1.0970350503921509, -0.4730384349822998, 0.8384413719177246, 0.01323937252163887,
];

/// `W_3` (2×4): row `i` holds the weights into unit `i` of `z_3`.
pub const W3: [[f64; 4]; 2] = [
    [-0.6585217714309692, 0.6425185203552246, -0.6635251641273499, 0.36763086915016174],
    [-0.36094650626182556, -0.13704299926757813, -1.2017351388931274, -0.5959771871566772],
];

/// `b_3` (2): the bias of `z_3`.
pub const B3: [f64; 2] = [0.6782925128936768, -0.3038465976715088];

/// Computes `y = h_3` for one sample, as the exported network's `forward` does, bit for bit.
///
/// ```text
/// h_0 = x
/// h_1 = tanh(W_1 h_0 + b_1)   (5×3)
/// h_2 = sigmoid(W_2 h_1 + b_2)   (4×5)
/// h_3 = identity(W_3 h_2 + b_3)   (2×4)
/// y = h_3
/// ```
#[must_use]
pub fn forward(x: &[f64; 3]) -> [f64; 2] {
    let h1 = mlp::kernels::dense(&W1, &B1, x, &mlp::activation::Tanh);
    let h2 = mlp::kernels::dense(&W2, &B2, &h1, &mlp::activation::Sigmoid);
    mlp::kernels::dense(&W3, &B3, &h2, &mlp::activation::Identity)
}
