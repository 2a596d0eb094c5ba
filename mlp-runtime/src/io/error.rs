//! What can go wrong when saving or loading weights.
//!
//! Every message says what is wrong, where (the file, the tensor, the metadata key) and what
//! was expected. Names and values read from a file are cut to a short prefix ([`cut`]) before
//! they enter a message, so a hostile file cannot make a long one. Each error has either a
//! message of its own or a [`source`](std::error::Error::source), never both, so that a
//! chain printed with `{:#}` repeats nothing.

use safetensors::{Dtype, SafeTensorError};
use std::path::PathBuf;

/// The most characters of a name or value read from a file that a message echoes.
pub const ECHO_LEN: usize = 48;

/// The most dimensions of a shape read from a file that an error holds and echoes.
pub const ECHO_DIMS: usize = 8;

/// `s` as a message echoes it: whole if it has at most [`ECHO_LEN`] characters, otherwise
/// its first [`ECHO_LEN`] characters, `…` and its length in bytes.
///
/// ```
/// use mlp::io::cut;
/// assert_eq!(cut("0.weight"), "0.weight");
/// assert_eq!(cut(&"x".repeat(1000)), format!("{}… (1000 bytes)", "x".repeat(48)));
/// ```
pub fn cut(s: &str) -> String {
    match s.char_indices().nth(ECHO_LEN) {
        None => s.to_owned(),
        Some((end, _)) => format!("{}… ({} bytes)", &s[..end], s.len()),
    }
}

/// Why the bytes of a safetensors file cannot be loaded into a network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The file is shorter than the 8-byte header length that opens every safetensors file.
    #[error("file is {len} bytes long, shorter than the 8-byte header length")]
    TooShort {
        /// The file's length in bytes.
        len: usize,
    },
    /// The header length exceeds what a header for this network can take
    /// ([`header_limit`](super::header_limit)).
    #[error("header length is {header_len} bytes, more than the limit of {max} bytes for this network's tensors and metadata")]
    HeaderTooLarge {
        /// The header length the file declares.
        header_len: u64,
        /// The largest header length accepted for this network.
        max: u64,
    },
    /// The header length runs past the end of the file (a truncated file, most often).
    #[error("header length is {header_len} bytes but only {available} bytes follow it")]
    HeaderTruncated {
        /// The header length the file declares.
        header_len: u64,
        /// The number of bytes after the 8-byte header length.
        available: u64,
    },
    /// The header is not the JSON object safetensors defines: bad UTF-8 or JSON, a tensor
    /// entry without `dtype`, `shape` or `data_offsets`, a metadata value that is not a
    /// string, too many metadata entries.
    #[error("invalid header{}, at line {line}, column {column} of the header: {message}", tensor.as_ref().map(|t| format!(" (in the entry of `{t}`)")).unwrap_or_default())]
    Header {
        /// The tensor whose entry was being read, cut to a short prefix, if any.
        tensor: Option<String>,
        /// The line in the header, 1-based.
        line: usize,
        /// The column in the header, 1-based.
        column: usize,
        /// What is wrong, with any echoed text cut to a short prefix.
        message: String,
    },
    /// Two entries of the header name the same tensor.
    #[error("tensor `{name}` appears twice in the header")]
    Duplicate {
        /// The name, cut to a short prefix.
        name: String,
    },
    /// A tensor of the network is not in the file.
    #[error("tensor `{name}` ({dtype:?} {shape:?}) is missing")]
    Missing {
        /// The PyTorch name of the tensor.
        name: String,
        /// The dtype the network expects.
        dtype: Dtype,
        /// The shape the network expects.
        shape: Vec<usize>,
    },
    /// The file holds a tensor that the network does not have.
    #[error(
        "unexpected tensor `{name}` ({dtype} {shape:?}); the network's tensors are {expected}"
    )]
    Unexpected {
        /// The name of the tensor in the file, cut to a short prefix.
        name: String,
        /// Its dtype as the file writes it, cut to a short prefix.
        dtype: String,
        /// Its shape in the file (at most its first [`ECHO_DIMS`] dimensions).
        shape: Vec<usize>,
        /// The network's tensor names, comma-separated.
        expected: String,
    },
    /// A tensor's dtype is not one that safetensors defines.
    #[error("tensor `{name}` has the unknown dtype `{found}`, expected {expected:?}")]
    UnknownDtype {
        /// The PyTorch name of the tensor.
        name: String,
        /// The dtype as the file writes it, cut to a short prefix.
        found: String,
        /// The dtype the network expects.
        expected: Dtype,
    },
    /// A tensor's dtype or shape differs from the network's.
    #[error("tensor `{name}` is {found_dtype:?} {found_shape:?}, expected {expected_dtype:?} {expected_shape:?}")]
    Mismatch {
        /// The PyTorch name of the tensor.
        name: String,
        /// The dtype the network expects.
        expected_dtype: Dtype,
        /// The shape the network expects.
        expected_shape: Vec<usize>,
        /// The dtype in the file.
        found_dtype: Dtype,
        /// The shape in the file (at most its first [`ECHO_DIMS`] dimensions).
        found_shape: Vec<usize>,
    },
    /// A tensor's `data_offsets` do not span the bytes its dtype and shape need.
    #[error("tensor `{name}` has data_offsets [{start}, {end}], which do not span the {expected} bytes of its dtype and shape")]
    Offsets {
        /// The PyTorch name of the tensor.
        name: String,
        /// The first offset.
        start: u64,
        /// The second offset.
        end: u64,
        /// The number of bytes the tensor needs.
        expected: u64,
    },
    /// The tensors do not lie end to end from the start of the data: a gap or an overlap.
    #[error("tensor `{name}` starts at byte {start} of the data, expected byte {expected}, where the tensor before it ends")]
    Layout {
        /// The PyTorch name of the tensor.
        name: String,
        /// Where it starts.
        start: u64,
        /// Where it must start.
        expected: u64,
    },
    /// The data after the header is shorter or longer than the tensors need (a truncated
    /// file, or bytes appended to it).
    #[error("header lays out {declared} bytes of tensor data but {available} bytes follow it")]
    DataLength {
        /// The number of data bytes the tensors take.
        declared: u64,
        /// The number of bytes after the header.
        available: u64,
    },
    /// A stream holds more bytes after the tensors' data.
    #[error("header lays out {declared} bytes of tensor data but more bytes follow them")]
    TrailingData {
        /// The number of data bytes the tensors take.
        declared: u64,
    },
    /// Reading the stream failed.
    #[error("cannot read the {part}")]
    Read {
        /// What was being read: the header length, the header or the tensor data.
        part: &'static str,
        /// The error from the reader.
        #[source]
        source: std::io::Error,
    },
    /// The `safetensors` crate refuses a file that passed the checks above.
    #[error("the safetensors reader refuses the file")]
    Format(#[source] SafeTensorError),
}

/// Why a safetensors file cannot be loaded into a network; the network is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file cannot be opened.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The error from the file system.
        #[source]
        source: std::io::Error,
    },
    /// The file's contents do not fit the network.
    #[error("cannot load {}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What is wrong with its contents.
        #[source]
        source: DecodeError,
    },
}

impl LoadError {
    /// The file that could not be loaded.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Read { path, .. } | Self::Decode { path, .. } => path,
        }
    }

    /// What is wrong with the file's contents, if it could be opened.
    pub fn decode_error(&self) -> Option<&DecodeError> {
        match self {
            Self::Decode { source, .. } => Some(source),
            Self::Read { .. } => None,
        }
    }
}

/// Metadata that cannot be stored with the weights.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// A key that is not namespaced (`namespace.name`, of ASCII letters, digits, `_` and `-`),
    /// or that is too long.
    #[error("metadata key `{key}` is invalid: expected {expected}")]
    Key {
        /// The key, cut to a short prefix.
        key: String,
        /// What a key must look like.
        expected: &'static str,
    },
    /// More entries than a file may hold.
    #[error("metadata has {entries} entries, more than the limit of {max}")]
    TooMany {
        /// The entries, counting those the save writes itself.
        entries: usize,
        /// The most a file may hold ([`Metadata::MAX_ENTRIES`](super::Metadata::MAX_ENTRIES)).
        max: usize,
    },
    /// The entries take more room in the header than a file may give them.
    #[error("metadata takes {len} bytes as JSON, more than the limit of {max}")]
    TooLarge {
        /// The bytes the `__metadata__` object takes, counting the entries the save writes.
        len: usize,
        /// The most it may take ([`Metadata::MAX_JSON_LEN`](super::Metadata::MAX_JSON_LEN)).
        max: usize,
    },
}

/// Why a network's weights cannot be saved; any previous file at the path is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// The metadata cannot be stored.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// The file cannot be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The error from the file system.
        #[source]
        source: std::io::Error,
    },
}
