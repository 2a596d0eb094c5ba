//! Initialisation: realised moments against the formulas, with bounds derived from the sample
//! size; seeding; and the exact stream, recomputed from the ChaCha and PCG specifications.

use crate::support::{flat, Classifier, Wide, Wide32};
use mlp_runtime::init::{Distribution, Init, Scale};
use mlp_runtime::{ParamKind, Parameters};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// `Var W` from the formulas of each scheme, written out again here.
fn expected_variance(scale: Scale, fan_in: f64, fan_out: f64) -> f64 {
    match scale {
        Scale::LeCun => 1.0 / fan_in,
        Scale::FanOut => 1.0 / fan_out,
        Scale::Xavier => 2.0 / (fan_in + fan_out),
        Scale::He => 2.0 / fan_in,
        Scale::Std(s) => s * s,
    }
}

const ALL: [Init; 10] = [
    Init::LECUN_NORMAL,
    Init::LECUN_UNIFORM,
    Init::FAN_OUT_NORMAL,
    Init::FAN_OUT_UNIFORM,
    Init::XAVIER_NORMAL,
    Init::XAVIER_UNIFORM,
    Init::HE_NORMAL,
    Init::HE_UNIFORM,
    Init::normal(0.05),
    Init {
        scale: Scale::Std(0.05),
        distribution: Distribution::Uniform,
    },
];

/// Checks one tensor's draws against `Normal(0, σ²)` or `Uniform(±√3 σ)`, each statistic
/// within six standard deviations of its sampling distribution:
/// - the mean, whose standard deviation is `σ/√n`;
/// - the second moment about the true mean 0, an unbiased estimate of `σ²` whose variance is
///   `(μ₄ − σ⁴)/n`, with `μ₄ = 3σ⁴` (normal) or `9σ⁴/5` (uniform);
/// - the fraction within `σ` of 0, binomial with `p = 0.6827` (normal) or `1/√3` (uniform).
fn check_moments(w: &[f64], var: f64, distribution: Distribution, what: &str) {
    let n = w.len() as f64;
    let sigma = var.sqrt();
    let mean = w.iter().sum::<f64>() / n;
    assert!(mean.abs() <= 6.0 * sigma / n.sqrt(), "{what}: mean {mean}");
    let m2 = w.iter().map(|x| x * x).sum::<f64>() / n;
    let (mu4, p) = match distribution {
        Distribution::Normal => (3.0 * var * var, 0.682_689_492_137_086),
        Distribution::Uniform => (1.8 * var * var, 1.0 / 3f64.sqrt()),
    };
    let sd_m2 = ((mu4 - var * var) / n).sqrt();
    assert!(
        (m2 - var).abs() <= 6.0 * sd_m2,
        "{what}: variance {m2}, expected {var} ± {}",
        6.0 * sd_m2
    );
    let within = w.iter().filter(|x| x.abs() < sigma).count() as f64 / n;
    let sd_p = (p * (1.0 - p) / n).sqrt();
    assert!(
        (within - p).abs() <= 6.0 * sd_p,
        "{what}: fraction within σ {within}, expected {p}"
    );
    if distribution == Distribution::Uniform {
        let a = (3.0 * var).sqrt();
        let max = w.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        // P(max < 0.999 a) = 0.999ⁿ, below 1e-14 for n ≥ 32768.
        assert!(
            max <= a && max >= 0.999 * a,
            "{what}: max |w| {max}, bound {a}"
        );
    }
}

#[test]
fn realised_variances_match_the_formulas() {
    let mut net = Wide::zeros();
    for (i, init) in ALL.iter().enumerate() {
        net.fill(1.0);
        init.init(&mut net, 100 + i as u64);
        net.visit(|info, p| match info.kind {
            ParamKind::Bias => assert!(
                p.iter().all(|&b| b == 0.0),
                "{init:?}: bias {} not zero",
                info.name
            ),
            ParamKind::Weight => {
                let (fan_out, fan_in) = (info.shape[0] as f64, info.shape[1] as f64);
                let var = expected_variance(init.scale, fan_in, fan_out);
                assert_eq!(init.variance(info.shape[1], info.shape[0]), var);
                check_moments(
                    p,
                    var,
                    init.distribution,
                    &format!("{init:?} {}", info.name),
                );
            }
        });
    }
}

#[test]
fn the_same_seed_gives_the_same_weights() {
    let (mut a, mut b) = (Wide::zeros(), Wide::zeros());
    for init in ALL {
        init.init(&mut a, 42);
        init.init(&mut b, 42);
        assert!(a == b, "{init:?}: same seed, different weights");
        init.init(&mut b, 43);
        let (fa, fb) = (flat(&a), flat(&b));
        let same = fa
            .iter()
            .zip(&fb)
            .filter(|(x, y)| x == y && **x != 0.0)
            .count();
        assert_eq!(same, 0, "{init:?}: seeds 42 and 43 share weights");
    }
}

#[test]
fn f32_weights_are_the_f64_draws_rounded() {
    let (mut a, mut b) = (Wide::zeros(), Wide32::zeros());
    for init in [Init::HE_NORMAL, Init::XAVIER_UNIFORM] {
        init.init(&mut a, 7);
        init.init(&mut b, 7);
        let expected: Vec<f32> = flat(&a).iter().map(|&x| x as f32).collect();
        let mut got = Vec::new();
        b.visit(|_, p| got.extend_from_slice(p));
        assert_eq!(got, expected);
    }
}

/// The ChaCha block function with `rounds` rounds (RFC 8439 §2.3), 64-bit block counter in
/// words 12–13 and 64-bit stream in words 14–15, as the reference for `ChaCha8Rng`.
fn chacha_block(key: &[u32; 8], counter: u64, stream: u64, rounds: usize) -> [u32; 16] {
    let mut s = [0u32; 16];
    s[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    s[4..12].copy_from_slice(key);
    s[12] = counter as u32;
    s[13] = (counter >> 32) as u32;
    s[14] = stream as u32;
    s[15] = (stream >> 32) as u32;
    let mut x = s;
    fn qr(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
        x[a] = x[a].wrapping_add(x[b]);
        x[d] = (x[d] ^ x[a]).rotate_left(16);
        x[c] = x[c].wrapping_add(x[d]);
        x[b] = (x[b] ^ x[c]).rotate_left(12);
        x[a] = x[a].wrapping_add(x[b]);
        x[d] = (x[d] ^ x[a]).rotate_left(8);
        x[c] = x[c].wrapping_add(x[d]);
        x[b] = (x[b] ^ x[c]).rotate_left(7);
    }
    for _ in 0..rounds / 2 {
        qr(&mut x, 0, 4, 8, 12);
        qr(&mut x, 1, 5, 9, 13);
        qr(&mut x, 2, 6, 10, 14);
        qr(&mut x, 3, 7, 11, 15);
        qr(&mut x, 0, 5, 10, 15);
        qr(&mut x, 1, 6, 11, 12);
        qr(&mut x, 2, 7, 8, 13);
        qr(&mut x, 3, 4, 9, 14);
    }
    for (xi, si) in x.iter_mut().zip(s) {
        *xi = xi.wrapping_add(si);
    }
    x
}

/// The 64-bit outputs of ChaCha with 8 rounds: consecutive words, low word first.
fn chacha8_u64s(seed: [u8; 32], n: usize) -> Vec<u64> {
    let key: [u32; 8] =
        std::array::from_fn(|i| u32::from_le_bytes(seed[4 * i..4 * i + 4].try_into().unwrap()));
    let words: Vec<u32> = (0..(2 * n).div_ceil(16) as u64)
        .flat_map(|c| chacha_block(&key, c, 0, 8))
        .collect();
    words
        .chunks(2)
        .take(n)
        .map(|w| u64::from(w[0]) | (u64::from(w[1]) << 32))
        .collect()
}

/// The seed expansion of `seed_from_u64`: PCG32 (XSH RR) outputs, as `rand_core` documents.
fn pcg32_seed(mut state: u64) -> [u8; 32] {
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_mut(4) {
        state = state
            .wrapping_mul(0x5851_F42D_4C95_7F2D)
            .wrapping_add(0xA176_54E4_6FBE_17F3);
        let xorshifted = (((state >> 18) ^ state) >> 27) as u32;
        chunk.copy_from_slice(&xorshifted.rotate_right((state >> 59) as u32).to_le_bytes());
    }
    seed
}

#[test]
fn the_chacha_reference_matches_the_rfc_test_vector() {
    // ChaCha20 with the all-zero key and nonce, block 0 (draft-agl-tls-chacha20poly1305, and
    // the keystream of RFC 8439 §A.1 test vector 1).
    let block = chacha_block(&[0; 8], 0, 0, 20);
    let bytes: Vec<u8> = block.iter().flat_map(|w| w.to_le_bytes()).collect();
    let expected = "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7\
                    da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586";
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, expected);
}

#[test]
fn uniform_weights_are_fixed_by_the_chacha8_stream() {
    let n = <Classifier as Parameters>::PARAM_INFO
        .iter()
        .filter(|i| i.kind == ParamKind::Weight)
        .map(|i| i.len())
        .sum();
    for (seed, net) in [(0u64, Classifier::zeros()), (2024, Classifier::zeros())] {
        let mut net = net;
        Init::XAVIER_UNIFORM.init(&mut net, seed);
        let stream = chacha8_u64s(pcg32_seed(seed), n);
        let mut next = stream.iter();
        let mut expected = Vec::new();
        for info in <Classifier as Parameters>::PARAM_INFO {
            let a = (6.0 / (info.shape[0] + info.shape.get(1).copied().unwrap_or(0)) as f64).sqrt();
            for _ in 0..info.len() {
                expected.push(match info.kind {
                    ParamKind::Bias => 0.0,
                    ParamKind::Weight => {
                        a * (2.0 * ((next.next().unwrap() >> 11) as f64 / 2f64.powi(53)) - 1.0)
                    }
                });
            }
        }
        assert_eq!(flat(&net), expected, "seed {seed}");
    }
}

#[test]
fn normal_weights_follow_the_polar_method_on_the_chacha8_stream() {
    let seed = [7u8; 32];
    let mut net = Classifier::zeros();
    Init::LECUN_NORMAL.init_with_rng(&mut net, &mut ChaCha8Rng::from_seed(seed));
    let stream = chacha8_u64s(seed, 1000);
    let mut next = stream
        .iter()
        .map(|x| 2.0 * ((x >> 11) as f64 / 2f64.powi(53)) - 1.0);
    let mut normals = Vec::new();
    while normals.len() < 200 {
        let (u, v) = (next.next().unwrap(), next.next().unwrap());
        let s = u * u + v * v;
        if s > 0.0 && s < 1.0 {
            let f = (-2.0 * s.ln() / s).sqrt();
            normals.extend([u * f, v * f]);
        }
    }
    let mut z = normals.into_iter();
    net.visit(|info, p| {
        for &w in p {
            let expected = match info.kind {
                ParamKind::Bias => 0.0,
                ParamKind::Weight => z.next().unwrap() / (info.shape[1] as f64).sqrt(),
            };
            assert!(
                (w - expected).abs() <= 1e-15 * expected.abs(),
                "{}: {w} != {expected}",
                info.name
            );
        }
    });
}

#[test]
fn variances_built_by_hand_without_layers_give_no_ratios() {
    use mlp_runtime::diagnostics::Variances;
    let v = Variances {
        samples: 0,
        layers: Vec::new(),
    };
    assert_eq!(v.forward_ratios(), Vec::<f64>::new());
    assert_eq!(v.backward_ratios(), Vec::<f64>::new());
}
