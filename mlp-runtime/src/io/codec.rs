//! Conversion between a network's parameters and the bytes of a safetensors file.

use super::header::{self, header_limit};
use super::metadata::json_string;
use super::{dtype_of, tensor_name, DecodeError, Metadata, MetadataError};
use crate::scalar::sealed::Sealed;
use crate::{Network, Scalar};
use safetensors::SafeTensors;
use std::io::Read;

/// Appends the little-endian bytes of one scalar, bit for bit (NaN payloads included).
fn scalar_bytes<T: Scalar>(x: T, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + T::BYTES, 0);
    x.write_le(&mut out[start..]);
}

/// Decodes little-endian scalars of `T`'s width from `bytes` into `out`, bit for bit.
fn push_scalars<T: Scalar>(bytes: &[u8], out: &mut Vec<T>) {
    out.extend(bytes.chunks_exact(T::BYTES).map(T::read_le));
}

/// A one-line description of the architecture, e.g. `"3 -> 5 tanh -> 2 identity"`.
fn describe<N: Network>() -> String {
    let mut s = N::INPUT.to_string();
    for spec in N::LAYER_SPECS {
        s.push_str(&format!(" -> {} {}", spec.fan_out, spec.activation));
        if !spec.bias {
            s.push_str(" (no bias)");
        }
    }
    s
}

/// Encodes every parameter tensor under its PyTorch name, with `metadata` and the entries a
/// save writes itself.
///
/// The bytes depend only on the weights and the metadata: the header lists `__metadata__`
/// first, its keys sorted, then the tensors in the order of `PARAM_INFO`, whose data follow
/// in the same order; it is padded with spaces to a multiple of 8 bytes, as the
/// `safetensors` crate pads it.
pub(super) fn encode<N: Network>(net: &N, metadata: &Metadata) -> Result<Vec<u8>, MetadataError> {
    let dtype = format!("{:?}", dtype_of::<N::Scalar>());
    let reserved = [
        ("format", "pt".to_owned()),
        ("mlp.layers", describe::<N>()),
        ("mlp.scalar", N::Scalar::NAME.to_owned()),
    ];
    let mut header = String::from("{\"__metadata__\":");
    header.push_str(&metadata.to_json(reserved)?);
    let mut offset = 0u64;
    let width = N::Scalar::BYTES as u64;
    for info in N::PARAM_INFO {
        let len = info.len() as u64 * width;
        header.push(',');
        json_string(&tensor_name(info), &mut header);
        let shape: Vec<String> = info.shape.iter().map(usize::to_string).collect();
        header.push_str(&format!(
            ":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{offset},{}]}}",
            shape.join(","),
            offset + len
        ));
        offset += len;
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut bytes = Vec::with_capacity(8 + header.len() + offset as usize);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    net.visit(|_, values| {
        for &x in values {
            scalar_bytes(x, &mut bytes);
        }
    });
    Ok(bytes)
}

/// Reads into `buf` until it is full or the reader ends; returns the bytes read.
fn fill(reader: &mut impl Read, buf: &mut [u8], part: &'static str) -> Result<usize, DecodeError> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => return Err(DecodeError::Read { part, source }),
        }
    }
    Ok(got)
}

/// Reads and checks a whole safetensors file against `N`, returning every scalar in the order
/// of `N::PARAM_INFO`, and the metadata. Nothing is written to any network.
///
/// `len` is the length of the whole input when known (bytes in memory, a regular file); it
/// lets a wrong length be refused before the data are read. The reader is asked for at most
/// `8 + header_limit::<N>()` bytes before the header is checked, and then for the tensors'
/// bytes (plus one, to find trailing bytes when `len` is unknown): what is read, kept and
/// parsed is bounded by the network, whatever the input.
pub(super) fn decode<N: Network>(
    reader: &mut impl Read,
    len: Option<u64>,
) -> Result<(Vec<N::Scalar>, Metadata), DecodeError> {
    let mut head = [0u8; 8];
    let got = fill(reader, &mut head, "header length")?;
    if got < 8 {
        return Err(DecodeError::TooShort { len: got });
    }
    // A length below 8 is wrong (a file in `/proc` reports 0): the stream decides then.
    let len = len.filter(|&l| l >= 8);
    let header_len = u64::from_le_bytes(head);
    let max = header_limit::<N>();
    if header_len > max {
        return Err(DecodeError::HeaderTooLarge { header_len, max });
    }
    if let Some(len) = len {
        if header_len > len - 8 {
            return Err(DecodeError::HeaderTruncated {
                header_len,
                available: len - 8,
            });
        }
    }
    // At most `header_limit`, which is far below `usize::MAX`.
    let header_end = 8 + header_len as usize;
    let mut bytes = vec![0u8; header_end];
    bytes[..8].copy_from_slice(&head);
    let got = fill(reader, &mut bytes[8..], "header")?;
    if got < header_end - 8 {
        return Err(DecodeError::HeaderTruncated {
            header_len,
            available: got as u64,
        });
    }
    let parsed = header::parse(&bytes[8..], N::PARAM_INFO.len())?;
    let declared = header::check::<N>(&parsed)?;
    if let Some(len) = len {
        let available = len.saturating_sub(8 + header_len);
        if available != declared {
            return Err(DecodeError::DataLength {
                declared,
                available,
            });
        }
    }
    // `declared` is the network's own size in bytes, so it fits in memory.
    bytes.resize(header_end + declared as usize, 0);
    let got = fill(reader, &mut bytes[header_end..], "tensor data")?;
    if got as u64 != declared {
        return Err(DecodeError::DataLength {
            declared,
            available: got as u64,
        });
    }
    if len.is_none() && fill(reader, &mut [0u8], "tensor data")? != 0 {
        return Err(DecodeError::TrailingData { declared });
    }
    // The crate's own reader must agree; it parses the same bounded header once more.
    let file = SafeTensors::deserialize(&bytes).map_err(DecodeError::Format)?;
    let mut staged = Vec::with_capacity(N::PARAM_INFO.iter().map(|i| i.len()).sum());
    for info in N::PARAM_INFO {
        let view = file
            .tensor(&tensor_name(info))
            .map_err(DecodeError::Format)?;
        push_scalars(view.data(), &mut staged);
    }
    Ok((staged, parsed.metadata))
}

/// Copies staged scalars into the network, tensor by tensor.
pub(super) fn commit<N: Network>(net: &mut N, staged: &[N::Scalar]) {
    let mut rest = staged;
    net.visit_mut(|_, dst| {
        let (head, tail) = rest.split_at(dst.len().min(rest.len()));
        for (d, &s) in dst.iter_mut().zip(head) {
            *d = s;
        }
        rest = tail;
    });
}
