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
        "unknown key `x`, expected one of: scalar, input, layers, bias, crate",
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
    let out = super::mlp(quote!(pub struct Broken { input: 0, layers: [1 identity] })).to_string();
    assert!(out.contains("compile_error"), "{out}");
    assert!(out.contains("pub struct Broken ;"), "{out}");
    assert!(out.contains("pub struct BrokenCache ;"), "{out}");
}

mod never_panics;

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
