//! Nothing: see `benches/compare.rs`.
