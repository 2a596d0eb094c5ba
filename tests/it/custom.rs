//! Activations written as expressions and differentiated by the macro: their derivatives
//! against central differences at many points, built-ins rewritten as expressions against the
//! built-ins, and whole networks' gradients against central differences.

use crate::gradients::check_differences;
use crate::support::central_difference;
use mlp::{mlp, Activation, DerivativeReads};

mlp! {
    activation softsign(z) = z / (1.0 + z.abs());
    activation swish(z) = z * sigmoid(z);
    activation leaky(z; a = 0.1) = max(z, a * z);
    activation bump(x; width) = exp(-(x * x) / width) + 0.1 * x.sin() - x.cos().powi(2);
    activation rational(z) = (z.powi(3) - 2.0 * z) / (1.0 + z * z).sqrt() + ln(1.0 + z.abs()).min(1.5);
    activation smooth(z; p = 1.5) = (1.0 + z * z).powf(p) - 1.0;
    activation mytanh(z) = tanh(z);
    activation mysigmoid(z) = sigmoid(z);
    activation myrelu(z) = max(z, 0.0);
    activation mygelu(z) = 0.5 * z * (1.0 + tanh(0.7978845608028654 * (z + 0.044715 * z.powi(3))));
    activation mysoftplus(z) = ln(1.0 + exp(z));

    /// Every custom activation in one network, in f64.
    pub struct Custom {
        scalar: f64,
        input: 3,
        layers: [5 softsign, 5 swish, 4 leaky(0.2), 4 bump(2.0), 3 rational, 3 smooth, 3 mytanh, 2 leaky],
    }
}

/// `σ'(z)` from the generated code (reading `h = σ(z)` as backward does), against a
/// fourth-order central difference of the generated `σ`, at 2,001 points of `[-4, 4]`.
fn check_derivative<A: Activation<f64>>(name: &str, act: A) {
    let mut checked = 0;
    for i in 0..=2000 {
        let z = -4.0 + 0.004 * f64::from(i) + 1e-6;
        let fd = central_difference(|step| act.f(z + step));
        // Skip points near a kink of σ or σ' (|z|, max, min): there the difference is not
        // accurate to O(h⁴), and halving the step changes it.
        let fd_half = 2.0 * central_difference(|step| act.f(z + step / 2.0));
        if (fd - fd_half).abs() > 1e-9 * (1.0 + fd.abs()) {
            continue;
        }
        let df = act.df(z, act.f(z));
        let err = (df - fd).abs() / (1.0 + fd.abs());
        assert!(err < 1e-8, "{name}'({z}) = {df}, central difference {fd}");
        checked += 1;
    }
    assert!(
        checked > 1900,
        "{name}: only {checked} of 2001 points were smooth enough to check"
    );
}

#[test]
fn derived_derivatives_agree_with_central_differences() {
    check_derivative("softsign", CustomSoftsign);
    check_derivative("swish", CustomSwish);
    check_derivative("leaky(0.2)", CustomLeaky { a: 0.2 });
    check_derivative("bump(2.0)", CustomBump { width: 2.0 });
    check_derivative("rational", CustomRational);
    check_derivative("smooth", CustomSmooth { p: 1.5 });
    check_derivative("smooth(2.5)", CustomSmooth { p: 2.5 });
}

/// A built-in written as an expression gives the built-in's values and derivatives.
fn same_as_builtin<A: Activation<f64>, B: Activation<f64>>(name: &str, mine: A, builtin: B) {
    for i in 0..=4000 {
        let z = -15.0 + 0.0075 * f64::from(i) + 1e-7;
        let (h_mine, h_builtin) = (mine.f(z), builtin.f(z));
        assert!(
            (h_mine - h_builtin).abs() <= 1e-14 * (1.0 + h_builtin.abs()),
            "{name}({z}): {h_mine} vs {h_builtin}"
        );
        let (d_mine, d_builtin) = (mine.df(z, h_mine), builtin.df(z, h_builtin));
        assert!(
            (d_mine - d_builtin).abs() <= 1e-13 * (1.0 + d_builtin.abs()),
            "{name}'({z}): {d_mine} vs {d_builtin}"
        );
    }
}

#[test]
fn builtins_written_as_expressions_match_the_builtins() {
    use mlp::activation::{Gelu, Relu, Sigmoid, Softplus, Tanh};
    same_as_builtin("tanh", CustomMytanh, Tanh);
    same_as_builtin("sigmoid", CustomMysigmoid, Sigmoid);
    same_as_builtin("relu", CustomMyrelu, Relu);
    same_as_builtin("gelu", CustomMygelu, Gelu);
    same_as_builtin("softplus", CustomMysoftplus, Softplus);
    // tanh and sigmoid derive exactly the built-ins' code: the same math, `σ'` from `h`.
    for i in 0..=1000 {
        let z = -8.0 + 0.016 * f64::from(i);
        assert_eq!(CustomMytanh.f(z), Tanh.f(z));
        assert_eq!(CustomMytanh.df(z, Tanh.f(z)), Tanh.df(z, Tanh.f(z)));
        assert_eq!(CustomMysigmoid.f(z), Sigmoid.f(z));
        assert_eq!(
            CustomMysigmoid.df(z, Sigmoid.f(z)),
            Sigmoid.df(z, Sigmoid.f(z))
        );
    }
}

#[test]
fn derivatives_read_what_the_cache_makes_cheapest() {
    // tanh' = 1 − h² reads only the output, as the built-in does.
    assert_eq!(
        <CustomMytanh as Activation<f64>>::DERIVATIVE_READS,
        DerivativeReads::Output
    );
    assert_eq!(
        <CustomMysigmoid as Activation<f64>>::DERIVATIVE_READS,
        DerivativeReads::Output
    );
    assert_eq!(
        <CustomSwish as Activation<f64>>::DERIVATIVE_READS,
        DerivativeReads::Input
    );
    assert_eq!(<CustomLeaky as Activation<f64>>::NAME, "leaky");
}

#[test]
fn networks_of_custom_activations_have_exact_gradients() {
    check_differences::<Custom>(21);
    let net = Custom::zeros();
    assert_eq!(net.forward(&[0.0; 3]).len(), 2);
    assert_eq!(
        <Custom as mlp::Network>::LAYER_SPECS[2].activation,
        mlp::activation::ActivationSpec {
            name: "leaky",
            params: &[0.2]
        }
    );
    assert_eq!(
        <Custom as mlp::Network>::LAYER_SPECS[7]
            .activation
            .to_string(),
        "leaky(0.1)"
    );
}

mlp! {
    activation swish(z) = z * sigmoid(z);
    /// A custom activation in f32.
    struct Small { input: 2, layers: [4 swish, 1 identity] }
}

#[test]
fn custom_activations_work_in_f32() {
    let swish = SmallSwish;
    let z = 0.75f32;
    let want = 0.75 / (1.0 + (-0.75f64).exp());
    assert!((f64::from(swish.f(z)) - want).abs() < 1e-7);
    let mut net = Small::zeros();
    *net.b1 = [1.0, -1.0, 0.5, 0.0];
    net.w2[0] = [1.0, 1.0, 1.0, 1.0];
    let y = net.forward(&[0.3, 0.4])[0];
    let expect: f32 = [1.0f32, -1.0, 0.5, 0.0].iter().map(|&b| swish.f(b)).sum();
    assert_eq!(y, expect);
}
