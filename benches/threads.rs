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
//! - `ceiling_registers`, `ceiling_gemm`: what two threads can give on this machine at all,
//!   with nothing shared: a loop of multiply-adds on 8 vectors of 16 `f32` held in registers
//!   (no memory traffic), and W4's product (256×784 · 784×256, `mlp::batch::matmul`) as two
//!   halves of 128 rows that write disjoint rows of `C`; each as two halves under
//!   `rayon::join`, which one thread runs one after the other. About 10 ms of work per
//!   iteration, so that the wake-up of the second thread weighs little.
//!
//! Each benchmark runs in a pool of `threads` threads built for it. Run with
//! `cargo bench -p mlp-benches --features parallel --bench threads`, pinned to two cores
//! (`taskset -c 0,1`) on a quiet machine.

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use mlp::data::{load_csv, Target};
use mlp::init::Init;
use mlp::loss::SoftmaxCrossEntropy;
use mlp::ndarray::{Array2, ArrayViewMut2, Axis};
use mlp::optim::Adam;
use mlp::train::Trainer;
use mlp_benches::{avx512, mnist_data, w3_trainer};

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

/// One epoch of `SAMPLES / batch` steps per iteration.
fn w3(bencher: Bencher, threads: usize, batch: usize) {
    let data = mnist_data(SAMPLES);
    let pool = pool(threads);
    let mut net = Mnist::zeros();
    Init::XAVIER_UNIFORM.init(&mut net, 1);
    let mut trainer = w3_trainer(batch);
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

/// Rounds of the register loop per iteration (both halves together): about 10 ms of work on
/// one thread, so that waking the second thread (tenths of a millisecond on a virtual machine)
/// weighs little.
const ROUNDS: usize = 4_000_000;

/// Products per half and iteration of `ceiling_gemm`, for the same reason.
const PRODUCTS: usize = 10;

/// `rounds` rounds of `v ← v m + c` on 8 independent vectors of 16 values, held in registers:
/// 256 floating-point operations per round and no memory traffic.
#[inline(always)]
fn register_loop(rounds: usize) -> f32 {
    /// `v ← v m + c`, lane by lane.
    #[inline(always)]
    fn step(v: [f32; 16], m: f32, c: f32) -> [f32; 16] {
        v.map(|x| x * m + c)
    }
    let (m, c) = (black_box(0.999f32), black_box(1e-3f32));
    // Eight separate locals, so that each stays in a register.
    let [mut v0, mut v1, mut v2, mut v3, mut v4, mut v5, mut v6, mut v7] = [[0.0f32; 16]; 8];
    for _ in 0..rounds {
        v0 = step(v0, m, c);
        v1 = step(v1, m, c);
        v2 = step(v2, m, c);
        v3 = step(v3, m, c);
        v4 = step(v4, m, c);
        v5 = step(v5, m, c);
        v6 = step(v6, m, c);
        v7 = step(v7, m, c);
    }
    [v0, v1, v2, v3, v4, v5, v6, v7].iter().flatten().sum()
}

#[divan::bench(args = [1, 2])]
fn ceiling_registers(bencher: Bencher, threads: usize) {
    let pool = pool(threads);
    let half = || avx512(|| register_loop(ROUNDS / 2));
    bencher
        .counter(ItemsCount::new(ROUNDS * 256))
        .bench_local(|| pool.install(|| mlp::rayon::join(half, half)));
}

#[divan::bench(args = [1, 2])]
fn ceiling_gemm(bencher: Bencher, threads: usize) {
    let (m, n, k) = (256, 256, 784);
    let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 17) as f32 / 17.0 - 0.5);
    let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j * 11) % 19) as f32 / 19.0 - 0.5);
    let mut c = Array2::<f32>::zeros((m, n));
    let pool = pool(threads);
    let (top, bottom) = a.view().split_at(Axis(0), m / 2);
    bencher
        .counter(ItemsCount::new(PRODUCTS * 2 * m * n * k))
        .bench_local(|| {
            let (mut c_top, mut c_bottom) = c.view_mut().split_at(Axis(0), m / 2);
            let products = |a, c: &mut ArrayViewMut2<'_, f32>| {
                for _ in 0..PRODUCTS {
                    mlp::batch::matmul(a, b.view(), c.view_mut(), false).unwrap();
                }
            };
            pool.install(|| {
                mlp::rayon::join(
                    || products(top, &mut c_top),
                    || products(bottom, &mut c_bottom),
                )
            })
        });
}
