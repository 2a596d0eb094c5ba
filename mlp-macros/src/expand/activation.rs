//! The activations defined in the call: a type each, implementing the runtime's `Activation`
//! with the derived `σ` and `σ'` as straight-line code, each shared subexpression once.

use super::Ctx;
use crate::model::{Custom, Reads};
use crate::symbolic::{Func, Graph, Id, Node};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

/// The types of every activation defined in the call.
pub fn activations(cx: &Ctx) -> TokenStream {
    cx.net
        .customs
        .iter()
        .map(|custom| activation(cx, custom))
        .collect()
}

/// `struct {Net}{Name}` and its `Activation` impl.
fn activation(cx: &Ctx, custom: &Custom) -> TokenStream {
    let t = &cx.t;
    let p = cx.private();
    let k = cx.krate;
    let vis = &cx.net.vis;
    let ty = &custom.type_name;
    let name = syn::ext::IdentExt::unraw(&custom.name).to_string();
    let derived = &custom.derived;
    let (f_text, df_text) = derived.formulas();
    let doc = format!(
        " The activation `{name}` of [`{}`], differentiated by `mlp!`:\n\n```text\nσ(z)  = {f_text}\nσ'(z) = {df_text}\n```\n\n\
         where `h = σ(z)`{}.",
        cx.net.ident,
        if custom.params.is_empty() { "" } else { " and the fields are its constant parameters" }
    );
    let fields = custom.params.iter().map(|(param, default)| {
        let doc = match default {
            Some(value) => format!(" The parameter `{param}` (default {value:?})."),
            None => format!(" The parameter `{param}`."),
        };
        quote!(#[doc = #doc] pub #param: #t,)
    });
    let item = if custom.params.is_empty() {
        quote!(#vis struct #ty;)
    } else {
        quote!(#vis struct #ty { #(#fields)* })
    };
    let reads = match derived.reads() {
        Reads::Nothing => quote!(Nothing),
        Reads::Input => quote!(Input),
        Reads::Output => quote!(Output),
    };
    let graph = &derived.graph;
    let (z, h) = (format_ident!("__z"), format_ident!("__h"));
    let param = |i: usize| {
        let name = &custom.params[i].0;
        quote!(self.#name)
    };
    let f_body = body(cx, graph, derived.f, &param, &z, &h);
    let df_body = body(cx, graph, derived.df, &param, &z, &h);
    let z_df = if graph.reads(derived.df, Node::Var) {
        z.clone()
    } else {
        format_ident!("_")
    };
    let h_df = if graph.reads(derived.df, Node::Out) {
        h.clone()
    } else {
        format_ident!("_")
    };
    let z_f = if graph.reads(derived.f, Node::Var) {
        z
    } else {
        format_ident!("_")
    };
    // The user's doc comments come first, then the derivation; lint levels cover both items.
    let user = &custom.docs;
    let lints: Vec<_> = user.iter().filter(|a| !a.path().is_ident("doc")).collect();
    let separator = user
        .iter()
        .any(|a| a.path().is_ident("doc"))
        .then(|| quote!(#[doc = ""]));
    quote! {
        #(#user)*
        #separator
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq)]
        #item

        #(#lints)*
        #[automatically_derived]
        impl #p::Activation<#t> for #ty {
            const NAME: &'static str = #name;
            // The public path, which the generated docs show.
            const DERIVATIVE_READS: #k::DerivativeReads = #k::DerivativeReads::#reads;
            #[inline(always)]
            fn f(&self, #z_f: #t) -> #t {
                #f_body
            }
            #[inline(always)]
            fn df(&self, #z_df: #t, #h_df: #t) -> #t {
                #df_body
            }
        }
    }
}

/// `let __tK = ...;` for every inner node of `root`, children first, then the root; `param(i)`
/// is the value of the `i`-th parameter.
pub(crate) fn body(
    cx: &Ctx,
    graph: &Graph,
    root: Id,
    param: &dyn Fn(usize) -> TokenStream,
    z: &Ident,
    h: &Ident,
) -> TokenStream {
    let t = &cx.t;
    let p = cx.private();
    let name = |id: Id| format_ident!("__t{}", id);
    let operand = |id: Id| -> TokenStream {
        match graph.node(id) {
            Node::Const(bits) => cx.float(f64::from_bits(bits)),
            Node::Var => quote!(#z),
            Node::Out => quote!(#h),
            Node::Param(i) => param(i),
            _ => {
                let local = name(id);
                quote!(#local)
            }
        }
    };
    let mut lets = Vec::new();
    for id in graph.topological(root) {
        let o = |k: Id| operand(k);
        let value = match graph.node(id) {
            Node::Const(_) | Node::Var | Node::Out | Node::Param(_) => continue,
            Node::Add(a, b) => {
                let (a, b) = (o(a), o(b));
                quote!(#a + #b)
            }
            Node::Sub(a, b) => {
                let (a, b) = (o(a), o(b));
                quote!(#a - #b)
            }
            Node::Mul(a, b) => {
                let (a, b) = (o(a), o(b));
                quote!(#a * #b)
            }
            Node::Div(a, b) => {
                let (a, b) = (o(a), o(b));
                quote!(#a / #b)
            }
            Node::Powi(a, n) => {
                let a = o(a);
                quote!(<#t as #p::Scalar>::powi(#a, #n))
            }
            Node::Powf(a, b) => {
                let (a, b) = (o(a), o(b));
                quote!(<#t as #p::Scalar>::powf(#a, #b))
            }
            Node::Max(a, b) => {
                let (a, b) = (o(a), o(b));
                quote!(<#t as #p::Scalar>::max(#a, #b))
            }
            Node::Min(a, b) => {
                let (a, b) = (o(a), o(b));
                quote!(<#t as #p::Scalar>::min(#a, #b))
            }
            Node::Select { a, b, t: then, e } => {
                let (a, b, then, e) = (o(a), o(b), o(then), o(e));
                quote!(if #a > #b { #then } else { #e })
            }
            Node::Unary(func, a) => {
                let a = o(a);
                match func {
                    Func::Neg => quote!(-#a),
                    // The runtime's vectorisable math, as the built-in activations use.
                    Func::Exp => quote!(#p::math::exp(#a)),
                    Func::Tanh => quote!(#p::math::tanh(#a)),
                    Func::Sigmoid => quote!(#p::math::logistic(#a)),
                    Func::Sign => quote!(#p::sign(#a)),
                    other => {
                        let method = format_ident!("{}", other.name());
                        quote!(<#t as #p::Scalar>::#method(#a))
                    }
                }
            }
        };
        let local = name(id);
        lets.push(quote!(let #local: #t = #value;));
    }
    let result = operand(root);
    quote!(#(#lets)* #result)
}
