//! W1 and W2: a 2-16-16-1 tanh/tanh/identity `f32` network, one sample at a time; and the
//! same passes at odd widths (3-10-1 and 7-33-5), where no width may fall off a cliff.
//!
//! - W1: `forward`, generated against hand-written fixed-array code with the same activation
//!   (`mlp::math::tanh_f32`), in the same weight layout (output-major, a dot product per
//!   output) and in the input-major layout (one broadcast multiply-add per input); and the
//!   generated `freeze()` copy, which stores the weights input-major.
//! - W2: one SGD step on one sample: `forward_cached`, the MSE gradient, then either the fused
//!   `sgd_step` (`generated_fused`) or `param_gradient` (the gradients written, not added) and an update pass
//!   through `visit_with_grads` (`generated_api`); against hand-written code that updates the
//!   weights inside backward (fused) and hand-written code that takes the same steps as the
//!   generated API (gradients zeroed and accumulated, input gradient computed, then an update
//!   pass).
//!
//! The generated passes run compiled for AVX-512 where the CPU has it (detected at run time),
//! so every hand-written baseline is measured twice: as the build targets, and inlined into a
//! function compiled for AVX-512 (`_avx512`), the fair comparison on such a CPU.
//!
//! Run with `cargo bench -p mlp-benches --bench single`.

// The hand-written baselines are index loops over fixed arrays, as such code is written by hand.
#![allow(clippy::needless_range_loop)]

use divan::black_box;
use mlp::loss::{Loss, Mse};
use mlp::math::tanh_f32;
use mlp::{Parameters, Vector};
use mlp_benches::avx512;

fn main() {
    divan::main();
}

mlp::mlp! {
    /// The W1/W2 network.
    pub struct Small { scalar: f32, input: 2, layers: [16 tanh, 16 tanh, 1 identity] }
}

/// Deterministic weights in `[-0.5, 0.5)`.
fn small() -> Small {
    let mut net = Small::zeros();
    net.visit_mut(|info, p| {
        for (k, v) in p.iter_mut().enumerate() {
            *v = ((k * 37 + info.layer * 11) % 101) as f32 / 101.0 - 0.5;
        }
    });
    net
}

/// The same network, hand-written with fixed arrays, weights output-major (`w[i][j]`).
#[derive(Clone)]
struct Hand {
    w1: [[f32; 2]; 16],
    b1: [f32; 16],
    w2: [[f32; 16]; 16],
    b2: [f32; 16],
    w3: [[f32; 16]; 1],
    b3: [f32; 1],
}

impl Hand {
    fn of(net: &Small) -> Self {
        Hand {
            w1: *net.w1,
            b1: *net.b1,
            w2: *net.w2,
            b2: *net.b2,
            w3: *net.w3,
            b3: *net.b3,
        }
    }

    #[inline(always)]
    fn forward(&self, x: &[f32; 2]) -> [f32; 1] {
        let mut h1 = [0.0; 16];
        for i in 0..16 {
            h1[i] = tanh_f32(self.w1[i][0] * x[0] + self.w1[i][1] * x[1] + self.b1[i]);
        }
        let mut h2 = [0.0; 16];
        for i in 0..16 {
            let mut s = 0.0;
            for j in 0..16 {
                s += self.w2[i][j] * h1[j];
            }
            h2[i] = tanh_f32(s + self.b2[i]);
        }
        let mut y = self.b3[0];
        for j in 0..16 {
            y += self.w3[0][j] * h2[j];
        }
        [y]
    }

    /// One SGD step on `(x, t)` with the MSE loss; returns the loss.
    #[inline(always)]
    fn step(&mut self, x: &[f32; 2], t: f32, lr: f32) -> f32 {
        let mut z1 = [0.0; 16];
        let mut h1 = [0.0; 16];
        for i in 0..16 {
            z1[i] = self.w1[i][0] * x[0] + self.w1[i][1] * x[1] + self.b1[i];
            h1[i] = tanh_f32(z1[i]);
        }
        let mut h2 = [0.0; 16];
        for i in 0..16 {
            let mut s = 0.0;
            for j in 0..16 {
                s += self.w2[i][j] * h1[j];
            }
            h2[i] = tanh_f32(s + self.b2[i]);
        }
        let mut y = self.b3[0];
        for j in 0..16 {
            y += self.w3[0][j] * h2[j];
        }
        let d3 = 2.0 * (y - t);
        let mut d2 = [0.0; 16];
        for j in 0..16 {
            d2[j] = self.w3[0][j] * d3 * (1.0 - h2[j] * h2[j]);
        }
        let mut g1 = [0.0; 16];
        for i in 0..16 {
            for j in 0..16 {
                g1[j] += self.w2[i][j] * d2[i];
            }
        }
        let mut d1 = [0.0; 16];
        for j in 0..16 {
            d1[j] = g1[j] * (1.0 - h1[j] * h1[j]);
        }
        for j in 0..16 {
            self.w3[0][j] -= lr * d3 * h2[j];
        }
        self.b3[0] -= lr * d3;
        for i in 0..16 {
            for j in 0..16 {
                self.w2[i][j] -= lr * d2[i] * h1[j];
            }
            self.b2[i] -= lr * d2[i];
        }
        for i in 0..16 {
            self.w1[i][0] -= lr * d1[i] * x[0];
            self.w1[i][1] -= lr * d1[i] * x[1];
            self.b1[i] -= lr * d1[i];
        }
        (y - t) * (y - t)
    }

    /// One SGD step as the generated code takes it: gradients zeroed, accumulated into their
    /// own arrays (input gradient included), then a separate update pass.
    #[inline(always)]
    fn step_unfused(&mut self, grads: &mut Hand, x: &[f32; 2], t: f32, lr: f32) -> f32 {
        *grads = Hand {
            w1: [[0.0; 2]; 16],
            b1: [0.0; 16],
            w2: [[0.0; 16]; 16],
            b2: [0.0; 16],
            w3: [[0.0; 16]; 1],
            b3: [0.0; 1],
        };
        let mut z1 = [0.0; 16];
        let mut h1 = [0.0; 16];
        for i in 0..16 {
            z1[i] = self.w1[i][0] * x[0] + self.w1[i][1] * x[1] + self.b1[i];
            h1[i] = tanh_f32(z1[i]);
        }
        let mut h2 = [0.0; 16];
        for i in 0..16 {
            let mut s = 0.0;
            for j in 0..16 {
                s += self.w2[i][j] * h1[j];
            }
            h2[i] = tanh_f32(s + self.b2[i]);
        }
        let mut y = self.b3[0];
        for j in 0..16 {
            y += self.w3[0][j] * h2[j];
        }
        let d3 = 2.0 * (y - t);
        for j in 0..16 {
            grads.w3[0][j] += d3 * h2[j];
        }
        grads.b3[0] += d3;
        let mut d2 = [0.0; 16];
        for j in 0..16 {
            d2[j] = self.w3[0][j] * d3 * (1.0 - h2[j] * h2[j]);
        }
        for i in 0..16 {
            for j in 0..16 {
                grads.w2[i][j] += d2[i] * h1[j];
            }
            grads.b2[i] += d2[i];
        }
        let mut g1 = [0.0; 16];
        for i in 0..16 {
            for j in 0..16 {
                g1[j] += self.w2[i][j] * d2[i];
            }
        }
        let mut d1 = [0.0; 16];
        for j in 0..16 {
            d1[j] = g1[j] * (1.0 - h1[j] * h1[j]);
        }
        for i in 0..16 {
            grads.w1[i][0] += d1[i] * x[0];
            grads.w1[i][1] += d1[i] * x[1];
            grads.b1[i] += d1[i];
        }
        let mut g0 = [0.0f32; 2];
        for i in 0..16 {
            g0[0] += self.w1[i][0] * d1[i];
            g0[1] += self.w1[i][1] * d1[i];
        }
        black_box(g0);
        let upd = |p: &mut [f32], g: &[f32]| p.iter_mut().zip(g).for_each(|(p, g)| *p -= lr * g);
        upd(self.w1.as_flattened_mut(), grads.w1.as_flattened());
        upd(&mut self.b1, &grads.b1);
        upd(self.w2.as_flattened_mut(), grads.w2.as_flattened());
        upd(&mut self.b2, &grads.b2);
        upd(self.w3.as_flattened_mut(), grads.w3.as_flattened());
        upd(&mut self.b3, &grads.b3);
        (y - t) * (y - t)
    }
}

/// The same network, hand-written with input-major weights (`w[j][i]`): each input adds a
/// broadcast multiple of a contiguous row.
struct HandInputMajor {
    w1: [[f32; 16]; 2],
    b1: [f32; 16],
    w2: [[f32; 16]; 16],
    b2: [f32; 16],
    w3: [f32; 16],
    b3: f32,
}

impl HandInputMajor {
    fn of(net: &Small) -> Self {
        let mut w1 = [[0.0; 16]; 2];
        let mut w2 = [[0.0; 16]; 16];
        for i in 0..16 {
            for j in 0..2 {
                w1[j][i] = net.w1[i][j];
            }
            for j in 0..16 {
                w2[j][i] = net.w2[i][j];
            }
        }
        HandInputMajor {
            w1,
            b1: *net.b1,
            w2,
            b2: *net.b2,
            w3: net.w3[0],
            b3: net.b3[0],
        }
    }

    #[inline(always)]
    fn forward(&self, x: &[f32; 2]) -> [f32; 1] {
        let mut h1 = self.b1;
        for j in 0..2 {
            for i in 0..16 {
                h1[i] += self.w1[j][i] * x[j];
            }
        }
        h1.iter_mut().for_each(|v| *v = tanh_f32(*v));
        let mut h2 = self.b2;
        for j in 0..16 {
            for i in 0..16 {
                h2[i] += self.w2[j][i] * h1[j];
            }
        }
        h2.iter_mut().for_each(|v| *v = tanh_f32(*v));
        let mut y = self.b3;
        for j in 0..16 {
            y += self.w3[j] * h2[j];
        }
        [y]
    }
}

const X: [f32; 2] = [0.3, -0.7];

// Fixed sample sizes: at these durations divan's automatic choice varies between runs and
// moves the medians by tens of percent.
#[divan::bench_group(sample_count = 300, sample_size = 2000)]
mod w1_forward {
    use super::*;

    #[divan::bench]
    fn generated(b: divan::Bencher) {
        let net = small();
        b.bench_local(|| black_box(&net).forward(black_box(&X)));
    }

    #[divan::bench]
    fn generated_frozen(b: divan::Bencher) {
        let net = small().freeze();
        b.bench_local(|| black_box(&net).forward(black_box(&X)));
    }

    #[divan::bench]
    fn hand_output_major(b: divan::Bencher) {
        let net = Hand::of(&small());
        b.bench_local(|| black_box(&net).forward(black_box(&X)));
    }

    #[divan::bench]
    fn hand_input_major(b: divan::Bencher) {
        let net = HandInputMajor::of(&small());
        b.bench_local(|| black_box(&net).forward(black_box(&X)));
    }

    #[divan::bench]
    fn hand_output_major_avx512(b: divan::Bencher) {
        let net = Hand::of(&small());
        b.bench_local(|| avx512(|| black_box(&net).forward(black_box(&X))));
    }

    #[divan::bench]
    fn hand_input_major_avx512(b: divan::Bencher) {
        let net = HandInputMajor::of(&small());
        b.bench_local(|| avx512(|| black_box(&net).forward(black_box(&X))));
    }
}

#[divan::bench_group(sample_count = 300, sample_size = 1000)]
mod w2_sgd_step {
    use super::*;

    const LR: f32 = 1e-3;

    #[divan::bench]
    fn generated_fused(b: divan::Bencher) {
        let mut net = small();
        let mut cache = SmallCache::default();
        b.bench_local(|| {
            let y = black_box(&mut net).forward_cached(black_box(&X), &mut cache);
            let mut g = [0.0];
            let loss = Mse.value_grad(&y, &[0.5], &mut g).unwrap();
            net.sgd_step(&cache, &g, LR);
            loss
        });
    }

    #[divan::bench]
    fn generated_api(b: divan::Bencher) {
        let mut net = small();
        let mut cache = SmallCache::default();
        let mut grads = SmallGrads::default();
        b.bench_local(|| {
            let y = black_box(&mut net).forward_cached(black_box(&X), &mut cache);
            let mut g = [0.0];
            let loss = Mse.value_grad(&y, &[0.5], &mut g).unwrap();
            // The gradients written over the last sample's: no zeroing pass, no input gradient.
            net.param_gradient(&cache, &g, &mut grads);
            net.visit_with_grads(&grads, |_, p, g| {
                p.iter_mut().zip(g).for_each(|(p, g)| *p -= LR * g);
            });
            loss
        });
    }

    #[divan::bench]
    fn hand_fused(b: divan::Bencher) {
        let mut net = Hand::of(&small());
        b.bench_local(|| black_box(&mut net).step(black_box(&X), 0.5, LR));
    }

    #[divan::bench]
    fn hand_unfused(b: divan::Bencher) {
        let mut net = Hand::of(&small());
        let mut grads = net.clone();
        b.bench_local(|| black_box(&mut net).step_unfused(&mut grads, black_box(&X), 0.5, LR));
    }

    #[divan::bench]
    fn hand_fused_avx512(b: divan::Bencher) {
        let mut net = Hand::of(&small());
        b.bench_local(|| avx512(|| black_box(&mut net).step(black_box(&X), 0.5, LR)));
    }

    #[divan::bench]
    fn hand_unfused_avx512(b: divan::Bencher) {
        let mut net = Hand::of(&small());
        let mut grads = net.clone();
        b.bench_local(|| {
            avx512(|| black_box(&mut net).step_unfused(&mut grads, black_box(&X), 0.5, LR))
        });
    }
}

mlp::mlp! {
    /// An odd-width network: 3-10-1.
    pub struct Odd3 { scalar: f32, input: 3, layers: [10 tanh, 1 identity] }
}

mlp::mlp! {
    /// An odd-width network: 7-33-5.
    pub struct Odd7 { scalar: f32, input: 7, layers: [33 tanh, 5 identity] }
}

/// What the odd-width benchmarks run, for each network.
trait Odd: mlp::Network<Scalar = f32> + Parameters<Scalar = f32> {
    /// `freeze().forward(x)`'s network.
    type Frozen;
    fn frozen(&self) -> Self::Frozen;
    fn frozen_forward(f: &Self::Frozen, x: &Self::Input) -> Self::Output;
    fn sgd_step(&mut self, cache: &Self::Cache, dl_dy: &Self::Output, lr: f32);
}

macro_rules! odd {
    ($($net:ident $frozen:ident),*) => {$(
        impl Odd for $net {
            type Frozen = $frozen;
            fn frozen(&self) -> $frozen {
                self.freeze()
            }
            #[inline(always)]
            fn frozen_forward(f: &$frozen, x: &Self::Input) -> Self::Output {
                f.forward(x)
            }
            #[inline(always)]
            fn sgd_step(&mut self, cache: &Self::Cache, dl_dy: &Self::Output, lr: f32) {
                $net::sgd_step(self, cache, dl_dy, lr)
            }
        }
    )*};
}
odd!(Small SmallFrozen, Odd3 Odd3Frozen, Odd7 Odd7Frozen);

/// A network with deterministic weights in `[-0.5, 0.5)`, and an input.
fn odd<N: Odd>() -> (N, N::Input) {
    let mut net = N::zeros();
    net.visit_mut(|info, p| {
        for (k, v) in p.iter_mut().enumerate() {
            *v = ((k * 37 + info.layer * 11) % 101) as f32 / 101.0 - 0.5;
        }
    });
    let mut x = <N::Input as mlp::Vector<f32>>::zeros();
    for (j, v) in x.as_mut_slice().iter_mut().enumerate() {
        *v = (j as f32 * 0.37).sin();
    }
    (net, x)
}

/// 2-16-16-1 (`Small`, W1's network) beside the odd widths 3-10-1 and 7-33-5.
#[divan::bench_group(sample_count = 300, sample_size = 1000)]
mod widths {
    use super::*;

    #[divan::bench(types = [Small, Odd3, Odd7])]
    fn forward<N: Odd>(b: divan::Bencher) {
        let (net, x) = odd::<N>();
        b.bench_local(|| black_box(&net).forward(black_box(&x)));
    }

    #[divan::bench(types = [Small, Odd3, Odd7])]
    fn frozen_forward<N: Odd>(b: divan::Bencher) {
        let (net, x) = odd::<N>();
        let net = net.frozen();
        b.bench_local(|| N::frozen_forward(black_box(&net), black_box(&x)));
    }

    #[divan::bench(types = [Small, Odd3, Odd7])]
    fn fused_step<N: Odd>(b: divan::Bencher) {
        let (mut net, x) = odd::<N>();
        let mut cache = N::Cache::default();
        b.bench_local(|| {
            let y = black_box(&mut net).forward_cached(black_box(&x), &mut cache);
            let mut g = y;
            g.as_mut_slice().iter_mut().for_each(|v| *v *= 0.01);
            net.sgd_step(&cache, &g, 1e-3);
        });
    }
}
