//! `backward` and the fused `sgd_step`: the chain rule as one straight line of kernel calls, from
//! layer L down to 1, compiled for the widest vectors the CPU has (`wide`).

use super::{docs, field, Ctx};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

/// `fn backward(&self, cache, dl_dy, grads) -> dl_dx`, for `l = L, ..., 1`:
/// `δ_l = σ_l'(z_l) ⊙ g_l`, `∂L/∂W_l += δ_l h_{l−1}ᵀ`, `∂L/∂b_l += δ_l`, `g_{l−1} = W_lᵀ δ_l`,
/// with `g_L = ∂L/∂y` and `∂L/∂x = g_0`.
pub fn backward(cx: &Ctx) -> TokenStream {
    let p = cx.private();
    let steps = chain(cx, false);
    let (input, output) = (cx.vector(0), cx.vector(cx.layers()));
    let (cache_ty, grads_ty) = (&cx.cache, &cx.grads);
    let doc = docs::backward(cx);
    quote! {
        #[doc = #doc]
        #[inline]
        pub fn backward(&self, cache: &#cache_ty, dl_dy: &#output, grads: &mut #grads_ty) -> #input {
            #p::wide(|| {
                #(#steps)*
            })
        }
    }
}

/// `fn param_gradient(&self, cache, dl_dy, grads)`: [`backward`] that writes this sample's
/// gradient over `grads` (`∂L/∂W_l = δ_l h_{l−1}ᵀ`, `∂L/∂b_l = δ_l`) and stops before `∂L/∂x`.
pub fn param_gradient(cx: &Ctx) -> TokenStream {
    let p = cx.private();
    let steps = chain(cx, true);
    let output = cx.vector(cx.layers());
    let (cache_ty, grads_ty) = (&cx.cache, &cx.grads);
    let doc = docs::param_gradient(cx);
    quote! {
        #[doc = #doc]
        #[inline]
        pub fn param_gradient(&self, cache: &#cache_ty, dl_dy: &#output, grads: &mut #grads_ty) {
            #p::wide(|| {
                #(#steps)*
            })
        }
    }
}

/// The steps of [`backward`] (`overwrite` false: the gradients added into `grads`, `∂L/∂x`
/// returned) or of [`param_gradient`] (`overwrite`: written over `grads`, no `∂L/∂x`).
fn chain(cx: &Ctx, overwrite: bool) -> Vec<TokenStream> {
    let p = cx.private();
    let layers = cx.layers();
    (1..=layers)
        .rev()
        .map(|l| {
            let span = cx.span(l);
            let (z, h) = (field("z", l, span), field("h", l, span));
            let prev = field("h", l - 1, cx.span(l - 1));
            let (w, d) = (field("w", l, span), field("__d", l, span));
            let g = if l == layers {
                quote!(dl_dy)
            } else {
                let g = field("__g", l, span);
                quote!(&#g)
            };
            let act = cx.activation(l);
            let delta = quote_spanned!(span=> let #d = #p::delta(&#act, &cache.#z, &cache.#h, #g););
            let dw = if overwrite {
                quote_spanned!(span=> #p::outer(&mut grads.#w, &#d, &cache.#prev);)
            } else {
                quote_spanned!(span=> #p::ger(&mut grads.#w, &#d, &cache.#prev);)
            };
            let db = cx.net.bias.then(|| {
                let b = field("b", l, span);
                if overwrite {
                    quote_spanned!(span=> #p::assign(&mut grads.#b, &#d);)
                } else {
                    quote_spanned!(span=> #p::axpy(&mut grads.#b, &#d);)
                }
            });
            let g_prev = match (l, overwrite) {
                (1, true) => None,
                (1, false) => Some(quote_spanned!(span=> #p::gemv_tr(&self.#w, &#d))),
                _ => {
                    let g_prev = field("__g", l - 1, cx.span(l - 1));
                    Some(quote_spanned!(span=> let #g_prev = #p::gemv_tr(&self.#w, &#d);))
                }
            };
            quote!(#delta #dw #db #g_prev)
        })
        .collect()
}

/// `fn sgd_step(&mut self, cache, dl_dy, lr)`: one plain SGD step on one sample, fused into
/// the backward pass, for `l = L, ..., 1`: `δ_l = σ_l'(z_l) ⊙ g_l`, `g_{l−1} = W_lᵀ δ_l` from
/// the old weights, then `W_l −= lr δ_l h_{l−1}ᵀ` and `b_l −= lr δ_l` in place.
pub fn sgd_step(cx: &Ctx) -> TokenStream {
    let p = cx.private();
    let layers = cx.layers();
    let t = &cx.t;
    let steps = (1..=layers).rev().map(|l| {
        let span = cx.span(l);
        let (z, h) = (field("z", l, span), field("h", l, span));
        let prev_span = cx.span(l - 1);
        let prev = field("h", l - 1, prev_span);
        let w = field("w", l, span);
        let g = if l == layers {
            quote!(dl_dy)
        } else {
            let g = field("__g", l, span);
            quote!(&#g)
        };
        let b = if cx.net.bias {
            let b = field("b", l, span);
            quote!(::core::option::Option::Some(&mut self.#b))
        } else {
            quote!(::core::option::Option::None)
        };
        let act = cx.activation(l);
        let call = quote_spanned! {span=>
            #p::sgd_layer(&mut self.#w, #b, &#act, (&cache.#z, &cache.#h), #g, &cache.#prev, lr)
        };
        if l == 1 {
            quote!(let _ = #call;)
        } else {
            let g_prev = field("__g", l - 1, prev_span);
            quote!(let #g_prev = #call;)
        }
    });
    let output = cx.vector(layers);
    let cache_ty = &cx.cache;
    let doc = format!(
        "One plain SGD step on one sample, `θ ← θ − lr · ∂L/∂θ`, given `dl_dy = ∂L/∂y` and the \
         `cache` filled by [`Self::forward_cached`] for that sample: the per-sample twin of \
         `sgd_step_batch`. The update is fused into the backward pass, so no gradient is stored \
         and nothing is allocated: per layer, `δ_l` gives `∂L/∂h_(l−1) = W_lᵀ δ_l` from the old \
         `W_l`, then `W_l −= lr δ_l h_(l−1)ᵀ`{} in place. The result equals \
         [`Self::backward`] into zeroed gradients followed by the update, to rounding. For \
         momentum, weight decay or Adam, use [`Self::backward`] and an optimizer.",
        if cx.net.bias {
            " and `b_l −= lr δ_l`"
        } else {
            ""
        }
    );
    quote! {
        #[doc = #doc]
        #[inline]
        pub fn sgd_step(&mut self, cache: &#cache_ty, dl_dy: &#output, lr: #t) {
            #p::wide(|| {
                #(#steps)*
            })
        }
    }
}
