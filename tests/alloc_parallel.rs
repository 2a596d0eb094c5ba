//! With the `parallel` feature: after the first, training steps and inference calls whose
//! products are split across a pool of two threads allocate nothing, on any thread, and so
//! do the trainer's steps, whose chunks run on the pool. Its own
//! test binary with one test, because the count is of every thread's allocations.

use mlp::data::Dataset;
use mlp::loss::SoftmaxCrossEntropy;
use mlp::optim::Adam;
use mlp::train::Trainer;
use mlp::Parameters;
use ndarray::Array2;

#[path = "support/counting.rs"]
mod counting;

mlp::mlp! {
    /// Wide enough that its first layer's products are split.
    pub struct Big { scalar: f32, input: 400, layers: [256 tanh, 10 identity] }
}

#[test]
fn split_steps_allocate_nothing_after_the_first() {
    let pool = mlp::rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let x = Array2::from_shape_fn((128, 400), |(i, j)| ((i * 7 + j) % 19) as f32 / 19.0 - 0.5);
    let g = Array2::from_shape_fn((128, 10), |(i, j)| ((i + j) % 5) as f32 / 50.0);
    let mut net = Big::zeros();
    net.visit_mut(|_, p| {
        for (k, v) in p.iter_mut().enumerate() {
            *v = ((k * 13) % 17) as f32 / 170.0 - 0.05;
        }
    });
    let (mut cache, mut grads) = (BigBatchCache::default(), BigGrads::default());
    let mut step = |net: &mut Big| {
        pool.install(|| {
            net.forward_batch_cached(x.view(), &mut cache).unwrap();
            net.gradient_batch(&mut cache, g.view(), &mut grads)
                .unwrap();
            net.sgd_step_batch(&mut cache, g.view(), 0.01).unwrap();
            net.predict_batch(x.view(), &mut cache).unwrap()[[0, 0]]
        })
    };
    step(&mut net);
    let before_weights = net.clone();
    let before = counting::all_threads();
    for _ in 0..5 {
        step(&mut net);
    }
    assert_eq!(counting::all_threads() - before, 0);
    assert_ne!(net, before_weights, "the steps moved the weights");

    // The trainer in the pool: three epochs make as many allocations as one, on every thread
    // together, for batches of 32 (one chunk, on the calling thread) and 256 (4 chunks on the
    // pool, one step).
    let x = Array2::from_shape_fn((256, 400), |(i, j)| ((i * 5 + j) % 23) as f32 / 23.0 - 0.5);
    let data = Dataset::classification(x, (0..256).map(|i| i % 10).collect(), 10).unwrap();
    let count = |batch_size, epochs| {
        let mut net = Big::zeros();
        let mut trainer = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01))
            .progress(false)
            .epochs(epochs)
            .batch_size(batch_size);
        pool.install(|| {
            let before = counting::all_threads();
            trainer.fit(&mut net, &data, None).unwrap();
            counting::all_threads() - before
        })
    };
    for batch_size in [32, 256] {
        assert_eq!(
            count(batch_size, 1),
            count(batch_size, 3),
            "batches of {batch_size}"
        );
    }
}
