//! The operators against PyTorch's nested autograd in f64 (the committed fixture
//! `tests/fixtures/operators/operators.json`, made by `make_fixture.py` there): the input
//! gradient, Hessian diagonal, Laplacian and a general operator at four points, and the
//! parameter gradients of a PINN-style loss, per sample and batched, to 1e-10.

use crate::support::assert_close;
use mlp::operators::{HessianDiagonal, Jet, Jets, Laplacian, Operator};
use mlp::{mlp, ParamKind, Parameters};
use serde_json::Value;

mlp! {
    /// `Linear(3, 6), Tanh, Linear(6, 5), GELU(tanh), Linear(5, 4), Softplus, Linear(4, 2)`.
    struct Fixture {
        scalar: f64,
        input: 3,
        layers: [6 tanh, 5 gelu, 4 softplus, 2 identity],
        operators: [gradient, hessian_diagonal, laplacian, operator],
    }
}

const TOLERANCE: f64 = 1e-10;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/operators/operators.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("not a number: {other}"),
    }
}

/// The fixture's tensors in `PARAM_INFO` order (`w1, b1, w2, ...`), flattened row-major.
fn tensors(layers: &Value) -> Vec<Vec<f64>> {
    layers
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| [flat(&l["w"]), flat(&l["b"])])
        .collect()
}

fn network(fx: &Value) -> Fixture {
    let mut net = Fixture::zeros();
    let values = tensors(&fx["layers"]);
    let mut k = 0;
    net.visit_mut(|info, p| {
        assert!(matches!(info.kind, ParamKind::Weight | ParamKind::Bias));
        p.copy_from_slice(&values[k]);
        k += 1;
    });
    net
}

fn points(fx: &Value) -> Vec<[f64; 3]> {
    fx["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| flat(p).try_into().unwrap())
        .collect()
}

#[test]
fn operators_match_nested_autograd() {
    let fx = fixture();
    let net = network(&fx);
    let a: [[f64; 3]; 3] = core::array::from_fn(|i| flat(&fx["a"][i]).try_into().unwrap());
    let op = Operator {
        a,
        b: flat(&fx["b"]).try_into().unwrap(),
    };
    for (s, x) in points(&fx).iter().enumerate() {
        let lap = net.laplacian(x);
        let diag = net.hessian_diagonal(x);
        let general = net.operator(x, &op);
        assert_close("y", &lap.value, &flat(&fx["y"][s]), TOLERANCE, 1e-8);
        assert_close(
            "∇y",
            lap.gradient.as_flattened(),
            &flat(&fx["gradient"][s]),
            TOLERANCE,
            1e-8,
        );
        assert_close(
            "diag H",
            diag.second.as_flattened(),
            &flat(&fx["hessian_diagonal"][s]),
            TOLERANCE,
            1e-8,
        );
        assert_close(
            "Δy",
            &lap.second[0],
            &flat(&fx["laplacian"][s]),
            TOLERANCE,
            1e-8,
        );
        assert_close(
            "Ly",
            &general.second[0],
            &flat(&fx["operator"][s]),
            TOLERANCE,
            1e-8,
        );
    }
}

/// `Loss = mean_s (Δy_0 + sin x_0)² + ½ y_1² + 0.3 (∂y_1/∂x_2)² + 0.2 (L y_1)²`, its gradient
/// added into `grads` per sample (`jet_backward`) or per batch (`jets_batch_backward`).
fn loss(
    net: &Fixture,
    xs: &[[f64; 3]],
    op: &Operator<f64, 3>,
    grads: &mut FixtureGrads,
    batched: bool,
) -> f64 {
    let n = xs.len() as f64;
    let mut total = 0.0;
    if batched {
        let mut cache = FixtureJetBatchCache::default();
        let mut seed = Jets::default();
        let jets = net.jets_batch(xs, &Laplacian, &mut cache).clone();
        seed.zeroed(xs.len(), 3, 1);
        for (s, x) in xs.iter().enumerate() {
            let r = jets.second(s, 0, 0) + x[0].sin();
            let (y1, g) = (jets.value(s, 1), jets.gradient(s, 2, 1));
            total += (r * r + 0.5 * y1 * y1 + 0.3 * g * g) / n;
            seed.set_second(s, 0, 0, 2.0 * r / n);
            seed.set_value(s, 1, y1 / n);
            seed.set_gradient(s, 2, 1, 0.6 * g / n);
        }
        net.jets_batch_backward(&Laplacian, &mut cache, &seed, grads)
            .unwrap();
        let jets = net.jets_batch(xs, op, &mut cache).clone();
        seed.zeroed(xs.len(), 3, 1);
        for s in 0..xs.len() {
            let v = jets.second(s, 0, 1);
            total += 0.2 * v * v / n;
            seed.set_second(s, 0, 1, 0.4 * v / n);
        }
        net.jets_batch_backward(op, &mut cache, &seed, grads)
            .unwrap();
    } else {
        for x in xs {
            let mut cache = FixtureJetCache::default();
            let jet = net.jet(x, &Laplacian, &mut cache);
            let r = jet.second[0][0] + x[0].sin();
            let (y1, g) = (jet.value[1], jet.gradient[2][1]);
            total += (r * r + 0.5 * y1 * y1 + 0.3 * g * g) / n;
            let mut seed = Jet::zeros();
            seed.second[0][0] = 2.0 * r / n;
            seed.value[1] = y1 / n;
            seed.gradient[2][1] = 0.6 * g / n;
            net.jet_backward(&Laplacian, &cache, &seed, grads);
            let jet = net.jet(x, op, &mut cache);
            let v = jet.second[0][1];
            total += 0.2 * v * v / n;
            let mut seed = Jet::zeros();
            seed.second[0][1] = 0.4 * v / n;
            net.jet_backward(op, &cache, &seed, grads);
        }
    }
    total
}

#[test]
fn pinn_loss_gradients_match_nested_autograd() {
    let fx = fixture();
    let net = network(&fx);
    let a: [[f64; 3]; 3] = core::array::from_fn(|i| flat(&fx["a"][i]).try_into().unwrap());
    let op = Operator {
        a,
        b: flat(&fx["b"]).try_into().unwrap(),
    };
    let want: Vec<f64> = tensors(&fx["grads"]).concat();
    for batched in [false, true] {
        let mut grads = FixtureGrads::default();
        let value = loss(&net, &points(&fx), &op, &mut grads, batched);
        assert_close(
            "loss",
            &[value],
            &[fx["loss"].as_f64().unwrap()],
            TOLERANCE,
            1e-8,
        );
        let mut got = Vec::new();
        grads.visit(|_, g| got.extend_from_slice(g));
        assert_close("∂Loss/∂θ", &got, &want, TOLERANCE, 1e-8);
    }
    // The fixture checks the diagonal too, through a pass of its own.
    let x = points(&fx)[0];
    let diag = net.jet(&x, &HessianDiagonal, &mut FixtureJetCache::default());
    assert_close(
        "diag H",
        diag.second.as_flattened(),
        &flat(&fx["hessian_diagonal"][0]),
        TOLERANCE,
        1e-8,
    );
}

/// A backward pass needs the pre-activations `jets_batch` keeps: after `jets_batch_predict`,
/// or with a seed of another shape, it fails and leaves the gradients as they were.
#[test]
fn backward_refuses_a_predict_cache_or_a_wrong_seed() {
    let fx = fixture();
    let net = network(&fx);
    let xs = points(&fx);
    let mut cache = FixtureJetBatchCache::default();
    let mut grads = FixtureGrads::default();
    let mut seed = Jets::default();
    let _ = net.jets_batch_predict(&xs, &Laplacian, &mut cache);
    seed.zeroed(xs.len(), 3, 1);
    let err = net
        .jets_batch_backward(&Laplacian, &mut cache, &seed, &mut grads)
        .unwrap_err();
    assert!(
        err.to_string().contains("jets_batch_predict keeps none"),
        "{err}"
    );
    let _ = net.jets_batch(&xs, &Laplacian, &mut cache);
    seed.zeroed(xs.len() - 1, 3, 1);
    let err = net
        .jets_batch_backward(&Laplacian, &mut cache, &seed, &mut grads)
        .unwrap_err();
    assert!(err.to_string().starts_with("jet seed: expected"), "{err}");
    assert_eq!(grads, FixtureGrads::default());
}
