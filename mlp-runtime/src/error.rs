//! The errors of training and data loading, each saying what went wrong, where, and what was
//! expected.

use std::path::PathBuf;

/// An array whose size along one axis is not the one an operation needs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}: expected {expected} {axis}, found {found}")]
pub struct ShapeError {
    /// What was checked, e.g. `"targets"` or `"training features"`.
    pub what: &'static str,
    /// The axis: `"rows"` or `"columns"`.
    pub axis: &'static str,
    /// The expected size.
    pub expected: usize,
    /// The size found.
    pub found: usize,
}

impl ShapeError {
    /// Checks that `what` has `expected` rows.
    pub fn rows(what: &'static str, expected: usize, found: usize) -> Result<(), ShapeError> {
        Self::check(what, "rows", expected, found)
    }

    /// Checks that `what` has `expected` columns.
    pub fn columns(what: &'static str, expected: usize, found: usize) -> Result<(), ShapeError> {
        Self::check(what, "columns", expected, found)
    }

    fn check(
        what: &'static str,
        axis: &'static str,
        expected: usize,
        found: usize,
    ) -> Result<(), ShapeError> {
        if expected == found {
            Ok(())
        } else {
            Err(ShapeError {
                what,
                axis,
                expected,
                found,
            })
        }
    }
}

/// Where in a CSV file a problem lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file, or the name given to in-memory text.
    pub path: PathBuf,
    /// The line, 1-based (the header is line 1).
    pub line: usize,
    /// The field, 1-based, counting fields from the left.
    pub column: usize,
}

impl core::fmt::Display for Location {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// A data set that cannot be read or built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file has no header line.
    #[error("{}: the file is empty, expected a header line naming the columns", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The header is there but no sample follows it.
    #[error("{}: no data rows after the header", path.display())]
    NoRows {
        /// The file.
        path: PathBuf,
    },
    /// The header has too few columns for the features and targets asked for.
    #[error("{}:1: the header has {found} columns, expected at least {expected} (at least 1 feature, then {targets} for the target)", path.display(), targets = expected - 1)]
    TooFewColumns {
        /// The file.
        path: PathBuf,
        /// The fewest columns that work: one feature plus the target columns.
        expected: usize,
        /// The columns in the header.
        found: usize,
    },
    /// A row has a different number of fields than the header.
    #[error("{}:{line}: expected {expected} fields as in the header, found {found}", path.display())]
    Ragged {
        /// The file.
        path: PathBuf,
        /// The line, 1-based.
        line: usize,
        /// The number of fields in the header.
        expected: usize,
        /// The number of fields on this line.
        found: usize,
    },
    /// A feature or target field is not a finite number.
    #[error("{at}: column `{name}`: expected a finite number, found `{text}`")]
    NotANumber {
        /// Where.
        at: Location,
        /// The column's name from the header.
        name: String,
        /// The offending text (cut to [`crate::data::ECHO_LIMIT`] characters).
        text: String,
    },
    /// A label field is not a whole number.
    #[error("{at}: column `{name}`: expected an integer class label, found `{text}`")]
    NotALabel {
        /// Where.
        at: Location,
        /// The column's name from the header.
        name: String,
        /// The offending text.
        text: String,
    },
    /// A class label outside `0..classes`.
    #[error("{at}: label {label} out of range, expected 0 to {max} for {classes} classes", max = classes - 1)]
    LabelOutOfRange {
        /// Where.
        at: Location,
        /// The label read.
        label: i64,
        /// The number of classes.
        classes: usize,
    },
    /// A label given in memory outside `0..classes`.
    #[error("label {label} of row {row} out of range, expected 0 to {max} for {classes} classes", max = classes.saturating_sub(1))]
    LabelIndexOutOfRange {
        /// The row, 0-based.
        row: usize,
        /// The label.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A value given in memory is NaN or infinite.
    #[error("{what}: row {row}, column {column} is {value}, expected a finite number")]
    NonFinite {
        /// Which array.
        what: &'static str,
        /// The row, 0-based.
        row: usize,
        /// The column, 0-based.
        column: usize,
        /// The value, as `f64`.
        value: f64,
    },
    /// Arrays whose shapes do not fit together.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// A data set with no rows where at least one is needed.
    #[error("{what}: expected at least 1 row, found 0")]
    NoSamples {
        /// Which data set.
        what: &'static str,
    },
    /// A classification with zero classes.
    #[error("expected at least 1 class, found 0")]
    NoClasses,
    /// A validation fraction outside `(0, 1)`.
    #[error("validation fraction {fraction}: the fraction must be in (0, 1)")]
    BadFraction {
        /// The fraction asked for.
        fraction: f64,
    },
    /// A value finite as text that overflows the scalar type (`1e39` in `f32`).
    #[error(
        "{at}: column `{name}`: expected a finite {scalar}, found `{text}`, which overflows it"
    )]
    Overflow {
        /// Where.
        at: Location,
        /// The column's name from the header.
        name: String,
        /// The text as written (cut to [`crate::data::ECHO_LIMIT`] characters).
        text: String,
        /// The scalar type, `"f32"` or `"f64"`.
        scalar: &'static str,
    },
    /// A field that is not UTF-8 text.
    #[error("{at}: expected UTF-8 text")]
    NotUtf8 {
        /// Where.
        at: Location,
    },
    /// A malformed CSV record, as the `csv` crate reports it.
    #[error("{}{}: malformed CSV: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The line, 1-based, when known.
        line: Option<u64>,
        /// What the `csv` crate says.
        message: String,
    },
    /// A column asked for that the file does not have.
    #[error("{}:1: no column {column} in the {columns} columns of the {}", path.display(), if *header { "header" } else { "first row" })]
    NoSuchColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for: `` `name` `` or a 0-based index.
        column: String,
        /// The number of columns.
        columns: usize,
        /// Whether the file has a header.
        header: bool,
    },
    /// A column chosen as a feature twice, or as both a feature and the target.
    #[error("{}: column {column} is chosen twice (as a feature and the target, or as two features)", path.display())]
    ColumnTwice {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// No column is left for the features.
    #[error("{}: no feature columns left, expected at least 1", path.display())]
    NoFeatures {
        /// The file.
        path: PathBuf,
    },
    /// The first line looks like a sample where a header was expected: all its fields but at
    /// most one (a class name) are numbers.
    #[error("{}:1: the first line looks like data, not a header ({numbers} of its {fields} fields are numbers); read the file with `Csv::no_header()`, or with `Csv::header(true)` if these are the names", path.display())]
    HeaderLooksLikeData {
        /// The file.
        path: PathBuf,
        /// The fields of the first line that are numbers.
        numbers: usize,
        /// The fields of the first line.
        fields: usize,
    },
    /// `Target::Values { columns: 0 }`.
    #[error("expected at least 1 target column, found 0")]
    NoTargetColumns,
    /// A class name outside the names given with `Csv::class_names`.
    #[error("{at}: class `{text}` is not one of the {classes} class names given")]
    UnknownClass {
        /// Where.
        at: Location,
        /// The name read (cut to [`crate::data::ECHO_LIMIT`] characters).
        text: String,
        /// The number of classes given.
        classes: usize,
    },
    /// More distinct class names than the limit.
    #[error("{}more than {limit} classes, the limit (`Csv::max_classes`)", at.as_ref().map(|a| format!("{a}: ")).unwrap_or_default())]
    TooManyClasses {
        /// Where the class one over the limit was read, for a CSV file.
        at: Option<Location>,
        /// The limit.
        limit: usize,
    },
    /// A feature whose mean or standard deviation overflows `f64`.
    #[error("feature column {column} (0-based): its mean or standard deviation overflows f64")]
    Statistics {
        /// The column, 0-based.
        column: usize,
    },
    /// Metadata of a saved model that cannot be read back.
    #[error("model metadata `{key}`: {reason}")]
    Metadata {
        /// The key.
        key: String,
        /// What is wrong, with the value found (cut).
        reason: String,
    },
    /// A validation fraction that leaves a side empty.
    #[error("validation fraction {fraction} of {rows} rows leaves {train} for training and {validation} for validation, expected at least 1 in each")]
    BadSplit {
        /// The fraction asked for.
        fraction: f64,
        /// The rows in the data set.
        rows: usize,
        /// The rows the split would train on.
        train: usize,
        /// The rows the split would validate on.
        validation: usize,
    },
}

/// What stopped training.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// The training or validation data does not fit the network.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// The loss refuses an output and its target.
    #[error(transparent)]
    Loss(#[from] LossError),
    /// A data set has no rows.
    #[error("{what}: expected at least 1 sample, found 0")]
    NoSamples {
        /// Which data set.
        what: &'static str,
    },
    /// A setting that cannot work.
    #[error("invalid setting `{name}`: {reason}")]
    Config {
        /// The setting.
        name: &'static str,
        /// Why it cannot work, with the value.
        reason: String,
    },
    /// The loss or a weight became NaN or infinite, or the loss exploded. The network keeps
    /// the last finite weights.
    #[error("training diverged at epoch {epoch}, batch {batch}, with learning rate {}: {cause}", short(*lr))]
    Diverged {
        /// The epoch, 1-based.
        epoch: usize,
        /// The batch within the epoch, 1-based.
        batch: usize,
        /// The learning rate of the epoch: lowering it is the usual cure.
        lr: f64,
        /// What became non-finite.
        cause: Divergence,
    },
    /// A distributed run (the `mpi` feature) cannot go on: another process failed, or the
    /// processes disagree on the network or the data. Every process returns it.
    #[error("distributed training stopped by rank {rank}: {reason}")]
    Distributed {
        /// The rank of the process that failed or disagrees.
        rank: usize,
        /// What it reported, or what differs, with the values.
        reason: String,
    },
}

/// `x` as a message writes it: in full between 1e-4 and 1e6, else in exponent form (`1e160`,
/// not 161 digits).
fn short(x: f64) -> String {
    if x == 0.0 || (1e-4..1e6).contains(&x.abs()) {
        x.to_string()
    } else {
        format!("{x:e}")
    }
}

/// What became non-finite when training diverged.
#[derive(Clone, Debug, PartialEq)]
pub enum Divergence {
    /// The batch's mean loss.
    Loss(f64),
    /// A gradient tensor, named as in [`crate::ParamInfo::name`].
    Gradient(&'static str),
    /// A parameter tensor after the optimizer's step.
    Weight(&'static str),
    /// The batch's mean loss, finite but more than the trainer's divergence factor times the
    /// mean of the epoch's earlier batches.
    Growth {
        /// The batch's mean loss.
        loss: f64,
        /// The mean of the epoch's earlier batch losses.
        reference: f64,
        /// The factor it exceeded.
        factor: f64,
    },
}

impl core::fmt::Display for Divergence {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Divergence::Loss(v) => write!(f, "the loss is {v}"),
            Divergence::Gradient(name) => write!(f, "the gradient of `{name}` is not finite"),
            Divergence::Weight(name) => write!(f, "the step made `{name}` non-finite"),
            Divergence::Growth {
                loss,
                reference,
                factor,
            } => write!(
                f,
                "the loss is {}, more than {} times the epoch's mean so far ({})",
                short(*loss),
                short(*factor),
                short(*reference)
            ),
        }
    }
}

/// Why a loss cannot be evaluated on the values given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LossError {
    /// A target or gradient of another length than the output, or batches of other shapes.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// An output with no entries: no loss is defined on it.
    #[error("loss `{loss}`: the output is empty, expected at least 1 entry")]
    Empty {
        /// The loss's [`Loss::NAME`](crate::loss::Loss::NAME).
        loss: &'static str,
    },
    /// A class index past the outputs.
    #[error("loss `{loss}`: class {class} out of range, expected 0 to {max} for {outputs} outputs", max = outputs.saturating_sub(1))]
    Class {
        /// The loss's [`Loss::NAME`](crate::loss::Loss::NAME).
        loss: &'static str,
        /// The class given.
        class: usize,
        /// The number of outputs.
        outputs: usize,
    },
}
