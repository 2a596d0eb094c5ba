//! The operators' expansion: a snapshot, its size against widths and layers, and the docs
//! with the derived `σ''` and `σ'''`.

use super::expansion;
use proc_macro2::TokenStream;
use quote::quote;

#[test]
fn poisson_network() {
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("operators", expansion(quote! {
            /// A PINN for `−Δu = f` in two dimensions.
            pub struct Pinn {
                scalar: f64,
                input: 2,
                layers: [16 tanh, 16 softplus, 1 identity],
                operators: [gradient, laplacian, operator],
            }
        }));
    });
}

/// The operators add a fixed amount of code per layer, whatever the widths and the input
/// dimension (beyond the digits of the numbers).
#[test]
fn operator_code_grows_with_layers_not_widths() {
    let size = |tokens: TokenStream| expansion(tokens).len();
    let ops = |input: usize, width: usize, layers: usize| {
        let hidden = (0..layers).map(|_| quote!(#width tanh));
        let with = size(
            quote!(struct N { input: #input, layers: [#(#hidden,)* 1 identity], operators: [laplacian, hessian_diagonal] }),
        );
        let hidden = (0..layers).map(|_| quote!(#width tanh));
        let without = size(quote!(struct N { input: #input, layers: [#(#hidden,)* 1 identity] }));
        with - without
    };
    let small = ops(2, 4, 2);
    let wide = ops(2, 512, 2);
    let high = ops(9, 4, 2);
    let deep = ops(2, 4, 3);
    assert!(
        wide.abs_diff(small) * 20 < small,
        "4 wide {small} bytes, 512 wide {wide} bytes"
    );
    assert!(
        high.abs_diff(small) * 20 < small,
        "2 inputs {small} bytes, 9 inputs {high} bytes"
    );
    assert!(
        deep > small + small / 8,
        "2 layers {small} bytes, 3 layers {deep} bytes"
    );
}

/// `σ''` and `σ'''` are derived symbolically, in `h` where `σ(z)` itself appears, and shown in
/// the docs of `jet` with the real dimensions.
#[test]
fn docs_show_the_derived_curvature() {
    let code = expansion(quote! {
        struct N { input: 3, layers: [5 tanh, 1 identity], operators: [laplacian] }
    });
    assert!(code.contains("layer 1, 5×3, `tanh`"), "{code}");
    assert!(code.contains("∂z_1 = W_1 ∂h_0 (5×3)"), "{code}");
    assert!(code.contains("σ''(z) = -2 · (h · (1 − h²))"), "{code}");
}
