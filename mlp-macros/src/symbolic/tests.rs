//! The differentiator against its rules, against central differences on random expressions,
//! and the built-in activations' expressions against the runtime's hand-written code.

use super::{Graph, Id, Names, Node};
use crate::custom::lower::{lower, Scope};
use crate::errors::Errors;
use crate::model::{Builtin, Derived, Reads};
use mlp_runtime::activation as rt;
use mlp_runtime::DerivativeReads;
use proptest::prelude::*;
use std::collections::HashMap;

impl Graph {
    /// Evaluates `e` in `f64` at `z`, with the output `h` and the parameters given.
    pub fn eval(&self, e: Id, z: f64, h: f64, params: &[f64]) -> f64 {
        let mut values: HashMap<Id, f64> = HashMap::new();
        for id in self.topological(e) {
            let v = |k: Id| values[&k];
            let value = match self.nodes[id] {
                Node::Const(bits) => f64::from_bits(bits),
                Node::Var => z,
                Node::Out => h,
                Node::Param(i) => params[i],
                Node::Add(a, b) => v(a) + v(b),
                Node::Sub(a, b) => v(a) - v(b),
                Node::Mul(a, b) => v(a) * v(b),
                Node::Div(a, b) => v(a) / v(b),
                Node::Powi(a, n) => v(a).powi(n),
                Node::Powf(a, b) => v(a).powf(v(b)),
                Node::Max(a, b) => v(a).max(v(b)),
                Node::Min(a, b) => v(a).min(v(b)),
                Node::Select { a, b, t, e } => {
                    if v(a) > v(b) {
                        v(t)
                    } else {
                        v(e)
                    }
                }
                Node::Unary(f, a) => f.eval(v(a)),
            };
            values.insert(id, value);
        }
        values[&e]
    }
}

/// Lowers `src`, an expression in `z` with a parameter `a`, and derives it.
fn derived(src: &str) -> Derived {
    try_derived(src).expect("supported expression")
}

/// As [`derived`], or the macro's error (e.g. a constant that folds to infinity).
fn try_derived(src: &str) -> syn::Result<Derived> {
    let expr: syn::Expr = syn::parse_str(src)?;
    let (name, var, params) = (
        quote::format_ident!("f"),
        quote::format_ident!("z"),
        [quote::format_ident!("a")],
    );
    let scope = Scope {
        activation: &name,
        var: &var,
        params: &params,
        scalar: crate::model::Scalar::F64,
        activations: &[],
    };
    let mut errors = Errors::default();
    let mut graph = Graph::default();
    let f = lower(&mut errors, &mut graph, &scope, &expr);
    errors.finish()?;
    let f = f.ok_or_else(|| syn::Error::new(proc_macro2::Span::call_site(), "not lowered"))?;
    Ok(Derived::new(graph, f, vec!["a".to_owned()]))
}

/// `σ'` as the docs print it.
fn d(src: &str) -> String {
    derived(src).formulas().1
}

#[test]
fn each_rule_of_differentiation() {
    insta::assert_snapshot!(d("z + 3.0 * z"), @"4");
    insta::assert_snapshot!(d("z - 2.0"), @"1");
    insta::assert_snapshot!(d("z * z * z"), @"3 · z²");
    insta::assert_snapshot!(d("exp(z) * sin(z)"), @"exp(z) · cos(z) + h");
    insta::assert_snapshot!(d("z / (1.0 + z.abs())"), @"(1 − signum(z) · h) / (1 + abs(z))");
    insta::assert_snapshot!(d("-z"), @"-1");
    insta::assert_snapshot!(d("z.powi(3)"), @"3 · z²");
    insta::assert_snapshot!(d("z.powi(-2)"), @"-2 · z⁻³");
    insta::assert_snapshot!(d("z.powf(1.5)"), @"1.5 · z^0.5");
    insta::assert_snapshot!(d("z.powf(a)"), @"a · z^(a − 1)");
    insta::assert_snapshot!(d("exp(2.0 * z)"), @"2 · h");
    insta::assert_snapshot!(d("ln(z)"), @"1 / z");
    insta::assert_snapshot!(d("sqrt(z)"), @"0.5 / h");
    insta::assert_snapshot!(d("tanh(z)"), @"1 − h²");
    insta::assert_snapshot!(d("sigmoid(z)"), @"h · (1 − h)");
    insta::assert_snapshot!(d("z * sigmoid(z)"), @"sigmoid(z) + z · (sigmoid(z) · (1 − sigmoid(z)))");
    insta::assert_snapshot!(d("sin(z)"), @"cos(z)");
    insta::assert_snapshot!(d("cos(z)"), @"−sin(z)");
    insta::assert_snapshot!(d("abs(z)"), @"signum(z)");
    insta::assert_snapshot!(d("max(z, a * z)"), @"{1 if z > z · a; a otherwise}");
    insta::assert_snapshot!(d("min(z, 0.0)"), @"{0 if z > 0; 1 otherwise}");
    insta::assert_snapshot!(d("max(z, 0.0) * 2.0"), @"2 · {1 if z > 0; 0 otherwise}");
}

#[test]
fn constants_fold_and_identities_vanish() {
    let show = |src: &str| derived(src).formulas().0;
    assert_eq!(show("z * 1.0 + 0.0"), "z");
    assert_eq!(show("(2.0 + 3.0) * z"), "5 · z");
    assert_eq!(show("-(-z)"), "z");
    assert_eq!(show("(z - z) * exp(z)"), "0");
    assert_eq!(show("z / 1.0 - 0.0 * tanh(z)"), "z");
    assert_eq!(show("exp(0.0) * z.powi(1)"), "z");
    assert_eq!(d("(z - z) * exp(z)"), "0");
}

#[test]
fn shared_subexpressions_are_one_node() {
    let derived = derived("tanh(z) * tanh(z) + tanh(z) / (1.0 + tanh(z))");
    let g = &derived.graph;
    let tanhs = g
        .topological(derived.f)
        .into_iter()
        .filter(|&id| matches!(g.node(id), Node::Unary(super::Func::Tanh, _)));
    assert_eq!(tanhs.count(), 1, "tanh(z) is computed once");
}

#[test]
fn derivatives_read_the_cheaper_cached_value() {
    assert_eq!(derived("tanh(z)").reads(), Reads::Output);
    assert_eq!(derived("sigmoid(z)").reads(), Reads::Output);
    assert_eq!(derived("exp(z)").reads(), Reads::Output);
    assert_eq!(derived("z * sigmoid(z)").reads(), Reads::Input);
    assert_eq!(derived("2.0 * z + 1.0").reads(), Reads::Nothing);
}

/// Each built-in activation as an expression, evaluated and derived symbolically, against
/// the runtime's hand-written value, derivative and `DERIVATIVE_READS`.
#[test]
fn builtin_expressions_match_the_runtime() {
    fn check<A: mlp_runtime::Activation<f64>>(builtin: Builtin, runtime: A, params: &[f64]) {
        let derived = builtin.derived();
        let reads = match derived.reads() {
            Reads::Nothing => DerivativeReads::Nothing,
            Reads::Input => DerivativeReads::Input,
            Reads::Output => DerivativeReads::Output,
        };
        assert_eq!(reads, A::DERIVATIVE_READS, "{builtin:?} reads");
        assert_eq!(builtin.name(), A::NAME, "{builtin:?} name");
        for i in 0..=4000 {
            let z = -20.0 + 0.01 * f64::from(i) + 1e-7;
            let h = runtime.f(z);
            let f = derived.graph.eval(derived.f, z, f64::NAN, params);
            let df = derived.graph.eval(derived.df, z, f, params);
            let tol = 1e-13 * (1.0 + f.abs());
            assert!((f - h).abs() <= tol, "{builtin:?}({z}) = {f}, runtime {h}");
            let want = runtime.df(z, h);
            assert!(
                (df - want).abs() <= 1e-12 * (1.0 + want.abs()),
                "{builtin:?}'({z}) = {df}, runtime {want}"
            );
        }
    }
    check(Builtin::Identity, rt::Identity, &[]);
    check(Builtin::Tanh, rt::Tanh, &[]);
    check(Builtin::Sigmoid, rt::Sigmoid, &[]);
    check(Builtin::Relu, rt::Relu, &[]);
    check(Builtin::LeakyRelu, rt::LeakyRelu(0.2), &[0.2]);
    check(Builtin::Softplus, rt::Softplus, &[]);
    check(Builtin::Gelu, rt::Gelu, &[]);
}

/// The macro's list of built-in activations and the runtime's agree name for name, type for
/// type and in arity, so that what `mlp!` accepts is what the runtime implements.
#[test]
fn builtin_names_match_the_runtime() {
    let ours: Vec<(&str, &str, usize)> = Builtin::ALL
        .iter()
        .map(|b| (b.name(), b.type_name(), b.derived().params.len()))
        .collect();
    let runtime: Vec<(&str, &str, usize)> = rt::Builtin::ALL
        .iter()
        .map(|b| (b.name(), b.type_name(), b.arity()))
        .collect();
    assert_eq!(ours, runtime);
}

/// Random expressions from the supported grammar, as Rust source.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        4 => Just("z".to_owned()),
        1 => Just("a".to_owned()),
        2 => (-3.0f64..3.0).prop_map(|c| format!("{c:.3}").replace("-", "(-") + if c < 0.0 { ")" } else { "" }),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} + {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} - {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} * {b})")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("({a} / (1.5 + ({b}).abs()))")),
            inner.clone().prop_map(|a| format!("(-{a})")),
            inner.clone().prop_map(|a| format!("exp(0.3 * {a})")),
            inner.clone().prop_map(|a| format!("ln(1.0 + {a} * {a})")),
            inner.clone().prop_map(|a| format!("sqrt(2.0 + sin({a}))")),
            inner.clone().prop_map(|a| format!("tanh({a})")),
            inner.clone().prop_map(|a| format!("{a}.sigmoid()")),
            inner.clone().prop_map(|a| format!("cos({a})")),
            inner.clone().prop_map(|a| format!("abs({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("max({a}, {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}.min({b})")),
            (inner.clone(), -3i32..4).prop_map(|(a, n)| format!("(1.0 + ({a}).abs()).powi({n})")),
            inner
                .clone()
                .prop_map(|a| format!("(1.0 + {a} * {a}).powf(0.7)")),
        ]
    })
}

/// The symbolic derivative of `f` at `z`, and a fourth-order central difference, or `None`
/// where the difference cannot be trusted: a kink (the two one-sided slopes disagree), a
/// non-finite or huge value nearby, or a function that varies too fast for the step (the
/// difference changes when the step is halved, as `sin(exp(0.3 (1 + |z|)³))` does).
fn both(derived: &Derived, z: f64, a: f64) -> Option<(f64, f64)> {
    let g = &derived.graph;
    let f = |x: f64| g.eval(derived.f, x, f64::NAN, &[a]);
    let difference = |step: f64| -> Option<(f64, f64)> {
        let values: Vec<f64> = [-2.0, -1.0, 0.0, 1.0, 2.0]
            .iter()
            .map(|k| f(z + k * step))
            .collect();
        if values.iter().any(|v| !v.is_finite() || v.abs() > 1e6) {
            return None;
        }
        let left = (values[2] - values[1]) / step;
        let right = (values[3] - values[2]) / step;
        if (left - right).abs() > 1e-2 * (1.0 + left.abs()) {
            return None;
        }
        let fd = (values[0] - 8.0 * values[1] + 8.0 * values[3] - values[4]) / (12.0 * step);
        Some((fd, values[2]))
    };
    let (fd, h) = difference(1e-4)?;
    let (fd_half, _) = difference(5e-5)?;
    if (fd - fd_half).abs() > 1e-8 * (1.0 + fd.abs()) {
        return None;
    }
    let df = g.eval(derived.df, z, h, &[a]);
    Some((df, fd_half))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn derivatives_agree_with_central_differences(src in expression(), z in -2.0f64..2.0, a in 0.1f64..0.9) {
        // A constant folding to infinity (`(1 + (−1)).powi(−3)`) is refused by the macro.
        let Ok(derived) = try_derived(&src) else {
            return Err(TestCaseError::reject("refused by the macro"));
        };
        if let Some((df, fd)) = both(&derived, z, a) {
            let err = (df - fd).abs() / (1.0 + fd.abs());
            prop_assert!(err < 1e-7, "d/dz {src} at z = {z}: symbolic {df}, central difference {fd}");
        }
    }
}

#[test]
fn the_printer_parenthesises_by_precedence() {
    let mut g = Graph::default();
    let z = g.var();
    let one = g.num(1.0);
    let s = g.sub(one, z);
    let t = g.add(z, one);
    let m = g.mul(s, t);
    let n = g.neg(m);
    let names = Names {
        var: "z_1".to_owned(),
        out: "h_1".to_owned(),
        params: vec![],
    };
    assert_eq!(g.display(n, &names), "−((1 − z_1) · (z_1 + 1))");
    let id: Id = g.div(t, s);
    assert_eq!(g.display(id, &names), "(z_1 + 1) / (1 − z_1)");
}

/// The largest value of `derived`'s function at `z + k h`, `k = −2..=2`.
fn g_max(derived: &Derived, z: f64, step: f64) -> f64 {
    [-2.0, -1.0, 0.0, 1.0, 2.0]
        .iter()
        .map(|k| {
            derived
                .graph
                .eval(derived.f, z + k * step, f64::NAN, &[0.0])
                .abs()
        })
        .fold(0.0, f64::max)
}

/// Exponents at the ends of `i32` (and, for `powf`, past them), with their magnitudes.
const EXTREME_POWI: &[i32] = &[
    i32::MAX,
    i32::MAX - 1,
    -i32::MAX,
    1 << 30,
    -(1 << 30),
    3,
    2,
    1,
    0,
    -1,
    -3,
];

/// Integral `powf` exponents at and past the ends of `i32`.
const EXTREME_POWF: &[f64] = &[
    2_147_483_647.0,
    2_147_483_648.0,
    4_294_967_296.0,
    -2_147_483_648.0,
    0.5,
];

/// Tiny, ordinary and huge constant factors.
const EXTREME_CONSTANTS: &[f64] = &[1.0, -2.5, 1e-150, 1e150, 3.0e38];

/// A term `c · z^m · z^n` (merged by the simplifier when `m + n` fits an `i32`) or
/// `c · z · z^y`, with the sum of its exponents' magnitudes.
fn extreme_term() -> impl Strategy<Value = (String, f64)> {
    let c = prop::sample::select(EXTREME_CONSTANTS);
    prop_oneof![
        (
            c.clone(),
            prop::sample::select(EXTREME_POWI),
            prop::sample::select(EXTREME_POWI)
        )
            .prop_map(|(c, m, n)| {
                (
                    format!("{c:e} * powi(z, {m}) * z.powi({n})"),
                    f64::from(m).abs() + f64::from(n).abs(),
                )
            }),
        (c, prop::sample::select(EXTREME_POWF))
            .prop_map(|(c, y)| (format!("{c:e} * z * z.powf({y:.1})"), 1.0 + y.abs())),
    ]
}

/// A sum or product of up to three extreme terms, with a bound on the magnitude of any
/// power of `z` in it.
fn extreme() -> impl Strategy<Value = (String, f64)> {
    (prop::collection::vec(extreme_term(), 1..4), any::<bool>()).prop_map(|(terms, product)| {
        let op = if product { " * " } else { " + " };
        let bound = if product {
            terms.iter().map(|t| t.1).sum()
        } else {
            terms.iter().map(|t| t.1).fold(1.0, f64::max)
        };
        let src = terms
            .into_iter()
            .map(|t| format!("({})", t.0))
            .collect::<Vec<_>>();
        (src.join(op), bound)
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // Products of huge constants overflow and are skipped; allow for many.
        max_global_rejects: 1 << 20,
        ..ProptestConfig::default()
    })]

    /// No exponent or constant silently changes the derived function (run in release mode in
    /// CI, where integer overflow would wrap rather than panic): near `z = ±1`, where even
    /// `z^(2³¹−1)` is finite, the symbolic derivative agrees with a fourth-order central
    /// difference. The step `h` is a power of two with `N h ≤ 2⁻⁵` for the largest power `N`
    /// of `z`, and `z` lies on its grid, so every `z + k h` is exact and `z^N` stays within
    /// `e^(±1/8)`. The truncation error is about `(N h)⁴ / 30 ≈ 3e-8` and the rounding of
    /// `powi` (about `N ε` relative) becomes at most `ε / h ≤ 3e-5` relative to `N |f|`, the
    /// derivative's size, so agreement is asked within `1e-4 N |f|`: a flipped sign, a wrapped
    /// exponent or a lost term is off by about `N |f|` or more.
    #[test]
    fn extreme_exponents_and_constants_keep_the_derivative(
        (src, bound) in extreme(),
        m in -4i32..=4,
        negative in any::<bool>(),
    ) {
        // A constant folding to infinity is refused by the macro (a UI test shows it).
        let Ok(expr) = try_derived(&src) else {
            return Err(TestCaseError::reject("refused by the macro"));
        };
        let log2 = bound.max(1.0).log2().ceil();
        let step = (-(log2 + 5.0)).exp2();
        let sign = if negative { -1.0 } else { 1.0 };
        let z = sign * (1.0 + f64::from(m) * step);
        let g = &expr.graph;
        let f = |x: f64| g.eval(expr.f, x, f64::NAN, &[0.0]);
        let values: Vec<f64> = [-2.0, -1.0, 0.0, 1.0, 2.0].iter().map(|k| f(z + k * step)).collect();
        // Normal, finite values only: subnormals and overflow are not smooth.
        prop_assume!(values.iter().all(|v| v.is_finite() && (1e-250..1e250).contains(&v.abs())));
        let fd = (values[0] - 8.0 * values[1] + 8.0 * values[3] - values[4]) / (12.0 * step);
        let df = g.eval(expr.df, z, values[2], &[0.0]);
        // Relative to `N Σ|terms|`, the size of the derivative without cancellation (in
        // `z^(2³¹) z^(−2³¹)` or `z^N − z^N` the rounding stays that large while the derivative
        // vanishes): the terms' magnitudes are the expression with positive constants at `|z|`.
        let Ok(magnitude) = try_derived(&src.replace('-', "")) else {
            return Err(TestCaseError::reject("refused by the macro"));
        };
        let largest = g_max(&magnitude, z.abs(), step);
        let tolerance = 1e-4 * bound.max(1.0) * largest;
        prop_assert!(
            (df - fd).abs() <= tolerance,
            "d/dz {src} at z = {z}: symbolic {df}, central difference {fd}"
        );
    }
}

/// Past `MAX_NODES`, constructors return existing nodes and the graph says it overflowed,
/// so that the caller reports an error instead of using a meaningless result.
#[test]
fn a_graph_is_bounded() {
    let mut g = Graph::default();
    let z = g.var();
    let mut e = z;
    for k in 0..Graph::MAX_NODES {
        let c = g.num(k as f64 + 0.5);
        let t = g.mul(c, z);
        let s = g.unary(super::Func::Sin, t);
        e = g.add(e, s);
    }
    assert!(g.overflowed());
    assert!(g.topological(e).len() <= Graph::MAX_NODES);
    let d = g.derive(e);
    assert!(d < Graph::MAX_NODES, "every id stays valid");
}

/// The expression language's table names each function once, and a unary function's name is
/// the symbolic engine's [`super::Func::name`], so that the parser, the engine and the errors
/// agree.
#[test]
fn callable_functions_have_one_name_each() {
    use crate::custom::lower::Callable;
    for callable in Callable::ALL {
        assert_eq!(Callable::from_name(callable.name()), Some(callable));
        if let Callable::Unary(func) = callable {
            assert_eq!(callable.name(), func.name());
            assert_eq!(callable.arity(), 1);
        }
    }
    let mut names = Callable::names();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Callable::ALL.len());
}

/// Higher derivatives of the built-in activations against their textbook formulas: σ″ and σ‴
/// of tanh and the sigmoid, differentiated from σ and rewritten to read `h`.
#[test]
fn higher_derivatives_match_the_textbook() {
    type Real = fn(f64) -> f64;
    fn sig(z: f64) -> f64 {
        1.0 / (1.0 + (-z).exp())
    }
    let cases: [(Builtin, Real, Real, Real); 2] = [
        (
            Builtin::Tanh,
            f64::tanh,
            |z| -2.0 * z.tanh() * (1.0 - z.tanh().powi(2)),
            |z| {
                let t = z.tanh();
                -2.0 * (1.0 - t * t) * (1.0 - 3.0 * t * t)
            },
        ),
        (
            Builtin::Sigmoid,
            sig,
            |z| {
                let s = sig(z);
                s * (1.0 - s) * (1.0 - 2.0 * s)
            },
            |z| {
                let s = sig(z);
                s * (1.0 - s) * (1.0 - 6.0 * s + 6.0 * s * s)
            },
        ),
    ];
    for (builtin, f, d2, d3) in cases {
        let mut derived = builtin.derived();
        let (second, third) = (derived.nth(2), derived.nth(3));
        for i in 0..=80 {
            let z = -4.0 + 0.1 * f64::from(i) + 1e-7;
            let h = f(z);
            let got2 = derived.graph.eval(second, z, h, &[]);
            let got3 = derived.graph.eval(third, z, h, &[]);
            assert!(
                (got2 - d2(z)).abs() <= 1e-12,
                "{builtin:?} σ″({z}) = {got2}"
            );
            assert!(
                (got3 - d3(z)).abs() <= 1e-12,
                "{builtin:?} σ‴({z}) = {got3}"
            );
        }
    }
}
