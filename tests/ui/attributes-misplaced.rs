// Keys take no doc comments or attributes; activations take only docs and lint levels.
mlp::mlp! {
    /// Fine: documents the activation's type.
    #[allow(clippy::suboptimal_flops)]
    #[inline]
    activation soft(z) = z / (1.0 + z.abs());
    /// The network.
    pub struct Net {
        /// The input width.
        input: 2,
        #[cfg(test)]
        layers: [4 soft, 1 identity],
    }
}
fn main() {}
