//! The exporter's pieces: literals that round-trip, wrapping, paths, activations, errors.

use super::{is_path, literal, tensor, to_source, ExportError, SourceOptions, LINE};
use crate::{LayerSpec, Network, ParamInfo, ParamKind, Parameters};
use proptest::prelude::*;

proptest! {
    #[test]
    fn f32_literals_round_trip(bits in any::<u32>()) {
        let x = f32::from_bits(bits);
        prop_assume!(x.is_finite());
        let parsed: f32 = literal(x).parse().unwrap();
        prop_assert_eq!(parsed.to_bits(), bits, "{}", literal(x));
    }

    #[test]
    fn f64_literals_round_trip(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        prop_assume!(x.is_finite());
        let parsed: f64 = literal(x).parse().unwrap();
        prop_assert_eq!(parsed.to_bits(), bits, "{}", literal(x));
    }
}

#[test]
fn edge_values_round_trip_and_are_float_literals() {
    let f32s = [
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        f32::from_bits(1),
        -f32::from_bits(0x007f_ffff),
        f32::MAX,
        f32::MIN,
        f32::EPSILON,
        1.0,
        16_777_217.0,
        1e16,
    ];
    for x in f32s {
        let lit = literal(x);
        assert_eq!(lit.parse::<f32>().unwrap().to_bits(), x.to_bits(), "{lit}");
        assert!(lit.contains(['.', 'e']), "{lit} is not a float literal");
    }
    let f64s = [
        0.0,
        -0.0,
        f64::MIN_POSITIVE,
        f64::from_bits(1),
        f64::MAX,
        f64::MIN,
        0.1 + 0.2,
        1e300,
    ];
    for x in f64s {
        let lit = literal(x);
        assert_eq!(lit.parse::<f64>().unwrap().to_bits(), x.to_bits(), "{lit}");
        assert!(lit.contains(['.', 'e']), "{lit} is not a float literal");
    }
}

#[test]
fn runtime_paths() {
    for ok in [
        "mlp",
        "mlp_runtime",
        "::mlp",
        "my_crate::nn::mlp",
        "_private",
    ] {
        assert!(is_path(ok), "{ok}");
    }
    for bad in [
        "",
        "::",
        "mlp::",
        "1mlp",
        "ml p",
        "mlp;",
        "_",
        "crate::{mlp}",
    ] {
        assert!(!is_path(bad), "{bad}");
    }
}

/// The numbers in a piece of emitted source, in order.
fn numbers(source: &str) -> Vec<f64> {
    let body = &source[source.find('=').unwrap() + 1..];
    body.split(|c: char| c == ',' || c == '[' || c == ']' || c == ';' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect()
}

#[test]
fn long_rows_wrap_within_the_line_width_and_keep_every_value() {
    let values: Vec<f64> = (0..300).map(|k| -1.0 / f64::from(k + 3)).collect();
    for (kind, shape) in [
        (ParamKind::Weight, &[3, 100][..]),
        (ParamKind::Bias, &[300][..]),
        (ParamKind::Bias, &[3][..]),
    ] {
        let n = shape.iter().product();
        let source = tensor("w1", 1, kind, shape, &values[..n]);
        for line in source.lines() {
            assert!(
                line.chars().count() <= LINE,
                "{} columns: {line}",
                line.len()
            );
        }
        assert_eq!(numbers(&source), values[..n], "{source}");
    }
}

/// A one-layer network `N_0 = 2 → 1` whose activation is named `$name`: what `mlp!` would
/// report for an activation the exporter does not know.
macro_rules! one_layer {
    ($ty:ident, $t:ty, $name:literal) => {
        one_layer!($ty, $t, $name, &[], &[1, 2]);
    };
    ($ty:ident, $t:ty, $name:literal, $params:expr) => {
        one_layer!($ty, $t, $name, $params, &[1, 2]);
    };
    ($ty:ident, $t:ty, $name:literal, $params:expr, $shape:expr) => {
        #[derive(Clone, Debug, Default, PartialEq)]
        struct $ty {
            w1: [[$t; 2]; 1],
        }
        impl Parameters for $ty {
            type Scalar = $t;
            const PARAM_INFO: &'static [ParamInfo] = &[ParamInfo {
                name: "w1",
                layer: 1,
                kind: ParamKind::Weight,
                shape: $shape,
            }];
            fn visit(&self, mut f: impl FnMut(&ParamInfo, &[$t])) {
                f(&Self::PARAM_INFO[0], self.w1.as_flattened());
            }
            fn visit_mut(&mut self, mut f: impl FnMut(&ParamInfo, &mut [$t])) {
                f(&Self::PARAM_INFO[0], self.w1.as_flattened_mut());
            }
        }
        impl Network for $ty {
            type Input = [$t; 2];
            type Output = [$t; 1];
            type Cache = ();
            type Grads = $ty;
            const INPUT: usize = 2;
            const OUTPUT: usize = 1;
            const LAYERS: usize = 1;
            const LAYER_SPECS: &'static [LayerSpec] = &[LayerSpec {
                fan_in: 2,
                fan_out: 1,
                activation: crate::activation::ActivationSpec {
                    name: $name,
                    params: $params,
                },
                bias: false,
            }];
            fn zeros() -> Self {
                Self::default()
            }
            fn forward(&self, _: &[$t; 2]) -> [$t; 1] {
                [0.0]
            }
            fn forward_cached(&self, _: &[$t; 2], _: &mut ()) -> [$t; 1] {
                [0.0]
            }
            fn backward(&self, _: &(), _: &[$t; 1], _: &mut $ty) -> [$t; 2] {
                [0.0; 2]
            }
            fn visit_with_grads(&mut self, _: &$ty, _: impl FnMut(&ParamInfo, &mut [$t], &[$t])) {}
        }
    };
}

one_layer!(Swish, f64, "swish");
// A slope missing, and one that overflows f32.
one_layer!(BadSlope, f64, "leaky_relu");
one_layer!(HugeSlope, f32, "leaky_relu", &[1e300]);
one_layer!(Leaky32, f32, "leaky_relu", &[0.3]);
// Hand-written parameters whose weight claims a 1-D shape, or a shape of other size.
one_layer!(FlatWeight, f64, "tanh", &[], &[2]);
one_layer!(WrongSize, f64, "tanh", &[], &[2, 2]);
one_layer!(NoColumns, f64, "tanh", &[], &[1, 0]);

#[test]
fn a_hand_written_shape_that_does_not_fit_is_an_error() {
    let mut flat = FlatWeight::default();
    flat.w1[0][1] = f64::NAN;
    let err = to_source(&flat, &SourceOptions::new()).unwrap_err();
    assert!(
        matches!(&err, ExportError::Shape { name: "w1", shape, values: 2, .. } if shape == &[2]),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "tensor `w1` has shape [2] and 2 values, expected [rows, cols] with rows × cols values, cols > 0"
    );
    for err in [
        to_source(&WrongSize::default(), &SourceOptions::new()).unwrap_err(),
        to_source(&NoColumns::default(), &SourceOptions::new()).unwrap_err(),
    ] {
        assert!(matches!(err, ExportError::Shape { .. }), "{err:?}");
    }
}

#[test]
fn unknown_activations_are_errors_unless_mapped() {
    let err = to_source(&Swish::default(), &SourceOptions::new()).unwrap_err();
    assert!(
        matches!(&err, ExportError::UnknownActivation { layer: 1, name } if name == "swish"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "layer 1 has activation `swish`, which is not built in; \
         map it to a Rust expression with `SourceOptions::activation`"
    );
    let err = to_source(&BadSlope::default(), &SourceOptions::new()).unwrap_err();
    assert!(
        matches!(err, ExportError::UnknownActivation { .. }),
        "{err:?}"
    );
    let err = to_source(&HugeSlope::default(), &SourceOptions::new()).unwrap_err();
    assert!(
        matches!(&err, ExportError::UnknownActivation { name, .. } if name == "leaky_relu(1e300)"),
        "{err:?}"
    );

    let mapped = SourceOptions::new().activation("swish", "crate::Swish");
    let source = to_source(&Swish::default(), &mapped).unwrap();
    assert!(
        source.contains("mlp::kernels::dense_unbiased(&W1, x, &crate::Swish)"),
        "{source}"
    );
}

#[test]
fn a_leaky_slope_is_rounded_to_the_scalar_once() {
    let source = to_source(&Leaky32::default(), &SourceOptions::new()).unwrap();
    // 0.3 as f32 (0.300000011920928955078125) is written as its shortest literal.
    assert_eq!(literal(0.3f64 as f32), "0.3");
    assert!(
        source.contains("&mlp::activation::LeakyRelu(0.3f32)"),
        "{source}"
    );
}
