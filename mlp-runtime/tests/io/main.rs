//! Tests of `mlp_runtime::io`: safetensors files with PyTorch's tensor names.

mod counting;
mod support;

mod atomic;
mod bounds;
mod errors;
mod fuzz;
mod kill;
mod pytorch;
mod roundtrip;
mod save;
