//! The generated API: consts, derives, storage, the trait impls, and f32 networks.

use crate::support::{assert_close, random_vector, randomize, Reference, TestRng, F32_TOLERANCE};
use mlp::{mlp, Network, ParamKind, Parameters};

mlp! {
    /// The XOR network.
    #[derive(Default)]
    pub struct Xor {
        input: 2,
        layers: [8 tanh, 8 tanh, 1 identity],
    }
}

#[test]
fn inherent_consts_need_no_import() {
    assert_eq!(Xor::INPUT, 2);
    assert_eq!(Xor::OUTPUT, 1);
    assert_eq!(Xor::LAYERS, 3);
    assert_eq!(Xor::PARAMS, (2 * 8 + 8) + (8 * 8 + 8) + (8 + 1));
}

#[test]
fn trait_consts_agree_with_inherent_ones() {
    assert_eq!(<Xor as Network>::INPUT, Xor::INPUT);
    assert_eq!(<Xor as Network>::OUTPUT, Xor::OUTPUT);
    assert_eq!(<Xor as Network>::LAYERS, Xor::LAYERS);
    assert_eq!(<Xor as Parameters>::num_params(), Xor::PARAMS);
    let specs = <Xor as Network>::LAYER_SPECS;
    assert_eq!(specs.len(), 3);
    assert_eq!(
        (
            specs[0].fan_in,
            specs[0].fan_out,
            specs[0].activation.name,
            specs[0].bias
        ),
        (2, 8, "tanh", true)
    );
    assert_eq!(
        (specs[2].fan_in, specs[2].fan_out, specs[2].activation.name),
        (8, 1, "identity")
    );
}

#[test]
fn default_scalar_is_f32_and_bias_is_on() {
    let net = Xor::zeros();
    let w: &[[f32; 2]; 8] = &net.w1;
    let b: &[f32; 8] = &net.b1;
    assert_eq!((w.len(), b.len()), (8, 8));
}

#[test]
fn params_are_visited_in_a_fixed_order_with_shapes() {
    let infos = <Xor as Parameters>::PARAM_INFO;
    let names: Vec<_> = infos.iter().map(|p| p.name).collect();
    assert_eq!(names, ["w1", "b1", "w2", "b2", "w3", "b3"]);
    assert_eq!(infos[0].shape, [8, 2]);
    assert_eq!(infos[1].shape, [8]);
    assert_eq!(infos[4].kind, ParamKind::Weight);
    assert_eq!(infos[5].kind, ParamKind::Bias);
    let mut net = Xor::zeros();
    net.w2[3][5] = 7.0;
    net.b3[0] = -1.0;
    let mut seen = Vec::new();
    net.visit(|info, p| seen.push((info.name, p.len(), p.iter().sum::<f32>())));
    assert_eq!(
        seen,
        [
            ("w1", 16, 0.0),
            ("b1", 8, 0.0),
            ("w2", 64, 7.0),
            ("b2", 8, 0.0),
            ("w3", 8, 0.0),
            ("b3", 1, -1.0)
        ]
    );
    // Row-major: w2[3][5] is the 3 * 8 + 5-th scalar of w2.
    net.visit(|info, p| {
        if info.name == "w2" {
            assert_eq!(p[3 * 8 + 5], 7.0);
        }
    });
}

#[test]
fn visit_with_grads_pairs_each_parameter_with_its_gradient() {
    let mut net = Xor::zeros();
    let mut grads = XorGrads::default();
    grads.fill(0.5);
    grads.b2[1] = 2.0;
    net.visit_with_grads(&grads, |_, p, g| {
        p.iter_mut().zip(g).for_each(|(p, g)| *p -= 0.1 * g)
    });
    assert_eq!(net.w1[0][0], -0.05);
    assert_eq!(net.b2[1], -0.2);
}

#[test]
fn derives_clone_debug_partial_eq_and_default() {
    let mut a = Xor::zeros();
    a.w1[0][1] = 1.5;
    let b = a.clone();
    assert_eq!(a, b);
    a.b1[0] = 1.0;
    assert_ne!(a, b);
    assert!(format!("{b:?}").starts_with("Xor { w1: "));
    assert_eq!(Xor::default(), Xor::zeros(), "user attributes pass through");
    let cache = XorCache::default();
    assert_eq!(cache.clone(), cache);
    assert_eq!(cache.h0, [0.0; 2]);
    assert_eq!(cache.z3, [0.0; 1]);
    let grads = XorGrads::default();
    assert_eq!(grads.norm_sq(), 0.0);
    assert!(format!("{grads:?}").starts_with("XorGrads {"));
}

mlp! {
    struct Xor32 { scalar: f32, input: 2, layers: [8 tanh, 8 sigmoid, 1 identity] }
}

#[test]
fn f32_forward_and_backward_match_the_f64_reference() {
    let mut rng = TestRng::new(11);
    let mut net = Xor32::zeros();
    randomize(&mut net, &mut rng, 0.7);
    let x: [f32; 2] = random_vector(&mut rng, 1.0);
    let mut cache = Xor32Cache::default();
    let y = net.forward_cached(&x, &mut cache);
    let reference = Reference::of(&net);
    let x64 = x.map(f64::from);
    let (_, hs) = reference.forward(&x64);
    assert_close(
        "f32 forward",
        &[f64::from(y[0])],
        &hs[3],
        F32_TOLERANCE,
        1e-6,
    );
    let mut grads = Xor32Grads::default();
    let dx = net.backward(&cache, &[1.0], &mut grads);
    let (_, ref_dx) = reference.backward(&x64, &[1.0]);
    assert_close("f32 ∂L/∂x", &dx.map(f64::from), &ref_dx, 1e-4, 1e-4);
}

mlp! {
    /// 1024-1024-1024 in f64: 8 MiB per weight matrix.
    struct Wide { scalar: f64, input: 1024, layers: [1024 tanh, 1024 tanh, 1024 identity] }
}

#[test]
fn large_networks_live_on_the_heap_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let mut net = Wide::zeros();
            net.w1[3][4] = 0.5;
            net.visit_mut(|_, p| {
                p.iter_mut()
                    .enumerate()
                    .for_each(|(k, x)| *x += 1e-4 * ((k % 7) as f64 - 3.0))
            });
            let copy = net.clone();
            assert_eq!(copy, net);
            let mut cache = WideCache::default();
            let mut grads = WideGrads::default();
            let x = [0.1; 1024];
            let y = net.forward_cached(&x, &mut cache);
            let _ = net.backward(&cache, &y, &mut grads);
            let before = net.w2[0][0];
            net.visit_with_grads(&grads, |_, p, g| {
                p.iter_mut().zip(g).for_each(|(p, g)| *p -= 0.01 * g)
            });
            assert_ne!(net.w2[0][0], before, "a training step changes the weights");
            assert_eq!(net.forward(&x), net.forward_cached(&x, &mut cache));
            drop(copy);
            drop(grads);
        })
        .unwrap();
    handle
        .join()
        .expect("a 1024-wide f64 network fits a 2 MiB stack");
}

mlp! {
    /// The one-line arrow form.
    pub struct Arrow = 2 -> 8 tanh -> 8 tanh -> 1 identity;
}

#[test]
fn the_arrow_form_declares_the_same_network() {
    assert_eq!(
        (Arrow::INPUT, Arrow::OUTPUT, Arrow::LAYERS, Arrow::PARAMS),
        (2, 1, 3, Xor::PARAMS)
    );
    assert_eq!(
        <Arrow as Network>::LAYER_SPECS,
        <Xor as Network>::LAYER_SPECS
    );
    let mut arrow = Arrow::zeros();
    let mut xor = Xor::zeros();
    arrow.w1[1][0] = 0.5;
    xor.w1[1][0] = 0.5;
    arrow.b3[0] = 0.25;
    xor.b3[0] = 0.25;
    assert_eq!(arrow.forward(&[1.0, 2.0]), xor.forward(&[1.0, 2.0]));
}
