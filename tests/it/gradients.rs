//! Every activation, with and without bias: generated forward against the reference, and
//! generated backward against the reference's explicit Jacobians and central differences.

use crate::support::{
    assert_close, central_difference, random_vector, randomize, Reference, TestRng, F64_TOLERANCE,
    FD_TOLERANCE,
};
use mlp::{mlp, Network, Parameters, Vector};

/// All parameters, flattened in `PARAM_INFO` order.
fn flat<N: Parameters<Scalar = f64>>(net: &N) -> Vec<f64> {
    let mut v = Vec::new();
    net.visit(|_, p| v.extend_from_slice(p));
    v
}

/// Overwrites all parameters from a flat vector.
fn set_flat<N: Parameters<Scalar = f64>>(net: &mut N, v: &[f64]) {
    let mut k = 0;
    net.visit_mut(|_, p| {
        p.copy_from_slice(&v[k..k + p.len()]);
        k += p.len();
    });
}

/// `L = Σ cᵢ yᵢ`, so that `∂L/∂y = c`.
fn loss<N: Network<Scalar = f64>>(net: &N, x: &N::Input, c: &[f64]) -> f64 {
    net.forward(x)
        .as_slice()
        .iter()
        .zip(c)
        .map(|(y, c)| y * c)
        .sum()
}

/// Checks one f64 network thoroughly at a few random points: forward against the reference,
/// backward against the reference's Jacobians, then against central differences.
fn check<N: Network<Scalar = f64>>(seed: u64) {
    let mut rng = TestRng::new(seed);
    for _ in 0..3 {
        let mut net = N::zeros();
        randomize(&mut net, &mut rng, 0.8);
        let x: N::Input = random_vector(&mut rng, 1.5);
        let c: N::Output = random_vector(&mut rng, 1.0);
        let reference = Reference::of(&net);

        let (_, hs) = reference.forward(x.as_slice());
        let y = net.forward(&x);
        assert_close(
            "forward",
            y.as_slice(),
            hs.last().unwrap(),
            F64_TOLERANCE,
            1e-300,
        );

        let mut cache = N::Cache::default();
        net.forward_cached(&x, &mut cache);
        let mut grads = N::Grads::default();
        let dl_dx = net.backward(&cache, &c, &mut grads);
        let (ref_grads, ref_dx) = reference.backward(x.as_slice(), c.as_slice());
        let mut want = Vec::new();
        for (dw, db) in &ref_grads {
            want.extend(dw.iter().flatten());
            if N::PARAM_INFO.iter().any(|p| p.kind == mlp::ParamKind::Bias) {
                want.extend(db);
            }
        }
        assert_close("∂L/∂θ vs Jacobians", &flat(&grads), &want, 1e-10, 1e-12);
        assert_close(
            "∂L/∂x vs Jacobians",
            dl_dx.as_slice(),
            &ref_dx,
            1e-10,
            1e-12,
        );
    }
    check_differences::<N>(seed);
}

/// Checks backward against fourth-order central differences of `L = Σ cᵢ yᵢ`, for every
/// parameter and input, at a few random points; needs no reference implementation.
pub fn check_differences<N: Network<Scalar = f64>>(seed: u64) {
    let mut rng = TestRng::new(seed ^ 0x5EED);
    for _ in 0..3 {
        let mut net = N::zeros();
        randomize(&mut net, &mut rng, 0.8);
        let x: N::Input = random_vector(&mut rng, 1.5);
        let c: N::Output = random_vector(&mut rng, 1.0);
        let mut cache = N::Cache::default();
        let y_cached = net.forward_cached(&x, &mut cache);
        assert_eq!(
            net.forward(&x),
            y_cached,
            "forward and forward_cached differ"
        );
        let mut grads = N::Grads::default();
        let dl_dx = net.backward(&cache, &c, &mut grads);
        let got = flat(&grads);

        let theta = flat(&net);
        let mut probe = net.clone();
        let fd: Vec<f64> = (0..theta.len())
            .map(|k| {
                central_difference(|step| {
                    let mut t = theta.clone();
                    t[k] += step;
                    set_flat(&mut probe, &t);
                    loss(&probe, &x, c.as_slice())
                })
            })
            .collect();
        assert_close("∂L/∂θ vs finite differences", &got, &fd, FD_TOLERANCE, 1e-4);
        let fd_x: Vec<f64> = (0..N::INPUT)
            .map(|j| {
                central_difference(|step| {
                    let mut xs = x;
                    xs.as_mut_slice()[j] += step;
                    loss(&net, &xs, c.as_slice())
                })
            })
            .collect();
        assert_close(
            "∂L/∂x vs finite differences",
            dl_dx.as_slice(),
            &fd_x,
            FD_TOLERANCE,
            1e-4,
        );

        // Backward accumulates: a second call doubles the gradients.
        let _ = net.backward(&cache, &c, &mut grads);
        let twice: Vec<f64> = got.iter().map(|g| 2.0 * g).collect();
        assert_close("accumulation", &flat(&grads), &twice, 1e-15, 1e-300);
    }
}

macro_rules! activation_tests {
    ($($test:ident: $act:ident $(($param:literal))?;)*) => {$(
        mod $test {
            use super::*;

            mlp! {
                struct Biased { scalar: f64, input: 3, layers: [5 $act $(($param))?, 4 $act $(($param))?, 2 identity] }
            }
            mlp! {
                struct Unbiased { scalar: f64, input: 3, layers: [5 $act $(($param))?, 4 $act $(($param))?, 2 $act $(($param))?], bias: false }
            }

            #[test]
            fn with_bias() {
                check::<Biased>(1);
            }

            #[test]
            fn without_bias() {
                check::<Unbiased>(2);
            }
        }
    )*};
}

each_activation!(activation_tests);

mlp! {
    /// Six layers, every activation, in f64.
    struct Mixed {
        scalar: f64,
        input: 4,
        layers: [6 tanh, 5 sigmoid, 7 relu, 5 leaky_relu(0.2), 6 softplus, 3 gelu],
    }
}

#[test]
fn six_mixed_layers() {
    check::<Mixed>(3);
}

mlp! {
    struct Single { scalar: f64, input: 3, layers: [2 identity] }
}

#[test]
fn one_linear_layer() {
    check::<Single>(4);
}

#[test]
fn cache_holds_the_forward_values() {
    let mut rng = TestRng::new(5);
    let mut net = Mixed::zeros();
    randomize(&mut net, &mut rng, 0.8);
    let x: [f64; 4] = random_vector(&mut rng, 1.0);
    let mut cache = MixedCache::default();
    net.forward_cached(&x, &mut cache);
    let (zs, hs) = Reference::of(&net).forward(&x);
    assert_eq!(cache.h0, x);
    assert_close("z1", &cache.z1, &zs[0], F64_TOLERANCE, 1e-300);
    assert_close("h3", &cache.h3, &hs[3], F64_TOLERANCE, 1e-300);
    assert_close("z6", &cache.z6, &zs[5], F64_TOLERANCE, 1e-300);
    assert_close("h6", &cache.h6, &hs[6], F64_TOLERANCE, 1e-300);
}
