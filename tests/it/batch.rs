//! The batched path against the per-sample path: outputs and summed gradients agree to the
//! scalar type's rounding, for every activation, with and without bias, for batch sizes that
//! exercise every tail of the product's blocking; and batches of the wrong shape are rejected
//! with errors that name the tensor. The frozen (input-major) copy's `forward` agrees with
//! `forward`.

use crate::support::{randomize, TestRng};
use mlp::{BatchError, BatchNetwork, Parameters, Scalar, Vector};
use ndarray::{Array2, ShapeBuilder};

mlp::mlp! {
    /// Odd widths (tails in both directions of the product) and every activation.
    pub struct Mixed {
        scalar: f32,
        input: 37,
        layers: [29 tanh, 13 sigmoid, 17 relu, 11 gelu, 7 softplus, 9 leaky_relu(0.1), 5 identity],
    }
}

mlp::mlp! {
    /// As [`Mixed`], in f64.
    pub struct Mixed64 {
        scalar: f64,
        input: 37,
        layers: [29 tanh, 13 sigmoid, 17 relu, 11 gelu, 7 softplus, 9 leaky_relu(0.1), 5 identity],
    }
}

mlp::mlp! {
    /// Without bias.
    pub struct NoBias { scalar: f32, input: 5, layers: [40 tanh, 3 identity], bias: false }
}

mlp::mlp! {
    /// Wide enough for several blocks of the product in every direction.
    pub struct Wide { scalar: f32, input: 300, layers: [270 tanh, 10 identity] }
}

/// A `b × n` array of uniform values in `[-scale, scale)`.
fn random_batch<T: Scalar>(rng: &mut TestRng, b: usize, n: usize, scale: f64) -> Array2<T> {
    Array2::from_shape_simple_fn((b, n), || T::from_f64(rng.uniform(-scale, scale)))
}

/// `|a − b| / max(|b|, floor · max |b|)` over two flat sequences, the largest: relative to
/// each value, or to the sequence's scale for values much smaller than it (rounding errors of
/// a sum scale with its terms, not with its result).
fn max_rel_err<T: Scalar>(a: &[T], b: &[T], floor: f64) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().map(|y| y.to_f64().abs()).fold(0.0, f64::max);
    let floor = floor * scale;
    a.iter()
        .zip(b)
        .map(|(x, y)| (x.to_f64() - y.to_f64()).abs() / y.to_f64().abs().max(floor))
        .fold(0.0, f64::max)
}

/// Every gradient, flat in parameter order.
fn flat<P: Parameters>(p: &P) -> Vec<P::Scalar> {
    let mut v = Vec::new();
    p.visit(|_, s| v.extend_from_slice(s));
    v
}

/// Runs the per-sample and the batched path over the same batch and returns the largest
/// relative differences of the outputs and of the summed gradients.
fn compare<N: BatchNetwork>(
    net: &N,
    x: &Array2<N::Scalar>,
    dl_dy: &Array2<N::Scalar>,
) -> (f64, f64) {
    let mut cache = N::Cache::default();
    let mut grads = N::Grads::default();
    let mut outputs = Vec::new();
    for (row, g) in x.rows().into_iter().zip(dl_dy.rows()) {
        let xi = N::Input::from_slice(row.as_slice().unwrap()).unwrap();
        let gi = N::Output::from_slice(g.as_slice().unwrap()).unwrap();
        outputs.extend_from_slice(net.forward_cached(&xi, &mut cache).as_slice());
        net.backward(&cache, &gi, &mut grads);
    }
    let mut bcache = N::BatchCache::default();
    let mut bgrads = N::Grads::default();
    let y = net.forward_batch_cached(x.view(), &mut bcache).unwrap();
    let batched: Vec<N::Scalar> = y.iter().copied().collect();
    net.backward_batch(&mut bcache, dl_dy.view(), &mut bgrads)
        .unwrap();
    (
        max_rel_err(&batched, &outputs, 1e-1),
        max_rel_err(&flat(&bgrads), &flat(&grads), 1e-1),
    )
}

fn check<N: BatchNetwork>(seed: u64, tol: f64) {
    let mut rng = TestRng::new(seed);
    let mut net = N::zeros();
    randomize(&mut net, &mut rng, 0.5);
    for b in [1, 2, 5, 12, 13, 31, 32, 33, 45, 64, 100] {
        let x = random_batch(&mut rng, b, N::INPUT, 1.0);
        let dl_dy = random_batch(&mut rng, b, N::OUTPUT, 1.0);
        let (out, grad) = compare(&net, &x, &dl_dy);
        assert!(out <= tol, "outputs differ by {out} at batch size {b}");
        assert!(grad <= tol, "gradients differ by {grad} at batch size {b}");
    }
}

#[test]
fn batched_matches_per_sample_f32() {
    check::<Mixed>(1, 1e-4);
    check::<NoBias>(2, 1e-4);
    check::<Wide>(3, 1e-4);
}

#[test]
fn batched_matches_per_sample_f64() {
    check::<Mixed64>(4, 1e-12);
}

#[test]
fn forward_batch_equals_forward_per_row() {
    let mut rng = TestRng::new(5);
    let mut net = Mixed::zeros();
    randomize(&mut net, &mut rng, 0.5);
    let x = random_batch::<f32>(&mut rng, 20, 37, 1.0);
    let y = net.forward_batch(x.view()).unwrap();
    assert_eq!(y.dim(), (20, 5));
    assert!(y.is_standard_layout());
    for (xi, yi) in x.rows().into_iter().zip(y.rows()) {
        let want = net.forward(&<[f32; 37]>::from_slice(xi.as_slice().unwrap()).unwrap());
        let err = max_rel_err(yi.as_slice().unwrap(), &want, 1e-2);
        assert!(err <= 1e-5, "{err}");
    }
}

#[test]
fn gathered_rows_and_strided_inputs() {
    let mut rng = TestRng::new(6);
    let mut net = Mixed64::zeros();
    randomize(&mut net, &mut rng, 0.5);
    let x = random_batch::<f64>(&mut rng, 30, 37, 1.0);
    let rows = [29, 3, 3, 0, 17];
    let mut cache = Default::default();
    let gathered = net
        .forward_batch_rows(x.view(), &rows, &mut cache)
        .unwrap()
        .to_owned();
    let picked = x.select(ndarray::Axis(0), &rows);
    assert_eq!(gathered, net.forward_batch(picked.view()).unwrap());
    // A column-major copy of the same batch gives the same outputs.
    let mut fortran = Array2::<f64>::zeros((30, 37).f());
    fortran.assign(&x);
    assert_eq!(
        net.forward_batch(fortran.view()).unwrap(),
        net.forward_batch(x.view()).unwrap()
    );
}

#[test]
fn predict_batch_reads_any_layout() {
    // Row-major, column-major, every other row, and reversed rows (negative stride, copied)
    // give exactly what the cached forward gives on a standard copy.
    let mut rng = TestRng::new(16);
    let mut net = Mixed::zeros();
    randomize(&mut net, &mut rng, 0.5);
    let x = random_batch::<f32>(&mut rng, 40, 37, 1.0);
    let mut fortran = Array2::<f32>::zeros((40, 37).f());
    fortran.assign(&x);
    let row = x.row(9);
    let views = [
        x.view(),
        fortran.view(),
        x.slice(ndarray::s![..;2, ..]),
        x.slice(ndarray::s![..;-1, ..]),
        x.slice(ndarray::s![3..5, ..]),
        x.slice(ndarray::s![7..7, ..]),
        // One sample repeated five times: a row stride of 0.
        row.broadcast((5, 37)).unwrap(),
    ];
    let (mut cache, mut reference) = (MixedBatchCache::default(), MixedBatchCache::default());
    for view in views {
        let want = net
            .forward_batch_cached(view.as_standard_layout().view(), &mut reference)
            .unwrap()
            .to_owned();
        let got = net.predict_batch(view, &mut cache).unwrap();
        assert_eq!(got, want);
    }
}

#[test]
fn backward_after_predict_is_refused() {
    let mut rng = TestRng::new(17);
    let mut net = Mixed64::zeros();
    randomize(&mut net, &mut rng, 0.5);
    let x = random_batch::<f64>(&mut rng, 6, 37, 1.0);
    let g = random_batch::<f64>(&mut rng, 6, 5, 1.0);
    let mut cache = Mixed64BatchCache::default();
    let mut grads = Mixed64Grads::default();
    net.forward_batch_cached(x.view(), &mut cache).unwrap();
    net.predict_batch(x.view(), &mut cache).unwrap();
    let err = net
        .backward_batch(&mut cache, g.view(), &mut grads)
        .unwrap_err();
    assert_eq!(err, BatchError::NoForwardValues);
    assert!(
        err.to_string().contains("predict_batch keeps none"),
        "{err}"
    );
    assert_eq!(
        grads,
        Mixed64Grads::default(),
        "a rejected call adds nothing"
    );
    // A new cache has nothing to go back through either.
    let err = net
        .gradient_batch(&mut Mixed64BatchCache::default(), g.view(), &mut grads)
        .unwrap_err();
    assert_eq!(err, BatchError::NoForwardValues);
    // The next cached forward makes it whole again.
    net.forward_batch_cached(x.view(), &mut cache).unwrap();
    net.backward_batch(&mut cache, g.view(), &mut grads)
        .unwrap();
    assert_ne!(grads, Mixed64Grads::default());
}

/// `sgd_step_batch` against `gradient_batch` followed by `θ ← θ − lr g`: the same weights to
/// rounding, for batch sizes that exercise the tails of the products.
fn fused_sgd_matches<N: BatchNetwork>(seed: u64, tol: f64) {
    let mut rng = TestRng::new(seed);
    let mut net = N::zeros();
    randomize(&mut net, &mut rng, 0.5);
    let lr = N::Scalar::from_f64(0.05);
    let (mut cache, mut grads) = (N::BatchCache::default(), N::Grads::default());
    for b in [1, 13, 33, 64, 130] {
        let x = random_batch::<N::Scalar>(&mut rng, b, N::INPUT, 1.0);
        let dl_dy = random_batch::<N::Scalar>(&mut rng, b, N::OUTPUT, 1.0);
        let mut want = net.clone();
        net.forward_batch_cached(x.view(), &mut cache).unwrap();
        want.gradient_batch(&mut cache, dl_dy.view(), &mut grads)
            .unwrap();
        want.visit_with_grads(&grads, |_, p, g| {
            p.iter_mut().zip(g).for_each(|(p, &g)| *p -= lr * g);
        });
        let before = flat(&net);
        net.sgd_step_batch(&mut cache, dl_dy.view(), lr).unwrap();
        let err = max_rel_err(&flat(&net), &flat(&want), 1e-1);
        assert!(err <= tol, "weights differ by {err} at batch size {b}");
        assert_ne!(flat(&net), before, "the step moved the weights");
    }
}

#[test]
fn fused_sgd_step_matches_gradient_then_update() {
    fused_sgd_matches::<Mixed64>(18, 1e-13);
    fused_sgd_matches::<Mixed>(19, 1e-5);
    fused_sgd_matches::<NoBias>(20, 1e-5);
    fused_sgd_matches::<Wide>(21, 1e-5);
}

#[test]
fn fused_sgd_step_refuses_bad_input_untouched() {
    let mut rng = TestRng::new(22);
    let mut net = Mixed::zeros();
    randomize(&mut net, &mut rng, 0.5);
    let x = random_batch::<f32>(&mut rng, 4, 37, 1.0);
    let mut cache = MixedBatchCache::default();
    let before = net.clone();
    net.forward_batch_cached(x.view(), &mut cache).unwrap();
    let err = net
        .sgd_step_batch(&mut cache, Array2::zeros((4, 6)).view(), 0.1)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "output gradient: expected 5 columns, found 6"
    );
    net.predict_batch(x.view(), &mut cache).unwrap();
    let err = net
        .sgd_step_batch(&mut cache, Array2::zeros((4, 5)).view(), 0.1)
        .unwrap_err();
    assert_eq!(err, BatchError::NoForwardValues);
    assert_eq!(net, before, "a rejected step leaves the network as it was");
}

/// With the `parallel` feature: a training step, a fused step and inference on a network
/// large enough for its products to be split give the same bits in pools of 1, 2 and 3
/// threads.
#[cfg(feature = "parallel")]
#[test]
fn threads_change_no_bit() {
    let mut rng = TestRng::new(23);
    let mut net = Wide::zeros();
    randomize(&mut net, &mut rng, 0.5);
    let x = random_batch::<f32>(&mut rng, 200, 300, 1.0);
    let g = random_batch::<f32>(&mut rng, 200, 10, 1.0);
    let run = |threads: usize| {
        let pool = mlp::rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut net = net.clone();
            let mut cache = WideBatchCache::default();
            let mut grads = WideGrads::default();
            let y = net.predict_batch(x.view(), &mut cache).unwrap().to_owned();
            net.forward_batch_cached(x.view(), &mut cache).unwrap();
            net.gradient_batch(&mut cache, g.view(), &mut grads)
                .unwrap();
            net.sgd_step_batch(&mut cache, g.view(), 0.01).unwrap();
            (y, grads, net)
        })
    };
    let one = run(1);
    for threads in [2, 3] {
        assert!(run(threads) == one, "{threads} threads differ from one");
    }
}

#[test]
fn cache_reuse_across_batch_sizes() {
    // Growing and shrinking the batch in one cache gives what a fresh cache gives.
    let mut rng = TestRng::new(7);
    let mut net = Mixed::zeros();
    randomize(&mut net, &mut rng, 0.5);
    let mut cache = MixedBatchCache::default();
    for b in [40, 3, 64, 1, 40] {
        let x = random_batch::<f32>(&mut rng, b, 37, 1.0);
        let y = net
            .forward_batch_cached(x.view(), &mut cache)
            .unwrap()
            .to_owned();
        assert_eq!(cache.samples(), b);
        assert_eq!(y, net.forward_batch(x.view()).unwrap());
    }
}

#[test]
fn backward_leaves_the_forward_values() {
    // Two backward calls on one forward add the same gradient twice.
    let mut rng = TestRng::new(8);
    let mut net = Mixed64::zeros();
    randomize(&mut net, &mut rng, 0.5);
    let x = random_batch::<f64>(&mut rng, 9, 37, 1.0);
    let g = random_batch::<f64>(&mut rng, 9, 5, 1.0);
    let mut cache = Mixed64BatchCache::default();
    net.forward_batch_cached(x.view(), &mut cache).unwrap();
    let mut once = Mixed64Grads::default();
    net.backward_batch(&mut cache, g.view(), &mut once).unwrap();
    let mut twice = Mixed64Grads::default();
    net.backward_batch(&mut cache, g.view(), &mut twice)
        .unwrap();
    net.backward_batch(&mut cache, g.view(), &mut twice)
        .unwrap();
    once.scale(2.0);
    assert!(max_rel_err(&flat(&twice), &flat(&once), 1e-3) <= 1e-14);
}

/// `gradient_batch` on gradients that hold garbage equals `backward_batch` on zeroed ones, bit
/// for bit (adding to zero is exact), for batches of `sizes` samples (zero included).
fn gradient_overwrites<N: BatchNetwork>(seed: u64, sizes: &[usize]) {
    let mut rng = TestRng::new(seed);
    let mut net = N::zeros();
    randomize(&mut net, &mut rng, 0.5);
    let mut cache = N::BatchCache::default();
    for &b in sizes {
        let x = random_batch::<N::Scalar>(&mut rng, b, N::INPUT, 1.0);
        let g = random_batch::<N::Scalar>(&mut rng, b, N::OUTPUT, 1.0);
        net.forward_batch_cached(x.view(), &mut cache).unwrap();
        let mut added = N::Grads::default();
        net.backward_batch(&mut cache, g.view(), &mut added)
            .unwrap();
        let mut written = N::Grads::default();
        written.fill(N::Scalar::from_f64(7.5));
        net.gradient_batch(&mut cache, g.view(), &mut written)
            .unwrap();
        let (a, w) = (flat(&added), flat(&written));
        assert!(
            a.iter()
                .zip(&w)
                .all(|(a, w)| a.to_f64().to_bits() == w.to_f64().to_bits()),
            "batch of {b}: gradient_batch differs from backward_batch on zeros"
        );
    }
}

#[test]
fn gradient_batch_overwrites() {
    gradient_overwrites::<Mixed>(10, &[7, 0, 33]);
    gradient_overwrites::<Mixed64>(11, &[5]);
    gradient_overwrites::<NoBias>(12, &[3, 0]);
    gradient_overwrites::<Wide>(13, &[70]);
}

#[test]
fn wrong_shapes_are_typed_errors() {
    let net = Mixed::zeros();
    let mut cache = MixedBatchCache::default();
    let err = net
        .forward_batch(Array2::zeros((4, 36)).view())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "input batch: expected 37 columns, found 36"
    );
    assert!(matches!(err, BatchError::Shape(_)));

    let x = Array2::zeros((4, 37));
    let err = net
        .forward_batch_rows(x.view(), &[0, 4], &mut cache)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "input batch: row index 4 out of range for 4 rows"
    );

    net.forward_batch_cached(x.view(), &mut cache).unwrap();
    let mut grads = MixedGrads::default();
    let err = net
        .backward_batch(&mut cache, Array2::zeros((4, 6)).view(), &mut grads)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "output gradient: expected 5 columns, found 6"
    );
    let err = net
        .backward_batch(&mut cache, Array2::zeros((3, 5)).view(), &mut grads)
        .unwrap_err();
    assert_eq!(err.to_string(), "output gradient: expected 4 rows, found 3");
    assert_eq!(grads, MixedGrads::default(), "a rejected call adds nothing");
}

#[test]
fn empty_batch() {
    let net = Mixed::zeros();
    let y = net.forward_batch(Array2::zeros((0, 37)).view()).unwrap();
    assert_eq!(y.dim(), (0, 5));
}

#[test]
fn frozen_forward_matches_forward() {
    // The input-major copy computes the same function, to rounding (the bias is added first).
    let mut rng = TestRng::new(9);
    let mut mixed = Mixed::zeros();
    randomize(&mut mixed, &mut rng, 0.5);
    let mut mixed64 = Mixed64::zeros();
    randomize(&mut mixed64, &mut rng, 0.5);
    let mut no_bias = NoBias::zeros();
    randomize(&mut no_bias, &mut rng, 0.5);
    let (f, f64_, fnb) = (mixed.freeze(), mixed64.freeze(), no_bias.freeze());
    assert_eq!(f, mixed.freeze(), "freezing is deterministic");
    for _ in 0..50 {
        let x: [f32; 37] = crate::support::random_vector(&mut rng, 1.0);
        let err = max_rel_err(&f.forward(&x), &mixed.forward(&x), 1e-1);
        assert!(err <= 1e-5, "f32: {err}");
        let x: [f64; 37] = crate::support::random_vector(&mut rng, 1.0);
        let err = max_rel_err(&f64_.forward(&x), &mixed64.forward(&x), 1e-1);
        assert!(err <= 1e-13, "f64: {err}");
        let x: [f32; 5] = crate::support::random_vector(&mut rng, 1.0);
        let err = max_rel_err(&fnb.forward(&x), &no_bias.forward(&x), 1e-1);
        assert!(err <= 1e-5, "no bias: {err}");
    }
}
