//! The macro never panics, whatever tokens it is given: random token soups, well-formed
//! frames with random values, and hostile but plausible invocations (raw identifiers, huge
//! and tiny floats, extreme exponents, deep nesting, long sums and products, colliding
//! names, attributes in every position). Each case calls the macro in-process, so thousands
//! of cases take a few seconds; `PROPTEST_CASES` sets the count (CI: 8192).

use proptest::prelude::*;

/// Tokens the grammar uses, plus some it does not.
const PIECES: &[&str] = &[
    "pub",
    "struct",
    "Net",
    "input",
    "layers",
    "scalar",
    "bias",
    "crate",
    ":",
    ",",
    "-",
    "0",
    "2",
    "8",
    "2.5",
    "1e3",
    "99999999999999999999999",
    "\"s\"",
    "'c'",
    "true",
    "false",
    "f32",
    "f64",
    "f16",
    "tanh",
    "tahn",
    "relu",
    "leaky_relu",
    "gelu",
    "identity",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "::",
    "#",
    "!",
    "=",
    ";",
    "/// doc",
    "<",
    ">",
    "&",
    "_",
    "pub(crate)",
    "self",
    "activation",
    "z",
    "1usize",
    "0.0",
];

/// A sequence of pieces, possibly unbalanced (then it fails to lex, which is skipped).
fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|p| p.join(" "))
}

/// A well-formed frame with random keys and values, to reach deep into validation.
fn framed() -> impl Strategy<Value = String> {
    let value = prop::collection::vec(prop::sample::select(PIECES), 0..6).prop_map(|p| p.join(" "));
    let field = (
        prop::sample::select(&["input", "layers", "scalar", "bias", "crate", "hidden"][..]),
        value,
    )
        .prop_map(|(k, v)| format!("{k}: {v}"));
    let layer = (
        prop::sample::select(&["0", "1", "-3", "8", "2.5", "70000"][..]),
        prop::sample::select(PIECES),
    )
        .prop_map(|(w, a)| format!("{w} {a}"));
    let layers =
        prop::collection::vec(layer, 0..5).prop_map(|l| format!("layers: [{}]", l.join(", ")));
    (prop::collection::vec(field, 0..4), layers, any::<bool>()).prop_map(
        |(fields, layers, first)| {
            let mut all = fields;
            all.insert(if first { 0 } else { all.len() }, layers);
            format!("pub struct Net {{ {} }}", all.join(", "))
        },
    )
}

/// Names for activations and networks: raw identifiers, keywords, underscores, and names
/// whose generated types collide (`cache` → `NetCache`, `a_b` and `aB` → `NetAB`).
const NAMES: &[&str] = &[
    "swish",
    "r#fn",
    "r#match",
    "r#type",
    "r#loop",
    "_",
    "__",
    "cache",
    "grads",
    "frozen",
    "batch_cache",
    "a_b",
    "aB",
    "AB",
    "tanh",
    "relu",
    "Self",
    "self",
    "Net",
    "NetCache",
    "XorCache",
    "z",
    "a",
    "r#z",
    "é",
    "ß",
];

/// Attributes for every position: before an activation, the struct, a key.
const ATTRS: &[&str] = &[
    "/// doc",
    "#[doc = \"x\"]",
    "#[allow(dead_code)]",
    "#[allow(non_camel_case_types)]",
    "#[expect(unused)]",
    "#[inline]",
    "#[cfg(test)]",
    "#[cfg(any())]",
    "#[deprecated]",
    "#[cfg_attr(test, allow(unused))]",
    "#[derive(Clone)]",
    "#[repr(C)]",
    "#![inner]",
    "#[]",
];

/// Constants at and past the ends of f32 and f64.
const CONSTANTS: &[&str] = &[
    "1.0",
    "0.0",
    "-0.0",
    "2.5",
    "1e38",
    "3.4028235e38",
    "3.4028236e38",
    "1e39",
    "1e-45",
    "1e-46",
    "1e-50",
    "1e308",
    "1.7976931348623157e308",
    "1e309",
    "1e-320",
    "1e-400",
    "1e400",
    "1",
    "99999999999999999999",
    "1f32",
    "1.0f64",
    "1.0e",
    "0x10",
    "1_000.0",
];

/// Exponents at and past the ends of `i32`.
const EXPONENTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "-2",
    "3",
    "2147483647",
    "-2147483647",
    "2147483648",
    "-2147483648",
    "1073741824",
    "-1073741824",
    "99999999999",
    "2u8",
    "1.5",
    "z",
];

/// Integral floats at and past the ends of `i32`, for `powf`.
const FLOAT_EXPONENTS: &[&str] = &[
    "2147483647.0",
    "-2147483647.0",
    "2147483648.0",
    "-2147483648.0",
    "4294967296.0",
    "1e10",
    "0.5",
    "-1.0",
    "0.0",
    "1e300",
];

fn pick(from: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(from).prop_map(str::to_owned)
}

fn attrs() -> impl Strategy<Value = String> {
    prop::collection::vec(pick(ATTRS), 0..3).prop_map(|a| a.join(" "))
}

/// A hostile activation expression.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => pick(&["z", "r#z", "a", "b", "x"]),
        3 => pick(CONSTANTS),
    ];
    let tree = leaf.prop_recursive(4, 32, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                pick(&["+", "-", "*", "/", "%"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (
                pick(&[
                    "exp", "ln", "sqrt", "tanh", "sigmoid", "sin", "abs", "erf", "swish", "a_b",
                    "r#fn", "relu"
                ]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            (inner.clone(), pick(EXPONENTS)).prop_map(|(a, n)| format!("powi({a}, {n})")),
            (inner.clone(), pick(EXPONENTS), pick(EXPONENTS))
                .prop_map(|(a, m, n)| format!("{a}.powi({m}) * {a}.powi({n})")),
            (inner.clone(), pick(FLOAT_EXPONENTS)).prop_map(|(a, y)| format!("{a}.powf({y})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("max({a}, {b})")),
        ]
    });
    prop_oneof![
        6 => tree,
        // Deep nesting, below and far past the limit.
        1 => (0usize..120, pick(&["(", "sin(", "-(", "[", "{"]))
            .prop_map(|(n, open)| {
                let close = match open.chars().last() {
                    Some('[') => "]",
                    Some('{') => "}",
                    _ => ")",
                };
                format!("{}z{}", open.repeat(n), close.repeat(n))
            }),
        1 => (0usize..60).prop_map(|n| format!("{}z", "- ".repeat(n))),
        // Long sums and products, of one term or of distinct ones.
        1 => (1usize..1200, pick(&[" + ", " * ", " - ", " / "]))
            .prop_map(|(n, op)| vec!["z"; n].join(&op)),
        1 => (1usize..400, pick(&[" + ", " * "])).prop_map(|(n, op)| {
            (0..n).map(|k| format!("sin(z + {k}.0)")).collect::<Vec<_>>().join(&op)
        }),
    ]
}

/// `activation name(var; params) = expression;` with attributes before it.
fn definition() -> impl Strategy<Value = String> {
    let params = prop::collection::vec((pick(NAMES), prop::option::of(pick(CONSTANTS))), 0..3)
        .prop_map(|ps| {
            ps.iter()
                .map(|(p, d)| d.as_ref().map_or(p.clone(), |d| format!("{p} = {d}")))
                .collect::<Vec<_>>()
                .join(", ")
        });
    (
        attrs(),
        pick(NAMES),
        pick(&["z", "r#z", "x"]),
        params,
        expression(),
    )
        .prop_map(|(attrs, name, var, params, expr)| {
            let params = if params.is_empty() {
                String::new()
            } else {
                format!("; {params}")
            };
            format!("{attrs} activation {name}({var}{params}) = {expr};")
        })
}

/// A layer: a width, an activation name (defined, built in or colliding), parameters.
fn layer() -> impl Strategy<Value = String> {
    (
        pick(&["1", "2", "8", "0", "2 + 2", "65536", "r#8"]),
        pick(NAMES),
        prop::option::of(prop::collection::vec(pick(CONSTANTS), 0..3)),
    )
        .prop_map(|(w, a, p)| match p {
            Some(p) => format!("{w} {a}({})", p.join(", ")),
            None => format!("{w} {a}"),
        })
}

/// A whole invocation: definitions, then a network with attributes on it and its keys.
fn hostile() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        pick(&[
            "input: 2",
            "r#input: 3",
            "scalar: f32",
            "scalar: r#f64",
            "scalar: \"f32\"",
            "bias: false",
            "crate: ::mlp",
            "r#crate: x",
            "input: 2,",
            "r#layers: [1 identity]"
        ]),
        prop::collection::vec(layer(), 0..4).prop_map(|l| format!("layers: [{}]", l.join(", "))),
    ];
    let keys = prop::collection::vec((attrs(), key), 1..5).prop_map(|ks| {
        ks.iter()
            .map(|(a, k)| format!("{a} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    (
        prop::collection::vec(definition(), 0..4),
        attrs(),
        pick(&["pub", "", "pub(crate)", "pub(super)", "pub(in crate::x)"]),
        pick(NAMES),
        keys,
    )
        .prop_map(|(defs, attrs, vis, name, keys)| {
            format!(
                "{} {attrs} {vis} struct {name} {{ {keys} }}",
                defs.join(" ")
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn on_hostile_invocations(src in hostile()) {
        if let Ok(tokens) = src.parse::<proc_macro2::TokenStream>() {
            let out = super::super::mlp(tokens).to_string();
            prop_assert!(!out.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn on_any_token_soup(src in soup()) {
        if let Ok(tokens) = src.parse::<proc_macro2::TokenStream>() {
            let _ = super::super::mlp(tokens);
        }
    }

    #[test]
    fn on_any_field_values(src in framed()) {
        if let Ok(tokens) = src.parse::<proc_macro2::TokenStream>() {
            let out = super::super::mlp(tokens).to_string();
            prop_assert!(!out.is_empty());
        }
    }
}
