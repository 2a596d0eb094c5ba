//! PyTorch's own files load, under the names and shapes PyTorch gives them, and the loaded
//! hand-written networks reproduce PyTorch's outputs and gradients.

#[path = "../../../tests/fixtures/pytorch/fixture.rs"]
mod fixture;

use crate::support::{chain, NoBias, Small};
use fixture::{assert_close, Fixture};
use mlp_runtime::io::{self, DecodeError, Dtype};
use mlp_runtime::{Network, Parameters, Scalar, Vector};

/// Loads the fixture's weights into `N`, runs its batch through `forward_cached` and
/// `backward` with `∂L/∂y = y − t`, and compares everything with PyTorch.
fn reproduce<N: Network>(stem: &str) {
    let fx = Fixture::read(stem);
    let tol = fx.tolerance();
    let mut net = N::zeros();
    io::load(&mut net, fx.weights()).unwrap();

    let mut grads = N::Grads::default();
    let mut loss = 0.0;
    let (mut outputs, mut grad_inputs) = (Vec::new(), Vec::new());
    for x in &fx.inputs {
        let x: Vec<N::Scalar> = x.iter().map(|&v| N::Scalar::from_f64(v)).collect();
        let x = N::Input::from_slice(&x).expect("the fixture's input width");
        let mut cache = N::Cache::default();
        let y = net.forward_cached(&x, &mut cache);
        let y: Vec<f64> = y.as_slice().iter().map(|v| v.to_f64()).collect();
        let residual: Vec<f64> = y
            .iter()
            .zip(&fx.targets[outputs.len()])
            .map(|(y, t)| y - t)
            .collect();
        outputs.push(y);
        loss += 0.5 * residual.iter().map(|r| r * r).sum::<f64>();
        let dl_dy: Vec<N::Scalar> = residual.iter().map(|&r| N::Scalar::from_f64(r)).collect();
        let dx = net.backward(&cache, &N::Output::from_slice(&dl_dy).unwrap(), &mut grads);
        grad_inputs.push(dx.as_slice().iter().map(|v| v.to_f64()).collect::<Vec<_>>());
    }
    let mut worst = 0.0f64;
    worst = worst.max(assert_close(
        &format!("{stem}: outputs"),
        &outputs.concat(),
        &fx.outputs.concat(),
        tol,
    ));
    worst = worst.max(assert_close(
        &format!("{stem}: grad_inputs"),
        &grad_inputs.concat(),
        &fx.grad_inputs.concat(),
        tol,
    ));
    worst = worst.max(assert_close(
        &format!("{stem}: loss"),
        &[loss],
        &[fx.loss],
        tol,
    ));

    let mut seen = Vec::new();
    grads.visit(|info, g| {
        let name = io::tensor_name(info);
        let g: Vec<f64> = g.iter().map(|v| v.to_f64()).collect();
        worst = worst.max(assert_close(
            &format!("{stem}: grads[{name}]"),
            &g,
            &fx.grads[&name],
            tol,
        ));
        seen.push(name);
    });
    let mut expected: Vec<&String> = fx.grads.keys().collect();
    expected.sort();
    seen.sort();
    assert_eq!(
        seen.iter().collect::<Vec<_>>(),
        expected,
        "{stem}: every PyTorch parameter has a gradient"
    );
    eprintln!(
        "{stem}: largest relative error {worst:.1e} against PyTorch {} (tolerance {tol:e})",
        fx.torch_version
    );
}

#[test]
fn tanh_sigmoid_f64_matches_pytorch() {
    reproduce::<Small<f64>>("tanh_sigmoid_f64");
}

#[test]
fn tanh_sigmoid_f32_matches_pytorch() {
    reproduce::<Small<f32>>("tanh_sigmoid_f32");
}

#[test]
fn no_bias_f64_matches_pytorch() {
    reproduce::<NoBias<f64>>("no_bias_f64");
}

#[test]
fn no_bias_f32_matches_pytorch() {
    reproduce::<NoBias<f32>>("no_bias_f32");
}

#[test]
fn a_pytorch_f32_file_does_not_load_into_an_f64_network() {
    let fx = Fixture::read("tanh_sigmoid_f32");
    let mut net = Small::<f64>::zeros();
    let err = io::load(&mut net, fx.weights()).unwrap_err();
    assert!(matches!(
        err.decode_error(),
        Some(DecodeError::Mismatch { name, expected_dtype: Dtype::F64, found_dtype: Dtype::F32, .. }) if name == "0.weight"
    ));
    assert_eq!(net, Small::zeros());
}

#[test]
fn a_pytorch_file_of_another_shape_does_not_load() {
    let fx = Fixture::read("mixed_f64");
    let mut net = Small::<f64>::zeros();
    let err = io::load(&mut net, fx.weights()).unwrap_err();
    let message = chain(&err);
    assert!(
        message.contains("tensor `0.weight` is F64 [6, 4], expected F64 [5, 3]"),
        "{message}"
    );
}

#[test]
fn our_file_has_the_same_tensors_as_pytorchs() {
    // Same names, dtypes, shapes and values as the file PyTorch wrote for the same weights.
    let fx = Fixture::read("tanh_sigmoid_f64");
    let theirs = std::fs::read(fx.weights()).unwrap();
    let mut net = Small::<f64>::zeros();
    io::from_bytes(&mut net, &theirs).unwrap();
    let ours = io::to_bytes(&net).unwrap();
    let (ours, theirs) = (
        safetensors::SafeTensors::deserialize(&ours).unwrap(),
        safetensors::SafeTensors::deserialize(&theirs).unwrap(),
    );
    let mut names = ours.names();
    names.sort_unstable();
    let mut their_names = theirs.names();
    their_names.sort_unstable();
    assert_eq!(names, their_names);
    for name in names {
        let (a, b) = (ours.tensor(name).unwrap(), theirs.tensor(name).unwrap());
        assert_eq!(
            (a.dtype(), a.shape(), a.data()),
            (b.dtype(), b.shape(), b.data()),
            "{name}"
        );
    }
}
