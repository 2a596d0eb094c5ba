//! Networks declared with `mlp!` load PyTorch's weights (the committed fixtures in
//! `tests/fixtures/pytorch/`) and reproduce PyTorch's outputs, loss and gradients: 1e-12
//! relative in f64, 1e-6 in f32. Every activation is covered, with and without bias.

#[path = "../fixtures/pytorch/fixture.rs"]
mod fixture;

use fixture::{assert_close, Fixture};
use mlp::{io, mlp, Network, Parameters, Scalar, Vector};

mlp! {
    /// `nn.Sequential(Linear(3, 5), Tanh, Linear(5, 4), Sigmoid, Linear(4, 2), Identity)`.
    struct TanhSigmoid64 { scalar: f64, input: 3, layers: [5 tanh, 4 sigmoid, 2 identity] }
}
mlp! {
    /// The same, in f32.
    struct TanhSigmoid32 { scalar: f32, input: 3, layers: [5 tanh, 4 sigmoid, 2 identity] }
}
mlp! {
    /// ReLU, GELU (tanh), an identity between two layers, Softplus and LeakyReLU(0.1).
    struct Mixed64 {
        scalar: f64,
        input: 4,
        layers: [6 relu, 5 gelu, 5 identity, 4 softplus, 3 leaky_relu(0.1)],
    }
}
mlp! {
    /// The same, in f32.
    struct Mixed32 {
        scalar: f32,
        input: 4,
        layers: [6 relu, 5 gelu, 5 identity, 4 softplus, 3 leaky_relu(0.1)],
    }
}
mlp! {
    /// `nn.Sequential(Linear(2, 3, bias=False), Tanh, Linear(3, 2, bias=False), Sigmoid)`.
    struct NoBias64 { scalar: f64, input: 2, layers: [3 tanh, 2 sigmoid], bias: false }
}
mlp! {
    /// The same, in f32.
    struct NoBias32 { scalar: f32, input: 2, layers: [3 tanh, 2 sigmoid], bias: false }
}

/// Loads the fixture's weights into `N`, runs its batch through `forward_cached` and
/// `backward` with `∂L/∂y = y − t` (the gradient of `L = ½ Σ (y − t)²`), and compares the
/// outputs, the loss, `∂L/∂x` and the batch's `∂L/∂W`, `∂L/∂b` with PyTorch's.
fn reproduce<N: Network>(stem: &str) {
    let fx = Fixture::read(stem);
    let tol = fx.tolerance();
    let mut net = N::zeros();
    io::load(&mut net, fx.weights()).unwrap();

    let to_f64 = |v: &[N::Scalar]| v.iter().map(|x| x.to_f64()).collect::<Vec<f64>>();
    let mut grads = N::Grads::default();
    let (mut outputs, mut grad_inputs, mut loss) = (Vec::new(), Vec::new(), 0.0);
    for (x, t) in fx.inputs.iter().zip(&fx.targets) {
        let x: Vec<N::Scalar> = x.iter().map(|&v| N::Scalar::from_f64(v)).collect();
        let mut cache = N::Cache::default();
        let y = net.forward_cached(
            &N::Input::from_slice(&x).expect("the input width"),
            &mut cache,
        );
        assert_eq!(
            y,
            net.forward(&N::Input::from_slice(&x).unwrap()),
            "forward and forward_cached agree"
        );
        let y = to_f64(y.as_slice());
        let residual: Vec<f64> = y.iter().zip(t).map(|(y, t)| y - t).collect();
        loss += 0.5 * residual.iter().map(|r| r * r).sum::<f64>();
        let dl_dy: Vec<N::Scalar> = residual.iter().map(|&r| N::Scalar::from_f64(r)).collect();
        let dx = net.backward(&cache, &N::Output::from_slice(&dl_dy).unwrap(), &mut grads);
        outputs.push(y);
        grad_inputs.push(to_f64(dx.as_slice()));
    }

    let mut worst = 0.0f64;
    worst = worst.max(assert_close(
        &format!("{stem}: outputs"),
        &outputs.concat(),
        &fx.outputs.concat(),
        tol,
    ));
    worst = worst.max(assert_close(
        &format!("{stem}: loss"),
        &[loss],
        &[fx.loss],
        tol,
    ));
    let (ours, theirs) = (grad_inputs.concat(), fx.grad_inputs.concat());
    worst = worst.max(assert_close(&format!("{stem}: dL/dx"), &ours, &theirs, tol));
    let mut names = Vec::new();
    grads.visit(|info, g| {
        let name = io::tensor_name(info);
        let theirs = fx
            .grads
            .get(&name)
            .unwrap_or_else(|| panic!("{stem}: PyTorch has no tensor `{name}`"));
        worst = worst.max(assert_close(
            &format!("{stem}: dL/d[{name}]"),
            &to_f64(g),
            theirs,
            tol,
        ));
        names.push(name);
    });
    assert_eq!(
        names.len(),
        fx.grads.len(),
        "{stem}: PyTorch's tensors are {:?}, ours {names:?}",
        fx.grads.keys()
    );
    eprintln!(
        "{stem}: largest relative error {worst:.1e} against PyTorch {} (tolerance {tol:e})",
        fx.torch_version
    );
}

#[test]
fn tanh_sigmoid_f64() {
    reproduce::<TanhSigmoid64>("tanh_sigmoid_f64");
}

#[test]
fn tanh_sigmoid_f32() {
    reproduce::<TanhSigmoid32>("tanh_sigmoid_f32");
}

#[test]
fn mixed_activations_f64() {
    reproduce::<Mixed64>("mixed_f64");
}

#[test]
fn mixed_activations_f32() {
    reproduce::<Mixed32>("mixed_f32");
}

#[test]
fn no_bias_f64() {
    reproduce::<NoBias64>("no_bias_f64");
}

#[test]
fn no_bias_f32() {
    reproduce::<NoBias32>("no_bias_f32");
}

#[test]
fn the_names_are_pytorchs() {
    assert_eq!(
        io::tensor_names::<Mixed64>(),
        [
            "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias", "6.weight", "6.bias",
            "8.weight", "8.bias"
        ]
    );
    assert_eq!(io::tensor_names::<NoBias32>(), ["0.weight", "2.weight"]);
}

#[test]
fn saving_a_loaded_network_gives_back_pytorchs_tensors() {
    let fx = Fixture::read("mixed_f32");
    let theirs = std::fs::read(fx.weights()).unwrap();
    let mut net = Mixed32::zeros();
    io::from_bytes(&mut net, &theirs).unwrap();
    let mut again = Mixed32::zeros();
    io::from_bytes(&mut again, &io::to_bytes(&net).unwrap()).unwrap();
    assert_eq!(again, net);
}
