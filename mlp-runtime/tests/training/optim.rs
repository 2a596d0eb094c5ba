//! Optimizers against updates computed by hand from the formulas, and the schedules.

use crate::support::{assert_close, flat, Classifier, Linear, TestRng};
use mlp_runtime::error::TrainError;
use mlp_runtime::optim::{Adam, Optimizer, Schedule, Sgd};
use mlp_runtime::{Network, Parameters};

/// `Linear` with parameters `[w₁₁, w₁₂, b]`.
fn linear(theta: [f64; 3]) -> Linear {
    let mut net = Linear::zeros();
    net.w1[0] = [theta[0], theta[1]];
    net.b1[0] = theta[2];
    net
}

/// Gradients `[∂w₁₁, ∂w₁₂, ∂b]` for `Linear`.
fn grads(g: [f64; 3]) -> <Linear as Network>::Grads {
    let mut grads = <Linear as Network>::Grads::default();
    grads.w1[0] = [g[0], g[1]];
    grads.b1[0] = g[2];
    grads
}

/// Runs `opt` from `theta` with the constant gradient `g` for `steps` steps; returns the first
/// parameter after each step.
fn trajectory<O: Optimizer<f64>>(mut opt: O, theta: f64, g: f64, steps: usize) -> Vec<f64> {
    let mut net = linear([theta, 0.0, 0.0]);
    let grads = grads([g, 0.0, 0.0]);
    (0..steps)
        .map(|_| {
            opt.step(&mut net, &grads);
            net.w1[0][0]
        })
        .collect()
}

#[track_caller]
fn assert_all_close(got: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(expected) {
        assert_close("*g", &[*g], &[*e], tol, 1.0);
    }
}

#[test]
fn sgd_steps_against_the_gradient() {
    let mut net = linear([1.0, -2.0, 0.5]);
    Sgd::new(0.1).step(&mut net, &grads([0.5, -1.0, 2.0]));
    assert_all_close(&flat(&net), &[1.0 - 0.05, -2.0 + 0.1, 0.5 - 0.2], 1e-15);
}

#[test]
fn sgd_momentum_starts_from_the_first_gradient() {
    // b₁ = g = 0.5, θ₁ = 1 − 0.1·0.5 = 0.95; b₂ = 0.9·0.5 + 0.5 = 0.95, θ₂ = 0.95 − 0.095 = 0.855;
    // b₃ = 0.9·0.95 + 0.5 = 1.355, θ₃ = 0.855 − 0.1355 = 0.7195.
    let got = trajectory(Sgd::new(0.1).with_momentum(0.9), 1.0, 0.5, 3);
    assert_all_close(&got, &[0.95, 0.855, 0.7195], 1e-15);
}

#[test]
fn sgd_nesterov_looks_ahead() {
    // b₁ = 0.5, d = 0.5 + 0.9·0.5 = 0.95, θ₁ = 1 − 0.095 = 0.905;
    // b₂ = 0.95, d = 0.5 + 0.9·0.95 = 1.355, θ₂ = 0.905 − 0.1355 = 0.7695.
    let got = trajectory(
        Sgd::new(0.1).with_momentum(0.9).with_nesterov(true),
        1.0,
        0.5,
        2,
    );
    assert_all_close(&got, &[0.905, 0.7695], 1e-15);
}

#[test]
fn sgd_dampening_scales_later_gradients_only() {
    // b₁ = 0.5 (undamped), θ₁ = 0.95; b₂ = 0.9·0.5 + 0.5·0.5 = 0.7, θ₂ = 0.95 − 0.07 = 0.88.
    let got = trajectory(
        Sgd::new(0.1).with_momentum(0.9).with_dampening(0.5),
        1.0,
        0.5,
        2,
    );
    assert_all_close(&got, &[0.95, 0.88], 1e-15);
}

#[test]
fn sgd_weight_decay_adds_lambda_theta_to_the_gradient() {
    // d = 0.5 + 0.1·1 = 0.6, θ₁ = 0.94; d = 0.5 + 0.1·0.94 = 0.594, θ₂ = 0.94 − 0.0594 = 0.8806.
    let got = trajectory(Sgd::new(0.1).with_weight_decay(0.1), 1.0, 0.5, 2);
    assert_all_close(&got, &[0.94, 0.8806], 1e-15);
}

#[test]
fn adam_first_steps_move_by_the_learning_rate() {
    // With a constant g, m̂ = g and v̂ = g² at every step, so each step is η g / (|g| + ε).
    let step = 0.1 * 0.5 / (0.5 + 1e-8);
    let got = trajectory(Adam::new(0.1), 1.0, 0.5, 3);
    assert_all_close(
        &got,
        &[1.0 - step, 1.0 - 2.0 * step, 1.0 - 3.0 * step],
        1e-15,
    );
}

#[test]
fn adam_corrects_the_bias_of_both_moments() {
    // g₁ = 1: m = 0.1, v = 0.001, m̂ = 1, v̂ = 1, θ₁ = 1 − 0.1/(1 + ε).
    // g₂ = −1: m = 0.09 − 0.1 = −0.01, v = 0.000999 + 0.001 = 0.001999,
    // m̂ = −0.01/(1 − 0.81) = −1/19, v̂ = 0.001999/(1 − 0.998001) = 1, θ₂ = θ₁ + 0.1/19/(1 + ε).
    let mut net = linear([1.0, 0.0, 0.0]);
    let mut adam = Adam::new(0.1);
    adam.step(&mut net, &grads([1.0, 0.0, 0.0]));
    let theta1 = 1.0 - 0.1 / (1.0 + 1e-8);
    assert_close("net.w1[0][0]", &[net.w1[0][0]], &[theta1], 1e-15, 1.0);
    adam.step(&mut net, &grads([-1.0, 0.0, 0.0]));
    assert_close(
        "net.w1[0][0]",
        &[net.w1[0][0]],
        &[theta1 + 0.1 / 19.0 / (1.0 + 1e-8)],
        1e-14,
        1.0,
    );
    // A zero gradient leaves a zero moment, so the parameter stays.
    assert_eq!(net.w1[0][1], 0.0);
}

#[test]
fn adam_adds_l2_decay_to_the_gradient_and_adamw_decouples_it() {
    // Adam: g = 0.5 + 0.1·1 = 0.6, θ₁ = 1 − 0.1·0.6/(0.6 + ε).
    let got = trajectory(Adam::new(0.1).with_weight_decay(0.1), 1.0, 0.5, 1);
    assert_close(
        "got[0]",
        &[got[0]],
        &[1.0 - 0.1 * 0.6 / (0.6 + 1e-8)],
        1e-15,
        1.0,
    );
    // AdamW: θ ← 1·(1 − 0.1·0.1) = 0.99, then θ₁ = 0.99 − 0.1·0.5/(0.5 + ε).
    let got = trajectory(Adam::adamw(0.1).with_weight_decay(0.1), 1.0, 0.5, 1);
    assert_close(
        "got[0]",
        &[got[0]],
        &[0.99 - 0.1 * 0.5 / (0.5 + 1e-8)],
        1e-15,
        1.0,
    );
}

/// Every parameter of a two-layer network, stepped with gradients that change each step, against
/// the formulas applied scalar by scalar: the optimizer's state must follow the parameter order.
#[test]
fn optimizer_state_follows_each_parameter() {
    let mut rng = TestRng::new(21);
    let mut net = Classifier::zeros();
    net.visit_mut(|_, p| p.iter_mut().for_each(|x| *x = rng.uniform(-1.0, 1.0)));
    let steps: Vec<Vec<f64>> = (0..5)
        .map(|_| rng.vec(Classifier::PARAMS, -2.0, 2.0))
        .collect();
    let to_grads = |g: &[f64]| {
        let mut grads = <Classifier as Network>::Grads::default();
        let mut off = 0;
        grads.visit_mut(|_, p| {
            p.copy_from_slice(&g[off..off + p.len()]);
            off += p.len();
        });
        grads
    };
    let theta0 = flat(&net);

    // SGD with momentum 0.9, Nesterov, weight decay 0.01, lr 0.05.
    let mut sgd_net = net.clone();
    let mut sgd = Sgd::new(0.05)
        .with_momentum(0.9)
        .with_nesterov(true)
        .with_weight_decay(0.01);
    // Adam, β = (0.8, 0.99), ε = 1e-6, lr 0.01, AdamW decay 0.1.
    let mut adam_net = net.clone();
    let mut adam = Adam::adamw(0.01)
        .with_betas(0.8, 0.99)
        .with_eps(1e-6)
        .with_weight_decay(0.1);
    for g in &steps {
        sgd.step(&mut sgd_net, &to_grads(g));
        adam.step(&mut adam_net, &to_grads(g));
    }

    for i in 0..Classifier::PARAMS {
        let (mut theta, mut b) = (theta0[i], 0.0);
        for (t, g) in steps.iter().enumerate() {
            let d = g[i] + 0.01 * theta;
            b = if t == 0 { d } else { 0.9 * b + d };
            theta -= 0.05 * (d + 0.9 * b);
        }
        assert_close(
            "flat(&sgd_net)[i]",
            &[flat(&sgd_net)[i]],
            &[theta],
            1e-13,
            1.0,
        );

        let (mut theta, mut m, mut v) = (theta0[i], 0.0, 0.0);
        for (t, g) in steps.iter().enumerate() {
            let t = t as i32 + 1;
            theta *= 1.0 - 0.01 * 0.1;
            m = 0.8 * m + 0.2 * g[i];
            v = 0.99 * v + 0.01 * g[i] * g[i];
            let (m_hat, v_hat) = (m / (1.0 - 0.8f64.powi(t)), v / (1.0 - 0.99f64.powi(t)));
            theta -= 0.01 * m_hat / (v_hat.sqrt() + 1e-6);
        }
        assert_close(
            "flat(&adam_net)[i]",
            &[flat(&adam_net)[i]],
            &[theta],
            1e-13,
            1.0,
        );
    }
}

#[test]
fn reset_forgets_the_state() {
    let mut opt = Sgd::new(0.1).with_momentum(0.9);
    let mut net = linear([1.0, 0.0, 0.0]);
    opt.step(&mut net, &grads([0.5, 0.0, 0.0]));
    opt.reset();
    let mut fresh = linear([1.0, 0.0, 0.0]);
    opt.step(&mut fresh, &grads([0.5, 0.0, 0.0]));
    assert_eq!(fresh.w1[0][0], 0.95);
    let mut adam = Adam::new(0.1);
    adam.step(&mut net, &grads([3.0, 0.0, 0.0]));
    adam.reset();
    assert_eq!(
        trajectory(adam.clone(), 1.0, 0.5, 1),
        trajectory(Adam::new(0.1), 1.0, 0.5, 1)
    );
}

#[test]
fn invalid_hyper_parameters_are_named() {
    let name = |r: Result<(), TrainError>| match r {
        Err(TrainError::Config { name, reason }) => format!("{name}: {reason}"),
        other => panic!("expected a config error, found {other:?}"),
    };
    assert_eq!(
        name(Optimizer::<f64>::check(&Sgd::<f64>::new(-0.1))),
        "lr: expected a finite value at least 0, found -0.1"
    );
    assert_eq!(
        name(Sgd::<f64>::new(0.1).with_momentum(1.0).check()),
        "momentum: expected a value in [0, 1), found 1"
    );
    assert_eq!(
        name(Sgd::<f64>::new(0.1).with_nesterov(true).check()),
        "nesterov: Nesterov momentum needs momentum above 0 and dampening 0, found momentum 0 and dampening 0"
    );
    assert_eq!(
        name(Sgd::<f64>::new(f64::NAN).check()),
        "lr: expected a finite value at least 0, found NaN"
    );
    assert_eq!(
        name(Adam::<f64>::new(0.1).with_betas(0.9, 1.0).check()),
        "beta2: expected a value in [0, 1), found 1"
    );
    assert_eq!(
        name(Adam::<f64>::new(0.1).with_eps(0.0).check()),
        "eps: expected a finite value above 0, found 0"
    );
    assert!(Sgd::<f64>::new(0.1)
        .with_momentum(0.9)
        .with_nesterov(true)
        .check()
        .is_ok());
    assert!(Adam::<f32>::adamw(1e-3).check().is_ok());
}

#[test]
fn step_schedule_decays_every_few_epochs() {
    let s = Schedule::Step {
        every: 3,
        gamma: 0.1,
    };
    let lrs: Vec<f64> = (0..7).map(|e| s.lr(1.0, e)).collect();
    assert_all_close(&lrs, &[1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.01], 1e-15);
    assert_eq!(Schedule::Constant.lr(0.3, 1000), 0.3);
}

#[test]
fn cosine_schedule_falls_to_the_minimum_and_stays() {
    let s = Schedule::Cosine {
        epochs: 6,
        min_lr: 0.01,
    };
    // cos(π/3) = 1/2, cos(π/2) = 0, cos(2π/3) = −1/2.
    assert_eq!(s.lr(1.0, 0), 1.0);
    assert_close(
        "s.lr(1.0, 2)",
        &[s.lr(1.0, 2)],
        &[0.01 + 0.99 * 0.75],
        1e-15,
        1.0,
    );
    assert_close(
        "s.lr(1.0, 3)",
        &[s.lr(1.0, 3)],
        &[0.01 + 0.99 * 0.5],
        1e-15,
        1.0,
    );
    assert_close(
        "s.lr(1.0, 4)",
        &[s.lr(1.0, 4)],
        &[0.01 + 0.99 * 0.25],
        1e-15,
        1.0,
    );
    assert_eq!(s.lr(1.0, 6), 0.01);
    assert_eq!(s.lr(1.0, 60), 0.01);
}

#[test]
fn invalid_schedules_are_named() {
    let msg = |s: Schedule| s.check().unwrap_err().to_string();
    assert_eq!(
        msg(Schedule::Step {
            every: 0,
            gamma: 0.5
        }),
        "invalid setting `every`: expected at least 1 epoch between decays, found 0"
    );
    assert_eq!(
        msg(Schedule::Step {
            every: 1,
            gamma: -1.0
        }),
        "invalid setting `gamma`: expected a finite factor at least 0, found -1"
    );
    assert_eq!(
        msg(Schedule::Cosine {
            epochs: 0,
            min_lr: 0.0
        }),
        "invalid setting `epochs`: expected a cosine period of at least 1 epoch, found 0"
    );
    assert!(Schedule::Cosine {
        epochs: 5,
        min_lr: 0.0
    }
    .check()
    .is_ok());
}
