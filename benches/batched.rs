//! W3 and W4: a 784-256-128-10 tanh/tanh/identity `f32` network on the batched path.
//!
//! - W3: one SGD step with softmax cross-entropy on a batch of 64 (forward, loss, backward,
//!   mean gradient, update), generated against hand-written `ndarray` code on ndarray's
//!   default product (`general_mat_mul`, the matrixmultiply crate) with the same activation.
//!   Both write the gradients with `β = 0` products (`gradient_batch`, `general_mat_mul(…, 0.0,
//!   …)`), so neither zeroes them first; the generated step updates with the runtime's `Sgd`.
//!   The `_fused` pair does the same step without storing a gradient (`sgd_step_batch`, and
//!   the same algorithm by hand): `δ` scaled by `−η/B` once, then one `β = 1` product into
//!   each weight matrix.
//! - W4: an inference forward pass over a batch of 256 (`predict_batch`: the inputs read in
//!   place, only each layer's outputs kept), both ways; the throughput is `256 / time`.
//!
//! One thread. Run with `cargo bench -p mlp-benches --bench batched`.

use divan::black_box;
use mlp::loss::{Loss, SoftmaxCrossEntropy};
use mlp::math::tanh_f32;
use mlp::optim::{Optimizer, Sgd};
use mlp::Parameters;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis};

fn main() {
    // With the `parallel` feature, the benchmarks below run on one thread as without it; the
    // `two_threads` ones install a pool of two.
    #[cfg(feature = "parallel")]
    mlp::rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("the global pool is built once, first");
    divan::main();
}

mlp::mlp! {
    /// The W3/W4 network.
    pub struct Mnist { scalar: f32, input: 784, layers: [256 tanh, 128 tanh, 10 identity] }
}

const LR: f32 = 1e-3;

/// Deterministic weights, scaled by `1/√fan_in`.
fn mnist() -> Mnist {
    let mut net = Mnist::zeros();
    net.visit_mut(|info, p| {
        let scale = 1.0 / (info.shape[info.shape.len() - 1] as f32).sqrt();
        for (k, v) in p.iter_mut().enumerate() {
            *v = (((k * 37 + info.layer * 11) % 101) as f32 / 101.0 - 0.5) * scale;
        }
    });
    net
}

/// A batch of `b` inputs in `[0, 1)` and one-hot targets over 10 classes.
fn batch(b: usize) -> (Array2<f32>, Array2<f32>) {
    let x = Array2::from_shape_fn((b, 784), |(i, j)| ((i * 131 + j * 7) % 97) as f32 / 97.0);
    let t = Array2::from_shape_fn((b, 10), |(i, j)| f32::from(u8::from(i % 10 == j)));
    (x, t)
}

/// The hand-written network: `ndarray` arrays, weights output-major as PyTorch's `Linear`,
/// samples as rows, every buffer allocated once.
struct Hand {
    w: [Array2<f32>; 3],
    b: [Array1<f32>; 3],
    gw: [Array2<f32>; 3],
    gb: [Array1<f32>; 3],
    /// Per layer: the outputs `H_l` (B × N_l); `h[0]` is unused (the input is read in place).
    h: Vec<Array2<f32>>,
    /// Per layer: `δ_l` (B × N_l).
    d: Vec<Array2<f32>>,
}

impl Hand {
    fn of(net: &Mnist, samples: usize) -> Self {
        let w1 = Array2::from_shape_vec((256, 784), net.w1.as_flattened().to_vec()).unwrap();
        let w2 = Array2::from_shape_vec((128, 256), net.w2.as_flattened().to_vec()).unwrap();
        let w3 = Array2::from_shape_vec((10, 128), net.w3.as_flattened().to_vec()).unwrap();
        let widths = [784, 256, 128, 10];
        Hand {
            gw: [w1.clone() * 0.0, w2.clone() * 0.0, w3.clone() * 0.0],
            w: [w1, w2, w3],
            b: [
                Array1::from(net.b1.to_vec()),
                Array1::from(net.b2.to_vec()),
                Array1::from(net.b3.to_vec()),
            ],
            gb: [Array1::zeros(256), Array1::zeros(128), Array1::zeros(10)],
            h: widths
                .iter()
                .map(|&n| Array2::zeros((samples, n)))
                .collect(),
            d: widths
                .iter()
                .map(|&n| Array2::zeros((samples, n)))
                .collect(),
        }
    }

    /// `H_l = σ(H_{l−1} W_lᵀ + b_l)` for every layer, reading `H_0 = X` where it lies.
    fn forward(&mut self, x: ArrayView2<'_, f32>) {
        for l in 0..3 {
            let (prev, rest) = self.h.split_at_mut(l + 1);
            let out = &mut rest[0];
            let input = if l == 0 { x } else { prev[l].view() };
            general_mat_mul(1.0, &input, &self.w[l].t(), 0.0, out);
            out.rows_mut().into_iter().for_each(|mut row| {
                row.iter_mut().zip(&self.b[l]).for_each(|(v, &b)| {
                    let z = *v + b;
                    *v = if l < 2 { tanh_f32(z) } else { z };
                })
            });
        }
    }

    /// The forward pass, then the loss: `δ_3 = scale · ∂ℓ/∂y` per sample; returns the mean
    /// loss.
    fn forward_loss(&mut self, x: ArrayView2<'_, f32>, t: ArrayView2<'_, f32>, scale: f32) -> f32 {
        self.forward(x);
        let mut loss = 0.0;
        for ((y, t), mut g) in self.h[3]
            .rows()
            .into_iter()
            .zip(t.rows())
            .zip(self.d[3].rows_mut())
        {
            loss += SoftmaxCrossEntropy
                .value_grad(
                    y.as_slice().unwrap(),
                    t.as_slice().unwrap(),
                    g.as_slice_mut().unwrap(),
                )
                .unwrap();
            g.mapv_inplace(|v| v * scale);
        }
        loss / x.nrows() as f32
    }

    /// `δ_l = (δ_{l+1} W_{l+1}) ⊙ (1 − H_l²)`, from the current `W_{l+1}` (`l > 0`).
    fn input_delta(&mut self, l: usize) {
        let (lo, hi) = self.d.split_at_mut(l + 1);
        general_mat_mul(1.0, &hi[0], &self.w[l], 0.0, &mut lo[l]);
        lo[l].zip_mut_with(&self.h[l], |d, &h| *d *= 1.0 - h * h);
    }

    /// One SGD step with softmax cross-entropy: the mean gradient, then the update; returns
    /// the mean loss.
    fn step(&mut self, x: ArrayView2<'_, f32>, t: ArrayView2<'_, f32>) -> f32 {
        let loss = self.forward_loss(x, t, 1.0 / x.nrows() as f32);
        for l in (0..3).rev() {
            let input = if l == 0 { x } else { self.h[l].view() };
            general_mat_mul(1.0, &self.d[l + 1].t(), &input, 0.0, &mut self.gw[l]);
            self.gb[l].assign(&self.d[l + 1].sum_axis(Axis(0)));
            if l > 0 {
                self.input_delta(l);
            }
        }
        for l in 0..3 {
            self.w[l].scaled_add(-LR, &self.gw[l]);
            self.b[l].scaled_add(-LR, &self.gb[l]);
        }
        loss
    }

    /// The same step fused as `sgd_step_batch` does it: `δ_3` scaled by `−η/B`, each `δ_l`
    /// from the old weights, then `W += δ Hᵀ` as one `β = 1` product into the weights.
    fn step_fused(&mut self, x: ArrayView2<'_, f32>, t: ArrayView2<'_, f32>) -> f32 {
        let loss = self.forward_loss(x, t, -LR / x.nrows() as f32);
        for l in (0..3).rev() {
            if l > 0 {
                self.input_delta(l);
            }
            let input = if l == 0 { x } else { self.h[l].view() };
            general_mat_mul(1.0, &self.d[l + 1].t(), &input, 1.0, &mut self.w[l]);
            self.b[l] += &self.d[l + 1].sum_axis(Axis(0));
        }
        loss
    }
}

/// The summed softmax cross-entropy of outputs `y` against targets `t`, writing `∂ℓ/∂y` per
/// sample into `dl_dy`.
fn softmax_ce(y: ArrayView2<'_, f32>, t: ArrayView2<'_, f32>, dl_dy: &mut Array2<f32>) -> f32 {
    let mut loss = 0.0;
    let mut yi = [0.0; 10];
    for ((y, t), mut g) in y.rows().into_iter().zip(t.rows()).zip(dl_dy.rows_mut()) {
        yi.iter_mut().zip(y).for_each(|(d, &v)| *d = v);
        loss += SoftmaxCrossEntropy
            .value_grad(&yi, t.as_slice().unwrap(), g.as_slice_mut().unwrap())
            .unwrap();
    }
    loss
}

/// One SGD step of the generated network fused into its backward pass (`sgd_step_batch`);
/// returns the mean loss.
fn fused_step(
    net: &mut Mnist,
    x: ArrayView2<'_, f32>,
    t: ArrayView2<'_, f32>,
    cache: &mut MnistBatchCache,
    dl_dy: &mut Array2<f32>,
) -> f32 {
    let samples = x.nrows();
    let y = net.forward_batch_cached(x, cache).unwrap();
    let loss = softmax_ce(y, t, dl_dy);
    net.sgd_step_batch(cache, dl_dy.view(), LR / samples as f32)
        .unwrap();
    loss / samples as f32
}

/// One SGD step of the generated network on the batched path with the runtime's `Sgd`;
/// returns the mean loss.
fn generated_step(
    net: &mut Mnist,
    x: ArrayView2<'_, f32>,
    t: ArrayView2<'_, f32>,
    cache: &mut MnistBatchCache,
    dl_dy: &mut Array2<f32>,
    grads: &mut MnistGrads,
    sgd: &mut Sgd<f32>,
) -> f32 {
    let samples = x.nrows();
    let y = net.forward_batch_cached(x, cache).unwrap();
    let loss = softmax_ce(y, t, dl_dy);
    net.gradient_batch(cache, dl_dy.view(), grads).unwrap();
    sgd.step(net, grads);
    loss / samples as f32
}

mod w3_train_step_b64 {
    use super::*;

    #[divan::bench]
    fn generated(bencher: divan::Bencher) {
        let (x, t) = batch(64);
        let mut net = mnist();
        let mut cache = MnistBatchCache::default();
        let mut grads = MnistGrads::default();
        let mut dl_dy = Array2::zeros((64, 10));
        // The gradients are the batch's sums: the mean's 1/B is folded into the rate.
        let mut sgd = Sgd::new(f64::from(LR) / 64.0);
        bencher.bench_local(|| {
            generated_step(
                &mut net,
                x.view(),
                t.view(),
                &mut cache,
                &mut dl_dy,
                &mut grads,
                &mut sgd,
            )
        });
    }

    #[divan::bench]
    fn hand_ndarray(bencher: divan::Bencher) {
        let (x, t) = batch(64);
        let mut net = Hand::of(&mnist(), 64);
        bencher.bench_local(|| net.step(x.view(), t.view()));
    }

    /// The step fused into the backward pass (`sgd_step_batch`): no gradient is stored.
    #[divan::bench]
    fn generated_fused(bencher: divan::Bencher) {
        let (x, t) = batch(64);
        let mut net = mnist();
        let mut cache = MnistBatchCache::default();
        let mut dl_dy = Array2::zeros((64, 10));
        bencher.bench_local(|| fused_step(&mut net, x.view(), t.view(), &mut cache, &mut dl_dy));
    }

    #[divan::bench]
    fn hand_ndarray_fused(bencher: divan::Bencher) {
        let (x, t) = batch(64);
        let mut net = Hand::of(&mnist(), 64);
        bencher.bench_local(|| net.step_fused(x.view(), t.view()));
    }
}

mod w4_forward_b256 {
    use super::*;

    #[divan::bench]
    fn generated(bencher: divan::Bencher) {
        let (x, _) = batch(256);
        let net = mnist();
        let mut cache = MnistBatchCache::default();
        bencher
            .counter(divan::counter::ItemsCount::new(256usize))
            .bench_local(|| black_box(net.predict_batch(x.view(), &mut cache).unwrap()[[0, 0]]));
    }

    #[divan::bench]
    fn hand_ndarray(bencher: divan::Bencher) {
        let (x, _) = batch(256);
        let mut net = Hand::of(&mnist(), 256);
        bencher
            .counter(divan::counter::ItemsCount::new(256usize))
            .bench_local(|| {
                net.forward(x.view());
                black_box(net.h[3][[0, 0]])
            });
    }
}

/// With the `parallel` feature: W3 and W4 with each product's rows split across a pool of two
/// threads (`cargo bench -p mlp-benches --features parallel --bench batched`). Each iteration installs ten
/// steps or forward calls in the pool, as a training loop runs inside `pool.install`: divan's
/// time is for ten, its throughput per step (or per sample).
#[cfg(feature = "parallel")]
mod two_threads {
    use super::*;
    use divan::counter::ItemsCount;

    /// Calls per iteration.
    const CALLS: usize = 10;

    fn pool() -> mlp::rayon::ThreadPool {
        mlp::rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
    }

    #[divan::bench]
    fn w3_generated(bencher: divan::Bencher) {
        let (x, t) = batch(64);
        let (mut net, pool) = (mnist(), pool());
        let mut cache = MnistBatchCache::default();
        let mut grads = MnistGrads::default();
        let mut dl_dy = Array2::zeros((64, 10));
        let mut sgd = Sgd::new(f64::from(LR) / 64.0);
        bencher.counter(ItemsCount::new(CALLS)).bench_local(|| {
            pool.install(|| {
                (0..CALLS)
                    .map(|_| {
                        generated_step(
                            &mut net,
                            x.view(),
                            t.view(),
                            &mut cache,
                            &mut dl_dy,
                            &mut grads,
                            &mut sgd,
                        )
                    })
                    .sum::<f32>()
            })
        });
    }

    #[divan::bench]
    fn w3_generated_fused(bencher: divan::Bencher) {
        let (x, t) = batch(64);
        let (mut net, pool) = (mnist(), pool());
        let mut cache = MnistBatchCache::default();
        let mut dl_dy = Array2::zeros((64, 10));
        bencher.counter(ItemsCount::new(CALLS)).bench_local(|| {
            pool.install(|| {
                (0..CALLS)
                    .map(|_| fused_step(&mut net, x.view(), t.view(), &mut cache, &mut dl_dy))
                    .sum::<f32>()
            })
        });
    }

    #[divan::bench]
    fn w4_generated(bencher: divan::Bencher) {
        let (x, _) = batch(256);
        let (net, pool) = (mnist(), pool());
        let mut cache = MnistBatchCache::default();
        bencher
            .counter(ItemsCount::new(256 * CALLS))
            .bench_local(|| {
                pool.install(|| {
                    (0..CALLS)
                        .map(|_| net.predict_batch(x.view(), &mut cache).unwrap()[[0, 0]])
                        .sum::<f32>()
                })
            });
    }
}
