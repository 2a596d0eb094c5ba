//! A crate that uses `mlp!` through `mlp-runtime` and `mlp-macros` directly, without the `mlp` facade.
