//! The trainer's step cuts each mini-batch into chunks and sums their gradients in a fixed
//! order: the step is still the mean gradient's, and (with `parallel`) its bits do not depend
//! on the number of threads.

use crate::support::{assert_close, randomize, TestRng, F64_TOLERANCE};
use mlp::data::Dataset;
use mlp::loss::Mse;
use mlp::ndarray::Array2;
use mlp::optim::Sgd;
use mlp::train::Trainer;
use mlp::Parameters;

mlp::mlp! {
    /// Small, in f64, so that the chunked step is compared to a per-sample reference tightly.
    pub struct Chunked { scalar: f64, input: 5, layers: [7 tanh, 3 identity] }
}

/// `n` samples of a fixed regression problem.
fn data(rng: &mut TestRng, n: usize) -> Dataset<f64> {
    let x = Array2::from_shape_fn((n, 5), |_| rng.uniform(-1.0, 1.0));
    let t = Array2::from_shape_fn((n, 3), |_| rng.uniform(-1.0, 1.0));
    Dataset::regression(x, t).unwrap()
}

/// One step on batches of 300, 130 and 5 samples (4, 2 and 1 chunks, or 7, 3 and 5 chunks set
/// by `Trainer::chunks`) moves the weights by `−η (1/B) Σᵢ ∂ℓᵢ/∂θ`, summed here sample by
/// sample on the per-sample path.
#[test]
fn a_chunked_step_is_the_mean_gradient_step() {
    let mut rng = TestRng::new(31);
    let cases = [300, 130, 5].map(|b| (b, None));
    let set = [(300, Some(7)), (130, Some(3)), (5, Some(7))];
    for (b, chunks) in cases.into_iter().chain(set) {
        let data = data(&mut rng, b);
        let mut net = Chunked::zeros();
        randomize(&mut net, &mut rng, 0.7);
        let lr = 0.3;
        let mut sum = ChunkedGrads::default();
        for i in 0..b {
            let (x, t) = data.sample(i).unwrap();
            let mut cache = ChunkedCache::default();
            let y = net.forward_cached(&x.try_into().unwrap(), &mut cache);
            // Mse is the mean over the outputs of (y − t)².
            let dl_dy: [f64; 3] = core::array::from_fn(|k| 2.0 * (y[k] - t[k]) / 3.0);
            net.backward(&cache, &dl_dy, &mut sum);
        }
        let mut want = Vec::new();
        let mut grads = Vec::new();
        sum.visit(|_, g| grads.extend_from_slice(g));
        net.visit(|_, p| want.extend_from_slice(p));
        want.iter_mut()
            .zip(&grads)
            .for_each(|(w, g)| *w -= lr * g / b as f64);

        let mut trainer = Trainer::new(Mse, Sgd::new(lr))
            .epochs(1)
            .batch_size(b)
            .shuffle(false)
            .progress(false);
        trainer.chunks = chunks;
        trainer.fit(&mut net, &data, None).unwrap();
        let mut got = Vec::new();
        net.visit(|_, p| got.extend_from_slice(p));
        let what = format!("batch of {b}, chunks {chunks:?}");
        assert_close(&what, &got, &want, F64_TOLERANCE, 1e-12);
    }
}

/// With `parallel`: training with validation gives the same weights and history, bit for
/// bit, in pools of 1, 2 and 3 threads, with batches of 64 (one chunk, 40 Mflop: the pool's
/// threads kept awake, the products cut into pieces) and 256 (160 Mflop: chunks on the pool;
/// the second batch has 194).
#[cfg(feature = "parallel")]
#[test]
fn training_gives_the_same_bits_on_any_number_of_threads() {
    use mlp::loss::SoftmaxCrossEntropy;
    use mlp::optim::Adam;
    mlp::mlp! {
        pub struct Wider { scalar: f32, input: 40, layers: [2048 tanh, 10 identity] }
    }
    let mut rng = TestRng::new(5);
    let x = Array2::from_shape_fn((600, 40), |_| rng.uniform(-1.0, 1.0) as f32);
    let labels = (0..600).map(|i| (i * 7 + i / 13) % 10).collect();
    let data = Dataset::classification(x, labels, 10).unwrap();
    // 600 · 0.75 = 450 training samples: batches of 256 and 194.
    let run = |threads: usize, batch: usize| {
        let pool = mlp::rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut trainer = Trainer::new(SoftmaxCrossEntropy, Adam::new(0.01))
                .epochs(2)
                .batch_size(batch)
                .seed(3)
                .init(mlp::init::Init::XAVIER_UNIFORM)
                .progress(false);
            let (train, val) = trainer.split(&data, 0.25).unwrap();
            let mut net = Wider::zeros();
            let history = trainer.fit(&mut net, &train, Some(&val)).unwrap();
            let stats: Vec<_> = history
                .epochs
                .iter()
                .map(|e| (e.train, e.validation))
                .collect();
            (net, stats)
        })
    };
    for batch in [64, 256] {
        let one = run(1, batch);
        for threads in [2, 3] {
            assert!(
                run(threads, batch) == one,
                "batches of {batch}: {threads} threads differ from one"
            );
        }
    }
}
