//! Accuracy of the vectorisable `exp`, `tanh` and logistic functions in `mlp_runtime::math`.
//!
//! The error of every result is measured in ulps of the exact value, over millions of points:
//! every `K`-th bit pattern of the whole type (all exponents, both signs, subnormals included),
//! a dense sweep of the range where the functions do not saturate, and the special values.
//! The `f32` functions are compared with `std`'s `f64` functions (accurate to far better than an
//! `f32` ulp); the `f64` functions with a double-double reference written here, independent of
//! the code under test.

use mlp_runtime::math::{exp_f32, exp_f64, logistic_f32, logistic_f64, tanh_f32, tanh_f64};

/// The documented bounds.
const MAX_ULP_F32: f64 = 2.0;
const MAX_ULP_F64: f64 = 4.0;

/// Roughly this many points from the bit-pattern sweep of each function and type.
const SWEEP_POINTS: u64 = 2_000_000;
/// Points in the dense sweep of `[-DENSE_RANGE, DENSE_RANGE]`.
const DENSE_POINTS: u64 = 1_000_000;

// ---------------------------------------------------------------------------------------------
// f32, against std's f64 functions.

/// The error of `y` in units of the last place of `exact` rounded to `f32` (at least the
/// smallest subnormal).
fn ulp_err_f32(y: f32, exact: f64) -> f64 {
    if exact.is_nan() {
        return if y.is_nan() { 0.0 } else { f64::INFINITY };
    }
    if exact.is_infinite() || exact.abs() > f64::from(f32::MAX) * (1.0 + 0.5f64.powi(24)) {
        return if f64::from(y) == exact.signum() * f64::INFINITY {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if y.is_infinite() || y.is_nan() {
        return f64::INFINITY;
    }
    let e = if exact == 0.0 {
        -126
    } else {
        (exact.abs().log2().floor() as i32).max(-126)
    };
    let ulp = 2f64.powi(e - 23);
    (f64::from(y) - exact).abs() / ulp
}

/// The points: every `k`-th bit pattern, a dense sweep, and the special values.
fn points_f32(dense_range: f32) -> Vec<f32> {
    let stride = (1u64 << 32) / SWEEP_POINTS;
    let mut v: Vec<f32> = (0..SWEEP_POINTS)
        .map(|i| f32::from_bits((i * stride + i % 7) as u32))
        .collect();
    v.extend(
        (0..=DENSE_POINTS)
            .map(|i| (-1.0 + 2.0 * i as f64 / DENSE_POINTS as f64) as f32 * dense_range),
    );
    v.extend([
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        f32::from_bits(1),
        -f32::from_bits(1),
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
        0.625,
        -0.625,
        0.624_999_94,
    ]);
    v
}

/// The largest error of `f` against `exact` over the points, and where it occurs.
fn worst_f32(f: impl Fn(f32) -> f32, exact: impl Fn(f64) -> f64, points: &[f32]) -> (f64, f32) {
    let mut worst = (0.0, 0.0);
    for &x in points {
        let err = ulp_err_f32(f(x), exact(f64::from(x)));
        if err > worst.0 || err.is_nan() {
            worst = (err, x);
        }
    }
    worst
}

fn logistic_exact_f64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[test]
fn exp_f32_within_bound() {
    let points = points_f32(104.0);
    let (err, at) = worst_f32(exp_f32, f64::exp, &points);
    eprintln!("worst error {err} ulp at {at:e}");
    assert!(err <= MAX_ULP_F32, "exp_f32: {err} ulp at {at:e}");
}

#[test]
fn tanh_f32_within_bound() {
    let points = points_f32(10.0);
    let (err, at) = worst_f32(tanh_f32, f64::tanh, &points);
    eprintln!("worst error {err} ulp at {at:e}");
    assert!(err <= MAX_ULP_F32, "tanh_f32: {err} ulp at {at:e}");
}

#[test]
fn logistic_f32_within_bound() {
    let points = points_f32(110.0);
    let (err, at) = worst_f32(logistic_f32, logistic_exact_f64, &points);
    eprintln!("worst error {err} ulp at {at:e}");
    assert!(err <= MAX_ULP_F32, "logistic_f32: {err} ulp at {at:e}");
}

#[test]
fn special_values_f32() {
    assert!(exp_f32(f32::NAN).is_nan() && tanh_f32(f32::NAN).is_nan());
    assert!(logistic_f32(f32::NAN).is_nan());
    assert_eq!(exp_f32(-0.0), 1.0);
    assert_eq!(tanh_f32(0.0).to_bits(), 0.0f32.to_bits());
    assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(tanh_f32(f32::INFINITY), 1.0);
    assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
    assert_eq!(logistic_f32(f32::INFINITY), 1.0);
    assert_eq!(logistic_f32(f32::NEG_INFINITY), 0.0);
    assert_eq!(logistic_f32(-0.0), 0.5);
    // A subnormal argument: tanh x = x, e^x = 1.
    let tiny = f32::from_bits(3);
    assert_eq!(tanh_f32(tiny), tiny);
    assert_eq!(exp_f32(tiny), 1.0);
    // Subnormal results are rounded, not flushed.
    assert!(exp_f32(-100.0) > 0.0 && exp_f32(-100.0) < f32::MIN_POSITIVE);
}

// ---------------------------------------------------------------------------------------------
// f64, against a double-double reference.

/// An unevaluated sum `hi + lo` with `|lo| ≤ ulp(hi) / 2`: about 106 bits.
#[derive(Clone, Copy, Debug)]
struct Dd(f64, f64);

fn two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let bb = s - a;
    Dd(s, (a - (s - bb)) + (b - bb))
}

fn two_prod(a: f64, b: f64) -> Dd {
    let p = a * b;
    Dd(p, a.mul_add(b, -p))
}

impl Dd {
    fn from(x: f64) -> Dd {
        Dd(x, 0.0)
    }
    fn add(self, o: Dd) -> Dd {
        let s = two_sum(self.0, o.0);
        let t = two_sum(self.1, o.1);
        let s = two_sum(s.0, s.1 + t.0);
        two_sum(s.0, s.1 + t.1)
    }
    fn neg(self) -> Dd {
        Dd(-self.0, -self.1)
    }
    fn sub(self, o: Dd) -> Dd {
        self.add(o.neg())
    }
    fn mul(self, o: Dd) -> Dd {
        let p = two_prod(self.0, o.0);
        two_sum(p.0, p.1 + (self.0 * o.1 + self.1 * o.0))
    }
    fn div(self, o: Dd) -> Dd {
        let q1 = self.0 / o.0;
        let r = self.sub(o.mul(Dd::from(q1)));
        let q2 = r.0 / o.0;
        let r = r.sub(o.mul(Dd::from(q2)));
        let q3 = r.0 / o.0;
        two_sum(q1, q2).add(Dd::from(q3))
    }
    fn scale(self, s: f64) -> Dd {
        Dd(self.0 * s, self.1 * s)
    }
}

/// `ln 2` as a double-double.
const LN2: Dd = Dd(std::f64::consts::LN_2, 2.319_046_813_846_299_6e-17);

/// `e^x = m · 2^k` with `m` a double-double in `[0.5, 2]`, for finite `x` in `[-800, 800]`.
fn exp_dd(x: f64) -> (Dd, i32) {
    let k = (x / std::f64::consts::LN_2).round();
    let r = Dd::from(x).sub(LN2.mul(Dd::from(k)));
    // e^r = (e^(r/256))^256, with a Taylor series for |r/256| < 0.0014.
    let s = r.scale(1.0 / 256.0);
    let mut term = Dd::from(1.0);
    let mut sum = Dd::from(1.0);
    for n in 1..=14 {
        term = term.mul(s).scale(1.0 / f64::from(n));
        sum = sum.add(term);
    }
    for _ in 0..8 {
        sum = sum.mul(sum);
    }
    (sum, k as i32)
}

/// The error of `y` in ulps of the exact value `m · 2^k`, measured after scaling by `2^−k`
/// (exact for powers of two), so that the reference itself is never rounded into the
/// subnormal range.
fn ulp_err_f64(y: f64, m: Dd, k: i32) -> f64 {
    if m.0 == 0.0 {
        return y.abs() / f64::from_bits(1);
    }
    let exact_exp = m.0.abs().log2().floor() as i32 + k;
    if exact_exp > 1023 {
        return if y == f64::INFINITY * m.0.signum() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if !y.is_finite() {
        return f64::INFINITY;
    }
    let e = exact_exp.max(-1022);
    // Scale in steps that stay exact.
    let mut ys = y;
    let mut kk = k;
    while kk > 0 {
        let step = kk.min(1000);
        ys *= 2f64.powi(-step);
        kk -= step;
    }
    while kk < 0 {
        let step = (-kk).min(1000);
        ys *= 2f64.powi(step);
        kk += step;
    }
    let diff = Dd::from(ys).sub(m);
    (diff.0 + diff.1).abs() / pow2(e - 52 - k)
}

/// `2^e` for any `e` whose result is a finite, non-zero `f64` (`powi` alone loses the
/// subnormal range).
fn pow2(e: i32) -> f64 {
    if e < -1000 {
        2f64.powi(e + 1000) * 2f64.powi(-1000)
    } else {
        2f64.powi(e)
    }
}

/// The exact `tanh |x|`, `x ≥ 0`, as `(m, 0)`.
fn tanh_dd(a: f64) -> Dd {
    if a < 1e-5 {
        // x − x³/3 + 2x⁵/15 − 17x⁷/315: the next term is below 2^−106 relative.
        let x = Dd::from(a);
        let x2 = x.mul(x);
        let c3 = Dd::from(-1.0).div(Dd::from(3.0));
        let c5 = Dd::from(2.0).div(Dd::from(15.0));
        let c7 = Dd::from(-17.0).div(Dd::from(315.0));
        let p = c7.mul(x2).add(c5).mul(x2).add(c3).mul(x2);
        return x.add(x.mul(p));
    }
    if a > 40.0 {
        return Dd::from(1.0);
    }
    let (m, k) = exp_dd(2.0 * a);
    let e2 = m.scale(2f64.powi(k));
    let em1 = e2.sub(Dd::from(1.0));
    em1.div(e2.add(Dd::from(1.0)))
}

/// The exact `σ(x) = m · 2^k`.
fn logistic_dd(x: f64) -> (Dd, i32) {
    if x >= 0.0 {
        if x > 800.0 {
            return (Dd::from(1.0), 0);
        }
        let (m, k) = exp_dd(-x);
        (
            Dd::from(1.0).div(Dd::from(1.0).add(m.scale(2f64.powi(k)))),
            0,
        )
    } else {
        if x < -800.0 {
            // σ(x) < 2^−1100: zero after rounding; report e^x itself, which is as small.
            let (m, k) = exp_dd(-800.0);
            return (m, k - 300);
        }
        // e^x / (1 + e^x) = m 2^k / (1 + m 2^k).
        let (m, k) = exp_dd(x);
        let denom = Dd::from(1.0).add(m.scale(2f64.powi(k.max(-1000))));
        (m.div(denom), k)
    }
}

/// The points: every `k`-th bit pattern, a dense sweep, and the special values.
fn points_f64(dense_range: f64) -> Vec<f64> {
    let stride = u64::MAX / SWEEP_POINTS;
    let mut v: Vec<f64> = (0..SWEEP_POINTS)
        .map(|i| f64::from_bits(i * stride + i % 11))
        .collect();
    v.extend(
        (0..=DENSE_POINTS).map(|i| (-1.0 + 2.0 * i as f64 / DENSE_POINTS as f64) * dense_range),
    );
    v.extend([
        0.0,
        -0.0,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        f64::from_bits(1),
        f64::MAX,
        f64::MIN,
        0.625,
        -0.625,
        0.624_999_999_999_999_9,
        709.78,
        -708.4,
        -745.1,
    ]);
    v
}

/// The worst error over the finite points in `[lo, hi]`; outside, `saturated` gives the
/// exact value rounded to `f64` (0, 1 or ∞), which must be matched exactly.
fn worst_f64(
    f: impl Fn(f64) -> f64,
    exact: impl Fn(f64) -> Option<(Dd, i32)>,
    saturated: impl Fn(f64) -> f64,
    points: &[f64],
) -> (f64, f64) {
    let mut worst = (0.0, 0.0);
    for &x in points {
        if x.is_nan() {
            continue;
        }
        let y = f(x);
        let err = match exact(x) {
            Some((m, k)) => ulp_err_f64(y, m, k),
            None if y == saturated(x) => 0.0,
            None => f64::INFINITY,
        };
        if err > worst.0 || err.is_nan() {
            worst = (err, x);
        }
    }
    worst
}

#[test]
fn exp_f64_within_bound() {
    let points = points_f64(745.0);
    let (err, at) = worst_f64(
        exp_f64,
        |x| (x.abs() <= 760.0).then(|| exp_dd(x)),
        |x| if x > 0.0 { f64::INFINITY } else { 0.0 },
        &points,
    );
    eprintln!("worst error {err} ulp at {at:e}");
    assert!(err <= MAX_ULP_F64, "exp_f64: {err} ulp at {at:e}");
}

#[test]
fn tanh_f64_within_bound() {
    let points = points_f64(20.0);
    let (err, at) = worst_f64(
        tanh_f64,
        |x| {
            let t = tanh_dd(x.abs());
            Some((if x < 0.0 { t.neg() } else { t }, 0))
        },
        |_| unreachable!(),
        &points,
    );
    eprintln!("worst error {err} ulp at {at:e}");
    assert!(err <= MAX_ULP_F64, "tanh_f64: {err} ulp at {at:e}");
}

#[test]
fn logistic_f64_within_bound() {
    let points = points_f64(750.0);
    let (err, at) = worst_f64(
        logistic_f64,
        |x| Some(logistic_dd(x)),
        |_| unreachable!(),
        &points,
    );
    eprintln!("worst error {err} ulp at {at:e}");
    assert!(err <= MAX_ULP_F64, "logistic_f64: {err} ulp at {at:e}");
}

#[test]
fn special_values_f64() {
    assert!(exp_f64(f64::NAN).is_nan() && tanh_f64(f64::NAN).is_nan());
    assert!(logistic_f64(f64::NAN).is_nan());
    assert_eq!(exp_f64(f64::INFINITY), f64::INFINITY);
    assert_eq!(exp_f64(f64::NEG_INFINITY), 0.0);
    assert_eq!(tanh_f64(-0.0).to_bits(), (-0.0f64).to_bits());
    assert_eq!(tanh_f64(f64::INFINITY), 1.0);
    assert_eq!(tanh_f64(f64::NEG_INFINITY), -1.0);
    assert_eq!(logistic_f64(f64::INFINITY), 1.0);
    assert_eq!(logistic_f64(f64::NEG_INFINITY), 0.0);
    let tiny = f64::from_bits(5);
    assert_eq!(tanh_f64(tiny), tiny);
    assert!(exp_f64(-740.0) > 0.0 && exp_f64(-740.0) < f64::MIN_POSITIVE);
}

/// The reference itself: double-double `e^x`, `tanh` and `σ` agree with `std` to well within
/// an `f64` ulp where `std` is accurate, so a wrong reference cannot hide an error.
#[test]
fn reference_agrees_with_std() {
    for i in -200..=200 {
        let x = f64::from(i) * 0.173;
        let (m, k) = exp_dd(x);
        assert!(ulp_err_f64(x.exp(), m, k) < 1.0, "exp_dd({x})");
        let t = tanh_dd(x.abs());
        assert!(ulp_err_f64(x.abs().tanh(), t, 0) < 1.0, "tanh_dd({x})");
        let (m, k) = logistic_dd(x);
        assert!(
            ulp_err_f64(logistic_exact_f64(x), m, k) < 2.0,
            "logistic_dd({x})"
        );
    }
}
