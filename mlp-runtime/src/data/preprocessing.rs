//! What inference needs besides the weights: the feature names, the class names and the
//! standardiser, as string key-values that travel in a saved model's metadata.

use super::{Dataset, Standardizer};
use crate::error::{DataError, ShapeError};
use crate::io::Metadata;
use crate::Scalar;
use ndarray::{Array1, ArrayViewMut2};

/// The metadata key of the feature names: a JSON array of strings.
pub const FEATURE_NAMES_KEY: &str = "mlp.feature_names";
/// The metadata key of the class names, in class-index order: a JSON array of strings.
pub const CLASS_NAMES_KEY: &str = "mlp.class_names";
/// The metadata key of the standardiser's means: comma-separated numbers, each the shortest
/// text that reads back to the same `f64` (so an `f32` value reads back exactly).
pub const MEAN_KEY: &str = "mlp.standardizer.mean";
/// The metadata key of the standardiser's standard deviations, written as the means are.
pub const STD_KEY: &str = "mlp.standardizer.std";

/// The preparation of raw inputs and the meaning of outputs that a trained model carries:
/// feature names, class names and the standardiser fitted on the training set.
///
/// ```
/// use mlp::data::{Csv, Preprocessing, Standardizer};
/// let train = Csv::classes("kind").parse::<f32>("t.csv", "a,kind\n1,x\n3,y\n")?;
/// let prep = Preprocessing::from_dataset(&train)
///     .with_standardizer(Standardizer::fit(train.features())?);
/// let metadata = prep.to_metadata();
/// assert_eq!(metadata.get("mlp.class_names"), Some(r#"["x","y"]"#));
/// assert_eq!(metadata.get("mlp.standardizer.mean"), Some("2"));
/// assert_eq!(Preprocessing::<f32>::from_metadata(&metadata)?, prep);
/// # Ok::<(), mlp::error::DataError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Preprocessing<T> {
    /// The names of the input features, in input order.
    pub feature_names: Option<Vec<String>>,
    /// The class names, in class-index order.
    pub class_names: Option<Vec<String>>,
    /// The standardiser applied to raw inputs before the network.
    pub standardizer: Option<Standardizer<T>>,
}

impl<T: Scalar> Preprocessing<T> {
    /// The feature and class names of `data`, without a standardiser.
    pub fn from_dataset(data: &Dataset<T>) -> Self {
        Preprocessing {
            feature_names: data.feature_names().map(<[String]>::to_vec),
            class_names: data.class_names().map(<[String]>::to_vec),
            standardizer: None,
        }
    }

    /// Adds the standardiser.
    pub fn with_standardizer(mut self, standardizer: Standardizer<T>) -> Self {
        self.standardizer = Some(standardizer);
        self
    }

    /// Prepares raw inputs (one sample per row) in place: standardises them if there is a
    /// standardiser.
    pub fn apply(&self, features: ArrayViewMut2<'_, T>) -> Result<(), ShapeError> {
        match &self.standardizer {
            Some(s) => s.apply(features),
            None => Ok(()),
        }
    }

    /// The name of class `k`, if the classes are named.
    pub fn class_name(&self, k: usize) -> Option<&str> {
        self.class_names.as_ref()?.get(k).map(String::as_str)
    }

    /// The key-values to save with the weights ([`FEATURE_NAMES_KEY`], [`CLASS_NAMES_KEY`],
    /// [`MEAN_KEY`], [`STD_KEY`]); what is absent writes no key.
    pub fn to_metadata(&self) -> Metadata {
        let mut entries = Vec::new();
        let names = |v: &Vec<String>| serde_json::Value::from(v.clone()).to_string();
        if let Some(v) = &self.feature_names {
            entries.push((FEATURE_NAMES_KEY, names(v)));
        }
        if let Some(v) = &self.class_names {
            entries.push((CLASS_NAMES_KEY, names(v)));
        }
        if let Some(s) = &self.standardizer {
            entries.push((MEAN_KEY, numbers(s.mean())));
            entries.push((STD_KEY, numbers(s.std())));
        }
        Metadata::from_trusted(entries)
    }

    /// Reads back what [`Preprocessing::to_metadata`] wrote, ignoring other keys; a missing
    /// key is an absent part. Fails, naming the key, on a value that does not parse.
    pub fn from_metadata(metadata: &Metadata) -> Result<Self, DataError> {
        let names = |key: &str| -> Result<Option<Vec<String>>, DataError> {
            let Some(text) = metadata.get(key) else {
                return Ok(None);
            };
            serde_json::from_str(text)
                .map(Some)
                .map_err(|e| bad(key, format!("expected a JSON array of strings: {e}")))
        };
        let feature_names = names(FEATURE_NAMES_KEY)?;
        let class_names = names(CLASS_NAMES_KEY)?;
        let standardizer = match (metadata.get(MEAN_KEY), metadata.get(STD_KEY)) {
            (None, None) => None,
            (Some(mean), Some(std)) => {
                let mean = parse_numbers::<T>(MEAN_KEY, mean)?;
                let std = parse_numbers::<T>(STD_KEY, std)?;
                if mean.len() != std.len() {
                    return Err(bad(
                        STD_KEY,
                        format!(
                            "expected {} values as in `{MEAN_KEY}`, found {}",
                            mean.len(),
                            std.len()
                        ),
                    ));
                }
                if let Some(s) = std
                    .iter()
                    .find(|s| (**s).partial_cmp(&T::ZERO) != Some(core::cmp::Ordering::Greater))
                {
                    return Err(bad(
                        STD_KEY,
                        format!("expected positive values, found {s:?}"),
                    ));
                }
                Some(Standardizer::from_parts(mean, std))
            }
            (Some(_), None) => return Err(bad(STD_KEY, "missing beside its mean".into())),
            (None, Some(_)) => return Err(bad(MEAN_KEY, "missing beside its std".into())),
        };
        Ok(Preprocessing {
            feature_names,
            class_names,
            standardizer,
        })
    }
}

/// A metadata error for `key`.
fn bad(key: &str, reason: String) -> DataError {
    DataError::Metadata {
        key: key.to_owned(),
        reason,
    }
}

/// The values as comma-separated shortest round-trip `f64` text.
fn numbers<T: Scalar>(values: &Array1<T>) -> String {
    let text: Vec<String> = values.iter().map(|v| v.to_f64().to_string()).collect();
    text.join(",")
}

/// Parses what [`numbers`] wrote, each value finite in `T`.
fn parse_numbers<T: Scalar>(key: &str, text: &str) -> Result<Array1<T>, DataError> {
    if text.is_empty() {
        return Ok(Array1::from_vec(Vec::new()));
    }
    text.split(',')
        .map(|t| {
            let v = t.trim().parse::<f64>().ok().map(T::from_f64);
            v.filter(|v| v.is_finite()).ok_or_else(|| {
                bad(
                    key,
                    format!("expected finite numbers, found `{}`", super::csv::cut(t)),
                )
            })
        })
        .collect::<Result<Vec<T>, _>>()
        .map(Array1::from_vec)
}
