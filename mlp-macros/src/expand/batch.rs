//! The fast paths: the batched one (`{Name}BatchCache`, `forward_batch`,
//! `forward_batch_cached`, `forward_batch_rows`, `backward_batch` and `impl BatchNetwork`, one
//! kernel call per layer and pass, wrapped in the runtime's `if_batch!` so that they exist
//! exactly when the runtime has its batched path, `std`), and `freeze()` (in `frozen`).

use super::{field, frozen, Ctx};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

/// Every batched item of the network, and the frozen copy for one-sample inference (which
/// needs no `std`, so it stands outside the gate).
pub fn batch(cx: &Ctx) -> TokenStream {
    let frozen = frozen::frozen(cx);
    let p = cx.private();
    let cache = cache_struct(cx);
    let methods = methods(cx);
    let ident = &cx.net.ident;
    let t = &cx.t;
    let cache_ty = cache_ident(cx);
    let grads = &cx.grads;
    quote! {
        #frozen

        #p::if_batch! {
            #cache
            #methods

            #[automatically_derived]
            impl #p::BatchNetwork for #ident {
                type BatchCache = #cache_ty;
                fn forward_batch(
                    &self,
                    x: #p::ArrayView2<'_, #t>,
                ) -> #p::Result<#p::Array2<#t>, #p::BatchError> {
                    #ident::forward_batch(self, x)
                }
                fn predict_batch<'c>(
                    &self,
                    x: #p::ArrayView2<'_, #t>,
                    cache: &'c mut #cache_ty,
                ) -> #p::Result<#p::ArrayView2<'c, #t>, #p::BatchError> {
                    #ident::predict_batch(self, x, cache)
                }
                fn forward_batch_cached<'c>(
                    &self,
                    x: #p::ArrayView2<'_, #t>,
                    cache: &'c mut #cache_ty,
                ) -> #p::Result<#p::ArrayView2<'c, #t>, #p::BatchError> {
                    #ident::forward_batch_cached(self, x, cache)
                }
                fn sgd_step_batch(
                    &mut self,
                    cache: &mut #cache_ty,
                    dl_dy: #p::ArrayView2<'_, #t>,
                    lr: #t,
                ) -> #p::Result<(), #p::BatchError> {
                    #ident::sgd_step_batch(self, cache, dl_dy, lr)
                }
                fn forward_batch_rows<'c>(
                    &self,
                    x: #p::ArrayView2<'_, #t>,
                    rows: &[::core::primitive::usize],
                    cache: &'c mut #cache_ty,
                ) -> #p::Result<#p::ArrayView2<'c, #t>, #p::BatchError> {
                    #ident::forward_batch_rows(self, x, rows, cache)
                }
                fn backward_batch(
                    &self,
                    cache: &mut #cache_ty,
                    dl_dy: #p::ArrayView2<'_, #t>,
                    grads: &mut #grads,
                ) -> #p::Result<(), #p::BatchError> {
                    #ident::backward_batch(self, cache, dl_dy, grads)
                }
                fn gradient_batch(
                    &self,
                    cache: &mut #cache_ty,
                    dl_dy: #p::ArrayView2<'_, #t>,
                    grads: &mut #grads,
                ) -> #p::Result<(), #p::BatchError> {
                    #ident::gradient_batch(self, cache, dl_dy, grads)
                }
            }
        }
    }
}

/// `{Name}BatchCache`.
fn cache_ident(cx: &Ctx) -> Ident {
    format_ident!("{}BatchCache", cx.net.ident)
}

/// `{Name}BatchCache`: the inputs as sample-major rows, and per layer `z_l`, `h_l` and `δ_l`
/// as feature-major batches.
fn cache_struct(cx: &Ctx) -> TokenStream {
    let p = cx.private();
    let t = &cx.t;
    let vis = &cx.net.vis;
    let ident = &cx.net.ident;
    let name = cache_ident(cx);
    let layers = cx.layers();
    let mut fields = Vec::new();
    for l in 0..=layers {
        let n = cx.widths[l];
        let s = cx.span(l);
        if l > 0 {
            let (z, d) = (field("z", l, s), field("d", l, s));
            let z_doc = format!("`Z_{l}` ({n}×B), the pre-activations of layer {l}.");
            let d_doc = format!("`δ_{l} = ∂L/∂Z_{l}` ({n}×B), written by `backward_batch`.");
            fields.push(quote!(#[doc = #z_doc] #z: #p::Batch<#t, #n>,));
            fields.push(quote!(#[doc = #d_doc] #d: #p::Batch<#t, #n>,));
        }
        let h = field("h", l, s);
        if l == 0 {
            let doc = format!("`H_0 = X`, the inputs, as B rows of {n} (one per sample).");
            fields.push(quote!(#[doc = #doc] #h: #p::Vec<[#t; #n]>,));
        } else {
            let doc = format!("`H_{l}` ({n}×B), the outputs of layer {l}.");
            fields.push(quote!(#[doc = #doc] #h: #p::Batch<#t, #n>,));
        }
    }
    let doc = format!(
        "The forward values and scratch space of a batch through [`{ident}`], for \
         [`{ident}::forward_batch_cached`] and [`{ident}::backward_batch`]. Buffers grow to the \
         largest batch seen and are reused, so a training step allocates nothing after the first."
    );
    let chains = chains(cx);
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::default::Default)]
        #vis struct #name {
            #(#fields)*
        }

        impl #name {
            /// The number of samples whose forward values the cache holds for a backward pass:
            /// those of the last `forward_batch_cached` or `forward_batch_rows` call, or 0 after
            /// `predict_batch`.
            #[must_use]
            pub fn samples(&self) -> ::core::primitive::usize {
                self.h0.len()
            }

            #chains
        }
    }
}

/// The layer chains that several batched methods share, emitted once as private methods of
/// `{Name}BatchCache`: the forward chain (`forward_batch_cached`, `forward_batch_rows`), `δ_L`
/// (every backward pass) and the backward chain into gradients (`backward_batch`,
/// `gradient_batch`, which differ only in accumulating or overwriting).
fn chains(cx: &Ctx) -> TokenStream {
    let p = cx.private();
    let t = &cx.t;
    let ident = &cx.net.ident;
    let grads = &cx.grads;
    let layers = cx.layers();
    let forward = (1..=layers).map(|l| {
        let s = cx.span(l);
        let (w, z, h) = (field("w", l, s), field("z", l, s), field("h", l, s));
        let prev = field("h", l - 1, cx.span(l - 1));
        let (act, b) = (cx.activation(l), bias(cx, l, &quote!(__net)));
        quote_spanned! {s=>
            #p::batch::dense_cached(&__net.#w, #b, &self.#prev, &#act, &mut self.#z, &mut self.#h);
        }
    });
    let backward = (1..=layers)
        .rev()
        .map(|l| backward_layer(cx, l, Target::Grads));
    let (z_l, h_l, d_l) = (
        field("z", layers, cx.span(layers)),
        field("h", layers, cx.span(layers)),
        field("d", layers, cx.span(layers)),
    );
    let act_l = cx.activation(layers);
    quote! {
        /// `Z_l` and `H_l` of every layer of `__net`, from the inputs in `h0`.
        fn forward(&mut self, __net: &#ident) {
            #(#forward)*
        }

        /// `δ_L` from `dl_dy`, first in every backward pass (and the shape check).
        fn output_delta(
            &mut self,
            dl_dy: #p::ArrayView2<'_, #t>,
        ) -> #p::Result<(), #p::BatchError> {
            #p::batch::delta_output(&#act_l, self.h0.len(), &self.#z_l, &self.#h_l, dl_dy, &mut self.#d_l)
        }

        /// The batch's summed gradients from `δ_L` into `__grads`, added when `__accumulate`
        /// (β = 1), written over otherwise (β = 0).
        fn backward(&mut self, __net: &#ident, __grads: &mut #grads, __accumulate: ::core::primitive::bool) {
            #(#backward)*
        }
    }
}

/// `Some(&b_l)` of the network `net`, or `None` without biases.
fn bias(cx: &Ctx, l: usize, net: &TokenStream) -> TokenStream {
    if cx.net.bias {
        let b = field("b", l, cx.span(l));
        quote!(::core::option::Option::Some(&*#net.#b))
    } else {
        quote!(::core::option::Option::None)
    }
}

/// The inherent batched methods.
fn methods(cx: &Ctx) -> TokenStream {
    let p = cx.private();
    let t = &cx.t;
    let ident = &cx.net.ident;
    let cache_ty = cache_ident(cx);
    let grads = &cx.grads;
    let layers = cx.layers();
    let predict = (1..=layers).map(|l| {
        let s = cx.span(l);
        let (w, h) = (field("w", l, s), field("h", l, s));
        let prev = if l == 1 {
            quote!(x)
        } else {
            let prev = field("h", l - 1, cx.span(l - 1));
            quote!(cache.#prev)
        };
        let (act, b) = (cx.activation(l), bias(cx, l, &quote!(self)));
        quote_spanned! {s=>
            #p::batch::dense(&self.#w, #b, &#prev, &#act, &mut cache.#h);
        }
    });
    let last = field("h", layers, cx.span(layers));
    let sgd = (1..=layers)
        .rev()
        .map(|l| backward_layer(cx, l, Target::Weights));
    let d_l = field("d", layers, cx.span(layers));
    let (input, output) = (cx.widths[0], cx.net.output());
    let fwd_doc = format!(
        "Computes the outputs (B×{output}) of a batch of inputs `x` (B×{input}, one sample per \
         row), with one matrix product per layer.\n\nFails if `x` does not have {input} columns. \
         Allocates its buffers; [`Self::predict_batch`] reuses a cache's."
    );
    let predict_doc = format!(
        "Computes the outputs of a batch `x` (B×{input}) for inference, as \
         [`Self::forward_batch`] does, and returns them as a B×{output} view into `cache`. \
         Reads `x` where it lies (it copies only a view with negative strides) and keeps only \
         each layer's outputs `H_l`, so the cache then holds nothing for \
         [`Self::backward_batch`] (which fails with `BatchError::NoForwardValues` until the next \
         [`Self::forward_batch_cached`]). Allocates nothing once the cache has held a batch as \
         large.\n\nFails if `x` does not have {input} columns."
    );
    let cached_doc = format!(
        "Computes the outputs of a batch `x` (B×{input}) as [`Self::forward_batch`] does, \
         keeping `Z_l` and `H_l` in `cache` for [`Self::backward_batch`], and returns them as a \
         B×{output} view into the cache. Allocates nothing once the cache has held a batch as \
         large.\n\nFails if `x` does not have {input} columns."
    );
    let rows_doc = "As [`Self::forward_batch_cached`], on the rows `rows` of `x` in that order, \
                    gathered straight into the cache.\n\nFails if `x` has the wrong width or an \
                    index is out of range.";
    let bwd_doc = format!(
        "Adds the batch's summed gradients into `grads`, given `dl_dy` (B×{output}, row `s` = \
         `∂ℓ_s/∂y_s`) and the `cache` of the matching forward call: per layer, \
         `∂L/∂W_l += δ_l H_(l−1)ᵀ` and `∂L/∂b_l += δ_l 1` (β = 1 products), then \
         `δ_(l−1) = σ'(Z_(l−1)) ⊙ W_lᵀ δ_l`. The input gradient is not computed. The forward \
         values in the cache are left as they were.\n\nFails if `dl_dy` is not B×{output}."
    );
    let sgd_doc = format!(
        "One plain SGD step on the batch whose forward values `cache` holds, \
         `θ ← θ − lr · Σ_s ∂ℓ_s/∂θ` (pass `lr / B` for the mean gradient), fused into the \
         backward pass so that no gradient is stored: `δ_L` is scaled by `−lr` once; per layer, \
         `δ_(l−1)` is computed from the old `W_l`, then `W_l += (−lr δ_l) H_(l−1)ᵀ` is one \
         accumulating product into the weights and `b_l += (−lr δ_l) 1` one row sum. The \
         result equals [`Self::gradient_batch`] followed by the update to rounding. For momentum, \
         weight decay or Adam, use [`Self::gradient_batch`] and an optimizer.\n\nFails, \
         leaving the network as it was, if `dl_dy` is not B×{output} or the cache holds no \
         forward values."
    );
    let grad_doc = format!(
        "As [`Self::backward_batch`], but writes the batch's summed gradients into `grads`, \
         overwriting what they held (every product with β = 0), so that a step need not zero \
         them first.\n\nFails if `dl_dy` is not B×{output}."
    );
    quote! {
        impl #ident {
            #[doc = #fwd_doc]
            pub fn forward_batch(
                &self,
                x: #p::ArrayView2<'_, #t>,
            ) -> #p::Result<#p::Array2<#t>, #p::BatchError> {
                let mut cache = <#cache_ty as ::core::default::Default>::default();
                let y = self.predict_batch(x, &mut cache)?;
                let mut out = #p::Array2::zeros(y.dim());
                out.assign(&y);
                ::core::result::Result::Ok(out)
            }

            #[doc = #predict_doc]
            pub fn predict_batch<'c>(
                &self,
                x: #p::ArrayView2<'_, #t>,
                cache: &'c mut #cache_ty,
            ) -> #p::Result<#p::ArrayView2<'c, #t>, #p::BatchError> {
                {
                    let x = #p::batch::inputs(x, &mut cache.h0)?;
                    #(#predict)*
                }
                cache.h0.clear();
                ::core::result::Result::Ok(cache.#last.view())
            }

            #[doc = #cached_doc]
            pub fn forward_batch_cached<'c>(
                &self,
                x: #p::ArrayView2<'_, #t>,
                cache: &'c mut #cache_ty,
            ) -> #p::Result<#p::ArrayView2<'c, #t>, #p::BatchError> {
                #p::batch::load(x, ::core::option::Option::None, &mut cache.h0)?;
                cache.forward(self);
                ::core::result::Result::Ok(cache.#last.view())
            }

            #[doc = #rows_doc]
            pub fn forward_batch_rows<'c>(
                &self,
                x: #p::ArrayView2<'_, #t>,
                rows: &[::core::primitive::usize],
                cache: &'c mut #cache_ty,
            ) -> #p::Result<#p::ArrayView2<'c, #t>, #p::BatchError> {
                #p::batch::load(x, ::core::option::Option::Some(rows), &mut cache.h0)?;
                cache.forward(self);
                ::core::result::Result::Ok(cache.#last.view())
            }

            #[doc = #bwd_doc]
            pub fn backward_batch(
                &self,
                cache: &mut #cache_ty,
                dl_dy: #p::ArrayView2<'_, #t>,
                grads: &mut #grads,
            ) -> #p::Result<(), #p::BatchError> {
                cache.output_delta(dl_dy)?;
                cache.backward(self, grads, true);
                ::core::result::Result::Ok(())
            }

            #[doc = #sgd_doc]
            pub fn sgd_step_batch(
                &mut self,
                cache: &mut #cache_ty,
                dl_dy: #p::ArrayView2<'_, #t>,
                lr: #t,
            ) -> #p::Result<(), #p::BatchError> {
                cache.output_delta(dl_dy)?;
                #p::batch::scale(&mut cache.#d_l, -lr);
                #(#sgd)*
                ::core::result::Result::Ok(())
            }

            #[doc = #grad_doc]
            pub fn gradient_batch(
                &self,
                cache: &mut #cache_ty,
                dl_dy: #p::ArrayView2<'_, #t>,
                grads: &mut #grads,
            ) -> #p::Result<(), #p::BatchError> {
                cache.output_delta(dl_dy)?;
                cache.backward(self, grads, false);
                ::core::result::Result::Ok(())
            }
        }
    }
}

/// Where a backward pass puts its `δ_l H_(l−1)ᵀ` and `δ_l 1`.
#[derive(Clone, Copy)]
enum Target {
    /// Into `__grads`, added or written over as `__accumulate` says (the cache's `backward`).
    Grads,
    /// Added into the weights themselves, `δ` having been scaled by `−lr` (`sgd_step_batch`).
    Weights,
}

/// Layer `l`'s part of a backward pass: `δ_l H_(l−1)ᵀ` and `δ_l 1` into `into`, and `δ_(l−1)`
/// unless `l = 1`; before the products when they write the weights it reads, else after.
fn backward_layer(cx: &Ctx, l: usize, into: Target) -> TokenStream {
    let p = cx.private();
    let s = cx.span(l);
    let (w, d) = (field("w", l, s), field("d", l, s));
    let h_prev = field("h", l - 1, cx.span(l - 1));
    // The network, the cache, where the products go and whether they add.
    let (net, cache, target, accumulate) = match into {
        Target::Grads => (
            quote!(__net),
            quote!(self),
            quote!(__grads),
            quote!(__accumulate),
        ),
        Target::Weights => (quote!(self), quote!(cache), quote!(self), quote!(true)),
    };
    let db = cx.net.bias.then(|| {
        let b = field("b", l, s);
        quote_spanned!(s=> #p::batch::bias_grad(&#cache.#d, &mut #target.#b, #accumulate);)
    });
    let prev = (l > 1).then(|| input_delta(cx, l, &net, &cache));
    let products = quote! {
        #p::batch::weight_grad(&#cache.#d, &#cache.#h_prev, &mut #target.#w, #accumulate);
        #db
    };
    match into {
        Target::Weights => quote!(#prev #products),
        Target::Grads => quote!(#products #prev),
    }
}

/// `δ_(l−1) = σ'(Z_(l−1)) ⊙ W_lᵀ δ_l` into the cache (`l > 1`), `W_l` from `net`.
fn input_delta(cx: &Ctx, l: usize, net: &TokenStream, cache: &TokenStream) -> TokenStream {
    let p = cx.private();
    let s = cx.span(l);
    let (w, d) = (field("w", l, s), field("d", l, s));
    let ps = cx.span(l - 1);
    let (z, h, dp) = (
        field("z", l - 1, ps),
        field("h", l - 1, ps),
        field("d", l - 1, ps),
    );
    let act = cx.activation(l - 1);
    quote_spanned! {s=>
        #p::batch::input_delta(&#net.#w, &#cache.#d, &#act, &#cache.#z, &#cache.#h, &mut #cache.#dp);
    }
}
