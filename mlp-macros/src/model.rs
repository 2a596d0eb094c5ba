//! The checked model of a network: what `valid` produces and `expand` consumes.
//!
//! Every value here has been validated, so code generation cannot fail.

use crate::symbolic::{Func, Graph, Id, Names, Node};
use proc_macro2::Span;
use std::rc::Rc;
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
    /// The activations defined with `activation name(z) = ...;`, in order.
    pub customs: Vec<Rc<Custom>>,
    /// The input-derivative operators requested with `operators: [...]`.
    pub operators: Vec<crate::operators::Request>,
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

/// An activation at its use in `layers`: what it is, with the values of its parameters.
#[derive(Debug, Clone)]
pub struct Activation {
    /// Built in, or defined with `activation name(z) = ...;`.
    pub kind: Kind,
    /// The value of each parameter at this use (the slope of `leaky_relu`, a custom
    /// activation's constants), defaults filled in.
    pub args: Vec<f64>,
}

/// Where an activation comes from.
#[derive(Debug, Clone)]
pub enum Kind {
    /// One the runtime implements by hand.
    Builtin(Builtin),
    /// One the user wrote as an expression; the macro derives it.
    Custom(Rc<Custom>),
}

/// The activations the runtime implements by hand (`mlp_runtime::activation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `σ(z) = z`.
    Identity,
    /// `σ(z) = tanh z`.
    Tanh,
    /// `σ(z) = 1 / (1 + e^(−z))`.
    Sigmoid,
    /// `σ(z) = max(z, 0)`.
    Relu,
    /// `σ(z) = max(z, α z)` for `0 < α < 1`.
    LeakyRelu,
    /// `σ(z) = ln(1 + e^z)`.
    Softplus,
    /// GELU, tanh approximation.
    Gelu,
}

/// A user-defined activation, differentiated by the macro.
#[derive(Debug)]
pub struct Custom {
    /// The name used in `layers`.
    pub name: Ident,
    /// The generated type implementing the runtime's `Activation` trait.
    pub type_name: Ident,
    /// The parameters' names and defaults.
    pub params: Vec<(Ident, Option<f64>)>,
    /// `σ` and `σ'`, derived.
    pub derived: Derived,
    /// The doc comments and lint levels written on the definition, for the generated type.
    pub docs: Vec<Attribute>,
}

/// An activation's value and derivative as expression graphs, and what the derivative reads.
#[derive(Debug, Clone)]
pub struct Derived {
    /// The graph holding both expressions.
    pub graph: Graph,
    /// `σ(z)`, in terms of `Var` and `Param`s.
    pub f: Id,
    /// `σ'(z)`, in terms of `Var`, `Out` (`h = σ(z)`, wherever `σ(z)` itself appears) and
    /// `Param`s.
    pub df: Id,
    /// The parameters' names, for the docs.
    pub params: Vec<String>,
}

/// Which cached quantity a derivative reads (as the runtime's `DerivativeReads`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// A constant derivative.
    Nothing,
    /// The pre-activation `z` (and possibly `h`).
    Input,
    /// Only the output `h`.
    Output,
}

impl Derived {
    /// Differentiates `f`, and rewrites the derivative to read `h` wherever it contains `f`.
    pub fn new(graph: Graph, f: Id, params: Vec<String>) -> Self {
        let mut derived = Derived {
            graph,
            f,
            df: f,
            params,
        };
        derived.df = derived.nth(1);
        derived
    }

    /// The `n`-th derivative `σ⁽ⁿ⁾(z)` (`n ≥ 1`; σ″ and σ‴ for differential operators) as a
    /// new expression of [`Derived::graph`], rewritten to read `h` wherever it contains `σ(z)`,
    /// as [`Derived::df`] is.
    ///
    /// It is differentiated from [`Derived::f`], never from `df`: the differentiator takes the
    /// output `h` for a constant, so differentiating `df` (say `1 − h²`) would lose the chain
    /// through `h`.
    pub fn nth(&mut self, n: usize) -> Id {
        let mut d = self.f;
        for _ in 0..n {
            d = self.graph.derive(d);
        }
        if matches!(
            self.graph.node(self.f),
            Node::Var | Node::Const(_) | Node::Param(_)
        ) {
            d
        } else {
            let h = self.graph.out();
            self.graph.substitute(d, self.f, h)
        }
    }

    /// What the derivative reads.
    pub fn reads(&self) -> Reads {
        if self.graph.reads(self.df, Node::Var) {
            Reads::Input
        } else if self.graph.reads(self.df, Node::Out) {
            Reads::Output
        } else {
            Reads::Nothing
        }
    }

    /// `σ(z)` and `σ'(z)` as formulas for the docs, in `z` and `h`.
    pub fn formulas(&self) -> (String, String) {
        self.formulas_with("z", "h")
    }

    /// `σ(z)` and `σ'(z)` as formulas with the variable and the output renamed, e.g. `z_2`.
    pub fn formulas_with(&self, var: &str, out: &str) -> (String, String) {
        let names = Names {
            var: var.to_owned(),
            out: out.to_owned(),
            params: self.params.clone(),
        };
        (
            self.graph.display(self.f, &names),
            self.graph.display(self.df, &names),
        )
    }
}

impl Builtin {
    /// Every built-in activation, in the order errors list them. The runtime's
    /// `mlp_runtime::activation::Builtin::ALL` is the same list; a test checks it.
    pub const ALL: [Builtin; 7] = [
        Builtin::Identity,
        Builtin::Tanh,
        Builtin::Sigmoid,
        Builtin::Relu,
        Builtin::LeakyRelu,
        Builtin::Softplus,
        Builtin::Gelu,
    ];

    /// The slope `leaky_relu` takes when none is given, as PyTorch's `LeakyReLU`.
    pub const DEFAULT_LEAKY_SLOPE: f64 = 0.01;

    /// The built-in activation with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The names accepted in `layers`, for errors and suggestions.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::ALL.into_iter().map(Builtin::name)
    }

    /// The name used in `layers`, the runtime type's `Activation::NAME`.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Identity => "identity",
            Builtin::Tanh => "tanh",
            Builtin::Sigmoid => "sigmoid",
            Builtin::Relu => "relu",
            Builtin::LeakyRelu => "leaky_relu",
            Builtin::Softplus => "softplus",
            Builtin::Gelu => "gelu",
        }
    }

    /// The runtime type implementing it, under `mlp_runtime::activation`.
    pub fn type_name(self) -> &'static str {
        match self {
            Builtin::Identity => "Identity",
            Builtin::Tanh => "Tanh",
            Builtin::Sigmoid => "Sigmoid",
            Builtin::Relu => "Relu",
            Builtin::LeakyRelu => "LeakyRelu",
            Builtin::Softplus => "Softplus",
            Builtin::Gelu => "Gelu",
        }
    }

    /// The activation as an expression in `z`, with the same math as the runtime's
    /// hand-written implementation (which evaluates it in a numerically stable form).
    pub fn derived(self) -> Derived {
        let mut g = Graph::default();
        let z = g.var();
        let f = match self {
            Builtin::Identity => z,
            Builtin::Tanh => g.unary(Func::Tanh, z),
            Builtin::Sigmoid => g.unary(Func::Sigmoid, z),
            Builtin::Relu => {
                let zero = g.num(0.0);
                g.max(z, zero)
            }
            Builtin::LeakyRelu => {
                let alpha = g.param(0);
                let az = g.mul(alpha, z);
                g.max(z, az)
            }
            Builtin::Softplus => {
                let one = g.num(1.0);
                let e = g.unary(Func::Exp, z);
                let s = g.add(one, e);
                g.unary(Func::Ln, s)
            }
            Builtin::Gelu => {
                // ½ z (1 + tanh(√(2/π) (z + 0.044715 z³)))
                let (half, one) = (g.num(0.5), g.num(1.0));
                let (c, a) = (g.num((2.0 / std::f64::consts::PI).sqrt()), g.num(0.044_715));
                let z3 = g.powi(z, 3);
                let az3 = g.mul(a, z3);
                let inner = g.add(z, az3);
                let u = g.mul(c, inner);
                let t = g.unary(Func::Tanh, u);
                let one_t = g.add(one, t);
                let hz = g.mul(half, z);
                g.mul(hz, one_t)
            }
        };
        let params = if self == Builtin::LeakyRelu {
            vec!["α".to_owned()]
        } else {
            vec![]
        };
        Derived::new(g, f, params)
    }
}

impl Activation {
    /// The activation as written in `mlp!`, e.g. `tanh` or `leaky_relu(0.1)`.
    pub fn display(&self) -> String {
        let name = self.name();
        if self.args.is_empty() {
            return name;
        }
        let args: Vec<String> = self.args.iter().map(|a| format!("{a:?}")).collect();
        format!("{name}({})", args.join(", "))
    }

    /// The bare name, e.g. `leaky_relu`.
    pub fn name(&self) -> String {
        match &self.kind {
            Kind::Builtin(b) => b.name().to_owned(),
            Kind::Custom(c) => syn::ext::IdentExt::unraw(&c.name).to_string(),
        }
    }

    /// `σ(z)` and `σ'(z)` for the docs of one layer, in `var` and `out` (e.g. `z_2`, `h_2`),
    /// with this use's parameter values in place of the parameters' names.
    pub fn formulas_with(&self, var: &str, out: &str) -> (String, String) {
        let mut derived = self.derived();
        derived.params = self.args.iter().map(|a| format!("{a:?}")).collect();
        derived.formulas_with(var, out)
    }

    /// The value and the derivative, as expression graphs.
    pub fn derived(&self) -> Derived {
        match &self.kind {
            Kind::Builtin(b) => b.derived(),
            Kind::Custom(c) => c.derived.clone(),
        }
    }
}

impl Scalar {
    /// Whether `value` is a finite value of this type, rounded to it: `Err` says what is
    /// wrong ("is not finite", "overflows f32 ...", "underflows f32 to 0"), to follow the
    /// value in a message.
    pub fn check(self, value: f64) -> Result<(), String> {
        if !value.is_finite() {
            return Err("is not finite".to_owned());
        }
        if self == Scalar::F32 {
            // Rounding to the network's scalar is exactly what `Ctx::float` does.
            #[allow(clippy::cast_possible_truncation)]
            let rounded = value as f32;
            if rounded.is_infinite() {
                return Err(format!(
                    "overflows f32 (the largest finite f32 is {:e})",
                    f32::MAX
                ));
            }
            if rounded == 0.0 && value != 0.0 {
                return Err(format!(
                    "underflows f32 to 0 (the smallest positive f32 is {:e})",
                    f32::from_bits(1)
                ));
            }
        }
        Ok(())
    }

    /// The scalar named `f32` or `f64`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "f32" => Some(Scalar::F32),
            "f64" => Some(Scalar::F64),
            _ => None,
        }
    }

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
