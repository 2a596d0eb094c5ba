//! What `mlp!` emits when the input has errors: the errors, and the items it would have
//! declared, so that the rest of the crate does not fail with follow-on errors.
//!
//! When the keys `input` and `layers` are there, `expand::mlp` expands the partial model
//! instead (each invalid activation replaced by the identity, each invalid width by 1), which
//! declares every item, `forward` and `backward` included. Otherwise this module declares
//! stubs: the network with its consts and `zeros()`, and every companion type
//! (`{Name}Cache`, `{Name}Grads`, `{Name}BatchCache`, `{Name}Frozen`, one per activation
//! defined in the call), with the network's visibility, `#[cfg]` and `#[allow]` attributes.

use crate::custom::COMPANIONS;
use crate::parse::Input;
use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::{Attribute, Ident, Visibility};

/// The names the stubs declare, taken from the syntax.
pub struct Stubs {
    /// `#[cfg]` and `#[allow]` attributes of the network.
    attrs: Vec<Attribute>,
    /// The network's visibility.
    vis: Visibility,
    /// The network's name.
    ident: Ident,
    /// The types of the activations defined in the call.
    activations: Vec<Ident>,
}

impl Stubs {
    /// The stubs of a parsed invocation.
    pub fn of(input: &Input) -> Self {
        let ident = input.net.ident.clone();
        let mut activations: Vec<Ident> = Vec::new();
        for def in &input.activations {
            if let Some(ty) = crate::custom::type_ident(&ident, &def.name) {
                let taken = COMPANIONS
                    .iter()
                    .any(|(suffix, _)| ty == format!("{}{suffix}", ident.unraw()));
                if ty != ident.unraw() && !taken && !activations.contains(&ty) {
                    activations.push(ty);
                }
            }
        }
        Stubs {
            attrs: passed_on(&input.net.attrs),
            vis: input.net.vis.clone(),
            ident,
            activations,
        }
    }

    /// The stubs of an invocation that did not parse: the name after the first top-level
    /// `struct` (if it is an identifier, not a keyword), the visibility before it, and the
    /// `#[cfg]` and `#[allow]` attributes before that.
    fn scan(input: &TokenStream) -> Option<Self> {
        let tokens: Vec<TokenTree> = input.clone().into_iter().collect();
        let at = tokens
            .iter()
            .position(|t| matches!(t, TokenTree::Ident(kw) if kw == "struct"))?;
        let ident = syn::parse2::<Ident>(tokens.get(at + 1)?.clone().into()).ok()?;
        // `pub`, `pub(crate)`, `pub(in path)` just before `struct`.
        let vis = match tokens[..at] {
            [.., TokenTree::Ident(ref p), TokenTree::Group(ref g)]
                if p == "pub" && g.delimiter() == Delimiter::Parenthesis =>
            {
                syn::parse2(quote!(#p #g)).ok()?
            }
            [.., TokenTree::Ident(ref p)] if p == "pub" => syn::parse2(quote!(#p)).ok()?,
            _ => Visibility::Inherited,
        };
        // The attributes of the struct: the `#[...]` pairs after the last `;` before it.
        let start = tokens[..at]
            .iter()
            .rposition(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ';'))
            .map_or(0, |i| i + 1);
        let attrs: TokenStream = tokens[start..at].iter().cloned().collect();
        let attrs = syn::parse::Parser::parse2(Attribute::parse_outer, attrs)
            .or_else(|_| {
                // Visibility tokens follow the attributes; parse up to them.
                let end = tokens[start..at]
                    .iter()
                    .position(|t| matches!(t, TokenTree::Ident(p) if p == "pub"))
                    .map_or(at, |i| start + i);
                let attrs: TokenStream = tokens[start..end].iter().cloned().collect();
                syn::parse::Parser::parse2(Attribute::parse_outer, attrs)
            })
            .unwrap_or_default();
        Some(Stubs {
            attrs: passed_on(&attrs),
            vis,
            ident,
            activations: Vec::new(),
        })
    }
}

/// The network's attributes that also apply to the stubs: `#[cfg]` and `#[allow]`.
fn passed_on(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg") || a.path().is_ident("allow"))
        .cloned()
        .collect()
}

/// The errors of an invocation that did not parse, and stubs if its network's name is found.
pub fn unparsed(input: &TokenStream, err: &syn::Error) -> TokenStream {
    match Stubs::scan(input) {
        Some(stubs) => expand(&stubs, err),
        None => err.to_compile_error(),
    }
}

/// Emits `err` as `compile_error!`s, plus the stubs.
pub fn expand(stubs: &Stubs, err: &syn::Error) -> TokenStream {
    let errors = err.to_compile_error();
    let Stubs {
        attrs,
        vis,
        ident,
        activations,
    } = stubs;
    let attrs = quote!(#(#attrs)* #[allow(dead_code)]);
    let companions = COMPANIONS.iter().map(|(suffix, _)| {
        let name = format_ident!("{}{}", ident, suffix);
        quote! {
            #attrs
            #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::default::Default, ::core::cmp::PartialEq)]
            #vis struct #name;
        }
    });
    let activations = activations.iter().map(|name| {
        quote! {
            #attrs
            #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq)]
            #vis struct #name;
        }
    });
    let frozen = format_ident!("{}Frozen", ident);
    quote! {
        #errors
        #attrs
        #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq)]
        #vis struct #ident;
        #(#companions)*
        #(#activations)*
        #attrs
        impl #ident {
            /// The input width (unknown: the declaration has errors).
            pub const INPUT: ::core::primitive::usize = 0;
            /// The output width (unknown: the declaration has errors).
            pub const OUTPUT: ::core::primitive::usize = 0;
            /// The number of layers (unknown: the declaration has errors).
            pub const LAYERS: ::core::primitive::usize = 0;
            /// The number of parameters (unknown: the declaration has errors).
            pub const PARAMS: ::core::primitive::usize = 0;
            /// A stand-in for the network of zeros.
            #[must_use]
            pub fn zeros() -> Self {
                Self
            }
            /// A stand-in for the frozen copy.
            #[must_use]
            pub fn freeze(&self) -> #frozen {
                #frozen
            }
        }
    }
}
