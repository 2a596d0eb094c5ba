//! The input-derivative operators (`operators: [...]`): the jet caches, `jet` and
//! `jet_backward` per sample, `jets_batch` and `jets_batch_backward` over a batch, one kernel
//! call per layer each, and the requested convenience methods. Each layer's `σ`, `σ'`, `σ''`
//! and `σ'''` are one hidden function of straight-line code derived by the macro.

use super::activation::body;
use super::{field, Ctx};
use crate::operators::{Curvature, OperatorKind};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};

/// Everything the operators add, or nothing when none is requested.
pub fn operators(cx: &Ctx) -> TokenStream {
    if cx.net.operators.is_empty() {
        return TokenStream::new();
    }
    let ident = &cx.net.ident;
    let p = cx.private();
    let k = cx.krate;
    let t = &cx.t;
    let last = cx.layers();
    let d = Literal::usize_unsuffixed(cx.widths[0]);
    let n_out = Literal::usize_unsuffixed(cx.widths[last]);
    let (cache, batch_cache) = names(cx);
    let vis = &cx.net.vis;
    let curvatures = (1..=last).map(|l| curvature(cx, l));

    // The caches: a jet per layer value, pre-activation and (batched) adjoint.
    let jet = |n: usize| {
        let n = Literal::usize_unsuffixed(n);
        quote!(#k::operators::Jet<#t, #n, #d, K>)
    };
    let jets = |n: usize| {
        let n = Literal::usize_unsuffixed(n);
        quote!(#k::operators::Jets<#t, #n>)
    };
    let mut fields = Vec::new();
    let mut batch_fields = Vec::new();
    let mut defaults = Vec::new();
    for l in 0..=last {
        let n = cx.widths[l];
        let h = field("h", l, cx.span(l));
        let (jet_ty, jets_ty) = (jet(n), jets(n));
        fields.push(quote!(#[doc = " The layer's output jet."] pub #h: #jet_ty,));
        batch_fields.push(quote!(#[doc = " The layer's output jets."] pub #h: #jets_ty,));
        defaults.push(quote!(#h: #k::operators::Jet::zeros(),));
        if l > 0 {
            let (z, dl) = (field("z", l, cx.span(l)), field("d", l, cx.span(l)));
            fields.push(quote!(#[doc = " The layer's pre-activation jet."] pub #z: #jet_ty,));
            defaults.push(quote!(#z: #k::operators::Jet::zeros(),));
            batch_fields.push(quote! {
                #[doc = " The layer's pre-activation jets."] pub #z: #jets_ty,
                #[doc = " The adjoints of the layer's output, then of its pre-activation."] pub #dl: #jets_ty,
            });
        }
    }

    let (mut forward, mut backward, mut batch_forward, mut batch_backward) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut batch_predict = Vec::new();
    for l in 1..=last {
        let span = cx.span(l);
        let (w, z, h) = (
            field("w", l, span),
            field("z", l, span),
            field("h", l, span),
        );
        let prev = field("h", l - 1, cx.span(l - 1));
        let act = format_ident!("__curvature_{}", l);
        let (bias, gb) = if cx.net.bias {
            let b = field("b", l, span);
            // Typed, so that `&Boxed<v>` coerces to `&v` (a `Box` with `alloc`, the array
            // itself without).
            let v = cx.vector(l);
            (
                quote!(::core::option::Option::Some::<&#v>(&self.#b)),
                quote!(::core::option::Option::Some::<&mut #v>(&mut grads.#b)),
            )
        } else {
            (
                quote!(::core::option::Option::None),
                quote!(::core::option::Option::None),
            )
        };
        forward.push(quote_spanned! {span=>
            #k::operators::jet_dense(&self.#w, #bias, Self::#act, op, &cache.#prev, &mut cache.#z, &mut cache.#h);
        });
        // The first layer's input jets are known (`jets_input`): only its values take a product.
        let dense = if l == 1 {
            format_ident!("jets_dense_input")
        } else {
            format_ident!("jets_dense")
        };
        batch_forward.push(quote_spanned! {span=>
            #k::operators::#dense(&self.#w, #bias, Self::#act, op, &cache.#prev, ::core::option::Option::Some(&mut cache.#z), &mut cache.#h);
        });
        batch_predict.push(quote_spanned! {span=>
            #k::operators::#dense(&self.#w, #bias, Self::#act, op, &cache.#prev, ::core::option::Option::None, &mut cache.#h);
        });
        let dh = if l == last {
            quote!(seed)
        } else {
            let a = format_ident!("__d{}", l);
            quote!(&#a)
        };
        let dx = if l == 1 {
            quote!(::core::option::Option::None)
        } else {
            let a = format_ident!("__d{}", l - 1);
            quote!(::core::option::Option::Some(&mut #a))
        };
        let decl = (l > 1).then(|| {
            let a = format_ident!("__d{}", l - 1);
            quote!(let mut #a = #k::operators::Jet::zeros();)
        });
        backward.push(quote_spanned! {span=>
            #decl
            #k::operators::jet_dense_backward(&self.#w, Self::#act, op, &cache.#prev, &cache.#z, #dh, (&mut grads.#w, #gb, #dx));
        });
        let dl = field("d", l, span);
        let bdx = if l == 1 {
            quote!(::core::option::Option::None)
        } else {
            let below = field("d", l - 1, cx.span(l - 1));
            quote!(::core::option::Option::Some(&mut cache.#below))
        };
        let given = format_ident!("__curvature_{}_given", l);
        batch_backward.push(quote_spanned! {span=>
            #k::operators::jets_dense_backward(&self.#w, Self::#given, op, &cache.#prev, (&cache.#z, &cache.#h), &mut cache.#dl, (&mut grads.#w, #gb, #bdx));
        });
    }
    backward.reverse();
    batch_backward.reverse();
    let h0 = field("h", 0, cx.span(0));
    let hl = field("h", last, cx.span(last));
    let dl = field("d", last, cx.span(last));
    let z1 = field("z", 1, cx.span(1));
    let grads = &cx.grads;
    let input = cx.vector(0);
    let conveniences = cx
        .net
        .operators
        .iter()
        .map(|r| convenience(cx, r.kind, r.span));
    let (jet_doc, cache_doc, batch_doc) = docs(cx);
    quote! {
        #[doc = #cache_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq)]
        #vis struct #cache<const K: ::core::primitive::usize> {
            #(#fields)*
        }

        #[automatically_derived]
        impl<const K: ::core::primitive::usize> ::core::default::Default for #cache<K> {
            fn default() -> Self {
                Self { #(#defaults)* }
            }
        }

        impl #ident {
            #(#curvatures)*

            #[doc = #jet_doc]
            #[inline]
            pub fn jet<S, const K: ::core::primitive::usize>(&self, x: &#input, op: &S, cache: &mut #cache<K>) -> #k::operators::Jet<#t, #n_out, #d, K>
            where
                S: #k::operators::SecondOrder<#t, #d, K>,
            {
                #k::operators::jet_input(x, op, &mut cache.#h0);
                #(#forward)*
                cache.#hl
            }

            /// Adds `∂Loss/∂W_l` and `∂Loss/∂b_l` into `grads`, given `seed`, the adjoints
            /// `∂Loss/∂y`, `∂Loss/∂(∂y/∂x_d)` and `∂Loss/∂(L_k y)` of the jet that
            /// [`jet`](Self::jet) returned with the same `op` and `cache`.
            #[inline]
            pub fn jet_backward<S, const K: ::core::primitive::usize>(&self, op: &S, cache: &#cache<K>, seed: &#k::operators::Jet<#t, #n_out, #d, K>, grads: &mut #grads)
            where
                S: #k::operators::SecondOrder<#t, #d, K>,
            {
                #(#backward)*
            }

            #(#conveniences)*
        }

        #p::if_batch! {
            #[doc = #batch_doc]
            #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::default::Default, ::core::cmp::PartialEq)]
            #vis struct #batch_cache {
                #(#batch_fields)*
            }

            impl #ident {
                /// The jets of a batch of inputs: [`jet`](Self::jet) for every sample, with one
                /// matrix product per layer over the stacked columns `[H | ∂₁H … ∂_DH | L₁H …]`.
                /// Returns the output layer's jets, a view into `cache`; allocates only when
                /// the batch is larger than any before.
                #[inline]
                pub fn jets_batch<'c, S, const K: ::core::primitive::usize>(&self, x: &[#input], op: &S, cache: &'c mut #batch_cache) -> &'c #k::operators::Jets<#t, #n_out>
                where
                    S: #k::operators::SecondOrder<#t, #d, K>,
                {
                    #k::operators::jets_input(x, op, &mut cache.#h0);
                    #(#batch_forward)*
                    &cache.#hl
                }

                /// As [`jets_batch`](Self::jets_batch) for inference: each layer's jets are
                /// computed in place of its pre-activations, which are not kept, so `cache` then
                /// holds nothing for [`jets_batch_backward`](Self::jets_batch_backward).
                #[inline]
                pub fn jets_batch_predict<'c, S, const K: ::core::primitive::usize>(&self, x: &[#input], op: &S, cache: &'c mut #batch_cache) -> &'c #k::operators::Jets<#t, #n_out>
                where
                    S: #k::operators::SecondOrder<#t, #d, K>,
                {
                    #k::operators::jets_input(x, op, &mut cache.#h0);
                    #(#batch_predict)*
                    // No pre-activations are kept: a backward pass on this cache refuses.
                    cache.#z1.resize(0, #d, K);
                    &cache.#hl
                }

                /// Adds the batch's summed `∂Loss/∂W_l` and `∂Loss/∂b_l` into `grads`, given
                /// `seed`, the adjoints of the jets [`jets_batch`](Self::jets_batch) returned
                /// with the same `op` and `cache` (same samples and columns). One matrix
                /// product per layer for the weights and one for the layer below.
                ///
                /// Fails, changing nothing, if `seed` does not have the shape of those jets, or
                /// if the cache's last forward pass was `jets_batch_predict`.
                #[inline]
                pub fn jets_batch_backward<S, const K: ::core::primitive::usize>(&self, op: &S, cache: &mut #batch_cache, seed: &#k::operators::Jets<#t, #n_out>, grads: &mut #grads) -> #p::Result<(), #p::BatchError>
                where
                    S: #k::operators::SecondOrder<#t, #d, K>,
                {
                    seed.check_like("jet seed", &cache.#hl)?;
                    cache.#z1.check_like("the pre-activation jets that jets_batch keeps (jets_batch_predict keeps none)", &cache.#hl)?;
                    cache.#dl.resize(seed.samples(), seed.directions(), seed.channels());
                    cache.#dl.as_mut_slice().copy_from_slice(seed.as_slice());
                    #(#batch_backward)*
                    #p::Result::Ok(())
                }
            }
        }
    }
}

/// `{Name}JetCache` and `{Name}JetBatchCache`.
pub fn names(cx: &Ctx) -> (syn::Ident, syn::Ident) {
    let ident = &cx.net.ident;
    (
        format_ident!("{}JetCache", ident),
        format_ident!("{}JetBatchCache", ident),
    )
}

/// `fn __curvature_l(z) -> [σ(z), σ'(z), σ''(z), σ'''(z)]`, straight-line code, and
/// `fn __curvature_l_given(z, h)`, the same with `h = σ(z)` known (the batched backward pass
/// reads it from the forward pass's values rather than computing `σ` again).
fn curvature(cx: &Ctx, l: usize) -> TokenStream {
    let t = &cx.t;
    let activation = &cx.net.layers[l - 1].activation;
    let name = format_ident!("__curvature_{}", l);
    let given = format_ident!("__curvature_{}_given", l);
    // Validation refused the request if the derivation overflowed; this stays total anyway.
    let Some(c) = Curvature::derive(activation) else {
        return quote! {
            #[doc(hidden)] #[inline(always)] pub fn #name(_: #t) -> [#t; 4] { [#t::NAN; 4] }
            #[doc(hidden)] #[inline(always)] pub fn #given(_: #t, _: #t) -> [#t; 4] { [#t::NAN; 4] }
        };
    };
    let (z, h) = (format_ident!("__z"), format_ident!("__h"));
    let param = |i: usize| cx.float(activation.args.get(i).copied().unwrap_or(0.0));
    let f = body(cx, &c.graph, c.f, &param, &z, &h);
    let [d1, d2, d3] = c.d.map(|e| body(cx, &c.graph, e, &param, &z, &h));
    quote! {
        #[doc(hidden)]
        #[inline(always)]
        #[allow(unused_variables)]
        pub fn #name(#z: #t) -> [#t; 4] {
            let #h: #t = { #f };
            [#h, { #d1 }, { #d2 }, { #d3 }]
        }

        #[doc(hidden)]
        #[inline(always)]
        #[allow(unused_variables)]
        pub fn #given(#z: #t, #h: #t) -> [#t; 4] {
            [#h, { #d1 }, { #d2 }, { #d3 }]
        }
    }
}

/// The method a requested operator adds: the jet of one input with a cache on the stack.
fn convenience(cx: &Ctx, kind: OperatorKind, span: proc_macro2::Span) -> TokenStream {
    let k = cx.krate;
    let t = &cx.t;
    let input = cx.vector(0);
    let d = Literal::usize_unsuffixed(cx.widths[0]);
    let n_out = Literal::usize_unsuffixed(cx.net.output());
    let (cache, _) = names(cx);
    // The name the user wrote, at the token they wrote (go-to-definition lands there).
    let name = format_ident!("{}", kind.name(), span = super::located(span));
    let (op, channels, extra, doc) = match kind {
        OperatorKind::Gradient => (quote!(&#k::operators::Gradient), quote!(0), quote!(), " The output and its input gradient: `gradient[d][i] = ∂y_i/∂x_d`."),
        OperatorKind::Laplacian => (quote!(&#k::operators::Laplacian), quote!(1), quote!(), " The output, its input gradient and its Laplacian `second[0][i] = Δy_i`."),
        OperatorKind::HessianDiagonal => (quote!(&#k::operators::HessianDiagonal), quote!(#d), quote!(), " The output, its input gradient and the diagonal of its input Hessian, `second[d][i] = ∂²y_i/∂x_d²`."),
        OperatorKind::Operator => (quote!(op), quote!(1), quote!(op: &#k::operators::Operator<#t, #d>,), " The output, its input gradient and `second[0][i] = Σ a[a][b] ∂²y_i/∂x_a∂x_b + Σ b[a] ∂y_i/∂x_a`."),
    };
    quote! {
        #[doc = #doc]
        #[must_use]
        pub fn #name(&self, x: &#input, #extra) -> #k::operators::Jet<#t, #n_out, #d, #channels> {
            let mut cache = #cache::<#channels>::default();
            self.jet(x, #op, &mut cache)
        }
    }
}

/// The docs of `jet`, of the per-sample cache and of the batch cache, with the network's
/// dimensions and each layer's derived `σ''` and `σ'''`.
fn docs(cx: &Ctx) -> (String, String, String) {
    let d = cx.widths[0];
    let mut rules = String::new();
    for (i, layer) in cx.net.layers.iter().enumerate() {
        let l = i + 1;
        let (n_in, n_out) = (cx.widths[l - 1], cx.widths[l]);
        let (f, df) = layer.activation.formulas_with("z", "h");
        let [d2, d3] = Curvature::derive(&layer.activation).map_or_else(
            || [String::new(), String::new()],
            |c| c.formulas(&layer.activation),
        );
        rules.push_str(&format!(
            "layer {l}, {n_out}×{n_in}, `{act}`:\n  σ(z) = {f}, σ'(z) = {df}, σ''(z) = {d2}, σ'''(z) = {d3}\n  \
             z_{l} = W_{l} h_{p} + b_{l}, ∂z_{l} = W_{l} ∂h_{p} ({n_out}×{d}), L z_{l} = W_{l} L h_{p}\n  \
             h_{l} = σ(z_{l}), ∂h_{l} = σ'(z_{l}) ⊙ ∂z_{l}, L_k h_{l} = σ'(z_{l}) ⊙ L_k z_{l} + σ''(z_{l}) ⊙ q_k(∂z_{l})\n",
            act = layer.activation.display(),
            p = l - 1,
        ));
    }
    let jet = format!(
        " The output of `x` with its input gradient and the second-order channels of `op`, \
         carried forward layer by layer (the Forward Laplacian), keeping every layer's jet in \
         `cache` for [`jet_backward`](Self::jet_backward). No allocation.\n\n\
         Starting from `h_0 = x`, `∂_d h_0 = e_d` (d = 1..{d}), `L_k h_0 = c_k`:\n\n```text\n{rules}```\n\n\
         where `q_k(j) = jᵀ A_k j` for the unit's input gradient `j` (`Σ_d j_d²` for the Laplacian)."
    );
    let cache = format!(
        " The jets of every layer of [`{}`] at one sample, with `K` second-order channels, kept \
         by `jet` for `jet_backward`.",
        cx.net.ident
    );
    let batch = format!(
        " The jets of every layer of [`{}`] for a batch, with the adjoints of the backward pass, \
         kept by `jets_batch` for `jets_batch_backward`. Reused from batch to batch.",
        cx.net.ident
    );
    (jet, cache, batch)
}
