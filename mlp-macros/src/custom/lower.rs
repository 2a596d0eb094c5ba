//! Lowers the expression of an `activation name(z) = expression;` into a [`Graph`],
//! rejecting anything outside the supported language at the offending node.

use crate::errors::Errors;
use crate::literal::{nonzero_digits, same};
use crate::model::Scalar;
use crate::symbolic::{Func, Graph, Id};
use syn::ext::IdentExt;
use syn::{BinOp, Expr, Ident, Lit, UnOp};

/// A function an activation's expression may call, as `f(x)` or `x.f()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callable {
    /// A function of one argument, differentiated by the symbolic engine.
    Unary(Func),
    /// `max(a, b)`.
    Max,
    /// `min(a, b)`.
    Min,
    /// `powi(x, n)` for an integer literal `n`.
    Powi,
    /// `powf(x, e)` for an `e` that does not depend on the variable.
    Powf,
}

impl Callable {
    /// Every function the expression language has, in the order errors list them.
    pub const ALL: [Callable; 12] = [
        Callable::Unary(Func::Exp),
        Callable::Unary(Func::Ln),
        Callable::Unary(Func::Sqrt),
        Callable::Unary(Func::Tanh),
        Callable::Unary(Func::Sigmoid),
        Callable::Unary(Func::Sin),
        Callable::Unary(Func::Cos),
        Callable::Unary(Func::Abs),
        Callable::Max,
        Callable::Min,
        Callable::Powi,
        Callable::Powf,
    ];

    /// The name a user writes; a unary function's is [`Func::name`].
    pub const fn name(self) -> &'static str {
        match self {
            Callable::Unary(func) => func.name(),
            Callable::Max => "max",
            Callable::Min => "min",
            Callable::Powi => "powi",
            Callable::Powf => "powf",
        }
    }

    /// How many arguments it takes (the receiver of a method call counts).
    pub const fn arity(self) -> usize {
        match self {
            Callable::Unary(_) => 1,
            Callable::Max | Callable::Min | Callable::Powi | Callable::Powf => 2,
        }
    }

    /// The function named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The names, for errors and suggestions.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.into_iter().map(Callable::name).collect()
    }
}

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
fn check_folded(
    errors: &mut Errors,
    graph: &Graph,
    scope: &Scope,
    id: Id,
    at: &Expr,
) -> Option<Id> {
    let value = graph.constant(id)?;
    match scope.scalar.check(value) {
        Ok(()) => Some(id),
        Err(problem) => {
            errors.error_spanned(
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

/// Lowers `expr` into `graph`, recording every unsupported node in `errors`; `None` if any was.
/// Every constant, written or folded, is a finite value of the scalar type; recursion is as
/// deep as the expression, which [`check_limits`] bounds.
pub fn lower(errors: &mut Errors, graph: &mut Graph, scope: &Scope, expr: &Expr) -> Option<Id> {
    let id = lower_unchecked(errors, graph, scope, expr)?;
    if graph.constant(id).is_some() && !matches!(expr, Expr::Lit(_)) {
        return check_folded(errors, graph, scope, id, expr);
    }
    Some(id)
}

/// [`lower`], before the check of a folded constant.
fn lower_unchecked(
    errors: &mut Errors,
    graph: &mut Graph,
    scope: &Scope,
    expr: &Expr,
) -> Option<Id> {
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
                        errors.error_spanned(f, format_args!("the constant `{f}` {problem}"));
                        return None;
                    }
                    Some(graph.num(value))
                }
                _ => {
                    errors.error_spanned(
                        f,
                        format_args!("expected a finite float literal such as `1.0`, found `{f}`"),
                    );
                    None
                }
            },
            Lit::Int(i) => {
                errors.error_spanned(
                    i,
                    format_args!(
                        "expected a float literal such as `{}.0`, found the integer `{i}`",
                        i.base10_digits()
                    ),
                );
                None
            }
            other => {
                errors.error_spanned(other, "expected a float literal such as `1.0`");
                None
            }
        },
        Expr::Path(path) => {
            let Some(ident) = path.path.get_ident().filter(|_| path.qself.is_none()) else {
                unknown_name(errors, scope, &path.path);
                return None;
            };
            if same(ident, scope.var) {
                Some(graph.var())
            } else if let Some(i) = scope.params.iter().position(|p| same(p, ident)) {
                Some(graph.param(i))
            } else {
                unknown_name(errors, scope, ident);
                None
            }
        }
        Expr::Paren(inner) => lower(errors, graph, scope, &inner.expr),
        Expr::Group(inner) => lower(errors, graph, scope, &inner.expr),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => {
            let a = lower(errors, graph, scope, &unary.expr)?;
            Some(graph.neg(a))
        }
        Expr::Binary(binary) => {
            let a = lower(errors, graph, scope, &binary.left);
            let b = lower(errors, graph, scope, &binary.right);
            let op = match binary.op {
                BinOp::Add(_) => Graph::add,
                BinOp::Sub(_) => Graph::sub,
                BinOp::Mul(_) => Graph::mul,
                BinOp::Div(_) => {
                    if b.is_some_and(|b| graph.constant(b) == Some(0.0)) {
                        errors.error_spanned(
                            expr,
                            format_args!("division by zero in activation `{}`", scope.activation),
                        );
                        return None;
                    }
                    Graph::div
                }
                op => {
                    errors.error_spanned(
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
                unsupported(errors, scope, &call.func);
                return None;
            };
            let Some(name) = path.path.get_ident() else {
                unknown_function(errors, scope, &path.path, &path.path.to_token_string());
                return None;
            };
            let args: Vec<&Expr> = call.args.iter().collect();
            apply(errors, graph, scope, name, &args, expr)
        }
        Expr::MethodCall(call) => {
            if let Some(turbofish) = &call.turbofish {
                errors.error_spanned(turbofish, "unexpected type arguments in an activation");
                return None;
            }
            let args: Vec<&Expr> = std::iter::once(&*call.receiver).chain(&call.args).collect();
            apply(errors, graph, scope, &call.method, &args, expr)
        }
        other => {
            unsupported(errors, scope, other);
            None
        }
    }
}

/// Applies the function `name` to `args` (a method call's receiver first).
fn apply(
    errors: &mut Errors,
    graph: &mut Graph,
    scope: &Scope,
    name: &Ident,
    args: &[&Expr],
    whole: &Expr,
) -> Option<Id> {
    let name = &name.unraw();
    let Some(callable) = Callable::from_name(&name.to_string()) else {
        if scope.activations.iter().any(|a| same(a, name))
            || crate::model::Builtin::from_name(&name.to_string()).is_some()
        {
            let what = if same(name, scope.activation) {
                "itself".to_owned()
            } else {
                format!("the activation `{name}`")
            };
            errors.error_spanned(
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
        unknown_function(errors, scope, name, &name.to_string());
        return None;
    };
    let arity = callable.arity();
    if args.len() != arity {
        errors.error_spanned(
            whole,
            format_args!(
                "`{name}` takes {arity} argument{}, found {}",
                if arity == 1 { "" } else { "s" },
                args.len()
            ),
        );
        return None;
    }
    // Every argument is lowered before any failure returns, so that each one's errors are
    // reported.
    let both = |errors: &mut Errors, graph: &mut Graph| {
        let a = lower(errors, graph, scope, args[0]);
        let b = lower(errors, graph, scope, args[1]);
        Some((a?, b?))
    };
    match callable {
        Callable::Unary(func) => {
            let a = lower(errors, graph, scope, args[0])?;
            Some(graph.unary(func, a))
        }
        Callable::Max => {
            let (a, b) = both(errors, graph)?;
            Some(graph.max(a, b))
        }
        Callable::Min => {
            let (a, b) = both(errors, graph)?;
            Some(graph.min(a, b))
        }
        Callable::Powi => {
            let base = lower(errors, graph, scope, args[0]);
            let n = integer_exponent(errors, args[1]);
            Some(graph.powi(base?, n?))
        }
        Callable::Powf => {
            let (a, b) = both(errors, graph)?;
            if graph.reads(b, crate::symbolic::Node::Var) {
                errors.error_spanned(
                    args[1],
                    format_args!("the exponent of `powf` must not depend on `{}`", scope.var),
                );
                return None;
            }
            Some(graph.powf(a, b))
        }
    }
}

/// The largest exponent `powi` takes, in absolute value: `i32::MAX` (so that `−n` is an
/// `i32` too).
pub const MAX_EXPONENT: i32 = i32::MAX;

/// The exponent of `powi`: an integer literal, possibly negative, between −[`MAX_EXPONENT`]
/// and [`MAX_EXPONENT`].
fn integer_exponent(errors: &mut Errors, expr: &Expr) -> Option<i32> {
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
            errors.error_spanned(
                expr,
                format_args!("expected an unsuffixed integer exponent for `powi`, found `{i}`"),
            );
            return None;
        }
        return match i.base10_parse::<i32>() {
            Ok(n) => Some(if negative { -n } else { n }),
            Err(_) => {
                errors.error_spanned(
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
    errors.error_spanned(
        expr,
        "expected an integer literal exponent for `powi`, such as `2`",
    );
    None
}

/// A name that is neither the variable nor a parameter.
fn unknown_name(errors: &mut Errors, scope: &Scope, name: impl quote::ToTokens) {
    let mut expected = format!("`{}`", scope.var);
    for p in scope.params {
        expected += &format!(" or `{p}`");
    }
    errors.error_spanned(
        &name,
        format_args!(
            "unknown variable `{}` in activation `{}`, expected {expected}",
            name.to_token_stream().to_string().replace(' ', ""),
            scope.activation
        ),
    );
}

/// A call of a function outside [`Callable::ALL`].
fn unknown_function(errors: &mut Errors, scope: &Scope, at: impl quote::ToTokens, name: &str) {
    let names = Callable::names();
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
    errors.error_spanned(at, message);
}

/// Any other kind of expression: loops, blocks, closures, indexing, ...
fn unsupported(errors: &mut Errors, scope: &Scope, expr: &Expr) {
    errors.error_spanned(
        expr,
        format_args!(
            "unsupported expression in activation `{}`: expected arithmetic on `{}`, float literals, \
             parameters and calls of {}",
            scope.activation,
            scope.var,
            Callable::names().join(", ")
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
