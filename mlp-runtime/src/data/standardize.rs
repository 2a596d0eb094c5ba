//! Standardisation of features with statistics fitted on the training set.

use crate::error::{DataError, ShapeError};
use crate::Scalar;
use ndarray::{Array1, ArrayView2, ArrayViewMut2, Axis};

/// Maps each feature to `(x − μ) / σ` with the mean `μ` and the population standard deviation
/// `σ = √((1/n) Σ (x − μ)²)` of the training set; a constant feature (`σ = 0`, or a `σ` that
/// rounds to 0 in the scalar type) keeps `σ = 1`, so it becomes 0. Fit it on the training features, then apply it to every set.
///
/// ```
/// use mlp::data::Standardizer;
/// let train = mlp::ndarray::array![[1.0, 5.0], [3.0, 5.0]];
/// let s = Standardizer::fit(train.view())?;
/// assert_eq!((s.mean().to_vec(), s.std().to_vec()), (vec![2.0, 5.0], vec![1.0, 1.0]));
/// let mut test = mlp::ndarray::array![[4.0, 6.0]];
/// s.apply(test.view_mut())?;
/// assert_eq!(test, mlp::ndarray::array![[2.0, 1.0]]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer<T> {
    mean: Array1<T>,
    std: Array1<T>,
}

impl<T: Scalar> Standardizer<T> {
    /// Fits the per-column mean and population standard deviation, computed in `f64`.
    pub fn fit(features: ArrayView2<'_, T>) -> Result<Self, DataError> {
        let n = features.nrows();
        if n == 0 {
            return Err(DataError::NoSamples {
                what: "features to standardise",
            });
        }
        let moments = features.axis_iter(Axis(1)).map(|col| {
            let mu = col.iter().map(|v| v.to_f64()).sum::<f64>() / n as f64;
            let var = col.iter().map(|v| (v.to_f64() - mu).powi(2)).sum::<f64>() / n as f64;
            (mu, var)
        });
        Self::from_moments(moments)
    }

    /// The standardiser of columns of means `μ` and variances `σ²` (computed in `f64`), checked.
    pub(crate) fn from_moments(
        moments: impl ExactSizeIterator<Item = (f64, f64)>,
    ) -> Result<Self, DataError> {
        let cols = moments.len();
        let mut mean = Array1::from_elem(cols, T::ZERO);
        let mut std = Array1::from_elem(cols, T::ONE);
        for (j, (mu, var)) in moments.enumerate() {
            let sigma = var.sqrt();
            if !(mu.is_finite() && sigma.is_finite()) {
                return Err(DataError::Statistics { column: j });
            }
            mean[j] = T::from_f64(mu);
            // σ is checked in `T`: a σ positive in f64 that rounds to 0 (or to a subnormal
            // whose reciprocal overflows) in f32 counts as a constant column.
            let s = T::from_f64(sigma);
            if s > T::ZERO && (T::ONE / s).is_finite() {
                std[j] = s;
            }
        }
        Ok(Standardizer { mean, std })
    }

    /// A standardiser from its parts, checked by the caller (equal lengths, `σ > 0`).
    pub(crate) fn from_parts(mean: Array1<T>, std: Array1<T>) -> Self {
        Standardizer { mean, std }
    }

    /// The per-feature means `μ`.
    pub fn mean(&self) -> &Array1<T> {
        &self.mean
    }

    /// The per-feature standard deviations `σ`, 1 where the training feature was constant.
    pub fn std(&self) -> &Array1<T> {
        &self.std
    }

    /// Standardises `features` in place; it must have as many columns as the fitted set.
    pub fn apply(&self, mut features: ArrayViewMut2<'_, T>) -> Result<(), ShapeError> {
        ShapeError::columns("features to standardise", self.mean.len(), features.ncols())?;
        for mut row in features.axis_iter_mut(Axis(0)) {
            for ((x, &mu), &sigma) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *x = (*x - mu) / sigma;
            }
        }
        Ok(())
    }
}
