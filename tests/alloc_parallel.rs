//! With the `parallel` feature: after the first, training steps and inference calls whose
//! products are split across a pool of two threads allocate nothing, on any thread. Its own
//! test binary with one test, because the count is of every thread's allocations.

use mlp::Parameters;
use ndarray::Array2;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Forwards to `System`, counting every allocation of every thread.
struct Counting;

static COUNT: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` with the same arguments.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        COUNT.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        COUNT.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        COUNT.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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
    let before = COUNT.load(Ordering::Relaxed);
    for _ in 0..5 {
        step(&mut net);
    }
    assert_eq!(COUNT.load(Ordering::Relaxed) - before, 0);
    assert_ne!(net, before_weights, "the steps moved the weights");
}
