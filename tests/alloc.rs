//! Counts heap allocations with a counting global allocator: after the first step, a training
//! step on the batched path (gather, forward, loss, backward, optimizer) allocates nothing,
//! and neither does batched inference into a reused cache. Its own test binary, because the
//! global allocator is per binary.

use mlp::data::Dataset;
use mlp::loss::{Loss, SoftmaxCrossEntropy};
use mlp::optim::{Adam, Optimizer};
use mlp::train::Trainer;
use mlp::{Parameters, Vector};
use ndarray::Array2;

#[path = "support/counting.rs"]
mod counting;

/// The allocations this test's thread has made so far.
fn allocations() -> usize {
    counting::this_thread()
}

mlp::mlp! {
    /// A small image classifier, shaped like the benchmarks' 784-256-128-10 network.
    pub struct Digits { scalar: f32, input: 64, layers: [48 tanh, 32 tanh, 10 identity] }
}

/// `n` samples of 64 features in 10 classes, from a fixed formula.
fn data(n: usize) -> Dataset<f32> {
    let x = Array2::from_shape_fn((n, 64), |(i, j)| {
        ((i * 31 + j * 17) % 23) as f32 / 23.0 - 0.5
    });
    Dataset::classification(x, (0..n).map(|i| i % 10).collect(), 10).unwrap()
}

/// One training step on the batched path, as the trainer takes it: the samples `rows` are
/// gathered into the cache, the loss writes `∂ℓ/∂y` per row, backward accumulates, the
/// gradient is averaged and the optimizer steps.
fn step(
    net: &mut Digits,
    data: &Dataset<f32>,
    rows: &[usize],
    cache: &mut DigitsBatchCache,
    dl_dy: &mut Array2<f32>,
    grads: &mut DigitsGrads,
    opt: &mut Adam<f32>,
) -> f32 {
    grads.fill(0.0);
    let y = net
        .forward_batch_rows(data.features(), rows, cache)
        .unwrap();
    let mut loss = 0.0;
    let mut yi = <[f32; 10]>::zeros();
    for ((&i, y_row), mut g) in rows.iter().zip(y.rows()).zip(dl_dy.rows_mut()) {
        yi.iter_mut().zip(y_row).for_each(|(d, &v)| *d = v);
        let t = data.sample(i).unwrap().1;
        loss += SoftmaxCrossEntropy
            .value_grad(&yi, t, g.as_slice_mut().unwrap())
            .unwrap();
    }
    net.backward_batch(cache, dl_dy.view(), grads).unwrap();
    grads.scale(1.0 / rows.len() as f32);
    opt.step(net, grads);
    loss
}

#[test]
fn a_training_step_allocates_nothing_after_the_first() {
    let data = data(256);
    let mut net = Digits::zeros();
    net.visit_mut(|info, p| {
        for (k, v) in p.iter_mut().enumerate() {
            *v = ((k * 7 + info.layer) % 13) as f32 / 13.0 - 0.5;
        }
    });
    let mut cache = DigitsBatchCache::default();
    let mut grads = DigitsGrads::default();
    let mut opt = Adam::new(1e-3);
    let mut dl_dy = Array2::zeros((64, 10));
    let order: Vec<usize> = (0..256).rev().collect();

    let before = allocations();
    step(
        &mut net,
        &data,
        &order[..64],
        &mut cache,
        &mut dl_dy,
        &mut grads,
        &mut opt,
    );
    let first = allocations() - before;
    assert!(
        first > 0,
        "the first step sizes the cache and the optimizer's state"
    );

    let mut losses = Vec::with_capacity(12);
    let before = allocations();
    for epoch in 0..3 {
        for batch in order.chunks(64) {
            let loss = step(
                &mut net, &data, batch, &mut cache, &mut dl_dy, &mut grads, &mut opt,
            );
            losses.push((epoch, loss));
        }
    }
    assert_eq!(
        allocations() - before,
        0,
        "12 steps after the first allocate nothing"
    );
    assert!(losses.iter().all(|(_, l)| l.is_finite()));
}

#[test]
fn batched_inference_into_a_cache_allocates_nothing() {
    let data = data(100);
    let net = Digits::zeros();
    let mut cache = DigitsBatchCache::default();
    net.forward_batch_cached(data.features(), &mut cache)
        .unwrap();
    let before = allocations();
    for b in [100, 10, 99, 1] {
        let x = data.features();
        let y = net
            .forward_batch_cached(x.slice(ndarray::s![..b, ..]), &mut cache)
            .unwrap();
        assert_eq!(y.nrows(), b);
    }
    assert_eq!(allocations() - before, 0);
}

#[test]
fn a_fused_sgd_step_allocates_nothing_after_the_first() {
    let data = data(128);
    let mut net = Digits::zeros();
    net.visit_mut(|info, p| {
        for (k, v) in p.iter_mut().enumerate() {
            *v = ((k * 5 + info.layer) % 11) as f32 / 11.0 - 0.5;
        }
    });
    let mut cache = DigitsBatchCache::default();
    let dl_dy = Array2::from_elem((64, 10), 0.01f32);
    let rows: Vec<usize> = (0..128).collect();
    net.forward_batch_rows(data.features(), &rows[..64], &mut cache)
        .unwrap();
    net.sgd_step_batch(&mut cache, dl_dy.view(), 0.1).unwrap();
    let before_weights = net.clone();
    let before = allocations();
    for batch in rows.chunks(64) {
        net.forward_batch_rows(data.features(), batch, &mut cache)
            .unwrap();
        net.sgd_step_batch(&mut cache, dl_dy.view(), 0.1).unwrap();
    }
    assert_eq!(allocations() - before, 0);
    assert_ne!(net, before_weights, "the steps moved the weights");
}

#[test]
fn predict_batch_allocates_nothing() {
    let data = data(100);
    let net = Digits::zeros();
    let mut cache = DigitsBatchCache::default();
    net.predict_batch(data.features(), &mut cache).unwrap();
    let before = allocations();
    for b in [100, 10, 99, 1] {
        let x = data.features();
        let y = net
            .predict_batch(x.slice(ndarray::s![..b, ..]), &mut cache)
            .unwrap();
        assert_eq!(y.nrows(), b);
    }
    assert_eq!(allocations() - before, 0);
}

#[test]
fn trainer_steps_allocate_nothing() {
    // Three epochs make exactly as many allocations as one: after the first epoch, whose
    // steps size every buffer, the steps allocate nothing. For batches of 8 (24 steps of one
    // chunk), 32 (6 steps of one chunk) and 192 (one step of 3 chunks).
    let data = data(192);
    let count = |batch_size, epochs| {
        let mut net = Digits::zeros();
        let mut trainer = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01))
            .progress(false)
            .epochs(epochs)
            .batch_size(batch_size);
        let before = allocations();
        trainer.fit(&mut net, &data, None).unwrap();
        allocations() - before
    };
    for batch_size in [8, 32, 192] {
        assert_eq!(
            count(batch_size, 1),
            count(batch_size, 3),
            "batches of {batch_size}"
        );
    }
}

#[test]
fn per_sample_passes_and_the_fused_step_allocate_nothing() {
    let mut net = Digits::zeros();
    net.visit_mut(|info, p| {
        for (k, v) in p.iter_mut().enumerate() {
            *v = ((k * 3 + info.layer) % 7) as f32 / 7.0 - 0.5;
        }
    });
    let frozen = net.freeze();
    let start = net.clone();
    let mut cache = DigitsCache::default();
    let mut x = [0.0f32; 64];
    let before = allocations();
    for i in 0..32 {
        x.iter_mut()
            .enumerate()
            .for_each(|(j, v)| *v = ((i * 13 + j * 5) % 17) as f32 / 17.0 - 0.5);
        let y = frozen.forward(&x);
        assert!(y.iter().chain(&net.forward(&x)).all(|v| v.is_finite()));
        let y = net.forward_cached(&x, &mut cache);
        let dl_dy = y.map(|v| 0.1 * v);
        net.sgd_step(&cache, &dl_dy, 0.01);
    }
    assert_eq!(allocations() - before, 0);
    assert_ne!(net, start, "the steps moved the weights");
}

mlp::mlp! {
    /// A PINN: two coordinates, `u` with its gradient and Laplacian.
    pub struct Pinn { scalar: f32, input: 2, layers: [16 tanh, 16 tanh, 1 identity], operators: [laplacian] }
}

/// One residual step: the batched jets, a seed on the Laplacian channel, their reverse pass
/// into the gradients, a per-sample jet and its reverse pass, then the optimizer.
fn pinn_step(
    net: &mut Pinn,
    points: &[[f32; 2]],
    cache: &mut PinnJetBatchCache,
    seed: &mut mlp::operators::Jets<f32, 1>,
    grads: &mut PinnGrads,
    opt: &mut Adam<f32>,
) {
    use mlp::operators::Laplacian;
    grads.fill(0.0);
    let jets = net.jets_batch(points, &Laplacian, cache);
    seed.zeroed(points.len(), 2, 1);
    for s in 0..points.len() {
        let r = jets.second(s, 0, 0) + 1.0;
        seed.set_second(s, 0, 0, 2.0 * r);
    }
    net.jets_batch_backward(&Laplacian, cache, seed, grads)
        .unwrap();
    let mut one = PinnJetCache::default();
    let jet = net.jet(&points[0], &Laplacian, &mut one);
    let mut s = mlp::operators::Jet::zeros();
    s.value[0] = jet.value[0];
    net.jet_backward(&Laplacian, &one, &s, grads);
    opt.step(net, grads);
}

#[test]
fn a_residual_step_allocates_nothing_after_the_first() {
    let mut net = Pinn::zeros();
    net.visit_mut(|info, p| {
        for (k, v) in p.iter_mut().enumerate() {
            *v = ((k * 7 + info.layer) % 13) as f32 / 13.0 - 0.5;
        }
    });
    let points: Vec<[f32; 2]> = (0..40)
        .map(|i| [i as f32 / 40.0, (i * 7 % 40) as f32 / 40.0])
        .collect();
    let mut cache = PinnJetBatchCache::default();
    let mut seed = mlp::operators::Jets::default();
    let mut grads = PinnGrads::default();
    let mut opt = Adam::new(1e-3);
    let before = allocations();
    pinn_step(
        &mut net, &points, &mut cache, &mut seed, &mut grads, &mut opt,
    );
    assert!(
        allocations() > before,
        "the first step allocates the buffers"
    );
    let before = allocations();
    for b in [40, 17, 1, 40] {
        pinn_step(
            &mut net,
            &points[..b],
            &mut cache,
            &mut seed,
            &mut grads,
            &mut opt,
        );
    }
    assert_eq!(allocations() - before, 0);
}
