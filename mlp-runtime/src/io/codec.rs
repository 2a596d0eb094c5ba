//! Conversion between a network's parameters and the bytes of a safetensors file.

use super::{dtype_of, tensor_name, DecodeError};
use crate::{Network, Scalar};
use safetensors::tensor::{Metadata, TensorView};
use safetensors::{SafeTensorError, SafeTensors};
use std::any::Any;
use std::collections::HashMap;

/// The largest header accepted, in bytes (the limit of the `safetensors` crate).
pub(super) const MAX_HEADER_LEN: u64 = 100_000_000;

/// Appends the little-endian bytes of one scalar, bit for bit (NaN payloads included).
fn scalar_bytes<T: Scalar>(x: T, out: &mut Vec<u8>) {
    let x: &dyn Any = &x;
    if let Some(v) = x.downcast_ref::<f32>() {
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Some(v) = x.downcast_ref::<f64>() {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Decodes little-endian scalars of `T`'s width from `bytes` into `out`, bit for bit.
fn push_scalars<T: Scalar>(bytes: &[u8], out: &mut Vec<T>) {
    let width = core::mem::size_of::<T>();
    out.extend(bytes.chunks_exact(width).map(|c| {
        let mut x = T::ZERO;
        let slot: &mut dyn Any = &mut x;
        if let (Some(v), Ok(c)) = (slot.downcast_mut::<f32>(), c.try_into()) {
            *v = f32::from_le_bytes(c);
        } else if let (Some(v), Ok(c)) = (slot.downcast_mut::<f64>(), c.try_into()) {
            *v = f64::from_le_bytes(c);
        }
        x
    }));
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

/// Encodes every parameter tensor under its PyTorch name.
pub(super) fn encode<N: Network>(net: &N) -> Result<Vec<u8>, SafeTensorError> {
    let mut data: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::with_capacity(N::PARAM_INFO.len());
    net.visit(|info, values| {
        let mut bytes = Vec::with_capacity(core::mem::size_of_val(values));
        for &x in values {
            scalar_bytes(x, &mut bytes);
        }
        data.push((tensor_name(info), info.shape.to_vec(), bytes));
    });
    let dtype = dtype_of::<N::Scalar>();
    let mut views = Vec::with_capacity(data.len());
    for (name, shape, bytes) in &data {
        views.push((name.as_str(), TensorView::new(dtype, shape.clone(), bytes)?));
    }
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("mlp.scalar".to_string(), N::Scalar::NAME.to_string()),
        ("mlp.layers".to_string(), describe::<N>()),
    ]);
    safetensors::serialize(views, Some(metadata))
}

/// Checks the 8-byte header length against the file's length, so that a truncated file or
/// an absurd header length gets an error that gives the numbers.
fn check_header_len(bytes: &[u8]) -> Result<usize, DecodeError> {
    let Some(head) = bytes.first_chunk::<8>() else {
        return Err(DecodeError::TooShort { len: bytes.len() });
    };
    let header_len = u64::from_le_bytes(*head);
    if header_len > MAX_HEADER_LEN {
        return Err(DecodeError::HeaderTooLarge {
            header_len,
            max: MAX_HEADER_LEN,
        });
    }
    let available = bytes.len() - 8;
    if header_len > available as u64 {
        return Err(DecodeError::HeaderTruncated {
            header_len,
            available,
        });
    }
    // At most `available`, so it fits in `usize`.
    Ok(header_len as usize)
}

/// Checks that the data the header lays out ends exactly at the end of the file.
///
/// `SafeTensors::deserialize` makes the same check, but with an addition that overflows
/// (and panics in a debug build) when the offsets approach `usize::MAX`. Here the header is
/// parsed and its layout validated first; a header that does not parse is left for
/// `deserialize` to report.
fn check_data_len(rest: &[u8], header_len: usize) -> Result<(), DecodeError> {
    let (header, data) = rest.split_at(header_len);
    if let Ok(meta) = serde_json::from_slice::<Metadata>(header) {
        if meta.data_len() != data.len() {
            return Err(DecodeError::DataLength {
                declared: meta.data_len(),
                available: data.len(),
            });
        }
    }
    Ok(())
}

/// Parses and checks a whole file against `N`, returning every scalar in the order of
/// `N::PARAM_INFO`. Nothing is written to any network.
pub(super) fn decode<N: Network>(bytes: &[u8]) -> Result<Vec<N::Scalar>, DecodeError> {
    let header_len = check_header_len(bytes)?;
    check_data_len(&bytes[8..], header_len)?;
    let file = SafeTensors::deserialize(bytes).map_err(DecodeError::Format)?;
    let dtype = dtype_of::<N::Scalar>();
    let mut staged = Vec::with_capacity(N::PARAM_INFO.iter().map(|i| i.len()).sum());
    let mut names = Vec::with_capacity(N::PARAM_INFO.len());
    for info in N::PARAM_INFO {
        let name = tensor_name(info);
        let view = file.tensor(&name).map_err(|_| DecodeError::Missing {
            name: name.clone(),
            dtype,
            shape: info.shape.to_vec(),
        })?;
        if view.dtype() != dtype || view.shape() != info.shape {
            return Err(DecodeError::Mismatch {
                name,
                expected_dtype: dtype,
                expected_shape: info.shape.to_vec(),
                found_dtype: view.dtype(),
                found_shape: view.shape().to_vec(),
            });
        }
        push_scalars(view.data(), &mut staged);
        names.push(name);
    }
    let mut extra: Vec<&str> = file
        .names()
        .into_iter()
        .filter(|n| !names.iter().any(|m| m == n))
        .collect();
    extra.sort_unstable();
    if let Some(&name) = extra.first() {
        // `names()` lists only tensors the file has, so the lookup succeeds.
        let (dtype, shape) = file
            .tensor(name)
            .map(|v| (v.dtype(), v.shape().to_vec()))
            .unwrap_or((dtype, Vec::new()));
        return Err(DecodeError::Unexpected {
            name: name.to_string(),
            dtype,
            shape,
            expected: names.join(", "),
        });
    }
    Ok(staged)
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
