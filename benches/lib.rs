//! The benchmarks of mlp live in this package's `[[bench]]` targets (`single.rs`,
//! `batched.rs`, `gemm.rs`); run them with `cargo bench -p mlp-benches --bench NAME`.
