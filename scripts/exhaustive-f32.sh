#!/usr/bin/env bash
# Measures the worst error of mlp_runtime::math's f32 exp, tanh and logistic over every one of
# the 2^32 f32 inputs, in ulps of the exact value (std's f64 functions, far more accurate than
# an f32 ulp). A few minutes per function; the tests check millions of points instead.
#
# Usage: scripts/exhaustive-f32.sh [exp|tanh|logistic ...]   (default: all three)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
cat > "$work/Cargo.toml" <<TOML
[package]
name = "exhaustive-f32"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
mlp-runtime = { path = "$root/mlp-runtime" }

[workspace]
TOML
cat > "$work/src/main.rs" <<'RS'
use mlp_runtime::math::{exp_f32, logistic_f32, tanh_f32};

/// The error of `y` in ulps of `exact` (an f32 ulp at exact's magnitude, at least 2^-149).
fn ulp_err(y: f32, exact: f64) -> f64 {
    if exact.is_nan() {
        return if y.is_nan() { 0.0 } else { f64::INFINITY };
    }
    if exact.abs() > f64::from(f32::MAX) * (1.0 + 0.5f64.powi(24)) {
        let same = y.is_infinite() && (y > 0.0) == (exact > 0.0);
        return if same { 0.0 } else { f64::INFINITY };
    }
    if !y.is_finite() {
        return f64::INFINITY;
    }
    let e = if exact == 0.0 { -126 } else { (exact.abs().log2().floor() as i32).max(-126) };
    (f64::from(y) - exact).abs() / 2f64.powi(e - 23)
}

fn logistic(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn main() {
    for name in std::env::args().skip(1) {
        let (f, exact): (fn(f32) -> f32, fn(f64) -> f64) = match name.as_str() {
            "exp" => (exp_f32, f64::exp),
            "tanh" => (tanh_f32, f64::tanh),
            "logistic" => (logistic_f32, logistic),
            other => panic!("unknown function {other}, expected exp, tanh or logistic"),
        };
        let mut worst = (0.0f64, 0.0f32);
        for bits in 0..=u32::MAX {
            let x = f32::from_bits(bits);
            let err = ulp_err(f(x), exact(f64::from(x)));
            if err > worst.0 || err.is_nan() {
                worst = (err, x);
            }
        }
        println!("{name}_f32: worst {:.3} ulp at {:e}, over all 2^32 inputs", worst.0, worst.1);
    }
}
RS
if [ $# -eq 0 ]; then set -- exp tanh logistic; fi
cd "$work" && CARGO_TARGET_DIR="$work/target" cargo run --release --quiet -- "$@"
