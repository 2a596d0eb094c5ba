//! Code generation from the checked model: the driver ([`mlp`], [`expand`]) and what every
//! generator shares ([`Ctx`]). The structs are generated in `structs`, the inherent and trait
//! impls in `impls`, the passes in `forward` and `backward`, their docs in `docs`.

mod activation;
mod attrs;
mod backward;
mod batch;
mod docs;
mod forward;
mod frozen;
mod impls;
mod jacobian;
mod operators;
mod structs;
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

    /// Where code about layer `l` is located: at the layer's width (the input width for
    /// `l = 0`) for error positions, but resolved at the macro's call site, so that the
    /// `self`, `cache` and locals it names are the ones the macro declares (see [`located`]).
    pub fn span(&self, l: usize) -> Span {
        located(match l.checked_sub(1) {
            Some(i) => self.net.layers[i].width.span,
            None => self.net.input.span,
        })
    }

    /// The input of layer `l` as the argument of its kernel call: `first` for layer 1, else a
    /// reference to the local `{prefix}{l−1}` that holds the previous layer's output.
    pub fn layer_input(&self, l: usize, first: TokenStream, prefix: &str) -> TokenStream {
        if l == 1 {
            first
        } else {
            let prev = field(prefix, l - 1, self.span(l - 1));
            quote!(&#prev)
        }
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
            Kind::Builtin(Builtin::LeakyRelu) => {
                let alpha = self.float(args[0]);
                quote_spanned!(span=> #p::LeakyRelu(#alpha))
            }
            Kind::Builtin(builtin) => {
                let ty = Ident::new(builtin.type_name(), span);
                quote_spanned!(span=> #p::#ty)
            }
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
    let structs = structs::structs(&cx);
    let inherent = impls::inherent(&cx);
    let params = impls::parameters_impls(&cx);
    let network = impls::network_impl(&cx);
    let jacobian = jacobian::jacobian(&cx);
    let batch = batch::batch(&cx);
    let operators = operators::operators(&cx);
    let items = quote! {
        #import
        #activations
        #structs
        #inherent
        #params
        #network
        #jacobian
        #batch
        #operators
    };
    attrs::spread(&net.attrs, &net.ident, items)
}
