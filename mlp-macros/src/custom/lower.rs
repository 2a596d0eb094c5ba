//! Lowers the expression of an `activation name(z) = expression;` into a [`Graph`],
//! rejecting anything outside the supported language at the offending node.

use crate::ctxt::Ctxt;
use crate::literal::{nonzero_digits, same};
use crate::model::Scalar;
use crate::symbolic::{Func, Graph, Id};
use syn::ext::IdentExt;
use syn::{BinOp, Expr, Ident, Lit, UnOp};

/// The functions an activation may call, as `f(x)` or `x.f()`, and how many arguments each
/// takes (the receiver of a method call counts).
pub const FUNCTIONS: &[(&str, usize)] = &[
    ("exp", 1),
    ("ln", 1),
    ("sqrt", 1),
    ("tanh", 1),
    ("sigmoid", 1),
    ("sin", 1),
    ("cos", 1),
    ("abs", 1),
    ("max", 2),
    ("min", 2),
    ("powi", 2),
    ("powf", 2),
];

/// What names an expression may use.
pub struct Scope<'a> {
    /// The activation's name, for messages.
    pub activation: &'a Ident,
    /// The variable, conventionally `z`.
    pub var: &'a Ident,
    /// The constant parameters, in order.
    pub params: &'a [Ident],
    /// The scalar type every constant must fit.
    pub scalar: Scalar,
    /// The names of every activation defined in the call, which an expression may not call.
    pub activations: &'a [Ident],
}

/// Records an error if the constant node `id` (if it is one) is not a finite value of the
/// scalar type: what constant folding made of `at`, e.g. `1.0 / 0.0` or `1e30 * 1e30`.
fn check_folded(cx: &mut Ctxt, graph: &Graph, scope: &Scope, id: Id, at: &Expr) -> Option<Id> {
    let value = graph.constant(id)?;
    match scope.scalar.check(value) {
        Ok(()) => Some(id),
        Err(problem) => {
            cx.error_spanned(
                at,
                format_args!(
                    "this constant expression in activation `{}` evaluates to {value:?}, which \
                     {problem}",
                    scope.activation
                ),
            );
            None
        }
    }
}

/// Lowers `expr` into `graph`, recording every unsupported node in `cx`; `None` if any was.
/// Every constant, written or folded, is a finite value of the scalar type; recursion is as
/// deep as the expression, which [`check_limits`] bounds.
pub fn lower(cx: &mut Ctxt, graph: &mut Graph, scope: &Scope, expr: &Expr) -> Option<Id> {
    let id = lower_unchecked(cx, graph, scope, expr)?;
    if graph.constant(id).is_some() && !matches!(expr, Expr::Lit(_)) {
        return check_folded(cx, graph, scope, id, expr);
    }
    Some(id)
}

/// [`lower`], before the check of a folded constant.
fn lower_unchecked(cx: &mut Ctxt, graph: &mut Graph, scope: &Scope, expr: &Expr) -> Option<Id> {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Float(f) => match f.base10_parse::<f64>() {
                Ok(value) if value.is_finite() && matches!(f.suffix(), "" | "f32" | "f64") => {
                    let scalar = scope.scalar;
                    let problem = if value == 0.0 && nonzero_digits(f.base10_digits()) {
                        Some(format!("underflows {} to 0", scalar.name()))
                    } else {
                        scalar.check(value).err()
                    };
                    if let Some(problem) = problem {
                        cx.error_spanned(f, format_args!("the constant `{f}` {problem}"));
                        return None;
                    }
                    Some(graph.num(value))
                }
                _ => {
                    cx.error_spanned(
                        f,
                        format_args!("expected a finite float literal such as `1.0`, found `{f}`"),
                    );
                    None
                }
            },
            Lit::Int(i) => {
                cx.error_spanned(
                    i,
                    format_args!(
                        "expected a float literal such as `{}.0`, found the integer `{i}`",
                        i.base10_digits()
                    ),
                );
                None
            }
            other => {
                cx.error_spanned(other, "expected a float literal such as `1.0`");
                None
            }
        },
        Expr::Path(path) => {
            let Some(ident) = path.path.get_ident().filter(|_| path.qself.is_none()) else {
                unknown_name(cx, scope, &path.path);
                return None;
            };
            if same(ident, scope.var) {
                Some(graph.var())
            } else if let Some(i) = scope.params.iter().position(|p| same(p, ident)) {
                Some(graph.param(i))
            } else {
                unknown_name(cx, scope, ident);
                None
            }
        }
        Expr::Paren(inner) => lower(cx, graph, scope, &inner.expr),
        Expr::Group(inner) => lower(cx, graph, scope, &inner.expr),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => {
            let a = lower(cx, graph, scope, &unary.expr)?;
            Some(graph.neg(a))
        }
        Expr::Binary(binary) => {
            let a = lower(cx, graph, scope, &binary.left);
            let b = lower(cx, graph, scope, &binary.right);
            let op = match binary.op {
                BinOp::Add(_) => Graph::add,
                BinOp::Sub(_) => Graph::sub,
                BinOp::Mul(_) => Graph::mul,
                BinOp::Div(_) => {
                    if b.is_some_and(|b| graph.constant(b) == Some(0.0)) {
                        cx.error_spanned(
                            expr,
                            format_args!("division by zero in activation `{}`", scope.activation),
                        );
                        return None;
                    }
                    Graph::div
                }
                op => {
                    cx.error_spanned(
                        op,
                        format_args!(
                            "unsupported operator `{}` in activation `{}`, expected `+`, `-`, `*` or `/`",
                            quote::quote!(#op),
                            scope.activation
                        ),
                    );
                    return None;
                }
            };
            Some(op(graph, a?, b?))
        }
        Expr::Call(call) => {
            let Expr::Path(path) = &*call.func else {
                unsupported(cx, scope, &call.func);
                return None;
            };
            let Some(name) = path.path.get_ident() else {
                unknown_function(cx, scope, &path.path, &path.path.to_token_string());
                return None;
            };
            let args: Vec<&Expr> = call.args.iter().collect();
            apply(cx, graph, scope, name, &args, expr)
        }
        Expr::MethodCall(call) => {
            if let Some(turbofish) = &call.turbofish {
                cx.error_spanned(turbofish, "unexpected type arguments in an activation");
                return None;
            }
            let args: Vec<&Expr> = std::iter::once(&*call.receiver).chain(&call.args).collect();
            apply(cx, graph, scope, &call.method, &args, expr)
        }
        other => {
            unsupported(cx, scope, other);
            None
        }
    }
}

/// Applies the function `name` to `args` (a method call's receiver first).
fn apply(
    cx: &mut Ctxt,
    graph: &mut Graph,
    scope: &Scope,
    name: &Ident,
    args: &[&Expr],
    whole: &Expr,
) -> Option<Id> {
    let name = &name.unraw();
    let Some(&(_, arity)) = FUNCTIONS.iter().find(|(f, _)| name == f) else {
        if scope.activations.iter().any(|a| same(a, name))
            || crate::model::Builtin::from_name(&name.to_string()).is_some()
        {
            let what = if same(name, scope.activation) {
                "itself".to_owned()
            } else {
                format!("the activation `{name}`")
            };
            cx.error_spanned(
                whole,
                format_args!(
                    "activation `{}` cannot call {what}: an activation is an expression of \
                     `{}` and its parameters, and activations cannot call activations; write \
                     the expression out",
                    scope.activation, scope.var
                ),
            );
            return None;
        }
        unknown_function(cx, scope, name, &name.to_string());
        return None;
    };
    if args.len() != arity {
        cx.error_spanned(
            whole,
            format_args!(
                "`{name}` takes {arity} argument{}, found {}",
                if arity == 1 { "" } else { "s" },
                args.len()
            ),
        );
        return None;
    }
    let name = name.to_string();
    if name == "powi" {
        let base = lower(cx, graph, scope, args[0]);
        let n = integer_exponent(cx, args[1]);
        return Some(graph.powi(base?, n?));
    }
    let values: Vec<Option<Id>> = args.iter().map(|a| lower(cx, graph, scope, a)).collect();
    let values: Vec<Id> = values.into_iter().collect::<Option<_>>()?;
    Some(match name.as_str() {
        "max" => graph.max(values[0], values[1]),
        "min" => graph.min(values[0], values[1]),
        "powf" => {
            if graph.reads(values[1], crate::symbolic::Node::Var) {
                cx.error_spanned(
                    args[1],
                    format_args!("the exponent of `powf` must not depend on `{}`", scope.var),
                );
                return None;
            }
            graph.powf(values[0], values[1])
        }
        unary => {
            let func = match unary {
                "exp" => Func::Exp,
                "ln" => Func::Ln,
                "sqrt" => Func::Sqrt,
                "tanh" => Func::Tanh,
                "sigmoid" => Func::Sigmoid,
                "sin" => Func::Sin,
                "cos" => Func::Cos,
                _ => Func::Abs,
            };
            graph.unary(func, values[0])
        }
    })
}

/// The largest exponent `powi` takes, in absolute value: `i32::MAX` (so that `−n` is an
/// `i32` too).
pub const MAX_EXPONENT: i32 = i32::MAX;

/// The exponent of `powi`: an integer literal, possibly negative, between −[`MAX_EXPONENT`]
/// and [`MAX_EXPONENT`].
fn integer_exponent(cx: &mut Ctxt, expr: &Expr) -> Option<i32> {
    let (negative, inner) = match expr {
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => (true, &*u.expr),
        Expr::Paren(p) => (false, &*p.expr),
        other => (false, other),
    };
    if let Expr::Lit(syn::ExprLit {
        lit: Lit::Int(i), ..
    }) = inner
    {
        if !matches!(i.suffix(), "" | "i32") {
            cx.error_spanned(
                expr,
                format_args!("expected an unsuffixed integer exponent for `powi`, found `{i}`"),
            );
            return None;
        }
        return match i.base10_parse::<i32>() {
            Ok(n) => Some(if negative { -n } else { n }),
            Err(_) => {
                cx.error_spanned(
                    expr,
                    format_args!(
                        "expected an exponent for `powi` between -{MAX_EXPONENT} and \
                         {MAX_EXPONENT}, found {}{}",
                        if negative { "-" } else { "" },
                        i.base10_digits()
                    ),
                );
                None
            }
        };
    }
    cx.error_spanned(
        expr,
        "expected an integer literal exponent for `powi`, such as `2`",
    );
    None
}

/// A name that is neither the variable nor a parameter.
fn unknown_name(cx: &mut Ctxt, scope: &Scope, name: impl quote::ToTokens) {
    let mut expected = format!("`{}`", scope.var);
    for p in scope.params {
        expected += &format!(" or `{p}`");
    }
    cx.error_spanned(
        &name,
        format_args!(
            "unknown variable `{}` in activation `{}`, expected {expected}",
            name.to_token_stream().to_string().replace(' ', ""),
            scope.activation
        ),
    );
}

/// A call of a function outside [`FUNCTIONS`].
fn unknown_function(cx: &mut Ctxt, scope: &Scope, at: impl quote::ToTokens, name: &str) {
    let names: Vec<&str> = FUNCTIONS.iter().map(|(f, _)| *f).collect();
    let message = match crate::suggest::closest(name, &names) {
        Some(best) => format!(
            "unknown function `{name}` in activation `{}`, did you mean `{best}`?",
            scope.activation
        ),
        None => format!(
            "unknown function `{name}` in activation `{}`, expected one of: {}",
            scope.activation,
            names.join(", ")
        ),
    };
    cx.error_spanned(at, message);
}

/// Any other kind of expression: loops, blocks, closures, indexing, ...
fn unsupported(cx: &mut Ctxt, scope: &Scope, expr: &Expr) {
    cx.error_spanned(
        expr,
        format_args!(
            "unsupported expression in activation `{}`: expected arithmetic on `{}`, float literals, \
             parameters and calls of {}",
            scope.activation,
            scope.var,
            FUNCTIONS.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", ")
        ),
    );
}

/// `ToTokens` to a compact string, for messages.
trait TokenString {
    fn to_token_string(&self) -> String;
}

impl<T: quote::ToTokens> TokenString for T {
    fn to_token_string(&self) -> String {
        self.to_token_stream().to_string().replace(' ', "")
    }
}
