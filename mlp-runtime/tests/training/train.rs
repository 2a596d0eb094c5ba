//! The trainer: convergence, early stopping, divergence, determinism, history, errors, and no
//! allocation per step.

use crate::support::{
    blobs, counting, curve_data, flat, xor_data, Classifier, Curve, Linear, TestRng, Xor, Xor32,
};
use mlp_runtime::data::Dataset;
use mlp_runtime::error::{Divergence, TrainError};
use mlp_runtime::init::Init;
use mlp_runtime::loss::{BinaryCrossEntropy, Loss, Mse, SoftmaxCrossEntropy};
use mlp_runtime::optim::{Adam, Schedule, Sgd};
use mlp_runtime::train::{evaluate, History, Trainer};
use mlp_runtime::Parameters;
use ndarray::Array2;

/// `n` samples of `y = 2 x₁ − 3 x₂ + 1`.
fn plane(n: usize, seed: u64) -> Dataset<f64> {
    let mut rng = TestRng::new(seed);
    let x = Array2::from_shape_vec((n, 2), rng.vec(2 * n, -1.0, 1.0)).unwrap();
    let y = Array2::from_shape_fn((n, 1), |(i, _)| 2.0 * x[(i, 0)] - 3.0 * x[(i, 1)] + 1.0);
    Dataset::regression(x, y).unwrap()
}

fn quiet<L, O>(loss: L, opt: O) -> Trainer<L, O> {
    Trainer::new(loss, opt).progress(false)
}

#[test]
fn xor_converges() {
    let data = xor_data();
    let mut net = Xor::zeros();
    Init::XAVIER_NORMAL.init(&mut net, 1);
    let history = quiet(Mse, Adam::new(0.05))
        .epochs(400)
        .batch_size(4)
        .fit(&mut net, &data, None)
        .unwrap();
    assert!(
        history.epochs.last().unwrap().train.loss < 1e-3,
        "{:?}",
        history.epochs.last()
    );
    for (x, t) in [
        ([0.0, 0.0], 0.0),
        ([0.0, 1.0], 1.0),
        ([1.0, 0.0], 1.0),
        ([1.0, 1.0], 0.0),
    ] {
        let y = net.forward(&x)[0];
        assert!((y - t).abs() < 0.1, "xor{x:?} = {y}");
    }
}

#[test]
fn xor_converges_in_f32_with_binary_cross_entropy() {
    let x = ndarray::array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let data = Dataset::regression(x, ndarray::array![[0.0f32], [1.0], [1.0], [0.0]]).unwrap();
    let mut net = Xor32::zeros();
    Init::XAVIER_UNIFORM.init(&mut net, 3);
    let history = quiet(BinaryCrossEntropy, Adam::new(0.05))
        .epochs(300)
        .batch_size(2)
        .fit(&mut net, &data, None)
        .unwrap();
    assert_eq!(history.epochs.last().unwrap().train.accuracy, Some(1.0));
    assert_eq!(
        evaluate(&net, &BinaryCrossEntropy, &data).unwrap().accuracy,
        Some(1.0)
    );
}

#[test]
fn linear_regression_finds_the_true_coefficients() {
    let data = plane(64, 4);
    let mut net = Linear::zeros();
    let history = quiet(Mse, Sgd::new(0.1).with_momentum(0.9))
        .epochs(150)
        .batch_size(16)
        .fit(&mut net, &data, None)
        .unwrap();
    let theta = flat(&net);
    for (got, want) in theta.iter().zip([2.0, -3.0, 1.0]) {
        assert!((got - want).abs() < 1e-6, "{theta:?}");
    }
    assert!(history.epochs.last().unwrap().train.loss < 1e-12);
}

#[test]
fn a_curve_regression_converges_and_reports_validation() {
    let train = curve_data(256, -3.0, 3.0, 5, f64::sin);
    let val = curve_data(64, -3.0, 3.0, 6, f64::sin);
    let mut net = Curve::zeros();
    Init::XAVIER_NORMAL.init(&mut net, 2);
    let history = quiet(Mse, Adam::new(0.01))
        .epochs(200)
        .batch_size(16)
        .schedule(Schedule::Cosine {
            epochs: 200,
            min_lr: 1e-4,
        })
        .fit(&mut net, &train, Some(&val))
        .unwrap();
    let last = history.epochs.last().unwrap();
    let v = last.validation.unwrap();
    assert!(v.loss < 1e-3, "validation loss {}", v.loss);
    assert_eq!((last.train.accuracy, v.accuracy), (None, None));
    assert_eq!(v.loss, evaluate(&net, &Mse, &val).unwrap().loss);
    assert!(history.best_epoch.is_some() && !history.stopped_early);
}

#[test]
fn a_classifier_reports_accuracy() {
    let data = blobs(300, 8);
    let (train, val) = data.split(0.2, 0).unwrap();
    let mut net = Classifier::zeros();
    Init::XAVIER_UNIFORM.init(&mut net, 0);
    let history = quiet(SoftmaxCrossEntropy, Adam::new(0.01))
        .epochs(30)
        .batch_size(16)
        .fit(&mut net, &train, Some(&val))
        .unwrap();
    let last = history.epochs.last().unwrap();
    assert!(last.train.accuracy.unwrap() > 0.9, "{last:?}");
    let eval = evaluate(&net, &SoftmaxCrossEntropy, &val).unwrap();
    assert_eq!(Some(eval), last.validation);
    // The accuracy counts the samples whose largest logit is at the label.
    let correct = (0..val.len())
        .filter(|&i| {
            let (x, t) = val.sample(i).unwrap();
            SoftmaxCrossEntropy
                .correct(&net.forward(&[x[0], x[1]]), t)
                .unwrap()
        })
        .count();
    assert_eq!(eval.accuracy, Some(correct as f64 / val.len() as f64));
}

/// Trains the network on `y = x₁` while validating on `y = x₁/2`: the validation loss falls
/// while `w₁₁` climbs towards ½, then rises, so its minimum lies strictly inside the run.
fn early_stopping_run(epochs: usize, patience: Option<usize>) -> (Linear, History) {
    let mut rng = TestRng::new(12);
    let x = Array2::from_shape_vec((32, 2), rng.vec(64, -1.0, 1.0)).unwrap();
    let half = x.column(0).mapv(|v| v / 2.0).insert_axis(ndarray::Axis(1));
    let train = Dataset::regression(
        x.clone(),
        x.column(0).to_owned().insert_axis(ndarray::Axis(1)),
    )
    .unwrap();
    let val = Dataset::regression(x, half).unwrap();
    let mut net = Linear::zeros();
    let mut trainer = quiet(Mse, Sgd::new(0.05))
        .epochs(epochs)
        .batch_size(8)
        .seed(3);
    if let Some(p) = patience {
        trainer = trainer.early_stopping(p);
    }
    let history = trainer.fit(&mut net, &train, Some(&val)).unwrap();
    (net, history)
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let (net, history) = early_stopping_run(500, Some(4));
    let losses: Vec<f64> = history
        .epochs
        .iter()
        .map(|e| e.validation.unwrap().loss)
        .collect();
    // `best_epoch` is a 0-based index into `epochs`.
    let best = history.best_epoch.unwrap();
    let argmin = losses
        .iter()
        .enumerate()
        .fold(0, |b, (i, &l)| if l < losses[b] { i } else { b });
    assert_eq!(best, argmin);
    assert_eq!(history.best().map(|e| e.epoch), Some(best + 1));
    assert!(
        best > 0 && history.stopped_early,
        "best epoch index {best}, {} epochs run",
        losses.len()
    );
    assert_eq!(history.epochs.len(), best + 1 + 4);
    // The restored weights are exactly those after `best + 1` epochs, and not the last
    // epoch's.
    let (at_best, _) = early_stopping_run(best + 1, None);
    let (at_end, _) = early_stopping_run(best + 1 + 4, None);
    assert_eq!(flat(&net), flat(&at_best));
    assert_ne!(flat(&net), flat(&at_end));
    assert!((net.w1[0][0] - 0.5).abs() < 0.05, "w₁₁ = {}", net.w1[0][0]);
}

#[test]
fn an_exploding_learning_rate_stops_with_finite_weights() {
    let data = curve_data(64, -3.0, 3.0, 1, f64::sin);
    let mut net = Curve::zeros();
    Init::XAVIER_NORMAL.init(&mut net, 0);
    // η grows tenfold every epoch: fine at first, then the steps blow up.
    let err = quiet(Mse, Sgd::new(0.01))
        .epochs(50)
        .batch_size(8)
        .schedule(Schedule::Step {
            every: 1,
            gamma: 10.0,
        })
        .fit(&mut net, &data, None)
        .unwrap_err();
    match &err {
        TrainError::Diverged { epoch, batch, .. } => assert!(*epoch > 1 && *batch >= 1, "{err}"),
        other => panic!("expected divergence, found {other:?}"),
    }
    assert!(
        err.to_string().starts_with("training diverged at epoch "),
        "{err}"
    );
    assert!(net.is_finite());
}

#[test]
fn a_step_that_overflows_the_weights_is_undone() {
    let data = plane(16, 2);
    let mut net = Linear::zeros();
    Init::LECUN_NORMAL.init(&mut net, 9);
    let before = net.clone();
    // The mean target is 1, so ∂L/∂b ≈ −2 and η ∂L/∂b overflows.
    let err = quiet(Mse, Sgd::new(f64::MAX))
        .epochs(3)
        .batch_size(16)
        .fit(&mut net, &data, None)
        .unwrap_err();
    let TrainError::Diverged {
        epoch: 1,
        batch: 1,
        cause: Divergence::Weight(name),
        ..
    } = err
    else {
        panic!("expected the first step to overflow a weight, found {err:?}");
    };
    assert_eq!(
        err.to_string(),
        format!(
            "training diverged at epoch 1, batch 1, with learning rate 1.7976931348623157e308: the step made `{name}` non-finite"
        )
    );
    assert_eq!(net, before);
}

#[test]
fn an_infinite_loss_stops_before_the_step() {
    let data = plane(16, 2);
    let run = |epochs| {
        let mut net = Linear::zeros();
        let result = quiet(Mse, Sgd::new(1e160))
            .epochs(epochs)
            .batch_size(16)
            .shuffle(false)
            .fit(&mut net, &data, None);
        (net, result)
    };
    // After one step the weights are about 1e160, so the outputs' squares overflow.
    let (net, result) = run(5);
    let err = result.unwrap_err();
    assert!(
        matches!(err, TrainError::Diverged { epoch: 2, batch: 1, lr: 1e160, cause: Divergence::Loss(l) } if l == f64::INFINITY),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "training diverged at epoch 2, batch 1, with learning rate 1e160: the loss is inf"
    );
    let (after_one, ok) = run(1);
    assert!(ok.is_ok());
    assert_eq!(net, after_one);
}

#[test]
fn a_finite_loss_that_explodes_stops_with_the_divergence_factor() {
    // η = 1e6 on a classifier: the loss stays finite but grows by orders of magnitude within
    // the first epoch. Without a factor, training runs on.
    let data = blobs(90, 1);
    let run = |factor: Option<f64>| {
        let mut net = Classifier::zeros();
        Init::HE_UNIFORM.init(&mut net, 5);
        let mut trainer = quiet(SoftmaxCrossEntropy, Sgd::new(1e6))
            .epochs(3)
            .batch_size(7);
        trainer.divergence_factor = factor;
        let result = trainer.fit(&mut net, &data, None);
        (net, result)
    };
    let (_, unguarded) = run(None);
    let history = unguarded.expect("finite losses alone do not stop training");
    let first = history.epochs[0].train.loss;
    assert!(first > 1e3, "the loss exploded to {first}");
    eprintln!("without a factor: epoch 1 mean loss {first}");

    let (net, guarded) = run(Some(100.0));
    let err = guarded.unwrap_err();
    eprintln!("with a factor of 100: {err}");
    let TrainError::Diverged {
        epoch: 1,
        batch,
        lr,
        cause:
            Divergence::Growth {
                loss,
                reference,
                factor,
            },
    } = err
    else {
        panic!("expected the loss to outgrow the factor, found {err:?}");
    };
    assert!(batch > 1 && lr == 1e6 && factor == 100.0);
    assert!(loss > 100.0 * reference, "{loss} against {reference}");
    assert!(
        err.to_string().starts_with(&format!(
            "training diverged at epoch 1, batch {batch}, with learning rate 1e6: the loss is "
        )) && err
            .to_string()
            .contains("more than 100 times the epoch's mean so far"),
        "{err}"
    );
    assert!(net.is_finite());
}

#[test]
fn a_divergence_factor_must_exceed_one() {
    let data = blobs(9, 1);
    for factor in [1.0, 0.5, f64::NAN, f64::INFINITY] {
        let mut net = Classifier::zeros();
        let err = quiet(SoftmaxCrossEntropy, Sgd::new(0.1))
            .divergence_factor(factor)
            .fit(&mut net, &data, None)
            .unwrap_err();
        assert!(
            matches!(
                err,
                TrainError::Config {
                    name: "divergence_factor",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("invalid setting `divergence_factor`: expected a finite factor above 1, found {factor}")
        );
    }
}

fn train_blobs(seed: u64) -> (Classifier, History) {
    let data = blobs(90, 1);
    let mut net = Classifier::zeros();
    Init::HE_UNIFORM.init(&mut net, 5);
    let history = quiet(SoftmaxCrossEntropy, Sgd::new(0.05).with_momentum(0.9))
        .epochs(5)
        .batch_size(7)
        .seed(seed)
        .fit(&mut net, &data, None)
        .unwrap();
    (net, history)
}

#[test]
fn the_same_seed_gives_bit_identical_results() {
    let (a, ha) = train_blobs(11);
    let (b, hb) = train_blobs(11);
    assert_eq!(a, b);
    let losses = |h: &History| {
        h.epochs
            .iter()
            .map(|e| (e.train.loss, e.train.accuracy))
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&ha), losses(&hb));
    let (c, _) = train_blobs(12);
    assert_ne!(a, c);
}

#[test]
fn the_history_records_every_epoch_and_its_learning_rate() {
    let data = blobs(30, 2);
    let mut net = Classifier::zeros();
    let mut trainer = quiet(SoftmaxCrossEntropy, Sgd::new(0.1))
        .epochs(5)
        .schedule(Schedule::Step {
            every: 2,
            gamma: 0.5,
        });
    let history = trainer.fit(&mut net, &data, None).unwrap();
    let epochs: Vec<(usize, f64)> = history.epochs.iter().map(|e| (e.epoch, e.lr)).collect();
    assert_eq!(
        epochs,
        [(1, 0.1), (2, 0.1), (3, 0.05), (4, 0.05), (5, 0.025)]
    );
    assert!(history
        .epochs
        .iter()
        .all(|e| e.validation.is_none() && e.train.accuracy.is_some()));
    assert_eq!(history.best_epoch, None);
    assert_eq!(
        trainer.optimizer.lr, 0.1,
        "the base rate is restored after training"
    );
}

#[test]
fn bad_settings_and_shapes_are_errors() {
    let data = blobs(30, 2);
    let mut net = Classifier::zeros();
    let msg =
        |t: &mut Trainer<SoftmaxCrossEntropy, Sgd<f64>>,
         v: Option<&Dataset<f64>>,
         net: &mut Classifier| { t.fit(net, &data, v).unwrap_err().to_string() };
    let base = || quiet(SoftmaxCrossEntropy, Sgd::new(0.1));
    assert_eq!(
        msg(&mut base().epochs(0), None, &mut net),
        "invalid setting `epochs`: expected at least 1 epoch, found 0"
    );
    assert_eq!(
        msg(&mut base().batch_size(0), None, &mut net),
        "invalid setting `batch_size`: expected a batch size of at least 1, found 0"
    );
    assert_eq!(
        msg(&mut base().early_stopping(3), None, &mut net),
        "invalid setting `early_stopping`: early stopping watches a validation metric, but no validation set was given"
    );
    assert_eq!(
        msg(&mut base().early_stopping(0), Some(&data), &mut net),
        "invalid setting `patience`: expected a patience of at least 1 epoch, found 0"
    );
    assert_eq!(
        msg(
            &mut quiet(SoftmaxCrossEntropy, Sgd::new(-1.0)),
            None,
            &mut net
        ),
        "invalid setting `lr`: expected a finite value at least 0, found -1"
    );
    let wide = Dataset::classification(Array2::zeros((4, 3)), vec![0, 1, 2, 0], 3).unwrap();
    assert_eq!(
        msg(&mut base(), Some(&wide), &mut net),
        "validation features: expected 2 columns, found 3"
    );
    let two = Dataset::classification(Array2::zeros((4, 2)), vec![0, 1, 1, 0], 2).unwrap();
    let err = base().fit(&mut net, &two, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "training targets: expected 3 columns, found 2"
    );
    assert!(matches!(err, TrainError::Shape(_)));
    assert_eq!(
        evaluate(&net, &Mse, &wide).unwrap_err().to_string(),
        "features: expected 2 columns, found 3"
    );
    assert_eq!(
        net,
        Classifier::zeros(),
        "a rejected run leaves the network alone"
    );
}

#[test]
fn steps_allocate_nothing() {
    // The same epochs with 4 and 48 times as many steps make exactly as many allocations
    // (batches of 2 to 127 samples are all one chunk, with its own buffers).
    let data = blobs(96, 3);
    let count = |batch_size| {
        let mut net = Classifier::zeros();
        let mut trainer = quiet(SoftmaxCrossEntropy, Adam::new(0.01))
            .epochs(3)
            .batch_size(batch_size);
        let before = counting::this_thread();
        trainer.fit(&mut net, &data, Some(&data)).unwrap();
        counting::this_thread() - before
    };
    assert_eq!(count(4), count(16));
    assert_eq!(count(2), count(96));
}

#[test]
fn one_seed_drives_initialisation_shuffling_and_the_split() {
    let data = blobs(60, 5);
    let trainer = quiet(SoftmaxCrossEntropy, Sgd::new(0.1))
        .epochs(3)
        .seed(11)
        .init(Init::XAVIER_UNIFORM);
    // The split is the stratified split with the trainer's seed.
    let (train, val) = trainer.split(&data, 0.25).unwrap();
    assert_eq!(
        (train.clone(), val.clone()),
        data.split_stratified(0.25, 11).unwrap()
    );
    // The initialisation is `init.init(net, seed)`, applied whatever the weights were.
    let mut with_init = Classifier::zeros();
    with_init.fill(3.0);
    trainer
        .clone()
        .fit(&mut with_init, &train, Some(&val))
        .unwrap();
    let mut by_hand = Classifier::zeros();
    Init::XAVIER_UNIFORM.init(&mut by_hand, 11);
    let mut plain = trainer.clone();
    plain.init = None;
    plain.fit(&mut by_hand, &train, Some(&val)).unwrap();
    assert_eq!(flat(&with_init), flat(&by_hand));
    // Another seed changes all three.
    let other = trainer.clone().seed(12);
    assert_ne!(other.split(&data, 0.25).unwrap().1, val);
    let mut reseeded = Classifier::zeros();
    other
        .clone()
        .fit(&mut reseeded, &train, Some(&val))
        .unwrap();
    assert_ne!(flat(&reseeded), flat(&with_init));
}

#[test]
fn early_stopping_on_accuracy_with_a_min_delta() {
    use mlp_runtime::train::{EarlyStopping, Monitor};
    let data = blobs(80, 6);
    let (train, val) = data.split_stratified(0.25, 1).unwrap();
    let run = |stop: EarlyStopping| {
        let mut net = Classifier::zeros();
        let history = quiet(SoftmaxCrossEntropy, Sgd::new(0.05))
            .epochs(200)
            .seed(2)
            .init(Init::XAVIER_UNIFORM)
            .early_stopping_with(stop)
            .fit(&mut net, &train, Some(&val))
            .unwrap();
        (net, history)
    };
    let stop = EarlyStopping::new(5).monitor(Monitor::ValidationAccuracy);
    let (_, history) = run(stop);
    let accuracies: Vec<f64> = history
        .epochs
        .iter()
        .map(|e| e.validation.unwrap().accuracy.unwrap())
        .collect();
    // The best epoch is the first with the highest accuracy, and training stopped 5 epochs
    // after it.
    let best = history.best_epoch.unwrap();
    let max = accuracies.iter().cloned().fold(0.0, f64::max);
    assert_eq!(best, accuracies.iter().position(|&a| a == max).unwrap());
    assert!(history.stopped_early);
    assert_eq!(history.epochs.len(), best + 1 + 5);
    // A min_delta larger than any possible gain: no epoch after the first improves.
    let (_, history) = run(stop.min_delta(1.0));
    assert_eq!((history.best_epoch, history.epochs.len()), (Some(0), 6));
    // Accuracy needs a classifying loss.
    let err = quiet(Mse, Sgd::new(0.1))
        .early_stopping_with(stop)
        .fit(&mut Classifier::zeros(), &train, Some(&val))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid setting `monitor`: ValidationAccuracy needs a classifying loss"),
        "{err}"
    );
}
