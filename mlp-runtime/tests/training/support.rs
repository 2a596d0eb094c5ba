//! What the training tests share: networks, tolerances and a seeded generator for test data.

#![allow(dead_code)]

#[path = "../../../tests/support/close.rs"]
mod close;
#[path = "../../../tests/support/counting.rs"]
pub mod counting;
#[path = "../../../tests/support/rng.rs"]
mod rng;

pub use close::assert_close;
pub use rng::TestRng;

use mlp_macros::mlp;
use mlp_runtime::data::Dataset;
use ndarray::Array2;

/// Relative error allowed between analytic gradients and central differences in f64.
pub const FD_TOLERANCE: f64 = 1e-8;

mlp! {
    /// A linear model `y = W x + b`, W: 1×2.
    pub struct Linear { scalar: f64, input: 2, layers: [1 identity] }
}

mlp! {
    /// The XOR network.
    pub struct Xor { scalar: f64, input: 2, layers: [8 tanh, 1 identity] }
}

mlp! {
    /// XOR in f32, for the allocation and divergence tests.
    pub struct Xor32 { scalar: f32, input: 2, layers: [8 tanh, 1 identity] }
}

mlp! {
    /// A one-dimensional regressor.
    pub struct Curve { scalar: f64, input: 1, layers: [16 tanh, 1 identity] }
}

mlp! {
    /// A small classifier with two hidden layers.
    pub struct Classifier { scalar: f64, input: 2, layers: [8 tanh, 8 tanh, 3 identity] }
}

mlp! {
    /// Wide layers, for the initialisation statistics.
    pub struct Wide { scalar: f64, input: 256, layers: [512 relu, 64 identity] }
}

mlp! {
    /// [`Wide`] in f32.
    pub struct Wide32 { scalar: f32, input: 256, layers: [512 relu, 64 identity] }
}

/// The four XOR samples with 0/1 targets.
pub fn xor_data() -> Dataset<f64> {
    let x = ndarray::array![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let y = ndarray::array![[0.0], [1.0], [1.0], [0.0]];
    Dataset::regression(x, y).unwrap()
}

/// `n` samples of `y = f(x)` for `x` uniform in `[lo, hi)`.
pub fn curve_data(n: usize, lo: f64, hi: f64, seed: u64, f: impl Fn(f64) -> f64) -> Dataset<f64> {
    let mut rng = TestRng::new(seed);
    let xs = rng.vec(n, lo, hi);
    let x = Array2::from_shape_vec((n, 1), xs.clone()).unwrap();
    let y = Array2::from_shape_vec((n, 1), xs.iter().map(|&v| f(v)).collect()).unwrap();
    Dataset::regression(x, y).unwrap()
}

/// Every parameter, flat in parameter order, as `f64`.
pub fn flat<P: mlp_runtime::Parameters>(p: &P) -> Vec<f64> {
    use mlp_runtime::Scalar;
    let mut v = Vec::new();
    p.visit(|_, s| v.extend(s.iter().map(|x| x.to_f64())));
    v
}

/// `n` points of three Gaussian-ish blobs in the plane, labelled by blob.
pub fn blobs(n: usize, seed: u64) -> Dataset<f64> {
    let mut rng = TestRng::new(seed);
    let centres = [(-2.0, 0.0), (2.0, 0.0), (0.0, 2.5)];
    let labels: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let x = Array2::from_shape_fn((n, 2), |(i, j)| {
        let c = centres[labels[i]];
        let noise = rng.uniform(-1.0, 1.0) + rng.uniform(-1.0, 1.0);
        if j == 0 {
            c.0 + noise
        } else {
            c.1 + noise
        }
    });
    Dataset::classification(x, labels, 3).unwrap()
}
