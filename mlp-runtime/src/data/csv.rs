//! Reading a data set from CSV, with the [`csv`](https://docs.rs/csv) crate: quoted fields, a
//! chosen delimiter, the target column by name or index, feature columns chosen or excluded,
//! and class labels given as text.
//!
//! Fields are trimmed of spaces; `\n`, `\r\n` and `\r` line ends and a leading byte-order mark
//! are accepted; blank lines are skipped. The first line is a header naming the columns unless
//! [`Csv::no_header`] says otherwise.
//!
//! Reading takes time and memory proportional to the input: the records are streamed through
//! one reused buffer, a message echoes at most [`ECHO_LIMIT`] characters of a field, and the
//! number of distinct text labels is capped by [`Csv::max_classes`].

mod read;

use super::Dataset;
use crate::error::DataError;
use crate::Scalar;
use read::{Lines, Reader};
use std::io::Read;
use std::path::Path;

/// The most characters of a field or a column name that an error message repeats; longer
/// text is cut and ends in `…`.
pub const ECHO_LIMIT: usize = 40;

/// The most classes a data set may have: the widest layer `mlp!` accepts.
pub const MAX_CLASSES: usize = 65_536;

/// What the target column (or columns) of each CSV row holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// One integer class label in `0..classes` (`2`, or a whole number such as `2.0`).
    Label {
        /// The number of classes.
        classes: usize,
    },
    /// One class name per row, any text (`setosa`, `"New York"`, `1.0`), mapped to a class
    /// index: in the order of [`Csv::class_names`] when given, else in sorted order of the
    /// names found. The names are kept in [`Dataset::class_names`].
    Classes,
    /// `columns` real-valued targets (regression), in adjacent columns.
    Values {
        /// The number of target columns, at least 1.
        columns: usize,
    },
}

impl Target {
    /// The number of CSV columns the target takes.
    fn width(&self) -> usize {
        match *self {
            Target::Label { .. } | Target::Classes => 1,
            Target::Values { columns } => columns,
        }
    }
}

/// A column of a CSV file: its name in the header, or its 0-based index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// The column whose header field is this name.
    Name(String),
    /// The column at this 0-based index.
    Index(usize),
}

impl From<&str> for Column {
    fn from(name: &str) -> Self {
        Column::Name(name.to_owned())
    }
}

impl From<String> for Column {
    fn from(name: String) -> Self {
        Column::Name(name)
    }
}

impl From<usize> for Column {
    fn from(index: usize) -> Self {
        Column::Index(index)
    }
}

impl core::fmt::Display for Column {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Column::Name(name) => write!(f, "`{}`", cut(name)),
            Column::Index(i) => write!(f, "{i}"),
        }
    }
}

/// Which columns are features.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Features {
    /// Every column that is not a target.
    All,
    /// These columns, in this order.
    Only(Vec<Column>),
    /// Every column that is not a target, except these.
    Except(Vec<Column>),
}

/// How to read a CSV file into a [`Dataset`]: a builder.
///
/// ```
/// use mlp::data::Csv;
/// let text = "id,height,\"width, cm\",species\n7,1.0,2.5,cat\n8,3.0,0.5,dog\n9,2.0,1.0,cat\n";
/// let data = Csv::classes("species").exclude(["id"]).parse::<f32>("pets.csv", text)?;
/// assert_eq!(data.feature_names(), Some(&["height".to_owned(), "width, cm".to_owned()][..]));
/// assert_eq!(data.class_names(), Some(&["cat".to_owned(), "dog".to_owned()][..]));
/// assert_eq!(data.labels(), Some(&[0, 1, 0][..]));
///
/// let err = Csv::classes("species").parse::<f32>("pets.csv", "a,species\nx,cat\n").unwrap_err();
/// assert_eq!(err.to_string(), "pets.csv:2:1: column `a`: expected a finite number, found `x`");
/// # Ok::<(), mlp::error::DataError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Csv {
    target: Target,
    target_column: Option<Column>,
    features: Features,
    delimiter: u8,
    header: Option<bool>,
    class_names: Option<Vec<String>>,
    max_classes: usize,
    every: Option<(usize, usize)>,
}

impl Csv {
    /// Reads `target` from the last column (or the last `columns` columns of
    /// [`Target::Values`]); every other column is a feature; the first line is the header.
    pub fn new(target: Target) -> Self {
        Csv {
            target,
            target_column: None,
            features: Features::All,
            delimiter: b',',
            header: None,
            class_names: None,
            max_classes: 1024,
            every: None,
        }
    }

    /// Reads class names ([`Target::Classes`]) from `column`.
    pub fn classes(column: impl Into<Column>) -> Self {
        Csv::new(Target::Classes).target(column)
    }

    /// Reads regression targets from the `columns` adjacent columns starting at `first`.
    pub fn values(first: impl Into<Column>, columns: usize) -> Self {
        Csv::new(Target::Values { columns }).target(first)
    }

    /// The target column (the first of them for [`Target::Values`]), by name or 0-based index.
    pub fn target(mut self, column: impl Into<Column>) -> Self {
        self.target_column = Some(column.into());
        self
    }

    /// Uses exactly these columns as features, in this order.
    pub fn features<C: Into<Column>>(mut self, columns: impl IntoIterator<Item = C>) -> Self {
        self.features = Features::Only(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Uses every column that is not a target except these (an id column, say) as features.
    pub fn exclude<C: Into<Column>>(mut self, columns: impl IntoIterator<Item = C>) -> Self {
        self.features = Features::Except(columns.into_iter().map(Into::into).collect());
        self
    }

    /// The field delimiter, `b','` by default (`b';'`, `b'\t'`, …).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// The file has no header: every line is a sample, and the columns are named `1`, `2`, …
    /// (1-based, as in error positions), so they are chosen by index.
    ///
    /// Without this, the first line is the header, and a first line that looks like a sample
    /// (every field a number but at most one, such as `5.1,3.5,setosa`) is refused
    /// ([`DataError::HeaderLooksLikeData`]) rather than silently dropped; call [`Csv::header`]
    /// to accept such a header.
    pub fn no_header(self) -> Self {
        self.header(false)
    }

    /// Whether the first line is a header, said explicitly (accepting a header made of
    /// numbers).
    pub fn header(mut self, present: bool) -> Self {
        self.header = Some(present);
        self
    }

    /// The class names of [`Target::Classes`], in class-index order: a test set read with the
    /// training set's names gets the same indices, and a name outside them is an error.
    pub fn class_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.class_names = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// The most distinct class names [`Target::Classes`] accepts (1024 by default, at most
    /// [`MAX_CLASSES`]): one more is an error at the row that brings it.
    pub fn max_classes(mut self, max: usize) -> Self {
        self.max_classes = max;
        self
    }

    /// Keeps only the data rows `first`, `first + step`, `first + 2·step`, … (counted from 0,
    /// the header and blank lines aside); the other rows are skipped unread, so their errors
    /// are not reported. Process `r` of `n` reads its share of one file with `every(n, r)`
    /// (what `train::distributed::Shard::load_csv` does, with the `mpi` feature). A `step` of
    /// 0 counts as 1.
    ///
    /// With [`Target::Classes`], each share numbers the class names it meets, in sorted order,
    /// so a share that lacks a class numbers the others differently: give the names with
    /// [`Csv::class_names`] so that every share numbers them alike.
    ///
    /// ```
    /// use mlp::data::{Csv, Target};
    /// let text = "x,y\n0,0\n1,1\n2,0\n3,1\n4,0\n";
    /// let odd = Csv::new(Target::Label { classes: 2 }).every(2, 1).parse::<f32>("five.csv", text)?;
    /// assert_eq!(odd.features().column(0).to_vec(), [1.0, 3.0]);
    /// # Ok::<(), mlp::error::DataError>(())
    /// ```
    pub fn every(mut self, step: usize, first: usize) -> Self {
        self.every = Some((step, first));
        self
    }

    /// Reads the CSV file at `path`.
    pub fn load<T: Scalar>(&self, path: impl AsRef<Path>) -> Result<Dataset<T>, DataError> {
        let path = path.as_ref();
        let io = |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        self.read(path, file)
    }

    /// Reads CSV text; `name` stands for the file in errors.
    pub fn parse<T: Scalar>(
        &self,
        name: impl AsRef<Path>,
        text: &str,
    ) -> Result<Dataset<T>, DataError> {
        self.read(name, text.as_bytes())
    }

    /// Reads CSV from `reader` (buffered inside); `name` stands for the file in errors.
    pub fn read<T: Scalar>(
        &self,
        name: impl AsRef<Path>,
        reader: impl Read,
    ) -> Result<Dataset<T>, DataError> {
        Reader::new(self, name.as_ref().to_path_buf(), Lines::new(reader))?.rows()
    }
}

/// Reads a data set from the CSV file at `path`: the target is the last column (or the last
/// `columns` columns of [`Target::Values`]) and every column before it is a feature.
/// [`Csv`] chooses columns, the delimiter and the header.
///
/// ```no_run
/// use mlp::data::{load_csv, Target};
/// let train = load_csv::<f32>("data/digits_train.csv", Target::Label { classes: 10 })?;
/// assert_eq!((train.n_features(), train.n_targets()), (64, 10));
/// # Ok::<(), mlp::error::DataError>(())
/// ```
pub fn load_csv<T: Scalar>(
    path: impl AsRef<Path>,
    target: Target,
) -> Result<Dataset<T>, DataError> {
    Csv::new(target).load(path)
}

/// Reads a data set from CSV text, as [`load_csv`] does; `name` stands for the file in errors.
///
/// ```
/// use mlp::data::{parse_csv, Target};
/// let data = parse_csv::<f64>("xor.csv", "a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n", Target::Label { classes: 2 })?;
/// assert_eq!(data.labels(), Some(&[0, 1, 1, 0][..]));
/// let err = parse_csv::<f64>("bad.csv", "a,b,y\n0,x,0\n", Target::Label { classes: 2 }).unwrap_err();
/// assert_eq!(err.to_string(), "bad.csv:2:2: column `b`: expected a finite number, found `x`");
/// # Ok::<(), mlp::error::DataError>(())
/// ```
pub fn parse_csv<T: Scalar>(
    name: impl AsRef<Path>,
    text: &str,
    target: Target,
) -> Result<Dataset<T>, DataError> {
    Csv::new(target).parse(name, text)
}

/// `text` cut to [`ECHO_LIMIT`] characters, with `…` where it was cut.
pub(crate) fn cut(text: &str) -> String {
    match text.char_indices().nth(ECHO_LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
