//! A library crate that uses `mlp!` through `mlp-runtime` and `mlp-macros` directly, without
//! the `mlp` facade. Its public networks also prove that generated code is documented and
//! lint-clean: `cargo clippy` checks this crate with `clippy::pedantic` denied.
#![deny(warnings, missing_docs, missing_debug_implementations, unreachable_pub)]
#![deny(clippy::all, clippy::pedantic)]

mlp_macros::mlp! {
    /// Every activation, with biases, in f64.
    pub struct Lint {
        scalar: f64,
        input: 4,
        layers: [6 tanh, 5 sigmoid, 7 relu, 5 leaky_relu(0.2), 6 softplus, 3 gelu, 2 identity],
    }
}

mlp_macros::mlp! {
    /// No biases, in f32.
    pub struct LintNoBias { input: 3, layers: [4 relu, 1 sigmoid], bias: false }
}

/// Networks inside a private module, as a user would also write them.
pub mod nested {
    mlp_macros::mlp! {
        /// A network in a module.
        pub struct Nested { input: 2, layers: [1 identity], crate: mlp_runtime }
    }
}

mlp_macros::mlp! {
    /// A realistic classifier: 784-512-512-10 in f32 (its Jacobian is 31,360 bytes).
    pub struct LintMnist { input: 784, layers: [512 relu, 512 relu, 10 identity] }
}

mlp_macros::mlp! {
    /// A wide f64 network: 2048 inputs, 2048 hidden units, 4 outputs (its Jacobian and
    /// its first layer's gradient are larger than clippy's 16 KiB stack-array threshold).
    pub struct LintWide { scalar: f64, input: 2048, layers: [2048 tanh, 4 identity] }
}

mlp_macros::mlp! {
    /// Wider still: each cached vector of 4,096 f64 is 32 KiB.
    pub struct LintWider { scalar: f64, input: 4, layers: [4096 gelu, 4 identity] }
}

mlp_macros::mlp! {
    activation swish(z) = z * sigmoid(z);
    /// Every input-derivative operator, with a custom activation, in f64.
    pub struct LintOperators {
        scalar: f64,
        input: 3,
        layers: [6 tanh, 5 swish, 1 identity],
        operators: [gradient, hessian_diagonal, laplacian, operator],
    }
}
