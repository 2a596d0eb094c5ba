//! The checked model of a network: what `valid` produces and `expand` consumes.
//!
//! Every value here has been validated, so code generation cannot fail.

use proc_macro2::Span;
use syn::{Attribute, Ident, Path, Visibility};

/// A validated network declaration.
#[derive(Debug)]
pub struct Net {
    /// Attributes passed through to the struct.
    pub attrs: Vec<Attribute>,
    /// The struct's visibility.
    pub vis: Visibility,
    /// The struct's name.
    pub ident: Ident,
    /// The scalar type.
    pub scalar: Scalar,
    /// The input width `N_0`.
    pub input: Width,
    /// The layers `1..=L`; never empty.
    pub layers: Vec<Layer>,
    /// Whether the layers have biases.
    pub bias: bool,
    /// The path to the runtime crate given with `crate: path`, if any.
    pub krate: Option<Path>,
}

/// A layer width with the span of the token that gave it.
#[derive(Debug, Clone, Copy)]
pub struct Width {
    /// The number of units, at least 1.
    pub value: usize,
    /// Where it was written.
    pub span: Span,
}

/// One layer `h_l = σ_l(W_l h_{l−1} + b_l)`.
#[derive(Debug)]
pub struct Layer {
    /// The output width `N_l`.
    pub width: Width,
    /// The activation `σ_l`.
    pub activation: Activation,
    /// Where the activation was written.
    pub activation_span: Span,
}

/// The scalar type a network computes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// `f32`.
    F32,
    /// `f64`.
    F64,
}

/// A built-in activation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// `σ(z) = z`.
    Identity,
    /// `σ(z) = tanh z`.
    Tanh,
    /// `σ(z) = 1 / (1 + e^(−z))`.
    Sigmoid,
    /// `σ(z) = max(z, 0)`.
    Relu,
    /// `σ(z) = z if z > 0 else α z`.
    LeakyRelu(f64),
    /// `σ(z) = ln(1 + e^z)`.
    Softplus,
    /// GELU, tanh approximation.
    Gelu,
}

impl Activation {
    /// The names accepted in `layers`, for errors and suggestions.
    pub const NAMES: &'static [&'static str] = &[
        "identity",
        "tanh",
        "sigmoid",
        "relu",
        "leaky_relu",
        "softplus",
        "gelu",
    ];

    /// The slope `leaky_relu` takes when none is given, as PyTorch's `LeakyReLU`.
    pub const DEFAULT_LEAKY_SLOPE: f64 = 0.01;

    /// The activation as written in `mlp!`, e.g. `leaky_relu(0.1)`.
    pub fn display(&self) -> String {
        match self {
            Activation::LeakyRelu(alpha) => format!("leaky_relu({alpha:?})"),
            other => other.name().to_owned(),
        }
    }

    /// The bare name, e.g. `leaky_relu`.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Softplus => "softplus",
            Activation::Gelu => "gelu",
        }
    }
}

impl Scalar {
    /// The Rust type's name.
    pub fn name(self) -> &'static str {
        match self {
            Scalar::F32 => "f32",
            Scalar::F64 => "f64",
        }
    }
}

impl Net {
    /// The widths `N_0, N_1, ..., N_L`.
    pub fn widths(&self) -> Vec<usize> {
        std::iter::once(self.input.value)
            .chain(self.layers.iter().map(|l| l.width.value))
            .collect()
    }

    /// The output width `N_L`.
    pub fn output(&self) -> usize {
        self.layers
            .last()
            .map_or(self.input.value, |l| l.width.value)
    }

    /// The number of scalar parameters.
    pub fn params(&self) -> usize {
        let w = self.widths();
        w.windows(2)
            .map(|p| p[1] * p[0] + if self.bias { p[1] } else { 0 })
            .sum()
    }
}
