//! The fused per-sample `sgd_step` against the unfused path it replaces: `forward_cached`,
//! `backward` into zeroed gradients, then `θ −= lr · ∂L/∂θ` through `visit_with_grads`; and
//! `param_gradient`, which writes the gradients without zeroing them first, against `backward`. Every
//! activation, with and without bias, in `f64` and `f32`, at widths that are and are not
//! multiples of the vector width.

use crate::support::{assert_close, random_vector, randomize, TestRng};
use mlp::{mlp, Network, Parameters, Scalar};

/// The generated inherent `sgd_step`, for generic tests.
trait Step: Network {
    fn sgd_step(&mut self, cache: &Self::Cache, dl_dy: &Self::Output, lr: Self::Scalar);
}

/// All parameters, flattened in `PARAM_INFO` order, in `f64`.
fn flat<N: Parameters>(net: &N) -> Vec<f64> {
    let mut v = Vec::new();
    net.visit(|_, p| v.extend(p.iter().map(|x| x.to_f64())));
    v
}

/// One step both ways from the same random network, sample and `∂L/∂y`: the parameters
/// after it must agree to `tol` in relative error (below `floor`, in absolute error `tol ·
/// floor`), and each tensor must move in the fused step exactly when it moves in the unfused
/// one (a dead ReLU layer moves in neither), so that a step that skips a tensor cannot pass.
fn check<N: Step + Clone>(seed: u64, tol: f64, floor: f64) {
    let mut rng = TestRng::new(seed);
    let mut moved_any = false;
    for _ in 0..4 {
        let mut net = N::zeros();
        randomize(&mut net, &mut rng, 0.8);
        let x: N::Input = random_vector(&mut rng, 1.5);
        let dl_dy: N::Output = random_vector(&mut rng, 1.0);
        let lr = N::Scalar::from_f64(0.05);

        let mut fused = net.clone();
        let mut cache = N::Cache::default();
        fused.forward_cached(&x, &mut cache);
        fused.sgd_step(&cache, &dl_dy, lr);

        let mut unfused = net.clone();
        let mut cache = N::Cache::default();
        unfused.forward_cached(&x, &mut cache);
        let mut grads = N::Grads::default();
        unfused.backward(&cache, &dl_dy, &mut grads);
        // `gradient` writes the same values over whatever the gradients held (NaN here, so
        // that a tensor it skipped cannot pass).
        let mut written = N::Grads::default();
        written.fill(N::Scalar::from_f64(f64::NAN));
        unfused.param_gradient(&cache, &dl_dy, &mut written);
        assert!(
            flat(&written) == flat(&grads),
            "param_gradient differs from backward"
        );
        unfused.visit_with_grads(&grads, |_, p, g| {
            p.iter_mut().zip(g).for_each(|(p, &g)| *p -= lr * g);
        });

        let (before, got, want) = (flat(&net), flat(&fused), flat(&unfused));
        assert_close("θ after, fused vs unfused", &got, &want, tol, floor);
        let mut k = 0;
        net.visit(|info, p| {
            let range = k..k + p.len();
            let moved = |after: &[f64]| after[range.clone()] != before[range.clone()];
            assert_eq!(
                moved(&got),
                moved(&want),
                "{} moved in one step only",
                info.name
            );
            moved_any |= moved(&got);
            k += p.len();
        });
    }
    assert!(moved_any, "no step moved any parameter");
}

macro_rules! step_tests {
    ($($test:ident: $act:ident $(($param:literal))?;)*) => {$(
        mod $test {
            use super::*;

            mlp! {
                struct Wide64 { scalar: f64, input: 7, layers: [33 $act $(($param))?, 5 identity] }
            }
            mlp! {
                struct Narrow64 { scalar: f64, input: 3, layers: [10 $act $(($param))?, 1 $act $(($param))?], bias: false }
            }
            mlp! {
                struct Square32 { scalar: f32, input: 2, layers: [16 $act $(($param))?, 16 $act $(($param))?, 1 identity] }
            }
            mlp! {
                struct Wide32 { scalar: f32, input: 7, layers: [33 $act $(($param))?, 5 $act $(($param))?], bias: false }
            }
            steps!(Wide64, Narrow64, Square32, Wide32);

            #[test]
            fn f64_with_bias() {
                check::<Wide64>(11, 1e-14, 1e-2);
            }

            #[test]
            fn f64_without_bias() {
                check::<Narrow64>(12, 1e-14, 1e-2);
            }

            #[test]
            fn f32_with_bias() {
                check::<Square32>(13, 1e-6, 1e-2);
            }

            #[test]
            fn f32_without_bias() {
                check::<Wide32>(14, 1e-6, 1e-2);
            }
        }
    )*};
}

macro_rules! steps {
    ($($net:ident),*) => {$(
        impl Step for $net {
            fn sgd_step(&mut self, cache: &Self::Cache, dl_dy: &Self::Output, lr: Self::Scalar) {
                $net::sgd_step(self, cache, dl_dy, lr)
            }
        }
    )*};
}

each_activation!(step_tests);

#[test]
fn the_step_is_the_documented_update() {
    mlp! {
        struct One { input: 1, layers: [1 identity] }
    }
    // y = w x + b, dl_dy = g: w −= lr g x, b −= lr g.
    let mut net = One::zeros();
    net.w1[0][0] = 0.5;
    net.b1[0] = 0.25;
    let mut cache = OneCache::default();
    net.forward_cached(&[2.0], &mut cache);
    net.sgd_step(&cache, &[4.0], 0.125);
    assert_eq!(net.w1[0][0], 0.5 - 0.125 * 4.0 * 2.0);
    assert_eq!(net.b1[0], 0.25 - 0.125 * 4.0);
}
