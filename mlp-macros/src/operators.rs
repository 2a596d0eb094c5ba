//! The `operators: [...]` key: which input-derivative operators a network generates, checked
//! against its activations, and each activation's `σ''` and `σ'''`, derived.

use crate::errors::Errors;
use crate::model::{Activation, Layer};
use crate::suggest::closest;
use crate::symbolic::{Func, Graph, Id, Names, Node};
use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{bracketed, token, Ident, Token};

/// `[gradient, laplacian]`: the operators to generate, any of `gradient`, `hessian_diagonal`,
/// `laplacian`, `operator`.
pub struct OperatorsSyntax {
    /// The brackets, for the error on an empty list.
    pub bracket: token::Bracket,
    /// The operators' names.
    pub names: Punctuated<Ident, Token![,]>,
}

impl Parse for OperatorsSyntax {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let content;
        let bracket = bracketed!(content in input);
        let names = content.parse_terminated(Ident::parse_any, Token![,])?;
        Ok(OperatorsSyntax { bracket, names })
    }
}

/// An input-derivative operator a network generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorKind {
    /// `∇ₓy`.
    Gradient,
    /// `∂²y/∂x_d²` for each `d`.
    HessianDiagonal,
    /// `Δy`.
    Laplacian,
    /// `Σ a_ij ∂²y/∂x_i∂x_j + Σ b_i ∂y/∂x_i`, coefficients at run time.
    Operator,
}

impl OperatorKind {
    /// The names accepted in `operators`.
    pub const NAMES: &'static [&'static str] =
        &["gradient", "hessian_diagonal", "laplacian", "operator"];

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "gradient" => OperatorKind::Gradient,
            "hessian_diagonal" => OperatorKind::HessianDiagonal,
            "laplacian" => OperatorKind::Laplacian,
            "operator" => OperatorKind::Operator,
            _ => return None,
        })
    }

    /// The name, as written in `operators` and as the generated method is called.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Whether it reads second derivatives.
    fn second_order(self) -> bool {
        self != OperatorKind::Gradient
    }
}

/// One requested operator, with where it was written.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// Which operator.
    pub kind: OperatorKind,
    /// Its name's span.
    pub span: Span,
}

/// Checks the list: known names, no repeats, at least one, and (for a second-order operator)
/// activations with a continuous second derivative, each reported at its token.
pub fn check(cx: &mut Errors, syntax: &OperatorsSyntax, layers: Option<&[Layer]>) -> Vec<Request> {
    let mut requests: Vec<Request> = Vec::new();
    if syntax.names.is_empty() {
        cx.error(
            syntax.bracket.span.join(),
            format_args!(
                "expected at least one operator, one of: {}",
                OperatorKind::NAMES.join(", ")
            ),
        );
    }
    for ident in &syntax.names {
        let name = ident.unraw().to_string();
        let Some(kind) = OperatorKind::from_name(&name) else {
            let message = match closest(&name, OperatorKind::NAMES) {
                Some(best) => format!("unknown operator `{name}`, did you mean `{best}`?"),
                None => format!(
                    "unknown operator `{name}`, expected one of: {}",
                    OperatorKind::NAMES.join(", ")
                ),
            };
            cx.error(ident.span(), message);
            continue;
        };
        if requests.iter().any(|r| r.kind == kind) {
            cx.error(ident.span(), format_args!("duplicate operator `{name}`"));
            continue;
        }
        requests.push(Request {
            kind,
            span: ident.span(),
        });
    }
    let second = requests.iter().find(|r| r.kind.second_order());
    if let (Some(second), Some(layers)) = (second, layers) {
        for layer in layers {
            let derived = layer.activation.derived();
            if let Some(kink) = kink(&derived.graph, derived.f) {
                cx.error(
                    layer.activation_span,
                    format_args!(
                        "operator `{}` needs activations with a continuous second derivative, \
                         but `{}` uses `{kink}`, whose second derivative is 0 almost everywhere \
                         and undefined at the kink; use e.g. `tanh`, `sigmoid`, `softplus` or `gelu`",
                        second.kind.name(),
                        layer.activation.display(),
                    ),
                );
            } else if Curvature::derive(&layer.activation).is_none() {
                cx.error(
                    layer.activation_span,
                    format_args!(
                        "the third derivative of `{}` is too large to derive",
                        layer.activation.display()
                    ),
                );
            }
        }
    }
    requests
}

/// The first construct of `f` that is not twice continuously differentiable, if any.
fn kink(graph: &Graph, f: Id) -> Option<&'static str> {
    graph
        .topological(f)
        .into_iter()
        .find_map(|id| match graph.node(id) {
            Node::Max(..) => Some("max"),
            Node::Min(..) => Some("min"),
            Node::Select { .. } => Some("a branch"),
            Node::Unary(Func::Abs, _) => Some("abs"),
            Node::Unary(Func::Sign, _) => Some("signum"),
            _ => None,
        })
}

/// An activation's value and first three derivatives as expression graphs; the derivatives
/// read `h = σ(z)` wherever `σ(z)` itself appears (`tanh'' = −2h(1 − h²)`).
#[derive(Debug, Clone)]
pub struct Curvature {
    /// The graph holding every expression.
    pub graph: Graph,
    /// `σ(z)`.
    pub f: Id,
    /// `σ'(z)`, `σ''(z)`, `σ'''(z)`.
    pub d: [Id; 3],
}

impl Curvature {
    /// The activation's first three derivatives ([`Derived::nth`](crate::model::Derived::nth));
    /// `None` if the graph overflowed.
    pub fn derive(activation: &Activation) -> Option<Self> {
        let mut derived = activation.derived();
        let d = [1, 2, 3].map(|n| derived.nth(n));
        (!derived.graph.overflowed()).then_some(Curvature {
            graph: derived.graph,
            f: derived.f,
            d,
        })
    }

    /// `σ''` and `σ'''` as formulas in `z` and `h`, with this use's parameter values.
    pub fn formulas(&self, activation: &Activation) -> [String; 2] {
        let names = Names {
            var: "z".to_owned(),
            out: "h".to_owned(),
            params: activation.args.iter().map(|a| format!("{a:?}")).collect(),
        };
        [
            self.graph.display(self.d[1], &names),
            self.graph.display(self.d[2], &names),
        ]
    }
}
