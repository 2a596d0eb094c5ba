//! Exponents at the ends of `i32`: the differentiator's exponent arithmetic is checked, so a
//! product whose merged exponent would overflow stays a product, and the derivative of
//! `z^i32::MIN` is written as `n z^n / z`. Each derivative is compared with its closed form.

use mlp::{mlp, Activation};

mlp! {
    activation twice_max(z) = powi(z, 2147483647) * powi(z, 2147483647);
    activation min_exponent(z) = powi(z, -2147483647) * powi(z, -1);
    activation past_max(z) = z * z.powf(2147483647.0);
    /// Nested 30 deep (the limit is 32), with the derivative of a chain of 30 sines.
    activation sines(z) = sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(sin(z))))))))))))))))))))))))))))));
    pub struct Exponents {
        scalar: f64,
        input: 1,
        layers: [1 twice_max, 1 min_exponent, 1 past_max, 1 sines],
    }
}

/// `σ'(z)` as backward computes it.
fn df<A: Activation<f64>>(act: &A, z: f64) -> f64 {
    act.df(z, act.f(z))
}

#[test]
fn exponent_overflow_keeps_the_derivative_exact() {
    let n = f64::from(i32::MAX);
    // d/dz z^n z^n = 2 n z^(2n−1): at ±1, ±2n (an odd power keeps the sign).
    assert_eq!(df(&ExponentsTwiceMax, 1.0), 2.0 * n);
    assert_eq!(df(&ExponentsTwiceMax, -1.0), -2.0 * n);
    // d/dz z^(−2³¹) = −2³¹ z^(−2³¹−1): at ±1, ∓2³¹.
    let m = f64::from(i32::MIN);
    assert_eq!(df(&ExponentsMinExponent, 1.0), m);
    assert_eq!(df(&ExponentsMinExponent, -1.0), -m);
    assert_eq!(ExponentsMinExponent.f(-1.0), 1.0);
    // d/dz z · z^n = (n + 1) z^n: at 1, n + 1; at −1, −(n + 1) (n is odd).
    assert_eq!(df(&ExponentsPastMax, 1.0), n + 1.0);
    assert_eq!(df(&ExponentsPastMax, -1.0), -(n + 1.0));
    assert_eq!(ExponentsPastMax.f(-1.0), 1.0);
}

#[test]
fn a_deep_chain_derives_by_the_chain_rule() {
    // s_0 = z, s_k = sin s_(k−1); σ' = Π cos s_(k−1).
    for z in [-1.3, -0.2, 0.0, 0.7, 2.0] {
        let (mut s, mut want) = (z, 1.0);
        for _ in 0..30 {
            want *= f64::cos(s);
            s = f64::sin(s);
        }
        assert_eq!(ExponentsSines.f(z), s);
        let got = df(&ExponentsSines, z);
        assert!(
            (got - want).abs() <= 1e-15 * (1.0 + want.abs()),
            "{got} vs {want} at {z}"
        );
    }
    assert_eq!(Exponents::LAYERS, 4);
}
