//! The compile-fail tests of `mlp!` are this package's `compiletest` test
//! (`tests/compiletest.rs` over `tests/ui/*.rs`).
