//! The input-derivative operators (`operators: [...]`) in f64, for every smooth built-in
//! activation and for activations defined in the call: the jets against an explicit Hessian
//! computed by an independent route (second-order forward mode written out below, with
//! textbook `σ''`), against central differences of `forward` and of `jvp`; the batched jets
//! against the per-sample ones; and the parameter gradients of a PINN loss against central
//! differences.

use crate::support::{
    assert_close, central_difference, randomize, rel_err, Reference, TestRng, FD_TOLERANCE,
};
use mlp::activation::ActivationSpec;
use mlp::operators::{Gradient, HessianDiagonal, Jets, Laplacian, Operator};
use mlp::{mlp, Parameters};

/// `σ''(z)` by the textbook formula in `z`, for the reference.
fn sigma_second(spec: &ActivationSpec, z: f64) -> f64 {
    match (spec.name, spec.params) {
        ("identity", []) => 0.0,
        ("tanh", []) => -2.0 * z.tanh() / z.cosh().powi(2),
        ("sigmoid", []) => {
            let s = 1.0 / (1.0 + (-z).exp());
            s * (1.0 - s) * (1.0 - 2.0 * s)
        }
        ("softplus", []) => {
            let s = 1.0 / (1.0 + (-z).exp());
            s * (1.0 - s)
        }
        ("gelu", []) => {
            let c = (2.0 / std::f64::consts::PI).sqrt();
            let u = c * (z + 0.044715 * z.powi(3));
            let du = c * (1.0 + 3.0 * 0.044715 * z * z);
            let ddu = c * 6.0 * 0.044715 * z;
            let sech2 = 1.0 / u.cosh().powi(2);
            sech2 * du + 0.5 * z * (ddu * sech2 - 2.0 * u.tanh() * sech2 * du * du)
        }
        // swish: z σ(z)
        ("swish", []) => {
            let s = 1.0 / (1.0 + (-z).exp());
            let ds = s * (1.0 - s);
            2.0 * ds + z * ds * (1.0 - 2.0 * s)
        }
        // wave(a): sin(a z) + z²/4
        ("wave", &[a]) => -a * a * (a * z).sin() + 0.5,
        _ => panic!("no reference σ'' for {spec}"),
    }
}

/// `σ` and `σ'` for the reference, the custom activations added to the support's.
fn sigma01(spec: &ActivationSpec, z: f64) -> (f64, f64) {
    match (spec.name, spec.params) {
        ("swish", []) => {
            let s = 1.0 / (1.0 + (-z).exp());
            (z * s, s + z * s * (1.0 - s))
        }
        ("wave", &[a]) => ((a * z).sin() + z * z / 4.0, a * (a * z).cos() + z / 2.0),
        _ => (
            crate::support::sigma(spec, z),
            crate::support::sigma_prime(spec, z),
        ),
    }
}

/// The explicit Hessian `H[i][a][b] = ∂²y_i/∂x_a∂x_b` and Jacobian `J[i][a]` by second-order
/// forward mode over the reference: each layer's full Hessian tensor, not a contraction.
/// `y`, `J[i][a]` and `H[i][a][b]` of the reference at one point.
type Explicit = (Vec<f64>, Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>);

fn explicit(reference: &Reference, x: &[f64]) -> Explicit {
    let d = x.len();
    let mut h = x.to_vec();
    let mut jac: Vec<Vec<f64>> = (0..d)
        .map(|i| (0..d).map(|a| f64::from(u8::from(i == a))).collect())
        .collect();
    let mut hess = vec![vec![vec![0.0; d]; d]; d];
    for layer in &reference.layers {
        let n = layer.w.len();
        let (mut h2, mut j2, mut hs2) = (
            vec![0.0; n],
            vec![vec![0.0; d]; n],
            vec![vec![vec![0.0; d]; d]; n],
        );
        for i in 0..n {
            let row = &layer.w[i];
            let z: f64 = row.iter().zip(&h).map(|(w, v)| w * v).sum::<f64>() + layer.b[i];
            let (f, s1) = sigma01(&layer.activation, z);
            let s2 = sigma_second(&layer.activation, z);
            h2[i] = f;
            let jz: Vec<f64> = (0..d)
                .map(|a| row.iter().zip(&jac).map(|(w, j)| w * j[a]).sum())
                .collect();
            for a in 0..d {
                j2[i][a] = s1 * jz[a];
                for b in 0..d {
                    let hz: f64 = row.iter().zip(&hess).map(|(w, hh)| w * hh[a][b]).sum();
                    hs2[i][a][b] = s1 * hz + s2 * jz[a] * jz[b];
                }
            }
        }
        (h, jac, hess) = (h2, j2, hs2);
    }
    (h, jac, hess)
}

/// A second difference `∂²f/∂x_a∂x_b` of a scalar function of the input, `h = 1e-4`.
fn second_difference(f: impl Fn(&[f64; 3]) -> f64, x: &[f64; 3], a: usize, b: usize) -> f64 {
    let h = 1e-4;
    let at = |sa: f64, sb: f64| {
        let mut p = *x;
        p[a] += sa * h;
        p[b] += sb * h;
        f(&p)
    };
    (at(1.0, 1.0) - at(1.0, -1.0) - at(-1.0, 1.0) + at(-1.0, -1.0)) / (4.0 * h * h)
}

macro_rules! operator_tests {
    ($($module:ident: $act:ident $(($($arg:literal),*))?;)*) => {$(
        mod $module {
            use super::*;

            mlp! {
                activation swish(z) = z * sigmoid(z);
                activation wave(z; a = 1.0) = sin(a * z) + z * z / 4.0;
                struct Net {
                    scalar: f64,
                    input: 3,
                    layers: [5 $act $(($($arg),*))?, 4 $act $(($($arg),*))?, 2 identity],
                    operators: [gradient, hessian_diagonal, laplacian, operator],
                }
            }

            #[test]
            fn operators_agree_with_an_explicit_hessian_and_differences() {
                let mut rng = TestRng::new(14);
                let mut net = Net::zeros();
                randomize(&mut net, &mut rng, 0.8);
                let reference = Reference::of(&net);
                let a = [[0.7, 0.2, -0.3], [0.1, -0.4, 0.5], [0.0, 0.6, 1.1]];
                let b = [0.3, -0.2, 0.9];
                let op = Operator { a, b };
                for _ in 0..4 {
                    let x = [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)];
                    let (y, jac, hess) = explicit(&reference, &x);
                    let lap = net.laplacian(&x);
                    let diag = net.hessian_diagonal(&x);
                    let general = net.operator(&x, &op);
                    let grad = net.gradient(&x);
                    assert_close("y", &lap.value, &y, 1e-12, 1e-12);
                    for i in 0..2 {
                        let g: Vec<f64> = (0..3).map(|d| grad.gradient[d][i]).collect();
                        assert_close("∇y vs explicit", &g, &jac[i], 1e-12, 1e-12);
                        let want_lap: f64 = (0..3).map(|d| hess[i][d][d]).sum();
                        assert!(rel_err(lap.second[0][i], want_lap, 1e-12) < 1e-11, "Δy {} vs {want_lap}", lap.second[0][i]);
                        let dg: Vec<f64> = (0..3).map(|d| diag.second[d][i]).collect();
                        let want_dg: Vec<f64> = (0..3).map(|d| hess[i][d][d]).collect();
                        assert_close("diag H vs explicit", &dg, &want_dg, 1e-11, 1e-12);
                        let want_op: f64 = (0..3).map(|p| (0..3).map(|q| a[p][q] * hess[i][p][q]).sum::<f64>() + b[p] * jac[i][p]).sum();
                        assert!(rel_err(general.second[0][i], want_op, 1e-12) < 1e-11, "operator");
                        // Central differences of `forward`.
                        let f = |p: &[f64; 3]| net.forward(p)[i];
                        for d in 0..3 {
                            let fd = central_difference(|s| { let mut p = x; p[d] += s; f(&p) });
                            assert!(rel_err(g[d], fd, 1e-6) < 1e-8, "∇y vs differences");
                            let fd2 = second_difference(f, &x, d, d);
                            assert!(rel_err(dg[d], fd2, 1e-2) < 1e-5, "∂²y/∂x_{d}²: {} vs {fd2}", dg[d]);
                        }
                        // Forward mode over `jvp`: columns of the Hessian by differences of
                        // the directional derivative.
                        for p in 0..3 {
                            for q in 0..3 {
                                let mut e = [0.0; 3];
                                e[p] = 1.0;
                                let fd = central_difference(|s| { let mut xs = x; xs[q] += s; net.jvp(&xs, &e)[i] });
                                assert!(rel_err(hess[i][p][q], fd, 1e-3) < 1e-7, "H via jvp");
                            }
                        }
                    }
                }
            }

            #[test]
            fn batched_jets_match_the_per_sample_ones() {
                let mut rng = TestRng::new(3);
                let mut net = Net::zeros();
                randomize(&mut net, &mut rng, 0.8);
                let xs: Vec<[f64; 3]> = (0..7).map(|_| [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)]).collect();
                let mut cache = NetJetBatchCache::default();
                let jets = net.jets_batch(&xs, &HessianDiagonal, &mut cache).clone();
                for (s, x) in xs.iter().enumerate() {
                    let one = net.hessian_diagonal(x);
                    for i in 0..2 {
                        assert!(rel_err(jets.value(s, i), one.value[i], 1e-12) < 1e-12);
                        for d in 0..3 {
                            assert!(rel_err(jets.gradient(s, d, i), one.gradient[d][i], 1e-12) < 1e-12);
                            assert!(rel_err(jets.second(s, d, i), one.second[d][i], 1e-12) < 1e-12);
                        }
                    }
                }
            }

            /// `Loss = mean_s (Δy_0 + f(x_s))² + mean_s 0.3 |∇y_1|² + mean_s 0.2 (∂²y_1/∂x_0²)²... `
            /// here split in two passes: a Laplacian pass and a Hessian-diagonal pass, each
            /// with value and gradient terms, summed into one gradient.
            fn pinn_loss(net: &Net, xs: &[[f64; 3]], grads: Option<&mut NetGrads>, batched: bool) -> f64 {
                let n = xs.len() as f64;
                let mut loss = 0.0;
                let mut scratch = NetGrads::default();
                let grads = grads.unwrap_or(&mut scratch);
                let mut jcache = NetJetCache::default();
                let mut bcache = NetJetBatchCache::default();
                let mut seed = Jets::default();
                // Laplacian pass: (Δy_0 + sin x_0)² + ½ y_1² + 0.3 (∂y_1/∂x_2)²
                let lap = net.jets_batch(xs, &Laplacian, &mut bcache).clone();
                seed.zeroed(xs.len(), 3, 1);
                for (s, x) in xs.iter().enumerate() {
                    let r = lap.second(s, 0, 0) + x[0].sin();
                    let (y1, g) = (lap.value(s, 1), lap.gradient(s, 2, 1));
                    loss += (r * r + 0.5 * y1 * y1 + 0.3 * g * g) / n;
                    seed.set_second(s, 0, 0, 2.0 * r / n);
                    seed.set_value(s, 1, y1 / n);
                    seed.set_gradient(s, 2, 1, 0.6 * g / n);
                    if !batched {
                        let jet = net.jet(x, &Laplacian, &mut jcache);
                        let mut one = mlp::operators::Jet::zeros();
                        one.second[0][0] = 2.0 * (jet.second[0][0] + x[0].sin()) / n;
                        one.value[1] = jet.value[1] / n;
                        one.gradient[2][1] = 0.6 * jet.gradient[2][1] / n;
                        net.jet_backward(&Laplacian, &jcache, &one, grads);
                    }
                }
                if batched {
                    net.jets_batch_backward(&Laplacian, &mut bcache, &seed, grads).unwrap();
                }
                // Hessian-diagonal pass: 0.2 (∂²y_1/∂x_1²)²
                let diag = net.jets_batch(xs, &HessianDiagonal, &mut bcache).clone();
                seed.zeroed(xs.len(), 3, 3);
                for s in 0..xs.len() {
                    let v = diag.second(s, 1, 1);
                    loss += 0.2 * v * v / n;
                    seed.set_second(s, 1, 1, 0.4 * v / n);
                }
                net.jets_batch_backward(&HessianDiagonal, &mut bcache, &seed, grads).unwrap();
                // A gradient-only pass: 0.1 (∂y_0/∂x_0)²
                let g = net.jets_batch(xs, &Gradient, &mut bcache).clone();
                seed.zeroed(xs.len(), 3, 0);
                for s in 0..xs.len() {
                    let v = g.gradient(s, 0, 0);
                    loss += 0.1 * v * v / n;
                    seed.set_gradient(s, 0, 0, 0.2 * v / n);
                }
                net.jets_batch_backward(&Gradient, &mut bcache, &seed, grads).unwrap();
                loss
            }

            #[test]
            fn pinn_parameter_gradients_agree_with_differences() {
                let mut rng = TestRng::new(21);
                let mut net = Net::zeros();
                randomize(&mut net, &mut rng, 0.8);
                let xs: Vec<[f64; 3]> = (0..5).map(|_| [rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)]).collect();
                for batched in [false, true] {
                    let mut grads = NetGrads::default();
                    pinn_loss(&net, &xs, Some(&mut grads), batched);
                    let mut got = Vec::new();
                    grads.visit(|_, g| got.extend_from_slice(g));
                    let mut theta = Vec::new();
                    net.visit(|_, p| theta.extend_from_slice(p));
                    let fd: Vec<f64> = (0..theta.len())
                        .map(|k| {
                            central_difference(|step| {
                                let mut probe = net.clone();
                                let mut t = theta.clone();
                                t[k] += step;
                                let mut rest = &t[..];
                                probe.visit_mut(|_, p| { let (h, tail) = rest.split_at(p.len()); p.copy_from_slice(h); rest = tail; });
                                pinn_loss(&probe, &xs, None, batched)
                            })
                        })
                        .collect();
                    assert_close("∂Loss/∂θ vs differences", &got, &fd, FD_TOLERANCE, 1e-4);
                }
            }
        }
    )*};
}

operator_tests! {
    identity: identity;
    tanh: tanh;
    sigmoid: sigmoid;
    softplus: softplus;
    gelu: gelu;
    swish: swish;
    wave: wave(1.5);
}
