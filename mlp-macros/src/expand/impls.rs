//! The inherent items (`INPUT`, `PARAMS`, `zeros`, ...) and the runtime's traits: `Parameters`
//! for the network and its gradients, and `Network`.

use super::structs::zero_fields;
use super::{backward, docs, field, forward, Ctx};
use proc_macro2::TokenStream;
use quote::quote;

/// The inherent consts and methods, usable without importing a trait.
pub(super) fn inherent(cx: &Ctx) -> TokenStream {
    let ident = &cx.net.ident;
    let (input, output) = (cx.widths[0], cx.net.output());
    let layers = cx.layers();
    let params = cx.net.params();
    let zeros = zero_fields(cx);
    let forward = forward::forward(cx);
    let forward_cached = forward::forward_cached(cx);
    let backward = backward::backward(cx);
    let param_gradient = backward::param_gradient(cx);
    let sgd_step = backward::sgd_step(cx);
    let docs = docs::consts(cx);
    let [d_input, d_output, d_layers, d_params, d_zeros] = docs;
    quote! {
        impl #ident {
            #[doc = #d_input]
            pub const INPUT: ::core::primitive::usize = #input;
            #[doc = #d_output]
            pub const OUTPUT: ::core::primitive::usize = #output;
            #[doc = #d_layers]
            pub const LAYERS: ::core::primitive::usize = #layers;
            #[doc = #d_params]
            pub const PARAMS: ::core::primitive::usize = #params;

            #[doc = #d_zeros]
            #[must_use]
            pub fn zeros() -> Self {
                Self { #zeros }
            }

            #forward
            #forward_cached
            #backward
            #param_gradient
            #sgd_step
        }
    }
}

/// The largest gradient tensor (in scalars) that `visit_with_grads` hands to its closure from
/// a copy on the stack (at most 1 KiB in `f32`): the compiler then knows that the gradient and
/// the parameter do not overlap, and vectorises an update written as a plain loop without a
/// run-time check (a small tensor's loop, unrolled, was not vectorised at all). Larger ones
/// are passed in place, where the check costs little beside the loop.
const GRAD_COPY_MAX: usize = 256;

/// `Parameters` for the network and for its gradients, sharing one `PARAM_INFO`.
pub(super) fn parameters_impls(cx: &Ctx) -> TokenStream {
    let Ctx { net, t, grads, .. } = cx;
    let ident = &net.ident;
    let p = cx.private();
    let k = cx.krate;
    let mut infos = Vec::new();
    let mut refs = Vec::new();
    let mut muts = Vec::new();
    let mut fills = Vec::new();
    let mut pairs = Vec::new();
    for l in 1..=cx.layers() {
        let span = cx.span(l);
        let (n_in, n_out) = (cx.widths[l - 1], cx.widths[l]);
        let w = field("w", l, span);
        let name = w.to_string();
        let i = infos.len();
        infos.push(quote! {
            #p::ParamInfo { name: #name, layer: #l, kind: #p::ParamKind::Weight, shape: &[#n_out, #n_in] }
        });
        refs.push(quote!(f(&Self::PARAM_INFO[#i], self.#w.as_flattened());));
        muts.push(quote!(f(&Self::PARAM_INFO[#i], self.#w.as_flattened_mut());));
        fills.push(quote!(self.#w.as_flattened_mut().fill(value);));
        pairs.push(if n_in * n_out <= GRAD_COPY_MAX {
            quote!({
                let __g: [[#t; #n_in]; #n_out] =
                    *::core::borrow::Borrow::<[[#t; #n_in]; #n_out]>::borrow(&grads.#w);
                f(&PARAM_INFO[#i], self.#w.as_flattened_mut(), __g.as_flattened());
            })
        } else {
            quote!(f(&PARAM_INFO[#i], self.#w.as_flattened_mut(), grads.#w.as_flattened());)
        });
        if net.bias {
            let b = field("b", l, span);
            let name = b.to_string();
            let i = infos.len();
            infos.push(quote! {
                #p::ParamInfo { name: #name, layer: #l, kind: #p::ParamKind::Bias, shape: &[#n_out] }
            });
            refs.push(quote!(f(&Self::PARAM_INFO[#i], &self.#b[..]);));
            muts.push(quote!(f(&Self::PARAM_INFO[#i], &mut self.#b[..]);));
            fills.push(quote!(self.#b.fill(value);));
            pairs.push(if n_out <= GRAD_COPY_MAX {
                quote!({
                    let __g: [#t; #n_out] = *::core::borrow::Borrow::<[#t; #n_out]>::borrow(&grads.#b);
                    f(&PARAM_INFO[#i], &mut self.#b[..], &__g[..]);
                })
            } else {
                quote!(f(&PARAM_INFO[#i], &mut self.#b[..], &grads.#b[..]);)
            });
        }
    }
    let visit = quote! {
        fn visit(&self, mut f: impl ::core::ops::FnMut(&#p::ParamInfo, &[#t])) {
            #(#refs)*
        }
        fn visit_mut(&mut self, mut f: impl ::core::ops::FnMut(&#p::ParamInfo, &mut [#t])) {
            #(#muts)*
        }
        // In one function compiled for the widest vectors, each tensor's size known (the
        // closure forced inline: left out of line, it would be compiled for the baseline).
        fn fill(&mut self, value: #t) {
            #p::wide(#[inline(always)] || {
                #(#fills)*
            })
        }
    };
    quote! {
        #[automatically_derived]
        impl #p::Parameters for #ident {
            type Scalar = #t;
            const PARAM_INFO: &'static [#p::ParamInfo] = &[#(#infos),*];
            #visit
        }

        #[automatically_derived]
        impl #p::Parameters for #grads {
            type Scalar = #t;
            // The public path: rustdoc shows this value.
            const PARAM_INFO: &'static [#p::ParamInfo] = <#ident as #k::Parameters>::PARAM_INFO;
            #visit
        }
    }
    .into_iter()
    .chain(visit_with_grads(cx, &pairs))
    .collect()
}

/// The body of `Network::visit_with_grads`, kept beside the other visitors.
fn visit_with_grads(cx: &Ctx, pairs: &[TokenStream]) -> TokenStream {
    let Ctx { net, t, grads, .. } = cx;
    let ident = &net.ident;
    let p = cx.private();
    quote! {
        impl #ident {
            /// Calls `f(info, parameter, gradient)` for every tensor in the order of
            /// `PARAM_INFO`, so that an optimizer can update the parameters.
            pub fn visit_with_grads(
                &mut self,
                grads: &#grads,
                mut f: impl ::core::ops::FnMut(&#p::ParamInfo, &mut [#t], &[#t]),
            ) {
                const PARAM_INFO: &[#p::ParamInfo] = <#ident as #p::Parameters>::PARAM_INFO;
                // Compiled for the widest vectors the CPU has, with this closure forced
                // inline (left out of line, it would be compiled for the baseline) and `f`
                // inlined: an update written as a plain loop vectorises as the generated passes
                // do.
                #p::wide(#[inline(always)] || {
                    #(#pairs)*
                })
            }
        }
    }
}

/// `Network`, delegating to the inherent methods.
pub(super) fn network_impl(cx: &Ctx) -> TokenStream {
    let Ctx {
        net,
        t,
        cache,
        grads,
        ..
    } = cx;
    let ident = &net.ident;
    let p = cx.private();
    let (input, output) = (cx.vector(0), cx.vector(cx.layers()));
    let specs = net.layers.iter().enumerate().map(|(i, layer)| {
        let (fan_in, fan_out) = (cx.widths[i], cx.widths[i + 1]);
        let name = layer.activation.name();
        let params = &layer.activation.args;
        let bias = net.bias;
        quote! {
            #p::LayerSpec {
                fan_in: #fan_in,
                fan_out: #fan_out,
                activation: #p::ActivationSpec { name: #name, params: &[#(#params),*] },
                bias: #bias,
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #p::Network for #ident {
            type Input = #input;
            type Output = #output;
            type Cache = #cache;
            type Grads = #grads;
            const INPUT: ::core::primitive::usize = #ident::INPUT;
            const OUTPUT: ::core::primitive::usize = #ident::OUTPUT;
            const LAYERS: ::core::primitive::usize = #ident::LAYERS;
            const LAYER_SPECS: &'static [#p::LayerSpec] = &[#(#specs),*];

            fn zeros() -> Self {
                #ident::zeros()
            }
            fn forward(&self, x: &#input) -> #output {
                #ident::forward(self, x)
            }
            fn forward_cached(&self, x: &#input, cache: &mut #cache) -> #output {
                #ident::forward_cached(self, x, cache)
            }
            fn backward(&self, cache: &#cache, dl_dy: &#output, grads: &mut #grads) -> #input {
                #ident::backward(self, cache, dl_dy, grads)
            }
            fn param_gradient(&self, cache: &#cache, dl_dy: &#output, grads: &mut #grads) {
                #ident::param_gradient(self, cache, dl_dy, grads)
            }
            fn visit_with_grads(
                &mut self,
                grads: &#grads,
                f: impl ::core::ops::FnMut(&#p::ParamInfo, &mut [#t], &[#t]),
            ) {
                #ident::visit_with_grads(self, grads, f)
            }
        }
    }
}
