//! Classification metrics: a confusion matrix with accuracy and per-class precision, recall
//! and F1, and a [`Display`](core::fmt::Display) that prints them as a table.
//!
//! For class `c`, with `TP_c` the samples of class `c` predicted as `c`:
//! `precision_c = TP_c / (samples predicted c)`, `recall_c = TP_c / (samples of class c)`,
//! `F1_c = 2 precision_c recall_c / (precision_c + recall_c)`, and
//! `accuracy = Σ_c TP_c / n`. A ratio whose denominator is 0 is `None`.
//!
//! ```
//! use mlp::metrics::ConfusionMatrix;
//! let truth = [0, 0, 1, 1, 2];
//! let predicted = [0, 1, 1, 1, 2];
//! let m = ConfusionMatrix::new(3, &truth, &predicted)?.with_names(["cat", "dog", "owl"])?;
//! assert_eq!(m.count(0, 1), 1);                       // one cat taken for a dog
//! assert_eq!(m.accuracy(), 0.8);
//! assert_eq!((m.precision(1), m.recall(1)), (Some(2.0 / 3.0), Some(1.0)));
//! assert_eq!(m.f1(0), Some(2.0 / 3.0));
//! println!("{m}");
//! # Ok::<(), mlp::error::DataError>(())
//! ```

use crate::data::Dataset;
use crate::error::{DataError, ShapeError, TrainError};
use crate::BatchNetwork;
use core::fmt;

/// Counts of (true class, predicted class) pairs: row = true class, column = predicted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    /// `classes × classes`, row-major.
    counts: Vec<usize>,
    names: Option<Vec<String>>,
}

impl ConfusionMatrix {
    /// Counts the pairs `(truth[i], predicted[i])`, each a class in `0..classes`.
    ///
    /// Fails if the slices differ in length or a class is out of range.
    pub fn new(classes: usize, truth: &[usize], predicted: &[usize]) -> Result<Self, DataError> {
        if classes == 0 {
            return Err(DataError::NoClasses);
        }
        ShapeError::rows("predicted classes", truth.len(), predicted.len())?;
        let mut counts = vec![0; classes * classes];
        for (row, (&t, &p)) in truth.iter().zip(predicted).enumerate() {
            for label in [t, p] {
                if label >= classes {
                    return Err(DataError::LabelIndexOutOfRange {
                        row,
                        label,
                        classes,
                    });
                }
            }
            counts[t * classes + p] += 1;
        }
        Ok(ConfusionMatrix {
            classes,
            counts,
            names: None,
        })
    }

    /// Names the classes for the table, in class-index order, one per class.
    pub fn with_names<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Self, DataError> {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        ShapeError::columns("class names", self.classes, names.len())?;
        self.names = Some(names);
        Ok(self)
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The samples of class `truth` predicted as `predicted` (0 out of range).
    pub fn count(&self, truth: usize, predicted: usize) -> usize {
        if truth < self.classes && predicted < self.classes {
            self.counts[truth * self.classes + predicted]
        } else {
            0
        }
    }

    /// The number of samples.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// The samples of class `c`.
    pub fn support(&self, c: usize) -> usize {
        (0..self.classes).map(|p| self.count(c, p)).sum()
    }

    /// The samples predicted as class `c`.
    pub fn predicted(&self, c: usize) -> usize {
        (0..self.classes).map(|t| self.count(t, c)).sum()
    }

    /// The fraction of samples classified correctly (0 when there are none).
    pub fn accuracy(&self) -> f64 {
        let correct: usize = (0..self.classes).map(|c| self.count(c, c)).sum();
        ratio(correct, self.total()).unwrap_or(0.0)
    }

    /// `TP_c / (samples predicted c)`, or `None` if nothing was predicted as `c`.
    pub fn precision(&self, c: usize) -> Option<f64> {
        ratio(self.count(c, c), self.predicted(c))
    }

    /// `TP_c / (samples of class c)`, or `None` if class `c` has no samples.
    pub fn recall(&self, c: usize) -> Option<f64> {
        ratio(self.count(c, c), self.support(c))
    }

    /// The harmonic mean of precision and recall, or `None` if either is undefined or both
    /// are 0.
    pub fn f1(&self, c: usize) -> Option<f64> {
        let (p, r) = (self.precision(c)?, self.recall(c)?);
        (p + r > 0.0).then(|| 2.0 * p * r / (p + r))
    }

    /// The name of class `c`: the one given, else its index.
    pub fn name(&self, c: usize) -> String {
        match &self.names {
            Some(names) => names.get(c).cloned().unwrap_or_else(|| c.to_string()),
            None => c.to_string(),
        }
    }
}

/// `a / b`, or `None` for `b = 0`.
fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// The matrix (rows: true class, columns: predicted), then precision, recall, F1 and support
/// per class, then the accuracy; an undefined ratio prints as `-`.
impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = (0..self.classes).map(|c| self.name(c)).collect();
        let first = names
            .iter()
            .map(|n| n.chars().count())
            .chain([9])
            .max()
            .unwrap_or(9);
        let cell = names
            .iter()
            .map(|n| n.chars().count())
            .chain([self.total().to_string().len(), 6])
            .max()
            .unwrap_or(6);
        writeln!(f, "{:first$}  predicted", "true")?;
        write!(f, "{:first$}", "")?;
        for n in &names {
            write!(f, "  {n:>cell$}")?;
        }
        writeln!(f)?;
        for (t, n) in names.iter().enumerate() {
            write!(f, "{n:first$}")?;
            for p in 0..self.classes {
                write!(f, "  {:>cell$}", self.count(t, p))?;
            }
            writeln!(f)?;
        }
        writeln!(f)?;
        let show = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.4}"));
        writeln!(
            f,
            "{:first$}  {:>9}  {:>9}  {:>9}  {:>9}",
            "class", "precision", "recall", "f1", "support"
        )?;
        for (c, n) in names.iter().enumerate() {
            writeln!(
                f,
                "{n:first$}  {:>9}  {:>9}  {:>9}  {:>9}",
                show(self.precision(c)),
                show(self.recall(c)),
                show(self.f1(c)),
                self.support(c)
            )?;
        }
        write!(
            f,
            "{:first$}  {:.4} of {}",
            "accuracy",
            self.accuracy(),
            self.total()
        )
    }
}

/// The confusion matrix of `net` on a classification data set (labels, or one-hot or 0/1
/// targets), predicted on the batched path, with the data set's class names if it has them.
pub fn confusion_matrix<N: BatchNetwork>(
    net: &N,
    data: &Dataset<N::Scalar>,
) -> Result<ConfusionMatrix, TrainError> {
    let (predicted, truth) = crate::predict::classes_and_labels(net, data).map_err(batch)?;
    let classes = data.n_targets().max(2);
    let m = ConfusionMatrix::new(classes, &truth, &predicted).map_err(data_error)?;
    match data.class_names() {
        Some(names) if names.len() == classes => {
            m.with_names(names.iter().cloned()).map_err(data_error)
        }
        _ => Ok(m),
    }
}

/// A batch error from prediction as a training error.
fn batch(e: crate::BatchError) -> TrainError {
    match e {
        crate::BatchError::Shape(s) => TrainError::Shape(s),
        other => TrainError::Config {
            name: "data",
            reason: other.to_string(),
        },
    }
}

/// A data error as a training error.
fn data_error(e: DataError) -> TrainError {
    match e {
        DataError::Shape(s) => TrainError::Shape(s),
        other => TrainError::Config {
            name: "data",
            reason: other.to_string(),
        },
    }
}
