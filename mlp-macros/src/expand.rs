//! Code generation from the checked model: the struct, its cache and gradients, and the
//! trait impls. The passes themselves are in `forward`, `backward`, and their docs in `docs`.

mod activation;
mod attrs;
mod backward;
mod batch;
mod docs;
mod forward;
mod frozen;
mod jacobian;
#[cfg(test)]
mod tests;

use crate::model::{Builtin, Kind, Net, Scalar};
use crate::{fallback, krate, parse, valid};
use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

/// Expands an `mlp!` invocation; errors become `compile_error!`s and never panic.
///
/// With errors, the items are still declared (see [`fallback`]): exactly, by expanding the
/// partial model, when `input` and `layers` are given; as stubs otherwise.
pub fn mlp(input: TokenStream) -> TokenStream {
    let parsed = match syn::parse2::<parse::Input>(input.clone()) {
        Ok(parsed) => parsed,
        Err(err) => return fallback::unparsed(&input, &err),
    };
    let stubs = fallback::Stubs::of(&parsed);
    let (net, error) = match valid::validate(parsed) {
        Ok(net) => (net, None),
        Err(valid::Invalid {
            error,
            partial: Some(net),
        }) => (*net, Some(error)),
        Err(valid::Invalid {
            error,
            partial: None,
        }) => return fallback::expand(&stubs, &error),
    };
    match (krate::krate(net.krate.as_ref(), net.ident.span()), error) {
        (Ok(krate), None) => expand(&net, &krate),
        (Ok(krate), Some(error)) => {
            let errors = error.to_compile_error();
            let items = expand(&net, &krate);
            quote!(#errors #items)
        }
        (Err(err), None) => fallback::expand(&stubs, &err),
        (Err(err), Some(mut error)) => {
            error.combine(err);
            fallback::expand(&stubs, &error)
        }
    }
}

/// Everything expansion needs to know, computed once.
pub(crate) struct Ctx<'a> {
    /// The checked network.
    pub net: &'a Net,
    /// The path to the runtime crate, e.g. `::mlp`.
    pub krate: &'a TokenStream,
    /// The scalar type, `f32` or `f64`.
    pub t: TokenStream,
    /// The widths `N_0..N_L`.
    pub widths: Vec<usize>,
    /// The cache's name, `{Name}Cache`.
    pub cache: Ident,
    /// The gradients' name, `{Name}Grads`.
    pub grads: Ident,
}

impl Ctx<'_> {
    /// `#krate::__private`, the runtime's door for generated code.
    pub fn private(&self) -> TokenStream {
        let krate = self.krate;
        quote!(#krate::__private)
    }

    /// The number of layers `L`.
    pub fn layers(&self) -> usize {
        self.net.layers.len()
    }

    /// `[T; N_l]`.
    pub fn vector(&self, l: usize) -> TokenStream {
        let t = &self.t;
        let n = Literal::usize_unsuffixed(self.widths[l]);
        quote!([#t; #n])
    }

    /// `[[T; N_{l−1}]; N_l]`, the shape of `W_l`.
    pub fn matrix(&self, l: usize) -> TokenStream {
        let t = &self.t;
        let n_in = Literal::usize_unsuffixed(self.widths[l - 1]);
        let n_out = Literal::usize_unsuffixed(self.widths[l]);
        quote!([[#t; #n_in]; #n_out])
    }

    /// Where code about layer `l` is located: at the layer's width for error positions, but
    /// resolved at the macro's call site, so that the `self`, `cache` and locals it names
    /// are the ones the macro declares (see [`located`]).
    pub fn span(&self, l: usize) -> Span {
        located(self.net.layers[l - 1].width.span)
    }

    /// As [`Ctx::span`], for the input width.
    pub fn input_span(&self) -> Span {
        located(self.net.input.span)
    }

    /// The value of the activation of layer `l`, e.g. `::mlp::__private::Tanh` or, for an
    /// activation defined in the call, `NetSwish { a: 0.1f32 }`.
    pub fn activation(&self, l: usize) -> TokenStream {
        let krate = self.krate;
        let layer = &self.net.layers[l - 1];
        let span = located(layer.activation_span);
        let p = quote_spanned!(span=> #krate::__private);
        let args = &layer.activation.args;
        match &layer.activation.kind {
            Kind::Builtin(builtin) => match builtin {
                Builtin::Identity => quote_spanned!(span=> #p::Identity),
                Builtin::Tanh => quote_spanned!(span=> #p::Tanh),
                Builtin::Sigmoid => quote_spanned!(span=> #p::Sigmoid),
                Builtin::Relu => quote_spanned!(span=> #p::Relu),
                Builtin::Softplus => quote_spanned!(span=> #p::Softplus),
                Builtin::Gelu => quote_spanned!(span=> #p::Gelu),
                Builtin::LeakyRelu => {
                    let alpha = self.float(args[0]);
                    quote_spanned!(span=> #p::LeakyRelu(#alpha))
                }
            },
            Kind::Custom(custom) => {
                let ty = &custom.type_name;
                if custom.params.is_empty() {
                    quote_spanned!(span=> #ty)
                } else {
                    let names = custom.params.iter().map(|(name, _)| name);
                    let values = args.iter().map(|&v| self.float(v));
                    quote_spanned!(span=> #ty { #(#names: #values),* })
                }
            }
        }
    }

    /// A float constant of the network's scalar type: a suffixed literal, `(-(0.5f32))` for a
    /// negative one, and the type's `INFINITY` or `NAN` for the others.
    pub fn float(&self, value: f64) -> TokenStream {
        let t = &self.t;
        if value.is_nan() {
            return quote!(#t::NAN);
        }
        if value.is_infinite() {
            return if value > 0.0 {
                quote!(#t::INFINITY)
            } else {
                quote!(#t::NEG_INFINITY)
            };
        }
        let magnitude = match self.net.scalar {
            // The model keeps constants in f64; an f32 network rounds them once, here.
            // Validation refuses constants that overflow f32, but a literal must never be
            // made from an infinity (`Literal::f32_suffixed` panics), so this stays total.
            #[allow(clippy::cast_possible_truncation)]
            Scalar::F32 => match value.abs() as f32 {
                rounded if rounded.is_finite() => Literal::f32_suffixed(rounded),
                _ if value > 0.0 => return quote!(#t::INFINITY),
                _ => return quote!(#t::NEG_INFINITY),
            },
            Scalar::F64 => Literal::f64_suffixed(value.abs()),
        };
        if value.is_sign_negative() {
            quote!((-#magnitude))
        } else {
            quote!(#magnitude)
        }
    }
}

/// The lints generated code allows, on the two items that need it (as pin-project's
/// `global_allowed_lints()`):
///
/// - `clippy::large_stack_arrays`: the cache's `Default` (`[0.0; N_l]` per layer) and the
///   Jacobian (`[[0.0; N_0]; N_L]`, and `[0.0; N_l]` locals in `jacobian_into` and `jvp`)
///   are arrays on the stack by design, sized by the widths the user chose; above clippy's
///   16 KiB threshold (784-512-512-10 in f32, any 2048-wide f64 network) the lint would
///   fire at the whole `mlp!` call, where the user can do nothing about it. The heap-backed
///   alternatives are documented on the items (`Boxed` weights, `jacobian_into`).
pub(crate) fn allowed_lints() -> TokenStream {
    quote!(#[allow(clippy::large_stack_arrays)])
}

/// A span that points at the user's token `at` but resolves names as the macro's own code
/// does (`Span::call_site`). A token the user wrote keeps its own span; everything the macro
/// invents (`self`, `cache`, `grads`, locals, field names) gets this one, so that a call from
/// inside a `macro_rules!` wrapper, whose tokens carry the wrapper caller's hygiene, resolves
/// them all in one context, while errors still point at the layer the user wrote.
pub(crate) fn located(at: Span) -> Span {
    Span::call_site().located_at(at)
}

/// Names of the per-layer fields and locals: `w1`, `b1`, `z1`, `h0`, ... (spanned at the
/// layer's width, so that go-to-definition lands on the layer the user wrote).
pub(crate) fn field(prefix: &str, l: usize, span: Span) -> Ident {
    format_ident!("{}{}", prefix, l, span = span)
}

/// Generates every item of a checked network.
pub(crate) fn expand(net: &Net, krate: &TokenStream) -> TokenStream {
    // An explicit `crate: path` is imported once under a private name, and generated code
    // goes through that name: a wrong path is then one error at the path the user wrote
    // (rustc reports no further error for names resolved through a failed import).
    let (import, alias);
    let krate = match &net.krate {
        Some(path) => {
            let name = format_ident!("__mlp_crate_{}", net.ident, span = Span::call_site());
            import = quote!(#[doc(hidden)] use #path as #name;);
            alias = quote!(#name);
            &alias
        }
        None => {
            import = TokenStream::new();
            krate
        }
    };
    let cx = Ctx {
        net,
        krate,
        t: match net.scalar {
            Scalar::F32 => quote!(::core::primitive::f32),
            Scalar::F64 => quote!(::core::primitive::f64),
        },
        widths: net.widths(),
        cache: format_ident!("{}Cache", net.ident),
        grads: format_ident!("{}Grads", net.ident),
    };
    let activations = activation::activations(&cx);
    let structs = structs(&cx);
    let inherent = inherent(&cx);
    let params = parameters_impls(&cx);
    let network = network_impl(&cx);
    let jacobian = jacobian::jacobian(&cx);
    let batch = batch::batch(&cx);
    let items = quote! {
        #import
        #activations
        #structs
        #inherent
        #params
        #network
        #jacobian
        #batch
    };
    attrs::spread(&net.attrs, &net.ident, items)
}

/// The network, cache and gradient structs, with `Default` for the latter two.
fn structs(cx: &Ctx) -> TokenStream {
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
        let span = if l == 0 { cx.input_span() } else { cx.span(l) };
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
        let span = if l == 0 { cx.input_span() } else { cx.span(l) };
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
        let span = if l == 0 { cx.input_span() } else { cx.span(l) };
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
fn zero_fields(cx: &Ctx) -> TokenStream {
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

/// The inherent consts and methods, usable without importing a trait.
fn inherent(cx: &Ctx) -> TokenStream {
    let ident = &cx.net.ident;
    let (input, output) = (cx.widths[0], cx.net.output());
    let layers = cx.layers();
    let params = cx.net.params();
    let zeros = zero_fields(cx);
    let forward = forward::forward(cx);
    let forward_cached = forward::forward_cached(cx);
    let backward = backward::backward(cx);
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
            #sgd_step
        }
    }
}

/// `Parameters` for the network and for its gradients, sharing one `PARAM_INFO`.
fn parameters_impls(cx: &Ctx) -> TokenStream {
    let Ctx { net, t, grads, .. } = cx;
    let ident = &net.ident;
    let p = cx.private();
    let k = cx.krate;
    let mut infos = Vec::new();
    let mut refs = Vec::new();
    let mut muts = Vec::new();
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
        pairs
            .push(quote!(f(&PARAM_INFO[#i], self.#w.as_flattened_mut(), grads.#w.as_flattened());));
        if net.bias {
            let b = field("b", l, span);
            let name = b.to_string();
            let i = infos.len();
            infos.push(quote! {
                #p::ParamInfo { name: #name, layer: #l, kind: #p::ParamKind::Bias, shape: &[#n_out] }
            });
            refs.push(quote!(f(&Self::PARAM_INFO[#i], &self.#b[..]);));
            muts.push(quote!(f(&Self::PARAM_INFO[#i], &mut self.#b[..]);));
            pairs.push(quote!(f(&PARAM_INFO[#i], &mut self.#b[..], &grads.#b[..]);));
        }
    }
    let visit = quote! {
        fn visit(&self, mut f: impl ::core::ops::FnMut(&#p::ParamInfo, &[#t])) {
            #(#refs)*
        }
        fn visit_mut(&mut self, mut f: impl ::core::ops::FnMut(&#p::ParamInfo, &mut [#t])) {
            #(#muts)*
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
                // Compiled for the widest vectors the CPU has, with `f` inlined: an update
                // written as a plain loop vectorises as the generated passes do.
                #p::wide(|| {
                    #(#pairs)*
                })
            }
        }
    }
}

/// `Network`, delegating to the inherent methods.
fn network_impl(cx: &Ctx) -> TokenStream {
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
        let activation = layer.activation.display();
        let bias = net.bias;
        quote!(#p::LayerSpec { fan_in: #fan_in, fan_out: #fan_out, activation: #activation, bias: #bias })
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
            const PARAMS: ::core::primitive::usize = #ident::PARAMS;
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
