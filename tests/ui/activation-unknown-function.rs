// A call of a function outside the supported set is rejected at the call, with a suggestion.
mlp::mlp! {
    activation soft(z) = z / (1.0 + z.abz()) + erf(z);
    pub struct Net { input: 2, layers: [4 soft, 1 identity] }
}
fn main() {}
