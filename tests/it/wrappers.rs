//! `mlp!` inside `macro_rules!` wrappers: the generated code resolves its own `self`,
//! `cache`, `grads` and locals whatever hygiene the user's tokens carry.

use mlp::Network;

/// Widths as `$w:literal`.
macro_rules! by_literal {
    ($name:ident, $i:literal, $h:literal, $o:literal) => {
        mlp::mlp! { pub struct $name { scalar: f64, input: $i, layers: [$h tanh, $o identity] } }
    };
}

/// Widths as `$w:tt`.
macro_rules! by_tt {
    ($i:tt, $h:tt, $o:tt) => {
        mlp::mlp! { pub struct ByTt { scalar: f64, input: $i, layers: [$h sigmoid, $o identity] } }
    };
}

/// Widths as `$w:expr` (each an invisible group around the literal).
macro_rules! by_expr {
    ($i:expr, $h:expr, $o:expr) => {
        mlp::mlp! { pub struct ByExpr { scalar: f64, input: $i, layers: [$h relu, $o identity], bias: false } }
    };
}

/// The whole body forwarded.
macro_rules! whole {
    ($($t:tt)*) => { mlp::mlp! { $($t)* } };
}

/// The struct's name and the activations' names from the caller, a custom activation
/// defined inside the wrapper.
macro_rules! named {
    ($name:ident, $act:ident, $hidden:ident, $out:ident) => {
        mlp::mlp! {
            activation $act(z; a = 0.5) = z * sigmoid(a * z);
            pub struct $name { scalar: f64, input: 2, layers: [3 $act, 3 $hidden, 1 $out] }
        }
    };
}

by_literal!(ByLiteral, 2, 3, 1);
by_tt!(2, 3, 1);
by_expr!(2, 3, 1);
whole! {
    activation soft(z) = z / (1.0 + z.abs());
    /// Forwarded whole.
    pub struct Whole { scalar: f64, input: 2, layers: [3 soft, 1 identity] }
}
named!(Named, swishy, tanh, identity);

/// Every network runs forward, cached forward and backward, and its gradient matches a
/// central difference of its output, so the wrapped expansions are complete and correct.
fn check<N: Network<Input = [f64; 2], Output = [f64; 1], Scalar = f64>>(mut net: N) {
    let mut value = 0.1;
    net.visit_mut(|_, p| {
        for x in p {
            value = (value * 1.7 + 0.3) % 1.0;
            *x = value - 0.5;
        }
    });
    let x = [0.3, -0.7];
    let mut cache = N::Cache::default();
    let y = net.forward_cached(&x, &mut cache);
    assert_eq!(y, net.forward(&x));
    let mut grads = N::Grads::default();
    let dx = net.backward(&cache, &[1.0], &mut grads);
    for j in 0..2 {
        let step = 1e-6;
        let (mut plus, mut minus) = (x, x);
        plus[j] += step;
        minus[j] -= step;
        let fd = (net.forward(&plus)[0] - net.forward(&minus)[0]) / (2.0 * step);
        assert!((dx[j] - fd).abs() < 1e-7, "∂y/∂x_{j}: {} vs {fd}", dx[j]);
    }
}

#[test]
fn every_wrapper_style_expands_and_runs() {
    check(ByLiteral::zeros());
    check(ByTt::zeros());
    check(ByExpr::zeros());
    check(Whole::zeros());
    check(Named::zeros());
    let x = [0.25, 0.5];
    assert_eq!(ByLiteral::zeros().freeze().forward(&x), [0.0]);
    assert_eq!(ByTt::zeros().freeze().forward(&x), [0.0]);
    assert_eq!(ByExpr::zeros().freeze().forward(&x), [0.0]);
    assert_eq!(Whole::zeros().freeze().forward(&x), [0.0]);
    assert_eq!(Named::zeros().freeze().forward(&x), [0.0]);
    assert_eq!(ByExpr::PARAMS, 2 * 3 + 3);
    assert_eq!(NamedSwishy { a: 0.5 }, NamedSwishy { a: 0.5 });
    let _ = WholeSoft;
    let _: ByLiteralCache = ByLiteralCache::default();
}
