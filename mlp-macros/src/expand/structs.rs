//! The network struct, its cache and its gradients, with `Default` for the latter two.

use super::{allowed_lints, docs, field, Ctx};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

/// The network, cache and gradient structs, with `Default` for the latter two.
pub(super) fn structs(cx: &Ctx) -> TokenStream {
    let Ctx {
        net, cache, grads, ..
    } = cx;
    let p = cx.private();
    let (ident, vis, attrs) = (&net.ident, &net.vis, &net.attrs);
    let mut params = Vec::new();
    let mut grad_fields = Vec::new();
    for l in 1..=cx.layers() {
        let span = cx.span(l);
        let (w, m) = (field("w", l, span), cx.matrix(l));
        let (w_doc, dw_doc) = docs::weight_field(cx, l);
        params.push(quote!(#[doc = #w_doc] pub #w: #p::Boxed<#m>,));
        grad_fields.push(quote!(#[doc = #dw_doc] pub #w: #p::Boxed<#m>,));
        if net.bias {
            let (b, v) = (field("b", l, span), cx.vector(l));
            let (b_doc, db_doc) = docs::bias_field(cx, l);
            params.push(quote!(#[doc = #b_doc] pub #b: #p::Boxed<#v>,));
            grad_fields.push(quote!(#[doc = #db_doc] pub #b: #p::Boxed<#v>,));
        }
    }
    let mut cache_fields = Vec::new();
    for l in 0..=cx.layers() {
        let span = cx.span(l);
        let v = cx.vector(l);
        if l > 0 {
            let z = field("z", l, span);
            let doc = docs::cache_z(cx, l);
            cache_fields.push(quote!(#[doc = #doc] pub #z: #v,));
        }
        let h = field("h", l, span);
        let doc = docs::cache_h(cx, l);
        cache_fields.push(quote!(#[doc = #doc] pub #h: #v,));
    }
    let cache_zeros = (0..=cx.layers()).flat_map(|l| {
        let span = cx.span(l);
        let n = Literal::usize_unsuffixed(cx.widths[l]);
        let h = field("h", l, span);
        let z = (l > 0).then(|| {
            let z = field("z", l, span);
            quote!(#z: [0.0; #n],)
        });
        [z.unwrap_or_default(), quote!(#h: [0.0; #n],)]
    });
    let zeros = zero_fields(cx);
    let struct_doc = docs::net_struct(cx);
    let cache_doc = docs::cache_struct(cx);
    let layer_values = layer_values(cx);
    let grads_doc = docs::grads_struct(cx);
    let derive =
        quote!(#[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq)]);
    let allowed = allowed_lints();
    quote! {
        #(#attrs)*
        #[doc = #struct_doc]
        #derive
        #vis struct #ident {
            #(#params)*
        }

        #[doc = #cache_doc]
        #derive
        #vis struct #cache {
            #(#cache_fields)*
        }

        #[doc = #grads_doc]
        #derive
        #vis struct #grads {
            #(#grad_fields)*
        }

        #allowed
        #[automatically_derived]
        impl ::core::default::Default for #cache {
            fn default() -> Self {
                Self { #(#cache_zeros)* }
            }
        }

        #[automatically_derived]
        impl ::core::default::Default for #grads {
            fn default() -> Self {
                Self { #zeros }
            }
        }

        #layer_values
    }
}

/// `LayerValues` for the cache: `z(l)` and `h(l)` by layer index, for generic code.
fn layer_values(cx: &Ctx) -> TokenStream {
    let Ctx { t, cache, .. } = cx;
    let p = cx.private();
    let arm = |prefix: &str, l: usize| {
        let span = cx.span(l);
        let f = field(prefix, l, span);
        quote!(#l => ::core::option::Option::Some(&self.#f),)
    };
    let zs = (1..=cx.layers()).map(|l| arm("z", l));
    let hs = (0..=cx.layers()).map(|l| arm("h", l));
    quote! {
        #[automatically_derived]
        impl #p::LayerValues for #cache {
            type Scalar = #t;
            fn z(&self, l: ::core::primitive::usize) -> ::core::option::Option<&[#t]> {
                match l {
                    #(#zs)*
                    _ => ::core::option::Option::None,
                }
            }
            fn h(&self, l: ::core::primitive::usize) -> ::core::option::Option<&[#t]> {
                match l {
                    #(#hs)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    }
}

/// `w1: zeros_matrix(), b1: zeros_vector(), ...`: the fields of a zero network or gradient.
pub(super) fn zero_fields(cx: &Ctx) -> TokenStream {
    let p = cx.private();
    (1..=cx.layers())
        .flat_map(|l| {
            let w = field("w", l, cx.span(l));
            let b = cx.net.bias.then(|| {
                let b = field("b", l, cx.span(l));
                quote!(#b: #p::zeros_vector(),)
            });
            [quote!(#w: #p::zeros_matrix(),), b.unwrap_or_default()]
        })
        .collect()
}
