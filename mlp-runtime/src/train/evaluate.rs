//! The mean loss and accuracy of a network over a data set, and the shape check of a data set.

use super::history::Evaluation;
use crate::data::Dataset;
use crate::error::{ShapeError, TrainError};
use crate::loss::Loss;
use crate::{BatchError, BatchNetwork, Network, Scalar, Vector};

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

/// [`evaluate`] on data already checked: outputs by chunks on the batched path, then the
/// loss of each row.
pub(super) fn evaluate_with<N, L>(
    net: &N,
    loss: &L,
    data: &Dataset<N::Scalar>,
) -> Result<Evaluation, TrainError>
where
    N: BatchNetwork,
    L: Loss<N::Scalar>,
{
    let mut loss_sum = 0.0;
    let mut correct = 0usize;
    let mut classified = false;
    let mut failed = None;
    let targets = data.targets();
    let mut y = N::Output::zeros();
    crate::predict::for_each_chunk(net, data.features(), |first, outputs| {
        for (i, row) in outputs.rows().into_iter().enumerate() {
            if failed.is_some() {
                return;
            }
            // The outputs are a feature-major view: copy each row out.
            y.as_mut_slice()
                .iter_mut()
                .zip(row)
                .for_each(|(d, &v)| *d = v);
            let row = targets.row(first + i);
            let copied;
            let t = match row.to_slice() {
                Some(t) => t,
                None => {
                    copied = row.to_vec();
                    &copied
                }
            };
            match loss.value(y.as_slice(), t) {
                Ok(value) => loss_sum += value.to_f64(),
                Err(e) => failed = Some(e),
            }
            if let Some(c) = loss.correct(y.as_slice(), t) {
                correct += usize::from(c);
                classified = true;
            }
        }
    })
    .map_err(batch_error)?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let n = data.len() as f64;
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
