//! Snapshots of the expansion (pretty-printed) and of the checked model, and a property test
//! that the macro never panics, whatever tokens it is given.

use crate::model::Net;
use crate::{parse, valid};
use proc_macro2::TokenStream;
use quote::quote;

/// Pretty-prints generated code, falling back to the raw tokens if they do not parse. The
/// items inside the runtime's `if_batch!` gate are printed as items, in its place.
fn pretty(tokens: TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(mut file) => {
            file.items = file.items.into_iter().flat_map(ungate).collect();
            prettyplease::unparse(&file)
        }
        Err(_) => tokens.to_string(),
    }
}

/// The items of an `if_batch! { ... }` invocation, or the item itself.
fn ungate(item: syn::Item) -> Vec<syn::Item> {
    if let syn::Item::Macro(m) = &item {
        if m.mac
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "if_batch")
        {
            if let Ok(inner) = syn::parse2::<syn::File>(m.mac.tokens.clone()) {
                return inner.items;
            }
        }
    }
    vec![item]
}

/// Parses and validates an invocation's tokens.
fn model(tokens: TokenStream) -> syn::Result<Net> {
    valid::validate(syn::parse2::<parse::Input>(tokens)?).map_err(|invalid| invalid.error)
}

/// The expansion of a valid invocation, with the runtime at `::mlp`.
fn expansion(tokens: TokenStream) -> String {
    let net = model(tokens).expect("the snapshot inputs are valid");
    pretty(super::expand(&net, &quote!(::mlp)))
}

/// A compact view of the checked model: what the grammar means, apart from codegen.
fn summary(net: &Net) -> String {
    let layers: Vec<String> = net
        .layers
        .iter()
        .map(|l| format!("{} {}", l.width.value, l.activation.display()))
        .collect();
    format!(
        "{} {}: {} -> [{}], bias {}, {} params",
        net.ident,
        net.scalar.name(),
        net.input.value,
        layers.join(", "),
        net.bias,
        net.params()
    )
}

macro_rules! snapshot {
    ($name:literal, $tokens:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, expansion($tokens));
        });
    };
}

#[test]
fn one_linear_layer() {
    snapshot!(
        "one_linear_layer",
        quote! {
            /// `y = W x + b`.
            pub struct Linear { scalar: f64, input: 3, layers: [2 identity] }
        }
    );
}

#[test]
fn xor() {
    snapshot!(
        "xor",
        quote! {
            /// Learns XOR.
            pub struct Xor {
                scalar: f32,
                input: 2,
                layers: [8 tanh, 8 tanh, 1 identity],
                bias: true,
            }
        }
    );
}

#[test]
fn six_mixed_layers() {
    snapshot!(
        "six_mixed_layers",
        quote! {
            pub(crate) struct Mixed {
                scalar: f64,
                input: 4,
                layers: [16 tanh, 16 sigmoid, 12 relu, 12 leaky_relu(0.2), 8 softplus, 3 gelu],
            }
        }
    );
}

#[test]
fn no_bias() {
    snapshot!(
        "no_bias",
        quote! {
            struct Pure { input: 3, layers: [4 tanh, 1 sigmoid], bias: false }
        }
    );
}

#[test]
fn custom_activations() {
    snapshot!(
        "custom_activations",
        quote! {
            activation softsign(z) = z / (1.0 + z.abs());
            activation swish(z) = z * sigmoid(z);
            activation leaky(z; a = 0.1) = max(z, a * z);
            /// Activations derived by the macro.
            pub struct Net { input: 4, layers: [16 swish, 16 softsign, 8 leaky(0.2), 1 identity] }
        }
    );
}

#[test]
fn models() {
    let show = |tokens| summary(&model(tokens).unwrap());
    insta::assert_snapshot!(
        show(quote!(pub struct Xor { input: 2, layers: [8 tanh, 8 tanh, 1 identity] })),
        @"Xor f32: 2 -> [8 tanh, 8 tanh, 1 identity], bias true, 105 params"
    );
    insta::assert_snapshot!(
        show(quote!(struct N { layers: [3 leaky_relu, 2 leaky_relu(0.25)], bias: false, scalar: f64, input: 1usize, })),
        @"N f64: 1 -> [3 leaky_relu(0.01), 2 leaky_relu(0.25)], bias false, 9 params"
    );
    insta::assert_snapshot!(
        show(quote!(struct Wide { input: 784, layers: [512 relu, 512 relu, 10 identity], crate: ::my::mlp })),
        @"Wide f32: 784 -> [512 relu, 512 relu, 10 identity], bias true, 669706 params"
    );
    insta::assert_snapshot!(
        show(quote!(pub struct Arrow = 3 -> 5 tanh -> 4 leaky_relu(0.2) -> 1 identity;)),
        @"Arrow f32: 3 -> [5 tanh, 4 leaky_relu(0.2), 1 identity], bias true, 49 params"
    );
}

#[test]
fn errors_are_combined() {
    let err = model(
        quote!(struct N { input: 0, layers: [8 tahn, -1 relu], bias: true, bias: false, x: 1 }),
    )
    .expect_err("invalid");
    let messages: Vec<String> = err.into_iter().map(|e| e.to_string()).collect();
    insta::assert_debug_snapshot!(messages, @r#"
    [
        "expected an input width between 1 and 65536, found 0",
        "unknown activation `tahn`, did you mean `tanh`?",
        "expected a width between 1 and 65536 for layer 2, found -1",
        "duplicate key `bias`",
        "unknown key `x`, expected one of: scalar, input, layers, bias, crate, operators",
    ]
    "#);
}

#[test]
fn oversized_networks_are_rejected() {
    let err =
        model(quote!(struct Huge { input: 65536, layers: [65536 tanh, 65536 tanh] })).unwrap_err();
    assert_eq!(
        err.to_string(),
        "network `Huge` has more than 1073741824 parameters; reduce the widths"
    );
}

#[test]
fn errors_still_declare_the_struct() {
    let out = super::mlp(quote!(pub struct Broken { input: 2 })).to_string();
    assert!(out.contains("compile_error"), "{out}");
    assert!(out.contains("pub struct Broken ;"), "{out}");
    assert!(out.contains("pub struct BrokenCache ;"), "{out}");
}

mod never_panics;
mod operators;

#[test]
fn expansion_grows_with_layers_not_parameters() {
    let size = |tokens: TokenStream| expansion(tokens).len();
    let small = size(quote!(struct N { input: 4, layers: [4 tanh, 4 tanh, 4 identity] }));
    let large = size(quote!(struct N { input: 784, layers: [512 tanh, 512 tanh, 10 identity] }));
    let deeper = size(quote!(struct N { input: 4, layers: [4 tanh, 4 tanh, 4 tanh, 4 identity] }));
    // 669,706 parameters instead of 60 change only the digits of the numbers in the code.
    assert!(
        large.abs_diff(small) * 20 < small,
        "small {small} bytes, large {large} bytes"
    );
    // One more layer adds a fixed amount: the fields, docs and kernel calls of a layer.
    assert!(
        deeper > small + small / 8,
        "3 layers {small} bytes, 4 layers {deeper} bytes"
    );
}

/// The deep and huge expressions of the issue that once overflowed rustc's stack, the
/// macro's recursion, or took 35 s: each is exactly one error, at a token of the expression.
#[test]
fn deep_or_huge_expressions_are_one_error() {
    let deep_parens = format!("{}z{}", "(".repeat(1000), ")".repeat(1000));
    let deep_calls = format!("{}z{}", "sin(".repeat(1000), ")".repeat(1000));
    let negations = format!("{}z", "-".repeat(1000));
    let long_sum = vec!["z"; 10_000].join(" + ");
    let distinct = (0..10_000)
        .map(|k| format!("z * {k}.0"))
        .collect::<Vec<_>>()
        .join(" + ");
    let product = (0..1000)
        .map(|k| format!("sin(z + {k}.0)"))
        .collect::<Vec<_>>()
        .join(" * ");
    for (what, expr) in [
        ("nested parentheses", deep_parens),
        ("nested calls", deep_calls),
        ("negations", negations),
        ("a 10,000-term sum", long_sum),
        ("10,000 distinct terms", distinct),
        ("a 1,000-factor product", product),
    ] {
        let src = format!("activation f(z) = {expr}; struct N {{ input: 1, layers: [1 f] }}");
        let tokens: TokenStream = src.parse().expect("lexes");
        let err = match syn::parse2::<parse::Input>(tokens) {
            Ok(_) => panic!("{what}: accepted"),
            Err(err) => err,
        };
        let messages: Vec<String> = err.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(messages.len(), 1, "{what}: {messages:?}");
        assert!(
            messages[0].contains("limited to"),
            "{what}: {}",
            messages[0]
        );
    }
}

/// Names the macro would once have panicked on (`NetR#fn`), or that collide, are errors;
/// raw identifiers are read without their `r#`.
#[test]
fn raw_and_colliding_names() {
    let model = model(quote! {
        activation r#fn(r#z; r#type = 0.5) = r#type * z;
        struct r#match { r#input: 2, layers: [3 r#fn(0.25), 1 r#tanh], r#scalar: r#f64 }
    })
    .unwrap();
    assert_eq!(
        summary(&model),
        "r#match f64: 2 -> [3 fn(0.25), 1 tanh], bias true, 13 params"
    );
    assert_eq!(model.customs[0].type_name.to_string(), "matchFn");
    let err = model_err(quote! {
        activation a_b(z) = z;
        activation aB(z) = z;
        activation cache(z) = z;
        activation _(z) = z;
        struct Net { input: 2, layers: [1 a_b] }
    });
    insta::assert_debug_snapshot!(err, @r#"
    [
        "activation `aB` would generate the type `NetAB`, which is already the type of activation `a_b`; rename the activation",
        "activation `cache` would generate the type `NetCache`, which is already the cache of `Net`; rename the activation",
        "activation `_` has no letters or digits to name its type (`Net` is the network); choose a name such as `my_activation`",
    ]
    "#);
}

/// The messages of an invalid invocation.
fn model_err(tokens: TokenStream) -> Vec<String> {
    match model(tokens) {
        Ok(_) => panic!("accepted"),
        Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
    }
}

/// With `input` and `layers` given, an invalid invocation still expands completely (the
/// mistaken activation as the identity, a mistaken width as 1), so that nothing else in the
/// crate fails; with a key missing, the stubs keep the visibility and declare every companion
/// type.
#[test]
fn the_fallback_declares_every_item_with_its_visibility() {
    let contains_all = |out: &str, items: &[&str]| {
        for item in items {
            assert!(out.contains(item), "{item} missing from {out}");
        }
    };
    let partial = super::mlp(quote! {
        activation soft(z) = z / (1.0 + z.abz());
        pub(crate) struct Typo { input: 2, layers: [4 soft, 1 tahn] }
    })
    .to_string();
    contains_all(
        &partial,
        &[
            "compile_error",
            "pub (crate) struct Typo {",
            "pub (crate) struct TypoCache",
            "pub (crate) struct TypoGrads",
            "pub (crate) struct TypoFrozen",
            "pub (crate) struct TypoBatchCache",
            "pub (crate) struct TypoSoft",
            "pub fn forward",
        ],
    );
    let bad_width = super::mlp(quote! {
        pub(crate) struct Wide { input: 0, layers: [4 tanh, 2.5 identity] }
    })
    .to_string();
    contains_all(
        &bad_width,
        &[
            "expected an input width between 1 and 65536, found 0",
            "expected an integer width for layer 2, found `2.5`",
            "pub (crate) struct Wide {",
            "pub fn forward",
            "pub fn backward",
        ],
    );
    let stubs = super::mlp(quote! {
        activation swish(z) = z * sigmoid(z);
        #[cfg(test)]
        pub(super) struct Broken { input: 2 }
    })
    .to_string();
    contains_all(
        &stubs,
        &[
            "pub (super) struct Broken ;",
            "pub (super) struct BrokenCache ;",
            "pub (super) struct BrokenGrads ;",
            "pub (super) struct BrokenBatchCache ;",
            "pub (super) struct BrokenFrozen ;",
            "pub (super) struct BrokenSwish ;",
            "pub const INPUT",
            "pub fn zeros",
        ],
    );
    assert_eq!(stubs.matches("# [cfg (test)]").count(), 7, "{stubs}");
    // A keyword is no name: the error, and no stub to report it twice.
    let keyword = super::mlp(quote!(pub struct Self { input: 2, layers: [1 identity] }));
    assert!(!keyword.to_string().contains("struct Self"), "{keyword}");
}

/// Doc comments and lint levels on an activation go to its generated type, the docs before
/// the derivation, the lints on the type and its impl.
#[test]
fn activation_docs_and_lints_reach_the_type() {
    let out = expansion(quote! {
        /// Smooth and odd.
        #[allow(clippy::suboptimal_flops)]
        activation soft(z) = z / (1.0 + z.abs());
        pub struct Net { input: 2, layers: [1 soft] }
    });
    let docs = out.find("/// Smooth and odd.").expect("the user's doc");
    let derivation = out
        .find("differentiated by `mlp!`")
        .expect("the derivation");
    let item = out.find("pub struct NetSoft;").expect("the type");
    assert!(docs < derivation && derivation < item, "{out}");
    assert_eq!(
        out.matches("#[allow(clippy::suboptimal_flops)]").count(),
        2,
        "{out}"
    );
}
