//! The reading itself: records streamed through the `csv` crate, columns resolved, lines
//! counted, fields parsed and class names collected.

use super::{cut, Column, Csv, Features, Target, MAX_CLASSES};
use crate::data::Dataset;
use crate::error::{DataError, Location};
use crate::Scalar;
use ndarray::Array2;
use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::path::PathBuf;

/// A reader that notes where each non-blank line starts, so that a record's line is known
/// whatever the line ends (`\n`, `\r\n`, `\r`) and however many blank lines precede it
/// (the `csv` crate's own line count skips blank lines and `\r` ends). It keeps only the
/// lines read ahead of the current record.
pub(super) struct Lines<R> {
    inner: R,
    /// `(byte offset, line)` of each non-blank line start not yet passed.
    starts: VecDeque<(u64, usize)>,
    /// The offset of the next byte.
    offset: u64,
    /// The line of the next byte, 1-based.
    line: usize,
    /// Whether the next byte starts a line.
    at_start: bool,
    /// The previous byte.
    prev: u8,
}

impl<R: Read> Lines<R> {
    pub(super) fn new(inner: R) -> Self {
        Lines {
            inner,
            starts: VecDeque::new(),
            offset: 0,
            line: 1,
            at_start: true,
            prev: 0,
        }
    }

    /// The line of the first non-blank line starting at or after `byte` (where `csv` says a
    /// record starts: just after the previous record's line end).
    fn line_at(&mut self, byte: u64) -> usize {
        while self.starts.front().is_some_and(|&(o, _)| o < byte) {
            self.starts.pop_front();
        }
        self.starts.front().map_or(self.line, |&(_, l)| l)
    }
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            let end = b == b'\r' || b == b'\n';
            if b == b'\n' && self.prev == b'\r' {
                // The second byte of `\r\n`: the line already ended.
            } else if end {
                self.line += 1;
                self.at_start = true;
            } else if self.at_start {
                self.starts.push_back((self.offset, self.line));
                self.at_start = false;
            }
            self.prev = b;
            self.offset += 1;
        }
        Ok(n)
    }
}

/// A CSV reader with its columns resolved.
pub(super) struct Reader<'o, R> {
    options: &'o Csv,
    path: PathBuf,
    csv: csv::Reader<Lines<R>>,
    /// The line of the record last read.
    line: usize,
    /// The column names, from the header or `1`, `2`, ….
    names: Vec<String>,
    /// The first target column.
    target: usize,
    /// The feature columns, in the order the features take.
    features: Vec<usize>,
    /// The first record, already read when the file has no header.
    first: Option<csv::ByteRecord>,
}

impl<'o, R: Read> Reader<'o, R> {
    /// Reads the header (or the first record) and resolves the columns.
    pub(super) fn new(
        options: &'o Csv,
        path: PathBuf,
        reader: Lines<R>,
    ) -> Result<Self, DataError> {
        if let Target::Values { columns: 0 } = options.target {
            return Err(DataError::NoTargetColumns);
        }
        if let Target::Label { classes: 0 } = options.target {
            return Err(DataError::NoClasses);
        }
        let classes = match (options.target, &options.class_names) {
            (Target::Label { classes }, _) => Some(classes),
            (Target::Classes, Some(names)) => Some(names.len()),
            _ => None,
        };
        if let Some(classes) = classes {
            if classes == 0 {
                return Err(DataError::NoClasses);
            }
            if classes > MAX_CLASSES {
                return Err(DataError::TooManyClasses {
                    at: None,
                    limit: MAX_CLASSES,
                });
            }
        }
        let csv = csv::ReaderBuilder::new()
            .delimiter(options.delimiter)
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(reader);
        let mut first = csv::ByteRecord::new();
        let mut this = Reader {
            options,
            path,
            csv,
            line: 0,
            names: Vec::new(),
            target: 0,
            features: Vec::new(),
            first: None,
        };
        if !this.next(&mut first)? {
            return Err(DataError::Empty { path: this.path });
        }
        let width = first.len();
        if options.header == Some(false) {
            this.names = (1..=width).map(|i| i.to_string()).collect();
            this.first = Some(first);
        } else {
            this.names = (0..width)
                .map(|i| this.text(&first, i).map(str::to_owned))
                .collect::<Result<_, _>>()?;
            // A header names columns; a first line of numbers, with at most one text field (a
            // class name), is a sample of a headerless file, which is not dropped silently.
            let numbers = this
                .names
                .iter()
                .filter(|n| n.parse::<f64>().is_ok())
                .count();
            if options.header.is_none() && numbers > 0 && numbers + 1 >= width {
                return Err(DataError::HeaderLooksLikeData {
                    path: this.path,
                    numbers,
                    fields: width,
                });
            }
        }
        this.resolve()?;
        Ok(this)
    }

    /// Reads the next record that is not blank; `false` at the end.
    fn next(&mut self, record: &mut csv::ByteRecord) -> Result<bool, DataError> {
        loop {
            let more = self
                .csv
                .read_byte_record(record)
                .map_err(|e| self.error(e))?;
            if !more {
                return Ok(false);
            }
            if !(record.len() == 1 && record[0].is_empty()) {
                let byte = record.position().map_or(0, |p| p.byte());
                self.line = self.csv.get_mut().line_at(byte);
                return Ok(true);
            }
        }
    }

    /// A `csv` error as a data error naming the file.
    fn error(&self, e: csv::Error) -> DataError {
        let line = e.position().map(|p| p.line());
        match e.into_kind() {
            csv::ErrorKind::Io(source) => DataError::Io {
                path: self.path.clone(),
                source,
            },
            other => DataError::Csv {
                path: self.path.clone(),
                line,
                message: format!("{other:?}"),
            },
        }
    }

    /// Field `i` of `record` as text, or an error at its position.
    fn text<'r>(&self, record: &'r csv::ByteRecord, i: usize) -> Result<&'r str, DataError> {
        std::str::from_utf8(&record[i]).map_err(|_| DataError::NotUtf8 { at: self.at(i) })
    }

    /// Where field `i` of the record last read is.
    fn at(&self, i: usize) -> Location {
        Location {
            path: self.path.clone(),
            line: self.line,
            column: i + 1,
        }
    }

    /// The index of `column`, or an error naming it.
    fn index(&self, column: &Column) -> Result<usize, DataError> {
        let found = match column {
            Column::Name(name) => self.names.iter().position(|n| n == name),
            Column::Index(i) => (*i < self.names.len()).then_some(*i),
        };
        found.ok_or_else(|| DataError::NoSuchColumn {
            path: self.path.clone(),
            column: column.to_string(),
            columns: self.names.len(),
            header: self.options.header != Some(false),
        })
    }

    /// Resolves the target and feature columns.
    fn resolve(&mut self) -> Result<(), DataError> {
        let width = self.names.len();
        let n_targets = self.options.target.width();
        self.target = match &self.options.target_column {
            Some(c) => self.index(c)?,
            None if width > n_targets => width - n_targets,
            None => {
                return Err(DataError::TooFewColumns {
                    path: self.path.clone(),
                    expected: n_targets + 1,
                    found: width,
                })
            }
        };
        if self.target + n_targets > width {
            return Err(DataError::TooFewColumns {
                path: self.path.clone(),
                expected: self.target + n_targets,
                found: width,
            });
        }
        let targets = self.target..self.target + n_targets;
        self.features = match &self.options.features {
            Features::All => (0..width).filter(|i| !targets.contains(i)).collect(),
            Features::Except(skip) => {
                let skip = skip
                    .iter()
                    .map(|c| self.index(c))
                    .collect::<Result<Vec<_>, _>>()?;
                (0..width)
                    .filter(|i| !targets.contains(i) && !skip.contains(i))
                    .collect()
            }
            Features::Only(only) => {
                let mut chosen = Vec::with_capacity(only.len());
                for c in only {
                    let i = self.index(c)?;
                    if targets.contains(&i) || chosen.contains(&i) {
                        return Err(DataError::ColumnTwice {
                            path: self.path.clone(),
                            column: c.to_string(),
                        });
                    }
                    chosen.push(i);
                }
                chosen
            }
        };
        if self.features.is_empty() {
            return Err(DataError::NoFeatures {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// Reads every row into a data set.
    pub(super) fn rows<T: Scalar>(mut self) -> Result<Dataset<T>, DataError> {
        let width = self.names.len();
        let n_targets = self.options.target.width();
        let mut features: Vec<T> = Vec::new();
        let mut values: Vec<T> = Vec::new();
        let mut labels: Vec<usize> = Vec::new();
        let mut classes = Classes::new(self.options);
        let mut record = self.first.take().unwrap_or_default();
        let mut pending = !record.is_empty();
        let mut rows = 0;
        // The data rows read so far, kept or not; `every` keeps every `step`-th from `first`.
        let mut index = 0usize;
        let (step, first) = self.options.every.unwrap_or((1, 0));
        loop {
            if !pending && !self.next(&mut record)? {
                break;
            }
            pending = false;
            index += 1;
            if (index - 1) % step.max(1) != first {
                continue;
            }
            if record.len() != width {
                return Err(DataError::Ragged {
                    path: self.path.clone(),
                    line: self.line,
                    expected: width,
                    found: record.len(),
                });
            }
            for &i in &self.features {
                features.push(self.number(&record, i)?);
            }
            match self.options.target {
                Target::Label { classes } => labels.push(self.label(&record, classes)?),
                Target::Classes => {
                    let name = self.text(&record, self.target)?;
                    labels.push(classes.index(name, || self.at(self.target))?);
                }
                Target::Values { .. } => {
                    for i in self.target..self.target + n_targets {
                        values.push(self.number(&record, i)?);
                    }
                }
            }
            rows += 1;
        }
        if rows == 0 {
            return Err(DataError::NoRows { path: self.path });
        }
        let names = self
            .features
            .iter()
            .map(|&i| self.names[i].clone())
            .collect();
        let features =
            Array2::from_shape_vec((rows, self.features.len()), features).map_err(|_| {
                DataError::NoRows {
                    path: self.path.clone(),
                }
            })?;
        let data = match self.options.target {
            Target::Label { classes } => Dataset::classification(features, labels, classes)?,
            Target::Classes => {
                let (names, labels) = classes.finish(labels);
                let n = names.len();
                Dataset::classification(features, labels, n)?.with_class_names(names)?
            }
            Target::Values { columns } => {
                let targets = Array2::from_shape_vec((rows, columns), values).map_err(|_| {
                    DataError::NoRows {
                        path: self.path.clone(),
                    }
                })?;
                Dataset::regression(features, targets)?
            }
        };
        data.with_feature_names(names)
    }

    /// Field `i` as a finite number of `T`.
    fn number<T: Scalar>(&self, record: &csv::ByteRecord, i: usize) -> Result<T, DataError> {
        let text = self.text(record, i)?;
        let bad = |overflow: bool| {
            let (at, name, text) = (self.at(i), cut(&self.names[i]), cut(text));
            if overflow {
                DataError::Overflow {
                    at,
                    name,
                    text,
                    scalar: T::NAME,
                }
            } else {
                DataError::NotANumber { at, name, text }
            }
        };
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => {
                let x = T::from_f64(v);
                if x.is_finite() {
                    Ok(x)
                } else {
                    Err(bad(true))
                }
            }
            _ => Err(bad(false)),
        }
    }

    /// The target field as an integer class label in `0..classes` (`2` or `2.0`).
    fn label(&self, record: &csv::ByteRecord, classes: usize) -> Result<usize, DataError> {
        let i = self.target;
        let text = self.text(record, i)?;
        let label = match text.parse::<i64>() {
            Ok(l) => Some(l),
            Err(_) => match text.parse::<f64>() {
                Ok(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Some(v as i64),
                _ => None,
            },
        };
        let Some(label) = label else {
            return Err(DataError::NotALabel {
                at: self.at(i),
                name: cut(&self.names[i]),
                text: cut(text),
            });
        };
        match usize::try_from(label) {
            Ok(l) if l < classes => Ok(l),
            _ => Err(DataError::LabelOutOfRange {
                at: self.at(i),
                label,
                classes,
            }),
        }
    }
}

/// The class names of [`Target::Classes`] as they are met.
struct Classes<'o> {
    /// The names given, in class order.
    given: Option<&'o [String]>,
    /// Each name met (or given) and its provisional index.
    index: HashMap<String, usize>,
    limit: usize,
}

impl<'o> Classes<'o> {
    fn new(options: &'o Csv) -> Self {
        let given = options.class_names.as_deref();
        let index = given
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Classes {
            given,
            index,
            limit: options.max_classes.min(MAX_CLASSES),
        }
    }

    /// The provisional index of `name`.
    fn index(&mut self, name: &str, at: impl Fn() -> Location) -> Result<usize, DataError> {
        if let Some(&i) = self.index.get(name) {
            return Ok(i);
        }
        if let Some(given) = self.given {
            return Err(DataError::UnknownClass {
                at: at(),
                text: cut(name),
                classes: given.len(),
            });
        }
        if self.index.len() >= self.limit {
            return Err(DataError::TooManyClasses {
                at: Some(at()),
                limit: self.limit,
            });
        }
        let i = self.index.len();
        self.index.insert(name.to_owned(), i);
        Ok(i)
    }

    /// The class names in class order and the labels mapped to it: the given order, else the
    /// sorted names.
    fn finish(self, mut labels: Vec<usize>) -> (Vec<String>, Vec<usize>) {
        if let Some(given) = self.given {
            return (given.to_vec(), labels);
        }
        let mut names: Vec<(String, usize)> = self.index.into_iter().collect();
        names.sort();
        let mut map = vec![0; names.len()];
        for (sorted, (_, provisional)) in names.iter().enumerate() {
            map[*provisional] = sorted;
        }
        labels.iter_mut().for_each(|l| *l = map[*l]);
        (names.into_iter().map(|(n, _)| n).collect(), labels)
    }
}
