//! The JSON header of a safetensors file: its size limit, which follows from the network, its
//! parsing under that limit, and its checks against the network before any tensor byte is
//! read.

use super::error::{cut, DecodeError, ECHO_DIMS};
use super::{dtype_of, tensor_name, Metadata};
use crate::Network;
use safetensors::Dtype;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

/// The room a header gives each tensor entry besides its name and the digits of its shape:
/// `"dtype"`, `"shape"`, `"data_offsets"` with two 20-digit offsets, punctuation, and
/// whitespace to spare.
const ENTRY_ALLOWANCE: u64 = 256;

/// The room a header gives each dimension of a shape: 20 digits and a comma, with spare.
const DIM_ALLOWANCE: u64 = 24;

/// The largest header accepted for `N`, in bytes: 256 bytes plus twice the name
/// (for JSON escapes) plus 24 bytes per dimension for each tensor, plus
/// [`Metadata::MAX_JSON_LEN`] and 16 bytes for the metadata and its key.
///
/// Every file `save` writes for `N` fits. The limit grows with the network's tensor count,
/// never with what a file claims, so that reading a header costs time and memory in
/// proportion to the network.
///
/// For the three layers `3 → 5 → 4 → 2` with biases, that is
/// `2²⁰ + 16 + 6 · 256 + 2 · 42 + 9 · 24` bytes (about 1 MiB, almost all of it metadata).
pub fn header_limit<N: Network>() -> u64 {
    let metadata = Metadata::MAX_JSON_LEN as u64 + 16;
    N::PARAM_INFO.iter().fold(metadata, |sum, info| {
        let name = 2 * tensor_name(info).len() as u64;
        sum + ENTRY_ALLOWANCE + name + DIM_ALLOWANCE * info.shape.len() as u64
    })
}

/// One tensor entry of the header, as the file writes it.
#[derive(Debug, Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: (u64, u64),
}

/// A tensor entry with its name.
#[derive(Debug)]
struct Tensor {
    name: String,
    entry: Entry,
}

/// A parsed header: the tensor entries in the file's order, and the metadata.
#[derive(Debug)]
pub(super) struct Header {
    tensors: Vec<Tensor>,
    pub(super) metadata: Metadata,
}

/// Parses the header's JSON for a network of `tensors` tensors. Its size is already bounded
/// by [`header_limit`]; the tensor entries (at most `2 · tensors + 16`, so that a file with a
/// few extra tensors is still refused by their names) and the metadata entries are bounded as
/// they are read, so parsing stops at the first one too many.
pub(super) fn parse(bytes: &[u8], tensors: usize) -> Result<Header, DecodeError> {
    let current = RefCell::new(None);
    if bytes.first() != Some(&b'{') {
        return Err(DecodeError::Header {
            tensor: None,
            line: 1,
            column: 1,
            message: "expected the header to open with `{`".to_owned(),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let header = HeaderSeed {
        current: &current,
        tensors,
    }
    .deserialize(&mut de)
    .and_then(|h| de.end().map(|()| h));
    header.map_err(|e| {
        let position = format!(" at line {} column {}", e.line(), e.column());
        let text = e.to_string();
        let message = text.strip_suffix(&position).unwrap_or(&text);
        DecodeError::Header {
            tensor: current.borrow().as_deref().map(cut),
            line: e.line(),
            column: e.column(),
            message: cut_message(message),
        }
    })
}

/// A serde message cut to a few times [`super::ECHO_LEN`] characters: serde echoes
/// offending strings whole.
fn cut_message(message: &str) -> String {
    const MAX: usize = 4 * super::ECHO_LEN;
    match message.char_indices().nth(MAX) {
        None => message.to_owned(),
        Some((end, _)) => format!("{}…", &message[..end]),
    }
}

/// Reads the header object, noting in `current` the tensor whose entry is being read.
struct HeaderSeed<'a> {
    current: &'a RefCell<Option<String>>,
    /// The network's tensor count.
    tensors: usize,
}

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_> {
    type Value = Header;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Header, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed<'_> {
    type Value = Header;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of tensor entries")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
        let mut tensors = Vec::new();
        let mut metadata = None;
        while let Some(name) = map.next_key::<String>()? {
            if name == "__metadata__" {
                if metadata.is_some() {
                    return Err(de::Error::custom("`__metadata__` appears twice"));
                }
                metadata = Some(map.next_value_seed(MetadataSeed)?);
            } else {
                let max = 2 * self.tensors + 16;
                if tensors.len() == max {
                    return Err(de::Error::custom(format!(
                        "more than {max} tensor entries, where the network has {}",
                        self.tensors
                    )));
                }
                *self.current.borrow_mut() = Some(name);
                let entry = map.next_value::<Entry>()?;
                let name = self.current.borrow_mut().take().unwrap_or_default();
                tensors.push(Tensor { name, entry });
            }
        }
        Ok(Header {
            tensors,
            metadata: metadata.unwrap_or_default(),
        })
    }
}

/// Reads the `__metadata__` object under the bounds of [`Metadata`].
struct MetadataSeed;

impl<'de> DeserializeSeed<'de> for MetadataSeed {
    type Value = Metadata;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Metadata, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MetadataSeed {
    type Value = Metadata;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`__metadata__` as an object of strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Metadata, A::Error> {
        let mut metadata = Metadata::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<String>()?;
            metadata
                .insert_read(key, value)
                .map_err(de::Error::custom)?;
        }
        Ok(metadata)
    }
}

/// A shape as a message echoes it: its first [`ECHO_DIMS`] dimensions.
fn echo_shape(shape: &[usize]) -> Vec<usize> {
    shape.iter().copied().take(ECHO_DIMS).collect()
}

/// The dtype a file names, if safetensors defines it.
fn dtype_named(name: &str) -> Option<Dtype> {
    let d = de::value::StrDeserializer::<de::value::Error>::new(name);
    Dtype::deserialize(d).ok()
}

/// Checks the header against `N`, in this order, so that each refusal names the tensor at
/// fault: no tensor twice; every tensor of the network present with its dtype and shape;
/// no other tensor; each tensor's offsets spanning exactly its bytes; the tensors end to
/// end from byte 0 of the data. Returns the data's length.
pub(super) fn check<N: Network>(header: &Header) -> Result<u64, DecodeError> {
    let mut by_name: HashMap<&str, &Entry> = HashMap::with_capacity(header.tensors.len());
    for t in &header.tensors {
        if by_name.insert(&t.name, &t.entry).is_some() {
            return Err(DecodeError::Duplicate { name: cut(&t.name) });
        }
    }
    let dtype = dtype_of::<N::Scalar>();
    let names: Vec<String> = N::PARAM_INFO.iter().map(tensor_name).collect();
    let mut ranges = Vec::with_capacity(names.len());
    for (info, name) in N::PARAM_INFO.iter().zip(&names) {
        let Some(entry) = by_name.remove(name.as_str()) else {
            return Err(DecodeError::Missing {
                name: name.clone(),
                dtype,
                shape: info.shape.to_vec(),
            });
        };
        let Some(found) = dtype_named(&entry.dtype) else {
            return Err(DecodeError::UnknownDtype {
                name: name.clone(),
                found: cut(&entry.dtype),
                expected: dtype,
            });
        };
        if found != dtype || entry.shape != info.shape {
            return Err(DecodeError::Mismatch {
                name: name.clone(),
                expected_dtype: dtype,
                expected_shape: info.shape.to_vec(),
                found_dtype: found,
                found_shape: echo_shape(&entry.shape),
            });
        }
        ranges.push(entry.data_offsets);
    }
    let mut extra: Vec<(&str, &Entry)> = by_name.into_iter().collect();
    extra.sort_unstable_by_key(|(name, _)| *name);
    if let Some((name, entry)) = extra.first() {
        return Err(DecodeError::Unexpected {
            name: cut(name),
            dtype: cut(&entry.dtype),
            shape: echo_shape(&entry.shape),
            expected: names.join(", "),
        });
    }
    let width = (dtype.bitsize() / 8) as u64;
    for ((info, name), &(start, end)) in N::PARAM_INFO.iter().zip(&names).zip(&ranges) {
        let expected = info.len() as u64 * width;
        if end.checked_sub(start) != Some(expected) {
            return Err(DecodeError::Offsets {
                name: name.clone(),
                start,
                end,
                expected,
            });
        }
    }
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_unstable_by_key(|&i| ranges[i]);
    let mut at = 0;
    for i in order {
        let (start, end) = ranges[i];
        if start != at {
            return Err(DecodeError::Layout {
                name: names[i].clone(),
                start,
                expected: at,
            });
        }
        at = end;
    }
    Ok(at)
}
