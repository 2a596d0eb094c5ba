//! Finds the path through which generated code reaches the runtime.

use proc_macro2::{Span, TokenStream};
use proc_macro_crate::{crate_name, FoundCrate};
use quote::{quote, ToTokens};
use syn::{Ident, Path};

/// The path to the runtime: an explicit `crate: path` wins; otherwise the `mlp` facade if the
/// calling crate depends on it (under any name), then `mlp-runtime`.
pub fn krate(explicit: Option<&Path>, span: Span) -> syn::Result<TokenStream> {
    if let Some(path) = explicit {
        return Ok(path.to_token_stream());
    }
    let found = |name: &str, itself: TokenStream| {
        crate_name(name).ok().and_then(|found| match found {
            FoundCrate::Itself => Some(itself),
            // Validated before it becomes an identifier (`format_ident!` would panic on a
            // name that is not one); a keyword is written raw.
            FoundCrate::Name(name) => syn::parse_str::<Ident>(&name)
                .or_else(|_| syn::parse_str::<Ident>(&format!("r#{name}")))
                .ok()
                .map(|ident| quote!(::#ident)),
        })
    };
    found("mlp", quote!(::mlp))
        .or_else(|| found("mlp-runtime", quote!(::mlp_runtime)))
        .ok_or_else(|| {
            syn::Error::new(
                span,
                "cannot find the `mlp` crate: add `mlp` (or `mlp-runtime` and `mlp-macros`) to \
             [dependencies], or name its path with `crate: path::to::mlp`",
            )
        })
}
