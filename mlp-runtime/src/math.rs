//! Elementary functions that vectorise: `exp`, `tanh` and the logistic function, for `f32`
//! and `f64`, written without branches or calls into libm so that a loop over a layer's
//! outputs compiles to SIMD code (SSE2 by default, AVX2 or AVX-512 where the batched kernels
//! detect them at run time).
//!
//! Every function takes care of the whole range: saturation, `±0`, subnormal inputs and
//! results, `±∞`, and NaN, which propagates. Only `+`, `−`, `×`, `÷` and bit operations are
//! used (no fused multiply-add), so the result is the same bit for bit on every target and
//! in every code path.
//!
//! | function | worst error, `f32` (all 2³² inputs) | worst error found, `f64` |
//! | --- | --- | --- |
//! | [`exp_f32`], [`exp_f64`] | 0.99 ulp | 1.6 ulp |
//! | [`tanh_f32`], [`tanh_f64`] | 1.15 ulp | 1.3 ulp |
//! | [`logistic_f32`], [`logistic_f64`] | 1.97 ulp | 1.9 ulp |
//!
//! The error is measured against the exact value by `mlp-runtime/tests/math.rs` over millions
//! of points spread over the whole range (every exponent, both signs), which checks the
//! guaranteed bounds: `≤ 2` ulp in `f32` and `≤ 4` ulp in `f64`. The `f32` column is the worst over
//! every `f32` input, measured by `scripts/exhaustive-f32.sh` (minutes per function, so not
//! part of the tests).
//!
//! The generic [`exp`], [`tanh`] and [`logistic`] pick the `f32` or `f64` version for a
//! [`Scalar`]; they compile to the same code as calling it directly.

// The coefficients are written as published (Cephes), with more digits than the type holds;
// the compiler rounds each once, to nearest.
#![allow(clippy::excessive_precision)]

use crate::Scalar;

/// `e^x` in `f32`, within 1 ulp of the exact value.
///
/// Reduces `x = n ln 2 + r` with `|r| ≤ ln 2 / 2` (Cody–Waite, two-part `ln 2`), evaluates a
/// degree-6 polynomial for `e^r`, and scales by `2^n` in two steps, so that results in the
/// subnormal range are rounded once and overflow gives `+∞`.
///
/// ```
/// use mlp::math::exp_f32;
/// assert_eq!(exp_f32(0.0), 1.0);
/// assert!((exp_f32(1.0) - core::f32::consts::E).abs() <= f32::EPSILON * 3.0);
/// assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
/// assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
/// assert!(exp_f32(f32::NAN).is_nan());
/// ```
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    // Beyond these e^x is +∞ or rounds to 0; clamping keeps n in range. NaN stays NaN.
    let x = select(x > 89.0, 89.0, x);
    let x = select(x < -104.0, -104.0, x);
    let (t, r) = reduce_f32(x, x * core::f32::consts::LOG2_E);
    let e = exp_reduced_f32(r);
    // n is held in the low mantissa bits of t: 2^n = 2^(n/2) · 2^(n − n/2).
    let n = (t.to_bits() as i32).wrapping_sub(ROUND_F32.to_bits() as i32);
    let half = n >> 1;
    let s1 = f32::from_bits(((half + 127) as u32) << 23);
    let s2 = f32::from_bits(((n - half + 127) as u32) << 23);
    e * s1 * s2
}

/// Adding then subtracting `1.5 · 2^23` rounds an `f32` to the nearest integer (ties to even).
const ROUND_F32: f32 = 12_582_912.0;

/// Splits `x = n ln 2 + r` with `n` the integer nearest `x log₂ e` and `|r| ≤ ln 2 / 2`
/// (Cody–Waite, two-part `ln 2`), given `x_log2e`, the product `x log₂ e` as the caller
/// rounds it. Returns `(t, r)`, where `t = n + 1.5 · 2^23` holds `n` in its low mantissa bits.
#[inline(always)]
fn reduce_f32(x: f32, x_log2e: f32) -> (f32, f32) {
    // ln 2 = C1 + C2, with C1 exact in 9 bits so that n · C1 is exact.
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    let t = x_log2e + ROUND_F32;
    let n = t - ROUND_F32;
    (t, x - n * C1 - n * C2)
}

/// `e^r` for `|r| ≤ ln 2 / 2`: `1 + r + r² P(r)`, with `P` of degree 5 (Cephes) evaluated
/// by Horner's rule.
#[inline(always)]
fn exp_reduced_f32(r: f32) -> f32 {
    let p = EXP_P_F32[5];
    let p = p * r + EXP_P_F32[4];
    let p = p * r + EXP_P_F32[3];
    let p = p * r + EXP_P_F32[2];
    let p = p * r + EXP_P_F32[1];
    let p = p * r + EXP_P_F32[0];
    p * (r * r) + r + 1.0
}

/// The coefficients `p₀ … p₅` of `P` in `e^r ≈ 1 + r + r² P(r)` (Cephes).
const EXP_P_F32: [f32; 6] = [
    5.000_000_1e-1,
    1.666_666_5e-1,
    4.166_579_6e-2,
    8.333_452e-3,
    1.398_199_9e-3,
    1.987_569_1e-4,
];

/// The coefficients `q₀ … q₄` of `Q` in `e^r ≈ 1 + r + r² Q(r)` for `|r| ≤ ln 2 / 2`, used
/// by [`tanh_f32`]: a degree-6 fit of the relative error (at most 3.6e-9, below 2⁻²⁸, with the
/// coefficients rounded to `f32`), one degree lower than [`EXP_P_F32`] and two multiplications
/// fewer in Estrin's scheme. In `tanh_f32` an error in `e^r` reaches the result multiplied by
/// `2^(1−n) / (e^r + 2^(−n)) ≤ 0.53`.
const EXP_Q_F32: [f32; 5] = [
    4.999_999_4e-1,
    1.666_652_1e-1,
    4.166_838_9e-2,
    8.368_745_4e-3,
    1.381_453_8e-3,
];

/// `e^x` in `f64`, within 2 ulp of the exact value.
///
/// As [`exp_f32`], with the rational approximation `e^r = 1 + 2 r P(r²) / (Q(r²) − r P(r²))`
/// of Cephes.
///
/// ```
/// use mlp::math::exp_f64;
/// assert_eq!(exp_f64(0.0), 1.0);
/// assert!((exp_f64(1.0) - core::f64::consts::E).abs() <= f64::EPSILON * 3.0);
/// assert_eq!(exp_f64(-1000.0), 0.0);
/// assert_eq!(exp_f64(1000.0), f64::INFINITY);
/// ```
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    const LOG2E: f64 = core::f64::consts::LOG2_E;
    const C1: f64 = 6.931_457_519_531_25e-1;
    const C2: f64 = 1.428_606_820_309_417_232_1e-6;
    // 1.5 · 2^52.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let x = select(x > 710.0, 710.0, x);
    let x = select(x < -746.0, -746.0, x);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * C1 - n * C2;
    let rr = r * r;
    let p = 1.261_771_930_748_105_908_8e-4;
    let p = p * rr + 3.029_944_077_074_419_613e-2;
    let p = (p * rr + 9.999_999_999_999_999_999_1e-1) * r;
    let q = 3.001_985_051_386_644_550_4e-6;
    let q = q * rr + 2.524_483_403_496_841_041_9e-3;
    let q = q * rr + 2.272_655_482_081_550_287_7e-1;
    let q = q * rr + 2.0;
    let e = 1.0 + 2.0 * (p / (q - p));
    let n = (t.to_bits() as i64).wrapping_sub(ROUND.to_bits() as i64);
    let half = n >> 1;
    let s1 = f64::from_bits(((half + 1023) as u64) << 52);
    let s2 = f64::from_bits(((n - half + 1023) as u64) << 52);
    e * s1 * s2
}

/// `tanh x` in `f32`, within 2 ulp of the exact value.
///
/// An odd polynomial for `|x| < 0.625`, otherwise `1 − 2 / (e^(2|x|) + 1)` (Cephes), with the
/// sign of `x`; `±0` and NaN pass through and `|x| ≥ 9.1` gives `±1`. Both branches are
/// evaluated (a SIMD lane takes one or the other), so the latency is that of the longer one,
/// the exponential and the division; it is written so that this chain is short (see the
/// comments in the body).
///
/// ```
/// use mlp::math::tanh_f32;
/// assert_eq!(tanh_f32(0.0), 0.0);
/// assert!(tanh_f32(-0.0).is_sign_negative());
/// assert_eq!(tanh_f32(20.0), 1.0);
/// assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
/// assert!((tanh_f32(0.5) - 0.5f32.tanh()).abs() <= 2.0 * f32::EPSILON);
/// ```
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let a = f32::from_bits(x.to_bits() & 0x7fff_ffff);
    // Far from 0: e^(2a) = 2^n e^r, and 1 − 2/(e^(2a) + 1) = 1 − 2^(1−n)/(e^r + 2^(−n)): no
    // scaling by 2^n and no clamp. The chain to the division is eleven operations long:
    // - 2a · log₂ e is computed as a · (2 log₂ e), the same product, and rounded to n.
    // - r = 2a − n ln 2 with one constant: `LN_2` as an f32 has 21 significant bits and is
    //   within 2⁻²⁸ of ln 2, so n · LN_2 is exact up to n = 7, and 2a − n · LN_2 is exact for
    //   every n ≥ 2 this branch uses. What a second constant would subtract moves e^r by less
    //   than 2⁻²⁶ relative for n ≤ 7; from n = 8 on, the rounding of n · LN_2 reaches the
    //   result multiplied by 2^(1−n)/(e^r + 2^(−n)) < 2⁻⁶.
    // - e^r + 2^(−n) = r² Q(r) + (r + (1 + 2^(−n))), with Q of degree 4 in Estrin's scheme;
    //   r + (1 + 2^(−n)) is added while Q runs. 1 + 2^(−n) is exact up to n = 23; past it,
    //   the quotient is below 2^(−22) and its rounding no longer shows.
    let t = a * (2.0 * core::f32::consts::LOG2_E) + ROUND_F32;
    let r = (a + a) - (t - ROUND_F32) * core::f32::consts::LN_2;
    let n = (t.to_bits() as i32).wrapping_sub(ROUND_F32.to_bits() as i32);
    // 2^(−n), for 2 ≤ n ≤ 26 (0.625 ≤ a < 9.1); other lanes are replaced below.
    let inv = f32::from_bits((127i32.wrapping_sub(n) as u32) << 23);
    let [q0, q1, q2, q3, q4] = EXP_Q_F32;
    let r2 = r * r;
    let r4 = r2 * r2;
    let tail = r2 * (q1 * r + q0) + r4 * ((q3 * r + q2) + q4 * r2);
    let far = 1.0 - (inv + inv) / (tail + (r + (1.0 + inv)));
    let z = a * a;
    let p = -5.704_988_7e-3;
    let p = p * z + 2.063_908_9e-2;
    let p = p * z - 5.373_971_6e-2;
    let p = p * z + 1.333_144_2e-1;
    let p = p * z - 3.333_328_2e-1;
    let near = p * z * a + a;
    let t = select(a < 0.625, near, far);
    // From 9.1 on, tanh rounds to 1 (and `far` may overflow). NaN stays NaN.
    let t = select(a >= 9.1, 1.0, t);
    f32::from_bits(t.to_bits() | (x.to_bits() & 0x8000_0000))
}

/// `tanh x` in `f64`, within 2 ulp of the exact value.
///
/// A rational approximation `x + x³ P(x²)/Q(x²)` for `|x| < 0.625`, otherwise
/// `1 − 2 / (e^(2|x|) + 1)` (Cephes), with the sign of `x`.
///
/// ```
/// use mlp::math::tanh_f64;
/// assert_eq!(tanh_f64(0.0), 0.0);
/// assert_eq!(tanh_f64(40.0), 1.0);
/// assert!((tanh_f64(0.5) - 0.5f64.tanh()).abs() <= 2.0 * f64::EPSILON);
/// ```
#[inline(always)]
pub fn tanh_f64(x: f64) -> f64 {
    let a = f64::from_bits(x.to_bits() & 0x7fff_ffff_ffff_ffff);
    let big = select(a > 20.0, 20.0, a);
    let far = 1.0 - 2.0 / (exp_f64(big + big) + 1.0);
    let z = a * a;
    let p = -9.643_991_794_250_522_386_28e-1;
    let p = p * z - 9.928_772_310_019_185_865_64e1;
    let p = p * z - 1.614_687_684_417_084_479_52e3;
    let q = z + 1.128_116_784_916_329_314_02e2;
    let q = q * z + 2.235_488_390_601_004_485_83e3;
    let q = q * z + 4.844_063_053_251_254_860_48e3;
    let near = a + a * z * (p / q);
    let t = select(a < 0.625, near, far);
    f64::from_bits(t.to_bits() | (x.to_bits() & 0x8000_0000_0000_0000))
}

/// The logistic function `σ(x) = 1 / (1 + e^(−x))` in `f32`, within 2 ulp of the exact value.
///
/// Evaluated from `e = e^(−|x|)`, which never overflows: `1 / (1 + e)` for `x ≥ 0` and
/// `e / (1 + e)` for `x < 0`, with the rounding error of `1 + e` corrected.
///
/// ```
/// use mlp::math::logistic_f32;
/// assert_eq!(logistic_f32(0.0), 0.5);
/// assert_eq!(logistic_f32(100.0), 1.0);
/// assert!(logistic_f32(-100.0) > 0.0);
/// assert_eq!(logistic_f32(f32::NEG_INFINITY), 0.0);
/// ```
#[inline(always)]
pub fn logistic_f32(x: f32) -> f32 {
    let a = f32::from_bits(x.to_bits() & 0x7fff_ffff);
    let e = exp_f32(-a);
    let num = select(x < 0.0, e, 1.0);
    // d + c = 1 + e exactly (Fast2Sum, 1 ≥ e), and n / (d + c) ≈ q − q c / d.
    let d = 1.0 + e;
    let c = (1.0 - d) + e;
    let q = num / d;
    q - q * c / d
}

/// The logistic function `σ(x) = 1 / (1 + e^(−x))` in `f64`, within 2 ulp of the exact value;
/// evaluated as [`logistic_f32`].
///
/// ```
/// use mlp::math::logistic_f64;
/// assert_eq!(logistic_f64(0.0), 0.5);
/// assert_eq!(logistic_f64(800.0), 1.0);
/// assert_eq!(logistic_f64(f64::NEG_INFINITY), 0.0);
/// ```
#[inline(always)]
pub fn logistic_f64(x: f64) -> f64 {
    let a = f64::from_bits(x.to_bits() & 0x7fff_ffff_ffff_ffff);
    let e = exp_f64(-a);
    let num = select(x < 0.0, e, 1.0);
    // d + c = 1 + e exactly (Fast2Sum, 1 ≥ e), and n / (d + c) ≈ q − q c / d.
    let d = 1.0 + e;
    let c = (1.0 - d) + e;
    let q = num / d;
    q - q * c / d
}

/// `if c { a } else { b }`, written so that it compiles to a blend rather than a branch.
#[inline(always)]
fn select<T: Copy>(c: bool, a: T, b: T) -> T {
    if c {
        a
    } else {
        b
    }
}

/// Whether `T` is `f32`, by the sealed trait's hook (resolved at compile time).
#[inline(always)]
fn is_f32<T: Scalar>() -> bool {
    T::KIND == crate::scalar::sealed::Kind::F32
}

/// `e^x`: [`exp_f32`] or [`exp_f64`].
#[inline(always)]
pub fn exp<T: Scalar>(x: T) -> T {
    // For f32, `to_f64` then `as f32` and back is exact, and the optimiser removes it.
    if is_f32::<T>() {
        T::from_f64(f64::from(exp_f32(x.to_f64() as f32)))
    } else {
        T::from_f64(exp_f64(x.to_f64()))
    }
}

/// `tanh x`: [`tanh_f32`] or [`tanh_f64`].
#[inline(always)]
pub fn tanh<T: Scalar>(x: T) -> T {
    if is_f32::<T>() {
        T::from_f64(f64::from(tanh_f32(x.to_f64() as f32)))
    } else {
        T::from_f64(tanh_f64(x.to_f64()))
    }
}

/// `σ(x) = 1 / (1 + e^(−x))`: [`logistic_f32`] or [`logistic_f64`], without overflow for any
/// `x`. The one logistic function: the `sigmoid` activation, the binary cross-entropy and
/// `sigmoid(z)` in a custom activation all call it.
///
/// ```
/// assert_eq!(mlp::math::logistic(0.0f64), 0.5);
/// assert!(mlp::math::logistic(-1000.0f32) >= 0.0);
/// ```
#[inline(always)]
pub fn logistic<T: Scalar>(x: T) -> T {
    if is_f32::<T>() {
        T::from_f64(f64::from(logistic_f32(x.to_f64() as f32)))
    } else {
        T::from_f64(logistic_f64(x.to_f64()))
    }
}
