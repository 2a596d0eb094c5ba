//! The keywords of the `mlp!` grammar.

syn::custom_keyword!(activation);
