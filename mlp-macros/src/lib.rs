//! The `mlp!` procedural macro. Use it through the [`mlp`](https://docs.rs/mlp) crate.

mod custom;
mod errors;
mod expand;
mod fallback;
mod krate;
mod kw;
mod literal;
mod model;
mod operators;
mod parse;
mod suggest;
mod symbolic;
mod valid;

/// Declares a multi-layer perceptron and derives its forward and backward passes.
///
/// See the `mlp` crate for the grammar and what is generated.
#[proc_macro]
pub fn mlp(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand::mlp(input.into()).into()
}
