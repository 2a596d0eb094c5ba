//! Losses: gradients against central differences, values against closed forms written out
//! independently, stability at extreme logits, and the batch mean.

use crate::support::{assert_close, TestRng, FD_TOLERANCE};
use mlp_runtime::loss::{
    argmax, softmax, BinaryCrossEntropy, Loss, LossError, Mse, SoftmaxCrossEntropy,
};

/// Checks `value_grad`'s gradient against central differences of `value` at a few random
/// points, with a step `h = 1e-5` (error `O(h²)`).
fn check_gradient<L: Loss<f64>>(loss: L, target: impl Fn(&mut TestRng) -> Vec<f64>) {
    let mut rng = TestRng::new(11);
    for _ in 0..20 {
        let y = rng.vec(5, -3.0, 3.0);
        let t = target(&mut rng);
        let mut g = vec![0.0; 5];
        let v = loss.value_grad(&y, &t, &mut g).unwrap();
        assert_eq!(v, loss.value(&y, &t).unwrap(), "value_grad and value agree");
        for k in 0..5 {
            let h = 1e-5;
            let (mut up, mut down) = (y.clone(), y.clone());
            up[k] += h;
            down[k] -= h;
            let fd = (loss.value(&up, &t).unwrap() - loss.value(&down, &t).unwrap()) / (2.0 * h);
            assert_close("g[k]", &[g[k]], &[fd], FD_TOLERANCE, 1.0);
        }
    }
}

fn one_hot(rng: &mut TestRng) -> Vec<f64> {
    let mut t = vec![0.0; 5];
    t[(rng.next_u64() % 5) as usize] = 1.0;
    t
}

#[test]
fn mse_gradient_matches_central_differences() {
    check_gradient(Mse, |rng| rng.vec(5, -2.0, 2.0));
}

#[test]
fn cross_entropy_gradient_matches_central_differences() {
    check_gradient(SoftmaxCrossEntropy, one_hot);
    // Soft labels that do not sum to 1 use the general form softmax(y)·Σt − t.
    check_gradient(SoftmaxCrossEntropy, |rng| rng.vec(5, 0.0, 1.0));
}

#[test]
fn binary_cross_entropy_gradient_matches_central_differences() {
    check_gradient(BinaryCrossEntropy, |rng| rng.vec(5, 0.0, 1.0));
}

#[test]
fn mse_is_the_mean_of_squares() {
    let (y, t) = ([1.0, -2.0, 0.5], [0.0, 1.0, 0.5]);
    let mut g = [0.0; 3];
    let v = Mse.value_grad(&y, &t, &mut g).unwrap();
    assert_eq!(v, (1.0 + 9.0 + 0.0) / 3.0);
    assert_eq!(g, [2.0 * 1.0 / 3.0, 2.0 * -3.0 / 3.0, 0.0]);
}

#[test]
fn cross_entropy_is_minus_log_softmax() {
    let mut rng = TestRng::new(3);
    for _ in 0..10 {
        let y = rng.vec(4, -4.0, 4.0);
        let c = (rng.next_u64() % 4) as usize;
        // −ln(e^{y_c} / Σ e^{y_k}), written naively (safe for these small logits).
        let naive = -(y[c].exp() / y.iter().map(|v| v.exp()).sum::<f64>()).ln();
        let mut t = vec![0.0; 4];
        t[c] = 1.0;
        let mut g1 = vec![0.0; 4];
        let mut g2 = vec![0.0; 4];
        assert_close(
            "SoftmaxCrossEntropy.value_grad(&y, &t, &mut g1).unwrap()",
            &[SoftmaxCrossEntropy.value_grad(&y, &t, &mut g1).unwrap()],
            &[naive],
            1e-14,
            1.0,
        );
        assert_close(
            "SoftmaxCrossEntropy .value_grad_class(&y, c, &mut g2) .unwrap()",
            &[SoftmaxCrossEntropy
                .value_grad_class(&y, c, &mut g2)
                .unwrap()],
            &[naive],
            1e-14,
            1.0,
        );
        assert_close(
            "SoftmaxCrossEntropy.value_class(&y, c).unwrap()",
            &[SoftmaxCrossEntropy.value_class(&y, c).unwrap()],
            &[naive],
            1e-14,
            1.0,
        );
        for k in 0..4 {
            let p = y[k].exp() / y.iter().map(|v| v.exp()).sum::<f64>();
            let expected = p - if k == c { 1.0 } else { 0.0 };
            assert_close("g1[k]", &[g1[k]], &[expected], 1e-14, 1.0);
            assert_close("g2[k]", &[g2[k]], &[expected], 1e-14, 1.0);
        }
    }
    // Two classes: −ln σ(y₀ − y₁) = ln(1 + e^{y₁ − y₀}).
    assert_close(
        "SoftmaxCrossEntropy .value(&[0.3, -1.2], &[1.0, 0.0]) .unwrap()",
        &[SoftmaxCrossEntropy
            .value(&[0.3, -1.2], &[1.0, 0.0])
            .unwrap()],
        &[(1.0 + (-1.5f64).exp()).ln()],
        1e-15,
        1.0,
    );
}

#[test]
fn binary_cross_entropy_is_minus_log_likelihood() {
    let mut rng = TestRng::new(5);
    for _ in 0..10 {
        let y = rng.vec(3, -5.0, 5.0);
        let t = rng.vec(3, 0.0, 1.0);
        let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
        let naive = (0..3)
            .map(|k| -(t[k] * sig(y[k]).ln() + (1.0 - t[k]) * (1.0 - sig(y[k])).ln()))
            .sum::<f64>()
            / 3.0;
        let mut g = vec![0.0; 3];
        assert_close(
            "BinaryCrossEntropy.value_grad(&y, &t, &mut g).unwrap()",
            &[BinaryCrossEntropy.value_grad(&y, &t, &mut g).unwrap()],
            &[naive],
            1e-13,
            1.0,
        );
        for k in 0..3 {
            assert_close("g[k]", &[g[k]], &[(sig(y[k]) - t[k]) / 3.0], 1e-15, 1.0);
        }
    }
}

#[test]
fn cross_entropy_is_finite_for_huge_logits() {
    let y = [1e4, -1e4, 0.0];
    let mut g = [0.0; 3];
    // lse(y) = 1e4 (the other terms vanish), so ℓ = 1e4 − y_c.
    assert_eq!(
        SoftmaxCrossEntropy
            .value_grad(&y, &[0.0, 1.0, 0.0], &mut g)
            .unwrap(),
        2e4
    );
    assert_eq!(g, [1.0, -1.0, 0.0]);
    assert_eq!(
        SoftmaxCrossEntropy
            .value_grad(&y, &[1.0, 0.0, 0.0], &mut g)
            .unwrap(),
        0.0
    );
    assert_eq!(g, [0.0, 0.0, 0.0]);
    let y32 = [1e4f32, -1e4, 0.0];
    let mut g32 = [0.0f32; 3];
    assert_eq!(
        SoftmaxCrossEntropy
            .value_grad_class(&y32, 1, &mut g32)
            .unwrap(),
        2e4
    );
    assert_eq!(g32, [1.0, -1.0, 0.0]);
    assert_eq!(
        SoftmaxCrossEntropy
            .value_class(&[-1e4f32, -1e4], 0)
            .unwrap(),
        2f32.ln()
    );
}

#[test]
fn binary_cross_entropy_is_finite_for_huge_logits() {
    let mut g = [0.0; 2];
    // max(y, 0) − y t + ln(1 + e^{−|y|}) with e^{−1e4} = 0.
    assert_eq!(
        BinaryCrossEntropy
            .value_grad(&[1e4, -1e4], &[0.0, 0.0], &mut g)
            .unwrap(),
        (1e4 + 0.0) / 2.0
    );
    assert_eq!(g, [0.5, 0.0]);
    let mut g32 = [0.0f32; 2];
    assert_eq!(
        BinaryCrossEntropy
            .value_grad(&[1e4f32, -1e4], &[1.0, 1.0], &mut g32)
            .unwrap(),
        1e4 / 2.0
    );
    assert_eq!(g32, [0.0, -0.5]);
}

#[test]
fn classifying_losses_say_whether_a_sample_is_correct() {
    assert_eq!(Loss::<f64>::correct(&Mse, &[1.0], &[1.0]), None);
    assert_eq!(
        SoftmaxCrossEntropy.correct(&[0.1, 2.0, -1.0], &[0.0, 1.0, 0.0]),
        Some(true)
    );
    assert_eq!(
        SoftmaxCrossEntropy.correct(&[3.0, 2.0, -1.0], &[0.0, 1.0, 0.0]),
        Some(false)
    );
    assert_eq!(
        BinaryCrossEntropy.correct(&[0.5, -0.5], &[1.0, 0.0]),
        Some(true)
    );
    assert_eq!(
        BinaryCrossEntropy.correct(&[0.5, 0.5], &[1.0, 0.0]),
        Some(false)
    );
}

#[test]
fn softmax_sums_to_one_and_argmax_takes_the_first_maximum() {
    let mut p = [0.0; 3];
    softmax(&[1e4, 1e4, -1e4], &mut p).unwrap();
    assert_eq!(p, [0.5, 0.5, 0.0]);
    softmax(&[0.0, (2.0f64).ln(), 0.0], &mut p).unwrap();
    assert_close("p[1]", &[p[1]], &[0.5], 1e-15, 1.0);
    assert_eq!(argmax(&[1.0, 3.0, 3.0, -1.0]), 1);
}

#[test]
fn mismatched_or_empty_slices_are_errors_that_give_the_lengths() {
    let err = Mse.value(&[0.0, 1.0], &[0.0, 1.0, 2.0]).unwrap_err();
    assert_eq!(err.to_string(), "loss target: expected 2 entries, found 3");
    let mut g = [7.0; 1];
    let err = BinaryCrossEntropy
        .value_grad(&[0.0, 1.0], &[0.0, 1.0], &mut g)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "loss gradient: expected 2 entries, found 1"
    );
    assert_eq!(g, [7.0], "the gradient buffer is unchanged");
    let err = Loss::<f64>::value(&SoftmaxCrossEntropy, &[], &[]).unwrap_err();
    assert_eq!(
        err,
        LossError::Empty {
            loss: "softmax_cross_entropy"
        }
    );
    assert_eq!(
        err.to_string(),
        "loss `softmax_cross_entropy`: the output is empty, expected at least 1 entry"
    );
    assert!(Loss::<f32>::value(&Mse, &[], &[]).is_err());
    assert!(softmax::<f64>(&[], &mut []).is_err());
    assert_eq!(argmax::<f64>(&[]), 0);
}

#[test]
fn a_class_out_of_range_is_an_error_that_gives_the_range() {
    let mut g = [7.0; 3];
    let err = SoftmaxCrossEntropy
        .value_grad_class(&[0.0, 1.0, 2.0], 3, &mut g)
        .unwrap_err();
    assert_eq!(
        err,
        LossError::Class {
            loss: "softmax_cross_entropy",
            class: 3,
            outputs: 3
        }
    );
    assert_eq!(
        err.to_string(),
        "loss `softmax_cross_entropy`: class 3 out of range, expected 0 to 2 for 3 outputs"
    );
    assert_eq!(g, [7.0; 3], "the gradient buffer is unchanged");
    assert!(SoftmaxCrossEntropy.value_class::<f32>(&[], 0).is_err());
    assert!(SoftmaxCrossEntropy
        .value_grad_class(&[1.0f32], 0, &mut [0.0; 2])
        .is_err());
}
