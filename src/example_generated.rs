//! What `mlp!` generates, on a real network: this module exists only in the documentation
//! (it is compiled under `cfg(doc)`), so that the generated items can be read here, each with
//! its derivation in this network's dimensions. It is the expansion of
//!
//! ```text
//! mlp! {
//!     activation leaky(z; a = 0.1) = max(z, a * z);
//!     /// Learns XOR: 2 inputs, a tanh layer and a leaky layer of 8 units, 1 linear output.
//!     pub struct Xor { input: 2, layers: [8 tanh, 8 leaky(0.2), 1 identity] }
//! }
//! ```
//!
//! - [`Xor`]: the weights `w1..w3` and biases `b1..b3`, with `forward`, `forward_cached`,
//!   `backward`, the batched methods and the Jacobian, each documented with its equations;
//! - [`XorCache`]: the forward values `z_l`, `h_l` that `backward` reads;
//! - [`XorGrads`]: the gradients, shaped as the parameters;
//! - [`XorBatchCache`]: the same for the batched path;
//! - [`XorFrozen`]: the input-major copy `Xor::freeze` returns, for one-sample inference;
//! - [`XorLeaky`]: the activation `leaky`, with `σ` and `σ'` derived by the macro.

crate::mlp! {
    activation leaky(z; a = 0.1) = max(z, a * z);
    /// Learns XOR: 2 inputs, a tanh layer and a leaky layer of 8 units, 1 linear output.
    pub struct Xor { input: 2, layers: [8 tanh, 8 leaky(0.2), 1 identity] }
}
