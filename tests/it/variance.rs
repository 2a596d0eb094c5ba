//! Variance diagnostics: the probe's per-sample values against the reference and central
//! differences, the pooled moments against a naive computation, and the initialisation
//! analysis's predictions, measured on deep `tanh` networks.

// Loops run over the layer index `l`, as the formulas do, and read several arrays with it.
#![allow(clippy::needless_range_loop)]

use crate::support::{
    assert_close, central_difference, random_vector, randomize, Reference, TestRng, F64_TOLERANCE,
};
use mlp::diagnostics::{variances, DiagnosticsError, Moments, Prediction, Probe};
use mlp::init::Init;
use mlp::{mlp, LayerValues, Network, Vector};

// ---------------------------------------------------------------------------------------------
// The probe reads the exact values out of forward_cached and backward.
// ---------------------------------------------------------------------------------------------

mlp! {
    /// Every smooth activation, in f64.
    struct Mixed { scalar: f64, input: 3, layers: [5 tanh, 4 sigmoid, 6 gelu, 3 softplus, 2 identity], bias: true }
}

mlp! {
    /// A small f32 network.
    struct Small32 { scalar: f32, input: 3, layers: [6 tanh, 4 relu, 2 identity], bias: true }
}

mlp! {
    /// Without biases, δ is read from ∂L/∂W and the cached input of each layer.
    struct NoBias { scalar: f64, input: 3, layers: [5 tanh, 4 sigmoid, 6 gelu, 3 softplus, 2 identity], bias: false }
}

/// `L = Σ cᵢ yᵢ` from layer `from` on: the reference forward of `h` through layers
/// `from + 1 ..= L`, so that its derivative in `h` is `∂L/∂h_from`.
fn loss_from(reference: &Reference, from: usize, h: &[f64], c: &[f64]) -> f64 {
    let mut h = h.to_vec();
    for layer in &reference.layers[from..] {
        h = layer
            .w
            .iter()
            .zip(&layer.b)
            .map(|(row, b)| {
                let z = row.iter().zip(&h).map(|(w, x)| w * x).sum::<f64>() + b;
                crate::support::sigma(&layer.activation, z)
            })
            .collect();
    }
    h.iter().zip(c).map(|(y, c)| y * c).sum()
}

#[test]
fn probe_reads_the_reference_values() {
    probe_matches_reference::<Mixed>(11);
}

#[test]
fn probe_reads_networks_without_bias() {
    probe_matches_reference::<NoBias>(14);
}

/// The probe's trace of random samples against the reference and central differences.
fn probe_matches_reference<N: Network<Scalar = f64>>(seed: u64)
where
    N::Cache: LayerValues<Scalar = f64>,
{
    let mut rng = TestRng::new(seed);
    for _ in 0..4 {
        let mut net = N::zeros();
        randomize(&mut net, &mut rng, 0.9);
        let x: N::Input = random_vector(&mut rng, 1.5);
        let c: N::Output = random_vector(&mut rng, 1.0);
        let (x_s, c_s) = (x.as_slice().to_vec(), c.as_slice().to_vec());
        let reference = Reference::of(&net);
        let (zs, hs) = reference.forward(&x_s);
        let (grads, dl_dx) = reference.backward(&x_s, &c_s);

        let mut probe = Probe::new(&net).unwrap();
        let trace = probe.run(&x, |_| c).unwrap();
        let layers = N::LAYERS;
        assert_eq!(trace.h.len(), layers + 1);
        assert!(trace.z[0].is_empty() && trace.dl_dz[0].is_empty() && trace.dl_dw[0].is_empty());
        for l in 0..=layers {
            assert_close(
                &format!("h_{l}"),
                &trace.h[l],
                &hs[l],
                F64_TOLERANCE,
                1e-300,
            );
        }
        for l in 1..=layers {
            let (dw, db) = &grads[l - 1];
            assert_close(
                &format!("z_{l}"),
                &trace.z[l],
                &zs[l - 1],
                F64_TOLERANCE,
                1e-12,
            );
            assert_close(&format!("δ_{l}"), &trace.dl_dz[l], db, F64_TOLERANCE, 1e-12);
            let dw: Vec<f64> = dw.iter().flatten().copied().collect();
            assert_close(
                &format!("∂L/∂W_{l}"),
                &trace.dl_dw[l],
                &dw,
                F64_TOLERANCE,
                1e-12,
            );
        }
        // ∂L/∂h_l by the reference's chain rule: W_{l+1}ᵀ δ_{l+1}, and the ends.
        assert_close("∂L/∂h_0", &trace.dl_dh[0], &dl_dx, F64_TOLERANCE, 1e-12);
        assert_close("∂L/∂h_L", &trace.dl_dh[layers], &c_s, 0.0, 1e-300);
        for l in 1..layers {
            let (_, delta) = &grads[l];
            let w = &reference.layers[l].w;
            let want: Vec<f64> = (0..hs[l].len())
                .map(|j| w.iter().zip(delta).map(|(row, d)| row[j] * d).sum())
                .collect();
            assert_close(
                &format!("∂L/∂h_{l}"),
                &trace.dl_dh[l],
                &want,
                F64_TOLERANCE,
                1e-12,
            );
        }
        // ∂L/∂h_l by central differences through the rest of the network.
        for l in 0..=layers {
            let fd: Vec<f64> = (0..hs[l].len())
                .map(|j| {
                    central_difference(|step| {
                        let mut h = hs[l].clone();
                        h[j] += step;
                        loss_from(&reference, l, &h, &c_s)
                    })
                })
                .collect();
            assert_close(
                &format!("∂L/∂h_{l} vs finite differences"),
                &trace.dl_dh[l],
                &fd,
                1e-7,
                1e-4,
            );
        }
    }
}

#[test]
fn probe_reads_f32_networks() {
    let mut rng = TestRng::new(12);
    let mut net = Small32::zeros();
    randomize(&mut net, &mut rng, 0.8);
    let x: [f32; 3] = random_vector(&mut rng, 1.0);
    let c = [0.7f32, -1.3];
    let reference = Reference::of(&net);
    let (zs, hs) = reference.forward(&x.map(f64::from));
    let mut probe = Probe::new(&net).unwrap();
    let trace = probe.run(&x, |_| c).unwrap().clone();
    // f32 rounding: a few units of 2⁻²⁴ relative, summed over at most 6 terms.
    for l in 0..=Small32::LAYERS {
        assert_close(&format!("h_{l}"), &trace.h[l], &hs[l], 1e-5, 1e-6);
    }
    for l in 1..=Small32::LAYERS {
        assert_close(&format!("z_{l}"), &trace.z[l], &zs[l - 1], 1e-5, 1e-6);
    }
    // The per-sample gradients are the network's own.
    let mut grads = <Small32 as Network>::Grads::default();
    let mut cache = <Small32 as Network>::Cache::default();
    net.forward_cached(&x, &mut cache);
    net.backward(&cache, &c, &mut grads);
    assert_eq!(probe.grads(), &grads);
}

#[test]
fn probe_errors_name_the_layer_and_sample() {
    let mut net = Mixed::zeros();
    randomize(&mut net, &mut TestRng::new(13), 0.5);
    assert_eq!(
        variances(&net, &[], |_, _| [1.0, 1.0]).unwrap_err(),
        DiagnosticsError::EmptyBatch
    );
    // Without bias, δ_1 is read from ∂L/∂W_1 = δ_1 xᵀ: the second sample's x = 0 hides it.
    let mut net = NoBias::zeros();
    randomize(&mut net, &mut TestRng::new(13), 0.5);
    let inputs = [[0.1, 0.2, 0.3], [0.0, 0.0, 0.0]];
    let err = variances(&net, &inputs, |_, _| [1.0, 1.0]).unwrap_err();
    assert_eq!(
        err,
        DiagnosticsError::ZeroInput {
            sample: 1,
            layer: 1,
            width: 3
        }
    );
    assert_eq!(
        err.to_string(),
        "sample 1: layer 1 has no bias and h_0 is zero in all 3 units, so ∂L/∂z_1 cannot be recovered from ∂L/∂W_1"
    );
}

#[test]
fn moments_merge_like_one_pass() {
    let values: Vec<f64> = (0..100).map(|i| 1e6 + (i as f64).sin()).collect();
    let naive_mean = values.iter().sum::<f64>() / 100.0;
    let naive_var = values.iter().map(|v| (v - naive_mean).powi(2)).sum::<f64>() / 100.0;
    let mut merged = Moments::new();
    for chunk in values.chunks(7) {
        merged.extend(chunk);
    }
    assert_eq!(merged.count(), 100);
    assert_close("mean", &[merged.mean()], &[naive_mean], 1e-15, 0.0);
    // The offset 1e6 would cancel about 12 digits in Σv² − n·mean²; Chan's update keeps ~1e-9.
    assert_close("variance", &[merged.variance()], &[naive_var], 1e-9, 0.0);
    assert_eq!(Moments::of(&[1.0, 2.0, 3.0, 4.0]).variance(), 1.25);
    assert_eq!(Moments::new().variance(), 0.0);
}

#[test]
fn variances_pool_the_reference_values() {
    let mut rng = TestRng::new(14);
    let mut net = Mixed::zeros();
    randomize(&mut net, &mut rng, 0.9);
    let inputs: Vec<[f64; 3]> = (0..9).map(|_| random_vector(&mut rng, 1.0)).collect();
    let cs: Vec<[f64; 2]> = (0..9).map(|_| random_vector(&mut rng, 1.0)).collect();
    let v = variances(&net, &inputs, |i, _| cs[i]).unwrap();
    assert_eq!(v.samples, 9);

    // Naive pooled population variances over every sample and unit, from the reference.
    let reference = Reference::of(&net);
    let var = |xs: &[f64]| {
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64
    };
    let layers = Mixed::LAYERS;
    let (mut z, mut h, mut dz, mut dw) = (
        vec![vec![]; layers + 1],
        vec![vec![]; layers + 1],
        vec![vec![]; layers + 1],
        vec![vec![]; layers + 1],
    );
    for (x, c) in inputs.iter().zip(&cs) {
        let (zs, hs) = reference.forward(x);
        let (grads, _) = reference.backward(x, c);
        for l in 0..=layers {
            h[l].extend(&hs[l]);
        }
        for l in 1..=layers {
            z[l].extend(&zs[l - 1]);
            dz[l].extend(&grads[l - 1].1);
            dw[l].extend(grads[l - 1].0.iter().flatten());
        }
    }
    for l in 0..=layers {
        let m = &v.layers[l];
        assert_eq!(
            (m.layer, m.width),
            (
                l,
                if l == 0 {
                    3
                } else {
                    Mixed::LAYER_SPECS[l - 1].fan_out
                }
            )
        );
        assert_eq!(m.h.count(), 9 * m.width as u64);
        assert_close(
            &format!("Var h_{l}"),
            &[m.h.variance()],
            &[var(&h[l])],
            1e-11,
            0.0,
        );
        if l > 0 {
            assert_close(
                &format!("Var z_{l}"),
                &[m.z.variance()],
                &[var(&z[l])],
                1e-11,
                0.0,
            );
            assert_close(
                &format!("Var δ_{l}"),
                &[m.dl_dz.variance()],
                &[var(&dz[l])],
                1e-11,
                0.0,
            );
            assert_close(
                &format!("Var ∂L/∂W_{l}"),
                &[m.dl_dw.variance()],
                &[var(&dw[l])],
                1e-11,
                0.0,
            );
        } else {
            assert_eq!((m.z.count(), m.dl_dz.count(), m.dl_dw.count()), (0, 0, 0));
        }
    }
    let ratios = v.forward_ratios();
    assert_eq!(ratios[0], 1.0);
    assert_close(
        "ratio",
        &[ratios[2]],
        &[var(&h[2]) / var(&h[0])],
        1e-11,
        0.0,
    );
}

// ---------------------------------------------------------------------------------------------
// The analysis, measured.
//
// With zero-mean i.i.d. weights, zero biases and `tanh` in its linear regime, the analysis says
// Var[h_l]/Var[x] = Π_{k≤l} N_{k−1} Var[W_k] and Var[∂L/∂h_l]/Var[∂L/∂y] = Π_{k>l} N_k Var[W_k].
//
// Tolerances. Conditional on the batch, let Σ be the second-moment matrix of h_{k−1} over the
// B samples, and ρ = tr(Σ²)/(tr Σ)². With W_k Gaussian of variance s², the pooled
// Var[z_k] = tr(W_k Σ W_kᵀ)/N_k has mean s² tr Σ and relative variance 2ρ/N_k (each row gives a
// quadratic form wᵀΣw of variance 2s⁴ tr Σ²). So the ratio at layer l is a product of
// independent-mean-one gains, and its relative variance is Σ_{k≤l} 2ρ_{k−1}/N_k. Since
// E tr(Σ_k²) = N_k (tr Σ)² s⁴ + N_k(N_k+1) s⁴ tr Σ², ρ grows as ρ_k ≈ ρ_{k−1} + 1/N_k, from
// ρ_0 ≈ 1/N_0 + 1/B for B i.i.d. inputs. The backward pass is the same with Wᵀ, from
// ρ_L ≈ 1/N_L + 1/B for i.i.d. ∂L/∂y. (A simulation of 1000 linear networks of these shapes
// matches the formula's standard deviations to within 5%.) Averaging the ratios over S seeds
// divides the standard deviation by √S; we allow 5 of them, which a normal variable exceeds
// with probability 6e-7, leaving room for the skew of a product of chi-squares.
//
// Bias. tanh² z ≥ z² − ⅔z⁴, so for Gaussian z Var[tanh z] ≥ Var[z](1 − 2 Var[z]); likewise
// E[(1 − h²)²] ≥ 1 − 2 Var[h]. Each layer lowers the ratios by at most 2 Var[z_k], and we add
// Σ_k 2 Var[z_k] over the layers a ratio passes through. With Var[x] = 1e-6 this stays below
// 1e-3, tiny next to the noise, as the linear regime intends.
// ---------------------------------------------------------------------------------------------

mlp! {
    /// Eight tanh layers of equal width.
    struct Equal {
        scalar: f64,
        input: 64,
        layers: [64 tanh, 64 tanh, 64 tanh, 64 tanh, 64 tanh, 64 tanh, 64 tanh, 64 tanh],
        bias: true,
    }
}

mlp! {
    /// Eight tanh layers whose width alternates, so that fan-in and fan-out differ by 4×.
    struct Changing {
        scalar: f64,
        input: 32,
        layers: [128 tanh, 32 tanh, 128 tanh, 32 tanh, 128 tanh, 32 tanh, 128 tanh, 32 tanh],
        bias: true,
    }
}

/// The input variance: deep in the linear regime of tanh.
const VAR_X: f64 = 1e-6;
/// Samples per network.
const BATCH: usize = 16;
/// Networks (seeds) per initialisation.
const SEEDS: u64 = 16;

/// The ratios of one initialisation, averaged over `SEEDS` networks.
struct Measured {
    forward: Vec<f64>,
    backward: Vec<f64>,
}

fn measure<N: Network<Scalar = f64>>(init: Init, seed: u64) -> Measured
where
    N::Cache: LayerValues<Scalar = f64>,
{
    let layers = N::LAYERS;
    let (mut forward, mut backward) = (vec![0.0; layers + 1], vec![0.0; layers + 1]);
    for s in 0..SEEDS {
        let mut net = N::zeros();
        init.init(&mut net, seed * 1000 + s);
        let mut rng = TestRng::new(seed * 1000 + s);
        // Uniform on ±a has variance a²/3.
        let inputs: Vec<N::Input> = (0..BATCH)
            .map(|_| random_vector(&mut rng, (3.0 * VAR_X).sqrt()))
            .collect();
        let dl_dy: Vec<N::Output> = (0..BATCH)
            .map(|_| random_vector(&mut rng, 3f64.sqrt()))
            .collect();
        let v = variances(&net, &inputs, |i, _| dl_dy[i]).unwrap();
        for (sum, r) in forward.iter_mut().zip(v.forward_ratios()) {
            *sum += r / SEEDS as f64;
        }
        for (sum, r) in backward.iter_mut().zip(v.backward_ratios()) {
            *sum += r / SEEDS as f64;
        }
    }
    Measured { forward, backward }
}

/// `N_0, …, N_L`.
fn widths<N: Network>() -> Vec<usize> {
    std::iter::once(N::INPUT)
        .chain(N::LAYER_SPECS.iter().map(|s| s.fan_out))
        .collect()
}

/// The analysis's products, written out from the widths and the scheme's `Var W`.
fn predicted(n: &[usize], var_w: impl Fn(f64, f64) -> f64) -> (Vec<f64>, Vec<f64>) {
    let gain_in = |k: usize| n[k - 1] as f64 * var_w(n[k - 1] as f64, n[k] as f64);
    let gain_out = |k: usize| n[k] as f64 * var_w(n[k - 1] as f64, n[k] as f64);
    let l_max = n.len() - 1;
    let forward = (0..=l_max)
        .map(|l| (1..=l).map(gain_in).product())
        .collect();
    let backward = (0..=l_max)
        .map(|l| (l + 1..=l_max).map(gain_out).product())
        .collect();
    (forward, backward)
}

/// The allowed relative error of the seed-averaged ratios at each layer, as derived above.
fn tolerances(n: &[usize], forward_pred: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let b = BATCH as f64;
    let l_max = n.len() - 1;
    let inv = |k: usize| 1.0 / n[k] as f64;
    let var_z = |k: usize| VAR_X * forward_pred[k];
    let sds = 5.0 / (SEEDS as f64).sqrt();

    let mut forward = vec![0.0; l_max + 1];
    let (mut rho, mut rel_var, mut bias) = (1.0 / b + inv(0), 0.0, 0.0);
    for k in 1..=l_max {
        rel_var += 2.0 * rho * inv(k);
        rho += inv(k);
        bias += 2.0 * var_z(k);
        forward[k] = sds * f64::sqrt(rel_var) + bias;
    }
    let mut backward = vec![0.0; l_max + 1];
    let (mut rho, mut rel_var, mut bias) = (1.0 / b + inv(l_max), 0.0, 0.0);
    for k in (1..=l_max).rev() {
        rel_var += 2.0 * rho * inv(k - 1);
        rho += inv(k - 1);
        bias += 2.0 * var_z(k);
        backward[k - 1] = sds * f64::sqrt(rel_var) + bias;
    }
    (forward, backward)
}

/// Asserts that the measured ratios match the products within the derived tolerances, and
/// returns the tolerances.
#[track_caller]
fn assert_matches_analysis(
    what: &str,
    n: &[usize],
    m: &Measured,
    init: Init,
) -> (Vec<f64>, Vec<f64>) {
    let (fwd, bwd) = predicted(n, |n_in, n_out| match init.scale {
        mlp::init::Scale::LeCun => 1.0 / n_in,
        mlp::init::Scale::FanOut => 1.0 / n_out,
        mlp::init::Scale::Xavier => 2.0 / (n_in + n_out),
        mlp::init::Scale::He => 2.0 / n_in,
        mlp::init::Scale::Std(s) => s * s,
    });
    let (tol_f, tol_b) = tolerances(n, &fwd);
    for l in 0..n.len() {
        for (dir, got, want, tol) in [
            ("forward", m.forward[l], fwd[l], tol_f[l]),
            ("backward", m.backward[l], bwd[l], tol_b[l]),
        ] {
            let err = (got / want - 1.0).abs();
            assert!(
                err <= tol.max(1e-12),
                "{what}, {dir} ratio at layer {l}: measured {got:e}, predicted {want:e}, relative error {err:.3} > {tol:.3}"
            );
        }
    }
    (tol_f, tol_b)
}

#[test]
fn prediction_is_the_product_of_the_layer_gains() {
    let n = widths::<Changing>();
    for init in [
        Init::LECUN_NORMAL,
        Init::FAN_OUT_NORMAL,
        Init::XAVIER_NORMAL,
        Init::HE_NORMAL,
        Init::normal(0.01),
    ] {
        let p = Prediction::new(&init, <Changing as Network>::LAYER_SPECS);
        let (fwd, bwd) = predicted(&n, |a, b| init.variance(a as usize, b as usize));
        assert_close("forward", &p.forward, &fwd, 1e-14, 0.0);
        assert_close("backward", &p.backward, &bwd, 1e-14, 0.0);
    }
    // Telescoping: LeCun's gradients scale as N_L/N_l, fan-out's activations as N_0/N_l.
    let lecun = Prediction::new(&Init::LECUN_NORMAL, <Changing as Network>::LAYER_SPECS);
    let fan_out = Prediction::new(&Init::FAN_OUT_NORMAL, <Changing as Network>::LAYER_SPECS);
    for l in 0..n.len() {
        assert_close("LeCun forward", &[lecun.forward[l]], &[1.0], 1e-14, 0.0);
        assert_close(
            "LeCun backward",
            &[lecun.backward[l]],
            &[32.0 / n[l] as f64],
            1e-14,
            0.0,
        );
        assert_close(
            "fan-out forward",
            &[fan_out.forward[l]],
            &[32.0 / n[l] as f64],
            1e-14,
            0.0,
        );
        assert_close(
            "fan-out backward",
            &[fan_out.backward[l]],
            &[1.0],
            1e-14,
            0.0,
        );
    }
}

#[test]
fn equal_widths_lecun_and_xavier_keep_the_variance_and_fixed_scales_do_not() {
    let n = widths::<Equal>();
    let l_max = n.len() - 1;
    for (k, (name, init)) in [
        ("LeCun", Init::LECUN_NORMAL),
        ("Xavier", Init::XAVIER_NORMAL),
    ]
    .into_iter()
    .enumerate()
    {
        let m = measure::<Equal>(init, 1 + k as u64);
        // The prediction is 1 at every layer, so the band is the tolerance itself: at most
        // ±0.23 at layer 8 (5 · 0.182 / √16, plus a bias below 2e-5).
        let (tol_f, tol_b) = assert_matches_analysis(name, &n, &m, init);
        assert!(
            tol_f[l_max] < 0.25 && tol_b[0] < 0.25,
            "band {tol_f:?} {tol_b:?}"
        );
    }
    // N(0, 1): each layer multiplies Var by N = 64 until tanh saturates at Var[h] ≈ 1, which
    // is 1e6 times Var[x].
    let m = measure::<Equal>(Init::normal(1.0), 3);
    assert!(
        m.forward[1] > 32.0 && m.forward[l_max] > 1e5,
        "{:?}",
        m.forward
    );
    // N(0, 0.01²): each layer multiplies Var by 64 · 1e-4, 6.4e-3⁸ ≈ 2.8e-18 after 8.
    let m = measure::<Equal>(Init::normal(0.01), 4);
    assert_matches_analysis("N(0, 0.01²)", &n, &m, Init::normal(0.01));
    assert!(m.forward[l_max] < 1e-16, "{:?}", m.forward);
}

#[test]
fn changing_widths_lecun_keeps_activations_and_fan_out_keeps_gradients() {
    let n = widths::<Changing>();
    let wide: Vec<usize> = (0..n.len()).filter(|&l| n[l] == 128).collect();
    assert_eq!(wide, [1, 3, 5, 7]);

    // LeCun: forward ratio 1 everywhere; backward N_L/N_l = 1/4 at the wide layers, below
    // the band 1 ± tolerance.
    let m = measure::<Changing>(Init::LECUN_NORMAL, 5);
    let (tol_f, tol_b) = assert_matches_analysis("LeCun", &n, &m, Init::LECUN_NORMAL);
    for &l in &wide {
        assert!((m.forward[l] - 1.0).abs() <= tol_f[l]);
        assert!(
            m.backward[l] < 1.0 - tol_b[l],
            "LeCun backward at {l}: {:?}",
            m.backward
        );
    }

    // Fan-out: the reverse.
    let m = measure::<Changing>(Init::FAN_OUT_NORMAL, 6);
    let (tol_f, tol_b) = assert_matches_analysis("fan-out", &n, &m, Init::FAN_OUT_NORMAL);
    for &l in &wide {
        assert!((m.backward[l] - 1.0).abs() <= tol_b[l]);
        assert!(
            m.forward[l] < 1.0 - tol_f[l],
            "fan-out forward at {l}: {:?}",
            m.forward
        );
    }
}

#[test]
fn changing_widths_xavier_he_and_small_normal_follow_the_products() {
    let n = widths::<Changing>();
    for (k, (name, init)) in [
        ("Xavier", Init::XAVIER_NORMAL),
        ("He", Init::HE_NORMAL),
        ("N(0, 0.01²)", Init::normal(0.01)),
    ]
    .into_iter()
    .enumerate()
    {
        let m = measure::<Changing>(init, 7 + k as u64);
        assert_matches_analysis(name, &n, &m, init);
    }
}
