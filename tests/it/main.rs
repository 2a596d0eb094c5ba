//! Integration tests, as a user crate writes them: one binary, one module per concern.

mod support;

/// Calls the macro `$tests` with every built-in activation, a `module: activation;` line each,
/// so that each per-activation test module covers the same list.
macro_rules! each_activation {
    ($tests:ident) => {
        $tests! {
            identity: identity;
            tanh: tanh;
            sigmoid: sigmoid;
            relu: relu;
            leaky_relu: leaky_relu(0.1);
            softplus: softplus;
            gelu: gelu;
        }
    };
}

mod api;
mod attributes;
mod batch;
mod custom;
mod exponents;
mod gradients;
mod hygiene;
mod jacobian;
mod operators;
mod operators_pytorch;
mod predict;
mod pytorch;
mod sgd_step;
mod training;
mod variance;
mod wrappers;
