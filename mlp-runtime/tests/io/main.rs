//! Tests of `mlp_runtime::io`: safetensors files with PyTorch's tensor names.

mod support;

mod atomic;
mod errors;
mod fuzz;
mod pytorch;
mod roundtrip;
