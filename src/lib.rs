// The README is the crate's documentation; its code blocks run as doctests of `tests/readme`,
// a crate that depends on `mlp` alone, rather than here, where dev-dependencies are in scope.
#![cfg_attr(not(doctest), doc = include_str!("../README.md"))]
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

// Lets `mlp!` refer to `::mlp` inside this crate's own tests, examples and doctests.
extern crate self as mlp;

/// Declares a multi-layer perceptron and derives its forward and backward passes.
///
/// See the [crate documentation](crate) for the grammar and what is generated.
pub use mlp_macros::mlp;

#[doc(inline)]
pub use mlp_runtime::*;

#[cfg(doc)]
pub mod example_generated;
