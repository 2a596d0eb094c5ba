//! The network's attributes that reach every generated item, not only the struct:
//!
//! - `#[cfg(...)]` gates every item (the cache, gradients, batch cache, frozen copy,
//!   activation types and every impl), so that a gated network leaves nothing behind;
//! - `#[allow(...)]` (and `#[expect(...)]`, as `allow`) covers the companions, so that
//!   `#[allow(non_camel_case_types)]` on `struct my_net` also covers `my_netCache`;
//! - `#[deprecated]` stays on the struct alone, and every other item gets
//!   `#[allow(deprecated)]`, so that the user sees one warning where they name the struct,
//!   none from generated code.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{parse_quote, Attribute, Ident, Item};

/// The attributes to add to every generated item but the network's struct.
struct Spread {
    attrs: Vec<Attribute>,
}

impl Spread {
    /// What the network's attributes spread, or `None` if nothing.
    fn of(attrs: &[Attribute]) -> Option<Self> {
        let mut spread = Vec::new();
        for attr in attrs {
            let path = attr.path();
            if path.is_ident("cfg") || path.is_ident("allow") {
                spread.push(attr.clone());
            } else if path.is_ident("expect") {
                // An expectation the companions do not meet would warn: they only allow.
                if let syn::Meta::List(list) = &attr.meta {
                    let lints = &list.tokens;
                    spread.push(parse_quote!(#[allow(#lints)]));
                }
            } else if path.is_ident("deprecated") {
                spread.push(parse_quote!(#[allow(deprecated)]));
            }
        }
        (!spread.is_empty()).then_some(Spread { attrs: spread })
    }

    /// `items` with the attributes added to each item except the struct `net`, and inside
    /// item-producing macro calls (the runtime's `if_batch!`), which get the `#[cfg]`s too.
    fn apply(&self, items: Vec<Item>, net: &Ident) -> Vec<Item> {
        items
            .into_iter()
            .map(|mut item| {
                match &mut item {
                    Item::Struct(s) if s.ident == *net => {}
                    Item::Macro(m) => {
                        if let Ok(file) = syn::parse2::<syn::File>(m.mac.tokens.clone()) {
                            let inner = self.apply(file.items, net);
                            m.mac.tokens = quote!(#(#inner)*);
                        }
                        let cfgs = self.attrs.iter().filter(|a| a.path().is_ident("cfg"));
                        m.attrs.splice(0..0, cfgs.cloned());
                    }
                    other => {
                        if let Some(attrs) = item_attrs(other) {
                            attrs.splice(0..0, self.attrs.iter().cloned());
                        }
                    }
                }
                item
            })
            .collect()
    }
}

/// The attribute list of the kinds of item `mlp!` generates.
fn item_attrs(item: &mut Item) -> Option<&mut Vec<Attribute>> {
    Some(match item {
        Item::Struct(i) => &mut i.attrs,
        Item::Impl(i) => &mut i.attrs,
        Item::Use(i) => &mut i.attrs,
        Item::Const(i) => &mut i.attrs,
        Item::Enum(i) => &mut i.attrs,
        Item::Fn(i) => &mut i.attrs,
        _ => return None,
    })
}

/// The expansion `tokens` of the network `net` with its attributes spread as the module
/// says; unchanged (not even re-parsed) when the network has none of them.
pub fn spread(attrs: &[Attribute], net: &Ident, tokens: TokenStream) -> TokenStream {
    let Some(spread) = Spread::of(attrs) else {
        return tokens;
    };
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => {
            let items = spread.apply(file.items, net);
            quote!(#(#items)*)
        }
        // Generated code always parses; should it not, it is better emitted as it is.
        Err(_) => tokens.into_token_stream(),
    }
}
