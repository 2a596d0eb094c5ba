//! What the integration tests share: tolerances, a seeded generator for test data, and an
//! independent f64 reference implementation of an MLP.

#![allow(dead_code)]

#[path = "../support/close.rs"]
mod close;
#[path = "../support/rng.rs"]
mod rng;

// Each binary that includes this file uses what it needs of it.
#[allow(unused_imports)]
pub use close::{assert_close, rel_err};
pub use rng::TestRng;

use mlp::activation::ActivationSpec;
use mlp::{Network, ParamKind, Parameters, Scalar};

/// Relative error allowed between analytic and central-difference gradients in f64.
pub const FD_TOLERANCE: f64 = 1e-7;
/// Relative error allowed between generated f64 code and the reference.
pub const F64_TOLERANCE: f64 = 1e-12;
/// Relative error allowed between generated f32 code and the f64 reference.
pub const F32_TOLERANCE: f64 = 1e-5;

/// Fills every parameter with a uniform value in `[-scale, scale)`.
pub fn randomize<N: Parameters>(net: &mut N, rng: &mut TestRng, scale: f64) {
    net.visit_mut(|_, p| {
        p.iter_mut()
            .for_each(|x| *x = N::Scalar::from_f64(rng.uniform(-scale, scale)))
    });
}

/// A random input vector.
pub fn random_vector<T: Scalar, V: mlp::Vector<T>>(rng: &mut TestRng, scale: f64) -> V {
    let mut v = V::zeros();
    v.as_mut_slice()
        .iter_mut()
        .for_each(|x| *x = T::from_f64(rng.uniform(-scale, scale)));
    v
}

/// A layer of the reference network, in plain `Vec`s and `f64`.
pub struct RefLayer {
    /// `W[i][j]`, row = output unit.
    pub w: Vec<Vec<f64>>,
    /// The bias, zeros when the network has none.
    pub b: Vec<f64>,
    /// The activation as the network describes it.
    pub activation: ActivationSpec,
}

/// One layer's `(∂L/∂W, ∂L/∂b)`.
pub type LayerGrads = (Vec<Vec<f64>>, Vec<f64>);

/// An independent reference MLP, read out of any generated network.
pub struct Reference {
    /// The layers in order.
    pub layers: Vec<RefLayer>,
}

/// `σ(z)`, written out again from the textbook definitions.
pub fn sigma(spec: &ActivationSpec, z: f64) -> f64 {
    match (spec.name, spec.params) {
        ("identity", []) => z,
        ("tanh", []) => z.tanh(),
        ("sigmoid", []) => 1.0 / (1.0 + (-z).exp()),
        ("relu", []) => z.max(0.0),
        ("softplus", []) => (1.0 + z.exp()).ln(),
        ("gelu", []) => {
            0.5 * z
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (z + 0.044715 * z.powi(3))).tanh())
        }
        ("leaky_relu", &[alpha]) => {
            if z > 0.0 {
                z
            } else {
                alpha * z
            }
        }
        _ => panic!("no reference for activation {spec}"),
    }
}

/// `σ'(z)` by the textbook formula in `z` (never from `h`, unlike the generated code).
pub fn sigma_prime(spec: &ActivationSpec, z: f64) -> f64 {
    match (spec.name, spec.params) {
        ("identity", []) => 1.0,
        ("tanh", []) => 1.0 / z.cosh().powi(2),
        ("sigmoid", []) => (-z).exp() / (1.0 + (-z).exp()).powi(2),
        ("relu", []) => f64::from(u8::from(z > 0.0)),
        ("softplus", []) => z.exp() / (1.0 + z.exp()),
        ("gelu", []) => {
            let c = (2.0 / std::f64::consts::PI).sqrt();
            let u = c * (z + 0.044715 * z.powi(3));
            let du = c * (1.0 + 3.0 * 0.044715 * z * z);
            0.5 * (1.0 + u.tanh()) + 0.5 * z * du / u.cosh().powi(2)
        }
        ("leaky_relu", &[alpha]) => {
            if z > 0.0 {
                1.0
            } else {
                alpha
            }
        }
        _ => panic!("no reference for activation {spec}"),
    }
}

impl Reference {
    /// Copies the weights out of a generated network.
    pub fn of<N: Network>(net: &N) -> Self {
        let mut layers: Vec<RefLayer> = N::LAYER_SPECS
            .iter()
            .map(|s| RefLayer {
                w: vec![vec![0.0; s.fan_in]; s.fan_out],
                b: vec![0.0; s.fan_out],
                activation: s.activation,
            })
            .collect();
        net.visit(|info, p| {
            let layer = &mut layers[info.layer - 1];
            match info.kind {
                ParamKind::Weight => {
                    let cols = info.shape[1];
                    for (k, v) in p.iter().enumerate() {
                        layer.w[k / cols][k % cols] = v.to_f64();
                    }
                }
                ParamKind::Bias => layer.b = p.iter().map(|v| v.to_f64()).collect(),
            }
        });
        Reference { layers }
    }

    /// The pre-activations `z_1..z_L` and outputs `h_0..h_L`.
    pub fn forward(&self, x: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let mut zs = Vec::new();
        let mut hs = vec![x.to_vec()];
        for layer in &self.layers {
            let h = hs.last().unwrap();
            let z: Vec<f64> = layer
                .w
                .iter()
                .zip(&layer.b)
                .map(|(row, b)| row.iter().zip(h).map(|(w, x)| w * x).sum::<f64>() + b)
                .collect();
            hs.push(z.iter().map(|&z| sigma(&layer.activation, z)).collect());
            zs.push(z);
        }
        (zs, hs)
    }

    /// The gradients by explicit Jacobians: `∂L/∂x = J_1ᵀ ⋯ J_Lᵀ g` with
    /// `J_l = diag(σ'(z_l)) W_l`; returns `(∂L/∂W_l, ∂L/∂b_l)` per layer and `∂L/∂x`.
    pub fn backward(&self, x: &[f64], dl_dy: &[f64]) -> (Vec<LayerGrads>, Vec<f64>) {
        let (zs, hs) = self.forward(x);
        let mut g = dl_dy.to_vec();
        let mut grads = Vec::new();
        for (l, layer) in self.layers.iter().enumerate().rev() {
            // J_l[i][j] = σ'(z_i) W[i][j]
            let jac: Vec<Vec<f64>> = layer
                .w
                .iter()
                .zip(&zs[l])
                .map(|(row, &z)| {
                    row.iter()
                        .map(|w| sigma_prime(&layer.activation, z) * w)
                        .collect()
                })
                .collect();
            let delta: Vec<f64> = zs[l]
                .iter()
                .zip(&g)
                .map(|(&z, g)| sigma_prime(&layer.activation, z) * g)
                .collect();
            let dw: Vec<Vec<f64>> = delta
                .iter()
                .map(|d| hs[l].iter().map(|h| d * h).collect())
                .collect();
            grads.push((dw, delta.clone()));
            g = (0..hs[l].len())
                .map(|j| jac.iter().zip(&g).map(|(row, gi)| row[j] * gi).sum())
                .collect();
        }
        grads.reverse();
        (grads, g)
    }
}

/// The five-point central difference `f'(0) ≈ (f(−2h) − 8 f(−h) + 8 f(h) − f(2h)) / 12h`,
/// whose truncation error is `O(h⁴)`, with `h = 1e-4`.
pub fn central_difference(mut f: impl FnMut(f64) -> f64) -> f64 {
    let h = 1e-4;
    (f(-2.0 * h) - 8.0 * f(-h) + 8.0 * f(h) - f(2.0 * h)) / (12.0 * h)
}
