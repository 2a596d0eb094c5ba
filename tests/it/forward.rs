use mlp::mlp;

mlp! {
    /// The XOR network.
    pub struct Xor {
        scalar: f64,
        input: 2,
        layers: [8 tanh, 8 tanh, 1 identity],
        bias: true,
    }
}

#[test]
fn builds() {
    let net = Xor::zeros();
    assert_eq!(net.forward(&[1.0, 0.0]), [0.0]);
}
