//! What `mlp!` emits when the input has errors: the errors, and stubs of the types it
//! would have declared, so that the rest of the crate does not fail with follow-on errors.

use proc_macro2::{TokenStream, TokenTree};
use quote::{format_ident, quote};

/// Emits `err` as `compile_error!`s, plus `struct Name;`, `struct NameCache;` and
/// `struct NameGrads;` when the input names a struct.
pub fn expand(input: &TokenStream, err: syn::Error) -> TokenStream {
    let errors = err.to_compile_error();
    let Some((public, name)) = find_struct(input) else {
        return errors;
    };
    let vis = if public {
        quote!(pub)
    } else {
        TokenStream::new()
    };
    let cache = format_ident!("{}Cache", name);
    let grads = format_ident!("{}Grads", name);
    quote! {
        #errors
        #[allow(dead_code)]
        #vis struct #name;
        #[allow(dead_code)]
        #vis struct #cache;
        #[allow(dead_code)]
        #vis struct #grads;
    }
}

/// The identifier after the first top-level `struct`, and whether `pub` came before it.
fn find_struct(input: &TokenStream) -> Option<(bool, proc_macro2::Ident)> {
    let tokens: Vec<TokenTree> = input.clone().into_iter().collect();
    tokens
        .iter()
        .enumerate()
        .find_map(|(i, token)| match (token, tokens.get(i + 1)) {
            (TokenTree::Ident(kw), Some(TokenTree::Ident(name))) if kw == "struct" => {
                let public = tokens[..i]
                    .iter()
                    .any(|t| matches!(t, TokenTree::Ident(p) if p == "pub"));
                Some((public, name.clone()))
            }
            _ => None,
        })
}
