//! The error collector: every semantic mistake is reported, all at once.

use proc_macro2::Span;
use quote::ToTokens;

/// Collects errors so that all of them are reported together (serde's `Ctxt`).
#[must_use = "call `Errors::finish` to report the collected errors"]
#[derive(Default)]
pub struct Errors {
    errors: Option<syn::Error>,
}

impl Errors {
    /// Records an error at `span`.
    pub fn error(&mut self, span: Span, message: impl std::fmt::Display) {
        let error = syn::Error::new(span, message);
        match &mut self.errors {
            Some(errors) => errors.combine(error),
            None => self.errors = Some(error),
        }
    }

    /// Records an error spanning `tokens`, e.g. a minus sign and the literal after it.
    pub fn error_spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        let error = syn::Error::new_spanned(tokens, message);
        match &mut self.errors {
            Some(errors) => errors.combine(error),
            None => self.errors = Some(error),
        }
    }

    /// Returns the combined errors, if any.
    pub fn finish(self) -> syn::Result<()> {
        self.errors.map_or(Ok(()), Err)
    }
}
