//! Data sets: features and targets as `ndarray` arrays, read from CSV or given directly, with
//! the preparation training needs (standardisation, a seeded validation split, one-hot labels).
//!
//! A [`Dataset`] holds `n` samples as the rows of a features array (`n × N_0`) and a targets
//! array (`n × N_L`). For classification the targets are the one-hot encodings of the class
//! labels, which the data set also keeps for computing accuracy.

mod csv;
mod preprocessing;
mod standardize;

pub use csv::{load_csv, parse_csv, Column, Csv, Target, ECHO_LIMIT, MAX_CLASSES};
pub use preprocessing::{Preprocessing, CLASS_NAMES_KEY, FEATURE_NAMES_KEY, MEAN_KEY, STD_KEY};
pub use standardize::Standardizer;

use crate::error::{DataError, ShapeError};
use crate::Scalar;
use ndarray::{Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Samples for training or evaluation: features, targets and, for classification, labels.
///
/// Every value is finite and both arrays are in standard (row-major) layout, so a sample's
/// features and targets are contiguous slices.
/// A data set read from CSV also keeps the names of its feature columns and, for text class
/// labels, the class names ([`Dataset::feature_names`], [`Dataset::class_names`]), which travel
/// with the model through [`Preprocessing`].
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T> {
    features: Array2<T>,
    targets: Array2<T>,
    labels: Option<Vec<usize>>,
    feature_names: Option<Vec<String>>,
    class_names: Option<Vec<String>>,
}

impl<T: Scalar> Dataset<T> {
    /// A regression data set: row `i` of `targets` is the target of row `i` of `features`.
    ///
    /// Fails if the arrays differ in rows, if there are none, or if a value is not finite.
    pub fn regression(features: Array2<T>, targets: Array2<T>) -> Result<Self, DataError> {
        check_rows(&features, "targets", targets.nrows())?;
        check_finite("features", features.view())?;
        check_finite("targets", targets.view())?;
        Ok(Dataset {
            features: standard(features),
            targets: standard(targets),
            labels: None,
            feature_names: None,
            class_names: None,
        })
    }

    /// A classification data set with class labels in `0..classes`; the targets are their
    /// one-hot encodings.
    ///
    /// Fails if the labels and features differ in number, if there are none, if a label is out
    /// of range, or if a feature is not finite.
    pub fn classification(
        features: Array2<T>,
        labels: Vec<usize>,
        classes: usize,
    ) -> Result<Self, DataError> {
        check_rows(&features, "labels", labels.len())?;
        check_finite("features", features.view())?;
        let targets = one_hot(&labels, classes)?;
        Ok(Dataset {
            features: standard(features),
            targets,
            labels: Some(labels),
            feature_names: None,
            class_names: None,
        })
    }

    /// A data set of `features` and `targets` as they are, with no check: for rows the
    /// trainer gathers from checked data sets (over MPI).
    #[cfg(feature = "mpi")]
    pub(crate) fn from_checked(features: Array2<T>, targets: Array2<T>) -> Self {
        Dataset {
            features: standard(features),
            targets: standard(targets),
            labels: None,
            feature_names: None,
            class_names: None,
        }
    }

    /// The features and targets, to overwrite with other checked rows.
    #[cfg(feature = "mpi")]
    pub(crate) fn arrays_mut(&mut self) -> (&mut Array2<T>, &mut Array2<T>) {
        (&mut self.features, &mut self.targets)
    }

    /// Names the feature columns; there must be one name per feature.
    pub fn with_feature_names(mut self, names: Vec<String>) -> Result<Self, DataError> {
        ShapeError::columns("feature names", self.n_features(), names.len())?;
        self.feature_names = Some(names);
        Ok(self)
    }

    /// Names the classes of a classification data set, in class-index order; there must be
    /// one name per class.
    pub fn with_class_names(mut self, names: Vec<String>) -> Result<Self, DataError> {
        if self.labels.is_none() {
            return Err(DataError::NoClasses);
        }
        ShapeError::columns("class names", self.n_targets(), names.len())?;
        self.class_names = Some(names);
        Ok(self)
    }

    /// The names of the feature columns, when known (read from a CSV header or given).
    pub fn feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }

    /// The class names in class-index order, when known (text labels read from CSV, or given):
    /// class `k` is `class_names()[k]`.
    pub fn class_names(&self) -> Option<&[String]> {
        self.class_names.as_deref()
    }

    /// The features, one sample per row.
    pub fn features(&self) -> ArrayView2<'_, T> {
        self.features.view()
    }

    /// The targets, one sample per row (one-hot for classification).
    pub fn targets(&self) -> ArrayView2<'_, T> {
        self.targets.view()
    }

    /// The class labels, for a classification data set.
    pub fn labels(&self) -> Option<&[usize]> {
        self.labels.as_deref()
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.features.nrows()
    }

    /// Whether there are no samples (never true: a data set has at least one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of features per sample, `N_0`.
    pub fn n_features(&self) -> usize {
        self.features.ncols()
    }

    /// The number of target values per sample, `N_L` (the number of classes for
    /// classification).
    pub fn n_targets(&self) -> usize {
        self.targets.ncols()
    }

    /// Sample `i`'s features and targets as slices, or `None` if `i` is out of range.
    pub fn sample(&self, i: usize) -> Option<(&[T], &[T])> {
        if i >= self.len() {
            return None;
        }
        let x = self.features.row(i).to_slice()?;
        let t = self.targets.row(i).to_slice()?;
        Some((x, t))
    }

    /// Standardises the features with `s` (fitted on the training set).
    ///
    /// Fails, leaving the data set as it was, if the widths differ or if a standardised value
    /// is not finite in `T` (a value far outside the training set's range).
    pub fn standardize(&mut self, s: &Standardizer<T>) -> Result<(), DataError> {
        let mut features = self.features.clone();
        s.apply(features.view_mut())?;
        check_finite("standardised features", features.view())?;
        self.features = features;
        Ok(())
    }

    /// The samples at `indices`, in that order.
    fn select(&self, indices: &[usize]) -> Self {
        Dataset {
            features: self.features.select(Axis(0), indices),
            targets: self.targets.select(Axis(0), indices),
            labels: self
                .labels
                .as_ref()
                .map(|l| indices.iter().map(|&i| l[i]).collect()),
            feature_names: self.feature_names.clone(),
            class_names: self.class_names.clone(),
        }
    }

    /// Splits off a random `validation_fraction` of the samples, returning `(train, validation)`.
    ///
    /// The order is a Fisher–Yates shuffle driven by `ChaCha8Rng` seeded with `seed` (stream 2),
    /// so the same seed gives the same split. The validation side has
    /// `round(validation_fraction · n)` samples; the fraction must lie in `(0, 1)` and both
    /// sides need at least one sample. [`Dataset::split_stratified`] keeps the class
    /// proportions.
    pub fn split(&self, validation_fraction: f64, seed: u64) -> Result<(Self, Self), DataError> {
        let n = self.len();
        let n_val = validation_count(validation_fraction, n)?;
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut split_rng(seed));
        let (val, train) = order.split_at(n_val);
        Ok((self.select(train), self.select(val)))
    }

    /// Splits off `validation_fraction` of each class, returning `(train, validation)` with
    /// the class proportions of the whole (as scikit-learn's `stratify=y`).
    ///
    /// Each class's samples are shuffled as in [`Dataset::split`] (one `ChaCha8Rng` seeded
    /// with `seed`, stream 2, over the classes in index order) and the first
    /// `round(validation_fraction · n_c)` of class `c` go to validation; both sides keep the
    /// data set's order. The fraction must lie in `(0, 1)` and both sides need at least one
    /// sample. A regression data set (no labels) is split as by [`Dataset::split`].
    ///
    /// ```
    /// use mlp::data::Dataset;
    /// let x = mlp::ndarray::Array2::from_shape_fn((10, 1), |(i, _)| i as f32);
    /// let data = Dataset::classification(x, vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 1], 2)?;
    /// let (train, val) = data.split_stratified(0.5, 7)?;
    /// assert_eq!((train.len(), val.len()), (5, 5));
    /// assert_eq!(val.labels().unwrap().iter().filter(|&&l| l == 1).count(), 1);
    /// # Ok::<(), mlp::error::DataError>(())
    /// ```
    pub fn split_stratified(
        &self,
        validation_fraction: f64,
        seed: u64,
    ) -> Result<(Self, Self), DataError> {
        let Some(labels) = self.labels.as_deref() else {
            return self.split(validation_fraction, seed);
        };
        let n = self.len();
        validation_count(validation_fraction, n)?;
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); self.n_targets()];
        for (i, &l) in labels.iter().enumerate() {
            by_class[l].push(i);
        }
        let mut rng = split_rng(seed);
        let mut in_val = vec![false; n];
        for members in &mut by_class {
            members.shuffle(&mut rng);
            let k = (validation_fraction * members.len() as f64).round() as usize;
            members[..k].iter().for_each(|&i| in_val[i] = true);
        }
        let (val, train): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| in_val[i]);
        if val.is_empty() || train.is_empty() {
            return Err(DataError::BadSplit {
                fraction: validation_fraction,
                rows: n,
                train: train.len(),
                validation: val.len(),
            });
        }
        Ok((self.select(&train), self.select(&val)))
    }
}

/// The generator of the splits: `ChaCha8Rng` seeded with `seed`, stream 2 (initialisation
/// draws from stream 0 and the trainer's shuffling from stream 1, so one seed can serve all
/// three without reusing random bits).
fn split_rng(seed: u64) -> ChaCha8Rng {
    crate::init::generator(seed, 2)
}

/// The validation side's size, `round(fraction · n)`, for a fraction in `(0, 1)` that leaves
/// both sides a sample.
fn validation_count(fraction: f64, n: usize) -> Result<usize, DataError> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(DataError::BadFraction { fraction });
    }
    let n_val = (fraction * n as f64).round() as usize;
    if n_val == 0 || n_val >= n {
        return Err(DataError::BadSplit {
            fraction,
            rows: n,
            train: n.saturating_sub(n_val),
            validation: n_val,
        });
    }
    Ok(n_val)
}

/// The one-hot encoding of class labels: row `i` is `e_{labels[i]}`, of length `classes`.
///
/// ```
/// use mlp::data::one_hot;
/// let t = one_hot::<f64>(&[2, 0], 3).unwrap();
/// assert_eq!(t, mlp::ndarray::array![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]);
/// assert!(one_hot::<f64>(&[3], 3).is_err());
/// ```
pub fn one_hot<T: Scalar>(labels: &[usize], classes: usize) -> Result<Array2<T>, DataError> {
    if classes == 0 {
        return Err(DataError::NoClasses);
    }
    let mut t = Array2::from_elem((labels.len(), classes), T::ZERO);
    for (row, &label) in labels.iter().enumerate() {
        if label >= classes {
            return Err(DataError::LabelIndexOutOfRange {
                row,
                label,
                classes,
            });
        }
        t[(row, label)] = T::ONE;
    }
    Ok(t)
}

/// Checks the features have at least one row, and as many as `what` has.
fn check_rows<T>(features: &Array2<T>, what: &'static str, rows: usize) -> Result<(), DataError> {
    if features.nrows() == 0 {
        return Err(DataError::NoSamples { what: "features" });
    }
    Ok(ShapeError::rows(what, features.nrows(), rows)?)
}

/// Checks every value is finite, naming the first that is not.
fn check_finite<T: Scalar>(what: &'static str, a: ArrayView2<'_, T>) -> Result<(), DataError> {
    match a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((row, column), v)) => Err(DataError::NonFinite {
            what,
            row,
            column,
            value: v.to_f64(),
        }),
        None => Ok(()),
    }
}

/// The array in standard (row-major, contiguous) layout.
fn standard<T: Clone>(a: Array2<T>) -> Array2<T> {
    if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
    }
}
