//! `{Name}Frozen` and `freeze()`: a copy of the network for one-sample inference, with every
//! weight matrix stored input-major, so that each layer is one broadcast multiply-add of a
//! contiguous row per input (the output-major layout needs a dot product per output).

use super::{field, Ctx};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

/// The frozen struct, `freeze()` and its `forward`.
pub fn frozen(cx: &Ctx) -> TokenStream {
    let p = cx.private();
    let t = &cx.t;
    let ident = &cx.net.ident;
    let vis = &cx.net.vis;
    let name = format_ident!("{}Frozen", ident);
    let layers = cx.layers();
    let mut fields = Vec::new();
    let mut copies = Vec::new();
    let mut steps = Vec::new();
    for l in 1..=layers {
        let s = cx.span(l);
        let (n_in, n_out) = (cx.widths[l - 1], cx.widths[l]);
        let w = field("w", l, s);
        let doc = format!("`W_{l}ᵀ` ({n_in}×{n_out}): `w{l}[j][i] = W_{l}[i, j]`.");
        fields.push(quote!(#[doc = #doc] #w: #p::Boxed<[[#t; #n_out]; #n_in]>,));
        copies.push(quote!(#w: #p::transpose(&self.#w),));
        let b = if cx.net.bias {
            let b = field("b", l, s);
            let doc = format!("`b_{l}` ({n_out}).");
            fields.push(quote!(#[doc = #doc] #b: #p::Boxed<[#t; #n_out]>,));
            copies.push(quote!(#b: #p::Clone::clone(&self.#b),));
            // `Borrow`, not `&*`: without `alloc` the bias is an array, not a `Box`.
            quote!(::core::option::Option::Some(::core::borrow::Borrow::<[#t; #n_out]>::borrow(&self.#b)))
        } else {
            quote!(::core::option::Option::None)
        };
        let h = field("__h", l, s);
        let prev = cx.layer_input(l, quote!(x), "__h");
        let act = cx.activation(l);
        steps.push(quote_spanned!(s=> let #h = #p::dense_input_major(&self.#w, #b, #prev, &#act);));
    }
    let last = field("__h", layers, cx.span(layers));
    let (input, output) = (cx.vector(0), cx.vector(layers));
    let doc = format!(
        "[`{ident}`] frozen for one-sample inference: the same weights, each matrix stored \
         input-major so that a layer is one broadcast multiply-add of a contiguous row per \
         input. Made by [`{ident}::freeze`]; its `forward` agrees with [`{ident}::forward`] to \
         rounding."
    );
    let freeze_doc = format!(
        "Copies the network into a [`{name}`], whose `forward` is the fastest one-sample \
         inference (the weights stored input-major). Training goes on with `self`."
    );
    let fwd_doc = format!(
        "Computes `y = h_{layers}` for one sample, as [`{ident}::forward`] does, without \
         allocating."
    );
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq)]
        #vis struct #name {
            #(#fields)*
        }

        impl #ident {
            #[doc = #freeze_doc]
            #[must_use]
            pub fn freeze(&self) -> #name {
                #name { #(#copies)* }
            }
        }

        impl #name {
            #[doc = #fwd_doc]
            #[inline]
            #[must_use]
            pub fn forward(&self, x: &#input) -> #output {
                #p::wide(|| {
                    #(#steps)*
                    #last
                })
            }
        }
    }
}
