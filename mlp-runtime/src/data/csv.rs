//! Reading a data set from CSV text.
//!
//! The format is the plain numeric CSV most data sets ship as: a header line naming the
//! columns, then one sample per line, fields separated by commas, features first and the
//! target last. Fields are trimmed of spaces; `\r\n` line ends and a leading byte-order mark are
//! accepted; blank lines are skipped. Quoted fields are not supported.

use super::Dataset;
use crate::error::{DataError, Location, ShapeError};
use crate::Scalar;
use ndarray::Array2;
use std::path::Path;

/// What follows the feature columns of each CSV row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// One integer class label in `0..classes`, as the last column.
    Label {
        /// The number of classes.
        classes: usize,
    },
    /// The last `columns` columns are real-valued targets (regression).
    Values {
        /// The number of target columns.
        columns: usize,
    },
}

impl Target {
    /// The number of CSV columns the target takes.
    fn width(&self) -> usize {
        match *self {
            Target::Label { .. } => 1,
            Target::Values { columns } => columns,
        }
    }
}

/// Reads a data set from the CSV file at `path`; every column before the target is a feature.
///
/// ```no_run
/// # use mlp_runtime::data::{load_csv, Target};
/// let train = load_csv::<f32>("data/digits_train.csv", Target::Label { classes: 10 })?;
/// assert_eq!((train.n_features(), train.n_targets()), (64, 10));
/// # Ok::<(), mlp_runtime::error::DataError>(())
/// ```
pub fn load_csv<T: Scalar>(
    path: impl AsRef<Path>,
    target: Target,
) -> Result<Dataset<T>, DataError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_csv(path, &text, target)
}

/// Reads a data set from CSV text; `name` stands for the file in errors.
///
/// ```
/// # use mlp_runtime::data::{parse_csv, Target};
/// let data = parse_csv::<f64>("xor.csv", "a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n", Target::Label { classes: 2 })?;
/// assert_eq!(data.labels(), Some(&[0, 1, 1, 0][..]));
/// let err = parse_csv::<f64>("bad.csv", "a,b,y\n0,x,0\n", Target::Label { classes: 2 }).unwrap_err();
/// assert_eq!(err.to_string(), "bad.csv:2:2: column `b`: expected a finite number, found `x`");
/// # Ok::<(), mlp_runtime::error::DataError>(())
/// ```
pub fn parse_csv<T: Scalar>(
    name: impl AsRef<Path>,
    text: &str,
    target: Target,
) -> Result<Dataset<T>, DataError> {
    let path = name.as_ref().to_path_buf();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    let header: Vec<&str> = match lines.next() {
        Some((_, h)) if !h.trim().is_empty() => h.split(',').map(str::trim).collect(),
        _ => return Err(DataError::Empty { path }),
    };
    if let Target::Label { classes: 0 } = target {
        return Err(DataError::NoClasses);
    }
    let width = header.len();
    let n_targets = target.width();
    if width < n_targets + 1 {
        return Err(DataError::TooFewColumns {
            path,
            expected: n_targets + 1,
            found: width,
        });
    }
    let n_features = width - n_targets;

    let mut features: Vec<T> = Vec::new();
    let mut values: Vec<T> = Vec::new();
    let mut labels: Vec<usize> = Vec::new();
    let mut rows = 0;
    for (line, text) in lines {
        if text.trim().is_empty() {
            continue;
        }
        let found = text.split(',').count();
        if found != width {
            return Err(DataError::Ragged {
                path,
                line,
                expected: width,
                found,
            });
        }
        for (i, field) in text.split(',').map(str::trim).enumerate() {
            let at = || Location {
                path: path.clone(),
                line,
                column: i + 1,
            };
            match target {
                Target::Label { classes } if i == n_features => {
                    labels.push(parse_label(field, classes, at, header[i])?)
                }
                _ => {
                    let v = parse_number(field, at, header[i])?;
                    if i < n_features {
                        features.push(v);
                    } else {
                        values.push(v);
                    }
                }
            }
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(DataError::NoRows { path });
    }
    let features = to_array("features", features, rows, n_features)?;
    match target {
        Target::Label { classes } => Dataset::classification(features, labels, classes),
        Target::Values { columns } => {
            Dataset::regression(features, to_array("targets", values, rows, columns)?)
        }
    }
}

/// Parses a feature or target value.
fn parse_number<T: Scalar>(
    field: &str,
    at: impl Fn() -> Location,
    name: &str,
) -> Result<T, DataError> {
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(T::from_f64(v)),
        _ => Err(DataError::NotANumber {
            at: at(),
            name: name.to_owned(),
            text: field.to_owned(),
        }),
    }
}

/// Parses a class label and checks it lies in `0..classes`.
fn parse_label(
    field: &str,
    classes: usize,
    at: impl Fn() -> Location,
    name: &str,
) -> Result<usize, DataError> {
    let label = field.parse::<i64>().map_err(|_| DataError::NotALabel {
        at: at(),
        name: name.to_owned(),
        text: field.to_owned(),
    })?;
    match usize::try_from(label) {
        Ok(l) if l < classes => Ok(l),
        _ => Err(DataError::LabelOutOfRange {
            at: at(),
            label,
            classes,
        }),
    }
}

/// A `rows × cols` array from row-major values (whose count the parser guarantees).
fn to_array<T: Scalar>(
    what: &'static str,
    values: Vec<T>,
    rows: usize,
    cols: usize,
) -> Result<Array2<T>, DataError> {
    let found = values.len();
    Array2::from_shape_vec((rows, cols), values).map_err(|_| {
        ShapeError {
            what,
            axis: "values",
            expected: rows * cols,
            found,
        }
        .into()
    })
}
