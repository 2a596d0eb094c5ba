//! The keywords of the `mlp!` grammar, and the keys a declaration accepts.

/// The keys a network declaration accepts.
pub const KEYS: &[&str] = &["scalar", "input", "layers", "bias", "crate", "operators"];

syn::custom_keyword!(activation);
