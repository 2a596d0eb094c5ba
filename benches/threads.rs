//! The trainer on one thread and on two (the `parallel` feature): each mini-batch is cut into
//! chunks that the pool's threads compute, and their gradients are summed in a fixed order.
//!
//! - `w3_b64`, `w3_b256`, `w3_b1024`: the W3 network (784-256-128-10 tanh/tanh/identity,
//!   `f32`) trained by `Trainer::fit` with plain SGD and softmax cross-entropy for one epoch
//!   of 10 240 shuffled samples (160, 40 or 10 steps, so that the first step's allocations
//!   weigh little); the throughput is per step.
//! - `w4`: inference on a batch of 256 (`predict_batch` into a reused cache, its large
//!   products split across the pool), the throughput per sample.
//! - `digits_epoch`: one epoch of `examples/digits.rs`'s recipe (64-256-10 relu, AdamW,
//!   batches of 32) on the 1437 bundled training images, the throughput per step.
//!
//! Each benchmark runs in a pool of `threads` threads built for it. Run with
//! `cargo bench -p mlp-benches --features parallel --bench threads`, pinned to two cores
//! (`taskset -c 0,1`) on a quiet machine.

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use mlp::data::{load_csv, Dataset, Target};
use mlp::init::Init;
use mlp::loss::SoftmaxCrossEntropy;
use mlp::ndarray::Array2;
use mlp::optim::{Adam, Sgd};
use mlp::train::Trainer;

fn main() {
    divan::main();
}

mlp::mlp! {
    /// The W3/W4 network.
    pub struct Mnist { scalar: f32, input: 784, layers: [256 tanh, 128 tanh, 10 identity] }
}

mlp::mlp! {
    /// The digits example's network.
    pub struct Digits { scalar: f32, input: 64, layers: [256 relu, 10 identity] }
}

/// The samples of one epoch of the W3 benchmarks.
const SAMPLES: usize = 10_240;

fn pool(threads: usize) -> mlp::rayon::ThreadPool {
    mlp::rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

/// `n` inputs in `[0, 1)` in 10 classes.
fn mnist_data(n: usize) -> Dataset<f32> {
    let x = Array2::from_shape_fn((n, 784), |(i, j)| ((i * 131 + j * 7) % 97) as f32 / 97.0);
    Dataset::classification(x, (0..n).map(|i| i % 10).collect(), 10).unwrap()
}

/// One epoch of `SAMPLES / batch` steps per iteration.
fn w3(bencher: Bencher, threads: usize, batch: usize) {
    let data = mnist_data(SAMPLES);
    let pool = pool(threads);
    let mut net = Mnist::zeros();
    Init::XAVIER_UNIFORM.init(&mut net, 1);
    let mut trainer = Trainer::new(SoftmaxCrossEntropy, Sgd::new(1e-3))
        .epochs(1)
        .batch_size(batch)
        .progress(false);
    bencher
        .counter(ItemsCount::new(SAMPLES / batch))
        .bench_local(|| {
            pool.install(|| {
                trainer.fit(&mut net, &data, None).unwrap().epochs[0]
                    .train
                    .loss
            })
        });
}

#[divan::bench(args = [1, 2])]
fn w3_b64(bencher: Bencher, threads: usize) {
    w3(bencher, threads, 64);
}

#[divan::bench(args = [1, 2])]
fn w3_b256(bencher: Bencher, threads: usize) {
    w3(bencher, threads, 256);
}

#[divan::bench(args = [1, 2])]
fn w3_b1024(bencher: Bencher, threads: usize) {
    w3(bencher, threads, 1024);
}

#[divan::bench(args = [1, 2])]
fn w4(bencher: Bencher, threads: usize) {
    let x = mnist_data(256).features().to_owned();
    let pool = pool(threads);
    let mut net = Mnist::zeros();
    Init::XAVIER_UNIFORM.init(&mut net, 1);
    let mut cache = MnistBatchCache::default();
    bencher.counter(ItemsCount::new(256usize)).bench_local(|| {
        pool.install(|| black_box(net.predict_batch(x.view(), &mut cache).unwrap()[[0, 0]]))
    });
}

#[divan::bench(args = [1, 2])]
fn digits_epoch(bencher: Bencher, threads: usize) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/digits_train.csv");
    let data = load_csv::<f32>(path, Target::Label { classes: 10 }).unwrap();
    let pool = pool(threads);
    let mut net = Digits::zeros();
    Init::XAVIER_UNIFORM.init(&mut net, 1);
    let mut trainer = Trainer::new(
        SoftmaxCrossEntropy,
        Adam::adamw(3e-3).with_weight_decay(0.05),
    )
    .epochs(1)
    .batch_size(32)
    .progress(false);
    bencher
        .counter(ItemsCount::new(data.len().div_ceil(32)))
        .bench_local(|| {
            pool.install(|| {
                trainer.fit(&mut net, &data, None).unwrap().epochs[0]
                    .train
                    .loss
            })
        });
}
