//! What can go wrong when saving or loading weights.

use safetensors::{Dtype, SafeTensorError};
use std::path::PathBuf;

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
    /// The header length exceeds the largest header accepted.
    #[error("header length is {header_len} bytes, more than the limit of {max} bytes")]
    HeaderTooLarge {
        /// The header length the file declares.
        header_len: u64,
        /// The largest header length accepted.
        max: u64,
    },
    /// The header length runs past the end of the file (a truncated file, most often).
    #[error("header length is {header_len} bytes but only {available} bytes follow it")]
    HeaderTruncated {
        /// The header length the file declares.
        header_len: u64,
        /// The number of bytes after the 8-byte header length.
        available: usize,
    },
    /// The tensors the header lays out do not end exactly at the end of the file (a
    /// truncated file, or bytes appended to it).
    #[error("header lays out {declared} bytes of tensor data but {available} bytes follow it")]
    DataLength {
        /// The number of data bytes the header's offsets cover.
        declared: usize,
        /// The number of bytes after the header.
        available: usize,
    },
    /// The header or the data layout is invalid: bad UTF-8 or JSON, offsets that overlap or
    /// leave gaps, a size that does not match the dtype and shape.
    #[error("invalid safetensors file: {0}")]
    Format(#[source] SafeTensorError),
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
        "unexpected tensor `{name}` ({dtype:?} {shape:?}); the network's tensors are {expected}"
    )]
    Unexpected {
        /// The name of the tensor in the file.
        name: String,
        /// Its dtype in the file.
        dtype: Dtype,
        /// Its shape in the file.
        shape: Vec<usize>,
        /// The network's tensor names, comma-separated.
        expected: String,
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
        /// The shape in the file.
        found_shape: Vec<usize>,
    },
}

/// Why a safetensors file cannot be loaded into a network; the network is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The error from the file system.
        #[source]
        source: std::io::Error,
    },
    /// The file's contents do not fit the network.
    #[error("cannot load {}: {source}", path.display())]
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

    /// What is wrong with the file's contents, if it could be read.
    pub fn decode_error(&self) -> Option<&DecodeError> {
        match self {
            Self::Decode { source, .. } => Some(source),
            Self::Read { .. } => None,
        }
    }
}

/// Why a network's weights cannot be saved; any previous file at the path is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// The weights cannot be encoded as safetensors.
    #[error("cannot encode the weights as safetensors: {0}")]
    Encode(#[source] SafeTensorError),
    /// The file cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The error from the file system.
        #[source]
        source: std::io::Error,
    },
}
