//! Every Rust block of the README, compiled and run as a doctest of a crate whose only
//! dependency is `mlp`, as a user's crate is. `data` links to the repository's `data/`, so that
//! the README's relative paths hold here.
#![doc = include_str!("../../../README.md")]
