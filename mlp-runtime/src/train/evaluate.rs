//! The mean loss and accuracy of a network over a data set, and the shape check of a data set.

use super::history::Evaluation;
use crate::data::Dataset;
use crate::error::{ShapeError, TrainError};
use crate::loss::Loss;
use crate::{BatchError, BatchNetwork, Network, Scalar, Vector};
use ndarray::s;

/// Evaluates `net` on `data` on the batched path ([`crate::predict`]): the mean loss and, for
/// a classifying loss, the accuracy.
pub fn evaluate<N, L>(
    net: &N,
    loss: &L,
    data: &Dataset<N::Scalar>,
) -> Result<Evaluation, TrainError>
where
    N: BatchNetwork,
    L: Loss<N::Scalar>,
{
    check_data::<N>("evaluation", data)?;
    evaluate_with(net, loss, data)
}

/// [`evaluate`] on data already checked: outputs by chunks of [`crate::predict::CHUNK`] rows
/// on the batched path, the chunks spread over the pool with `parallel`, then the loss of
/// each row. The chunks' sums are added in order, so the result does not depend on the
/// number of threads.
pub(super) fn evaluate_with<N, L>(
    net: &N,
    loss: &L,
    data: &Dataset<N::Scalar>,
) -> Result<Evaluation, TrainError>
where
    N: BatchNetwork,
    L: Loss<N::Scalar>,
{
    const CHUNK: usize = crate::predict::CHUNK;
    let n = data.len();
    let chunk = |cache: &mut N::BatchCache, k: usize| {
        let rows = k * CHUNK..((k + 1) * CHUNK).min(n);
        let outputs = net
            .predict_batch(data.features().slice(s![rows.clone(), ..]), cache)
            .map_err(batch_error)?;
        let targets = data.targets();
        let (mut loss_sum, mut correct, mut classified) = (0.0, 0usize, false);
        let mut y = N::Output::zeros();
        for (i, row) in rows.zip(outputs.rows()) {
            // The outputs are a feature-major view: copy each row out.
            y.as_mut_slice()
                .iter_mut()
                .zip(row)
                .for_each(|(d, &v)| *d = v);
            let row = targets.row(i);
            let copied;
            let t = match row.to_slice() {
                Some(t) => t,
                None => {
                    copied = row.to_vec();
                    &copied
                }
            };
            loss_sum += loss.value(y.as_slice(), t)?.to_f64();
            if let Some(c) = loss.correct(y.as_slice(), t) {
                correct += usize::from(c);
                classified = true;
            }
        }
        Ok::<_, TrainError>((loss_sum, correct, classified))
    };
    let chunks = n.div_ceil(CHUNK);
    #[cfg(feature = "parallel")]
    let sums: Vec<_> = {
        use rayon::prelude::*;
        (0..chunks)
            .into_par_iter()
            .map_init(N::BatchCache::default, chunk)
            .collect()
    };
    #[cfg(not(feature = "parallel"))]
    let sums: Vec<_> = {
        let mut cache = N::BatchCache::default();
        (0..chunks).map(|k| chunk(&mut cache, k)).collect()
    };
    let (mut loss_sum, mut correct, mut classified) = (0.0, 0usize, false);
    for s in sums {
        let (l, c, k) = s?;
        loss_sum += l;
        correct += c;
        classified |= k;
    }
    let n = n as f64;
    Ok(Evaluation {
        loss: loss_sum / n,
        accuracy: classified.then(|| correct as f64 / n),
    })
}

/// Checks `data` has samples shaped for `N`.
pub(super) fn check_data<N: Network>(
    what: &'static str,
    data: &Dataset<N::Scalar>,
) -> Result<(), TrainError> {
    if data.is_empty() {
        return Err(TrainError::NoSamples { what });
    }
    let (features, targets) = match what {
        "training" => ("training features", "training targets"),
        "validation" => ("validation features", "validation targets"),
        _ => ("features", "targets"),
    };
    ShapeError::columns(features, N::INPUT, data.n_features())?;
    ShapeError::columns(targets, N::OUTPUT, data.n_targets())?;
    Ok(())
}

/// A batch error as a training error (the data were checked before, so this does not occur).
pub(super) fn batch_error(e: BatchError) -> TrainError {
    match e {
        BatchError::Shape(s) => TrainError::Shape(s),
        BatchError::RowIndex { what, index, rows } => TrainError::Shape(ShapeError {
            what,
            axis: "rows",
            expected: rows,
            found: index + 1,
        }),
        other => TrainError::Config {
            name: "batch",
            reason: other.to_string(),
        },
    }
}
