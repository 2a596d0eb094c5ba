//! `mlp!` in a crate that depends on `mlp-runtime` and `mlp-macros` directly: the macro
//! finds the runtime under its own name.

use mlp_runtime::{Network, Parameters};

mlp_macros::mlp! {
    /// A network declared without the `mlp` facade.
    pub struct Direct { scalar: f64, input: 2, layers: [3 sigmoid, 1 identity] }
}

mlp_macros::mlp! {
    /// A network naming the runtime explicitly with `crate: path`.
    pub struct Explicit { input: 2, layers: [1 tanh], crate: mlp_runtime }
}

#[test]
fn the_runtime_is_found_by_its_own_name() {
    let mut net = Direct::zeros();
    net.b2[0] = 0.25;
    net.w2[0] = [1.0, 2.0, 3.0];
    // Zero first-layer weights give h_1 = sigmoid(0) = 0.5 everywhere.
    assert_eq!(net.forward(&[3.0, -1.0]), [0.25 + 0.5 * (1.0 + 2.0 + 3.0)]);
    assert_eq!(<Direct as Parameters>::num_params(), Direct::PARAMS);
    let mut cache = <Direct as Network>::Cache::default();
    let y = Network::forward_cached(&net, &[0.0, 0.0], &mut cache);
    let mut grads = DirectGrads::default();
    let dx = net.backward(&cache, &y, &mut grads);
    assert_eq!(
        dx,
        [0.0, 0.0],
        "zero first-layer weights pass no gradient to x"
    );
}

#[test]
fn an_explicit_crate_path_wins() {
    let mut net = Explicit::zeros();
    net.w1[0] = [0.5, 0.5];
    assert_eq!(net.forward(&[1.0, 1.0]), [1.0f32.tanh()]);
}
