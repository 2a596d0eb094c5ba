//! `forward` and `forward_cached`: one kernel call per layer, no loop over layers, compiled
//! for the widest vectors the CPU has (`wide`: AVX-512 where it is detected at run time).

use super::{docs, field, Ctx};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

/// `fn forward(&self, x) -> y`: `h_l = σ_l(W_l h_{l−1} + b_l)`, keeping nothing.
pub fn forward(cx: &Ctx) -> TokenStream {
    let p = cx.private();
    let steps = (1..=cx.layers()).map(|l| {
        let span = cx.span(l);
        let h = field("__h", l, span);
        let prev = cx.layer_input(l, quote!(x), "__h");
        let w = field("w", l, span);
        let act = cx.activation(l);
        if cx.net.bias {
            let b = field("b", l, span);
            quote_spanned!(span=> let #h = #p::dense(&self.#w, &self.#b, #prev, &#act);)
        } else {
            quote_spanned!(span=> let #h = #p::dense_unbiased(&self.#w, #prev, &#act);)
        }
    });
    let last = field("__h", cx.layers(), cx.span(cx.layers()));
    let (input, output) = (cx.vector(0), cx.vector(cx.layers()));
    let doc = docs::forward(cx);
    quote! {
        #[doc = #doc]
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

/// `fn forward_cached(&self, x, cache) -> y`: as `forward`, keeping `z_l` and `h_l`.
pub fn forward_cached(cx: &Ctx) -> TokenStream {
    let p = cx.private();
    let cache_ty = &cx.cache;
    // Each layer reads the previous one's output from the local the kernel returns, not back
    // from the cache it was just stored to.
    let steps = (1..=cx.layers()).map(|l| {
        let span = cx.span(l);
        let (z, h) = (field("z", l, span), field("h", l, span));
        let local = field("__h", l, span);
        let prev = cx.layer_input(l, quote!(x), "__h");
        let w = field("w", l, span);
        let act = cx.activation(l);
        if cx.net.bias {
            let b = field("b", l, span);
            quote_spanned! {span=>
                let #local = #p::dense_cached(&self.#w, &self.#b, #prev, &#act, &mut cache.#z, &mut cache.#h);
            }
        } else {
            quote_spanned! {span=>
                let #local = #p::dense_cached_unbiased(&self.#w, #prev, &#act, &mut cache.#z, &mut cache.#h);
            }
        }
    });
    let h0 = field("h", 0, cx.span(0));
    let last = field("__h", cx.layers(), cx.span(cx.layers()));
    let (input, output) = (cx.vector(0), cx.vector(cx.layers()));
    let doc = docs::forward_cached(cx);
    quote! {
        #[doc = #doc]
        #[inline]
        pub fn forward_cached(&self, x: &#input, cache: &mut #cache_ty) -> #output {
            #p::wide(|| {
                cache.#h0 = *x;
                #(#steps)*
                #last
            })
        }
    }
}
