//! What the training tests share: networks, tolerances and a seeded generator for test data.

#![allow(dead_code)]

use mlp_macros::mlp;
use mlp_runtime::data::Dataset;
use ndarray::Array2;

/// Relative error allowed between analytic gradients and central differences in f64.
pub const FD_TOLERANCE: f64 = 1e-8;

/// Asserts `|a − b| ≤ tol · max(1, |b|)`.
#[track_caller]
pub fn assert_close(a: f64, b: f64, tol: f64) {
    assert!(
        (a - b).abs() <= tol * b.abs().max(1.0),
        "{a} != {b} (tolerance {tol})"
    );
}

mlp! {
    /// A linear model `y = W x + b`, W: 1×2.
    pub struct Linear { scalar: f64, input: 2, layers: [1 identity] }
}

mlp! {
    /// The XOR network.
    pub struct Xor { scalar: f64, input: 2, layers: [8 tanh, 1 identity] }
}

mlp! {
    /// XOR in f32, for the allocation and divergence tests.
    pub struct Xor32 { scalar: f32, input: 2, layers: [8 tanh, 1 identity] }
}

mlp! {
    /// A one-dimensional regressor.
    pub struct Curve { scalar: f64, input: 1, layers: [16 tanh, 1 identity] }
}

mlp! {
    /// A small classifier with two hidden layers.
    pub struct Classifier { scalar: f64, input: 2, layers: [8 tanh, 8 tanh, 3 identity] }
}

mlp! {
    /// Wide layers, for the initialisation statistics.
    pub struct Wide { scalar: f64, input: 256, layers: [512 relu, 64 identity] }
}

mlp! {
    /// [`Wide`] in f32.
    pub struct Wide32 { scalar: f32, input: 256, layers: [512 relu, 64 identity] }
}

/// SplitMix64: a tiny, portable generator for test data, independent of the code under test.
pub struct TestRng(u64);

impl TestRng {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        TestRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * unit
    }

    /// `n` uniform values in `[lo, hi)`.
    pub fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
}

/// The four XOR samples with 0/1 targets.
pub fn xor_data() -> Dataset<f64> {
    let x = ndarray::array![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let y = ndarray::array![[0.0], [1.0], [1.0], [0.0]];
    Dataset::regression(x, y).unwrap()
}

/// `n` samples of `y = f(x)` for `x` uniform in `[lo, hi)`.
pub fn curve_data(n: usize, lo: f64, hi: f64, seed: u64, f: impl Fn(f64) -> f64) -> Dataset<f64> {
    let mut rng = TestRng::new(seed);
    let xs = rng.vec(n, lo, hi);
    let x = Array2::from_shape_vec((n, 1), xs.clone()).unwrap();
    let y = Array2::from_shape_vec((n, 1), xs.iter().map(|&v| f(v)).collect()).unwrap();
    Dataset::regression(x, y).unwrap()
}

/// Every parameter, flat in parameter order, as `f64`.
pub fn flat<P: mlp_runtime::Parameters>(p: &P) -> Vec<f64> {
    use mlp_runtime::Scalar;
    let mut v = Vec::new();
    p.visit(|_, s| v.extend(s.iter().map(|x| x.to_f64())));
    v
}

/// Counts the allocations of the calling thread, so that a test can check a loop allocates
/// nothing per step (tests run on several threads at once).
pub mod alloc_counter {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static COUNT: Cell<usize> = const { Cell::new(0) };
    }

    struct Counting;

    fn bump() {
        // `try_with` fails only while the thread is being torn down; those allocations do not
        // matter here.
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
    }

    // SAFETY: every call is forwarded to `System` with the same arguments.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            bump();
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            bump();
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            bump();
            unsafe { System.realloc(ptr, layout, new_size) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    /// The number of allocations this thread has made so far.
    pub fn allocations() -> usize {
        COUNT.with(Cell::get)
    }
}

/// `n` points of three Gaussian-ish blobs in the plane, labelled by blob.
pub fn blobs(n: usize, seed: u64) -> Dataset<f64> {
    let mut rng = TestRng::new(seed);
    let centres = [(-2.0, 0.0), (2.0, 0.0), (0.0, 2.5)];
    let labels: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let x = Array2::from_shape_fn((n, 2), |(i, j)| {
        let c = centres[labels[i]];
        let noise = rng.uniform(-1.0, 1.0) + rng.uniform(-1.0, 1.0);
        if j == 0 {
            c.0 + noise
        } else {
            c.1 + noise
        }
    });
    Dataset::classification(x, labels, 3).unwrap()
}
