//! Prediction on the batched path: outputs, probabilities and classes for many samples at
//! once, from a [`Dataset`] or any `ndarray` view of inputs (one sample per row).
//!
//! Each function runs the network's `predict_batch` over chunks of [`CHUNK`] rows with one
//! reused cache, so a large data set costs one matrix product per layer and chunk, and the
//! memory beyond the result is that of one chunk.
//!
//! | function | row `i` of the result |
//! | --- | --- |
//! | [`predict`] | the outputs `y_i` (logits for a classifier) |
//! | [`predict_proba`] | `softmax(y_i)` for `K > 1` outputs, `σ(y_i)` for one output |
//! | [`predict_class`] | `argmax_k y_ik` for `K > 1` outputs (the first on ties), `y_i > 0` for one |
//!
//! These match the classifying losses: [`SoftmaxCrossEntropy`](crate::loss::SoftmaxCrossEntropy)
//! for `K > 1` classes and [`BinaryCrossEntropy`](crate::loss::BinaryCrossEntropy) for one
//! output.
//!
//! ```
//! use mlp::{mlp, predict::{predict, predict_class, predict_proba}};
//! mlp! { pub struct Net = 2 -> 3 identity; }
//! let mut net = Net::zeros();
//! *net.b1 = [0.0, 2.0, 1.0];
//! let x = mlp::ndarray::array![[1.0f32, 2.0], [3.0, 4.0]];
//! assert_eq!(predict(&net, &x)?.row(0).to_vec(), [0.0, 2.0, 1.0]);
//! assert_eq!(predict_class(&net, &x)?, [1, 1]);
//! let p = predict_proba(&net, &x.view())?;
//! assert!((p.row(1).sum() - 1.0).abs() < 1e-6);
//! # Ok::<(), mlp::BatchError>(())
//! ```

use crate::data::Dataset;
use crate::error::ShapeError;
use crate::{BatchError, BatchNetwork, Network, Scalar};
use ndarray::{Array2, ArrayView2, Axis};

/// The rows the network sees per `predict_batch` call.
pub const CHUNK: usize = 256;

/// Inputs to predict on, one sample per row: a [`Dataset`]'s features, an `Array2` or an
/// `ArrayView2`.
pub trait Inputs<T> {
    /// The inputs, `n × N_0`.
    fn inputs(&self) -> ArrayView2<'_, T>;
}

impl<T: Scalar> Inputs<T> for Dataset<T> {
    fn inputs(&self) -> ArrayView2<'_, T> {
        self.features()
    }
}

impl<T> Inputs<T> for Array2<T> {
    fn inputs(&self) -> ArrayView2<'_, T> {
        self.view()
    }
}

impl<T> Inputs<T> for ArrayView2<'_, T> {
    fn inputs(&self) -> ArrayView2<'_, T> {
        self.view()
    }
}

/// Calls `f(first_row, outputs)` for each chunk of at most [`CHUNK`] rows of `x`, in order,
/// with the network's outputs for those rows (`rows × N_L`).
pub fn for_each_chunk<N: BatchNetwork>(
    net: &N,
    x: ArrayView2<'_, N::Scalar>,
    mut f: impl FnMut(usize, ArrayView2<'_, N::Scalar>),
) -> Result<(), BatchError> {
    ShapeError::columns("input batch", N::INPUT, x.ncols())?;
    let mut cache = N::BatchCache::default();
    for (k, rows) in x.axis_chunks_iter(Axis(0), CHUNK).enumerate() {
        let y = net.predict_batch(rows, &mut cache)?;
        f(k * CHUNK, y);
    }
    Ok(())
}

/// The network's outputs for every row of `x`, `n × N_L`.
pub fn predict<N: BatchNetwork>(
    net: &N,
    x: &(impl Inputs<N::Scalar> + ?Sized),
) -> Result<Array2<N::Scalar>, BatchError> {
    let x = x.inputs();
    let mut out = Array2::from_elem((x.nrows(), N::OUTPUT), N::Scalar::ZERO);
    for_each_chunk(net, x, |first, y| {
        out.slice_mut(ndarray::s![first..first + y.nrows(), ..])
            .assign(&y);
    })?;
    Ok(out)
}

/// The class probabilities for every row of `x`, `n × N_L`: `softmax(y)` for `N_L > 1`
/// outputs, the logistic `σ(y)` of a single output (the probability of class 1).
pub fn predict_proba<N: BatchNetwork>(
    net: &N,
    x: &(impl Inputs<N::Scalar> + ?Sized),
) -> Result<Array2<N::Scalar>, BatchError> {
    let mut out = predict(net, x)?;
    for mut row in out.rows_mut() {
        if let Some(y) = row.as_slice_mut() {
            probabilities(y);
        }
    }
    Ok(out)
}

/// The predicted class of every row of `x`: `argmax_k y_k` for `N_L > 1` outputs (the first
/// on ties), `1` if `y > 0` else `0` for a single output.
pub fn predict_class<N: BatchNetwork>(
    net: &N,
    x: &(impl Inputs<N::Scalar> + ?Sized),
) -> Result<Vec<usize>, BatchError> {
    let x = x.inputs();
    let mut classes = Vec::with_capacity(x.nrows());
    for_each_chunk(net, x, |_, y| {
        classes.extend(
            y.rows()
                .into_iter()
                .map(|row| class_of(row.iter().copied())),
        );
    })?;
    Ok(classes)
}

/// Turns outputs into probabilities in place: softmax for several, logistic for one.
pub(crate) fn probabilities<T: Scalar>(y: &mut [T]) {
    match y {
        [] => {}
        [single] => *single = crate::math::logistic(*single),
        many => {
            let m = many.iter().fold(many[0], |a, &b| a.max(b));
            let mut sum = T::ZERO;
            for v in many.iter_mut() {
                *v = (*v - m).exp();
                sum += *v;
            }
            let inv = T::ONE / sum;
            many.iter_mut().for_each(|v| *v *= inv);
        }
    }
}

/// The class an output row predicts: the first largest of several outputs, or `y > 0` for one.
pub(crate) fn class_of<T: Scalar>(mut y: impl ExactSizeIterator<Item = T>) -> usize {
    if y.len() == 1 {
        return usize::from(y.next().is_some_and(|v| v > T::ZERO));
    }
    let mut best = (0, None::<T>);
    for (k, v) in y.enumerate() {
        if best.1.is_none_or(|b| v > b) {
            best = (k, Some(v));
        }
    }
    best.0
}

/// The predicted class of every sample of `data` and its class labels, checked to fit `N`.
pub(crate) fn classes_and_labels<N: BatchNetwork>(
    net: &N,
    data: &Dataset<N::Scalar>,
) -> Result<(Vec<usize>, Vec<usize>), BatchError> {
    let truth = match data.labels() {
        Some(l) => l.to_vec(),
        None => data
            .targets()
            .rows()
            .into_iter()
            .map(|t| class_of(t.iter().copied()))
            .collect(),
    };
    ShapeError::columns("targets", <N as Network>::OUTPUT, data.n_targets())?;
    Ok((predict_class(net, data)?, truth))
}
