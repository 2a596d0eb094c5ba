//! Every way a file can fail to fit the network gives a typed error that names the file and
//! the tensor, and leaves the network as it was.

use crate::support::{bits, chain, fill, NoBias, Scratch, Small};
use mlp_runtime::io::{self, DecodeError, Dtype, LoadError};
use mlp_runtime::Network;
use safetensors::tensor::TensorView;
use std::collections::HashMap;

/// A safetensors file with the given tensors, each filled with zeros.
fn file_with(tensors: &[(&str, Dtype, &[usize])]) -> Vec<u8> {
    let data: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, d, s)| vec![0u8; s.iter().product::<usize>() * d.bitsize() / 8])
        .collect();
    let views = tensors
        .iter()
        .zip(&data)
        .map(|((name, dtype, shape), bytes)| {
            (
                *name,
                TensorView::new(*dtype, shape.to_vec(), bytes).unwrap(),
            )
        });
    safetensors::serialize(views, None::<HashMap<String, String>>).unwrap()
}

/// The tensors of `Small<f64>` as PyTorch names them.
const SMALL_F64: [(&str, Dtype, &[usize]); 6] = [
    ("0.weight", Dtype::F64, &[5, 3]),
    ("0.bias", Dtype::F64, &[5]),
    ("2.weight", Dtype::F64, &[4, 5]),
    ("2.bias", Dtype::F64, &[4]),
    ("4.weight", Dtype::F64, &[2, 4]),
    ("4.bias", Dtype::F64, &[2]),
];

/// Loads `bytes` from a file into a filled `Small<f64>`, asserts the network is unchanged,
/// and returns the error and its message.
fn load_fails(bytes: &[u8]) -> (DecodeError, String) {
    let dir = Scratch::new("errors");
    let path = dir.path().join("bad.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let mut net = Small::<f64>::zeros();
    fill(&mut net, 5);
    let before = bits(&net);
    let err = io::load(&mut net, &path).expect_err("the file must be rejected");
    assert_eq!(
        bits(&net),
        before,
        "a failed load must leave the network untouched"
    );
    assert_eq!(err.to_string(), format!("cannot load {}", path.display()));
    let message = chain(&err);
    assert_eq!(err.path(), path);
    assert!(
        message.starts_with(char::is_lowercase) && !message.ends_with('.'),
        "{message}"
    );
    match err {
        LoadError::Decode { source, .. } => (source, message),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn the_right_tensors_load() {
    // The reference for every case below: the file itself is fine.
    let mut net = Small::<f64>::zeros();
    fill(&mut net, 5);
    io::from_bytes(&mut net, &file_with(&SMALL_F64)).unwrap();
    assert_eq!(net, Small::zeros());
}

#[test]
fn a_missing_tensor_is_named() {
    let (err, message) = load_fails(&file_with(&SMALL_F64[..5]));
    assert!(
        matches!(&err, DecodeError::Missing { name, dtype: Dtype::F64, shape } if name == "4.bias" && shape == &[2])
    );
    assert!(
        message.contains("tensor `4.bias` (F64 [2]) is missing"),
        "{message}"
    );
}

#[test]
fn an_extra_tensor_is_named() {
    let mut tensors = SMALL_F64.to_vec();
    tensors.push(("6.weight", Dtype::F64, &[1, 2]));
    let (err, message) = load_fails(&file_with(&tensors));
    assert!(
        matches!(&err, DecodeError::Unexpected { name, shape, .. } if name == "6.weight" && shape == &[1, 2])
    );
    assert!(
        message.contains("unexpected tensor `6.weight` (F64 [1, 2])"),
        "{message}"
    );
    assert!(
        message.contains("0.weight, 0.bias, 2.weight, 2.bias, 4.weight, 4.bias"),
        "{message}"
    );
}

#[test]
fn a_wrong_dtype_names_both() {
    let mut tensors = SMALL_F64.to_vec();
    tensors[2].1 = Dtype::F32;
    let (err, message) = load_fails(&file_with(&tensors));
    assert!(matches!(
        &err,
        DecodeError::Mismatch { name, expected_dtype: Dtype::F64, found_dtype: Dtype::F32, .. } if name == "2.weight"
    ));
    assert!(
        message.contains("tensor `2.weight` is F32 [4, 5], expected F64 [4, 5]"),
        "{message}"
    );
}

#[test]
fn a_transposed_weight_names_both_shapes() {
    let mut tensors = SMALL_F64.to_vec();
    tensors[0].2 = &[3, 5];
    let (err, message) = load_fails(&file_with(&tensors));
    assert!(
        matches!(&err, DecodeError::Mismatch { expected_shape, found_shape, .. }
        if expected_shape == &[5, 3] && found_shape == &[3, 5])
    );
    assert!(
        message.contains("tensor `0.weight` is F64 [3, 5], expected F64 [5, 3]"),
        "{message}"
    );
}

#[test]
fn a_bad_last_tensor_leaves_the_earlier_ones_unwritten() {
    // Everything but the last tensor fits, so a loader that copied as it went would have
    // changed the network before noticing.
    let mut tensors = SMALL_F64.to_vec();
    tensors[5].2 = &[3];
    let (err, _) = load_fails(&file_with(&tensors));
    assert!(matches!(err, DecodeError::Mismatch { .. }));
}

#[test]
fn a_file_for_another_network_is_rejected() {
    let mut other = NoBias::<f64>::zeros();
    fill(&mut other, 2);
    let (err, message) = load_fails(&io::to_bytes(&other).unwrap());
    assert!(
        message.contains("tensor `0.weight` is F64 [3, 2], expected F64 [5, 3]"),
        "{message}"
    );
    assert!(matches!(err, DecodeError::Mismatch { .. }));
}

#[test]
fn an_empty_file_is_too_short() {
    let (err, message) = load_fails(&[]);
    assert!(matches!(err, DecodeError::TooShort { len: 0 }));
    assert!(
        message.contains("file is 0 bytes long, shorter than the 8-byte header length"),
        "{message}"
    );
    assert!(matches!(
        load_fails(&[1, 0, 0]).0,
        DecodeError::TooShort { len: 3 }
    ));
}

#[test]
fn an_oversized_header_length_is_refused_before_reading_it() {
    let max = io::header_limit::<Small<f64>>();
    for header_len in [u64::MAX, max + 1] {
        let mut bytes = file_with(&SMALL_F64);
        bytes[..8].copy_from_slice(&header_len.to_le_bytes());
        let (err, message) = load_fails(&bytes);
        assert!(
            matches!(err, DecodeError::HeaderTooLarge { header_len: h, max: m } if h == header_len && m == max),
            "{message}"
        );
        assert!(message.contains(&format!(
            "header length is {header_len} bytes, more than the limit of {max} bytes"
        )));
    }
}

#[test]
fn a_file_cut_inside_its_header_says_how_much_is_missing() {
    let bytes = file_with(&SMALL_F64);
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    let (err, message) = load_fails(&bytes[..20]);
    assert!(
        matches!(err, DecodeError::HeaderTruncated { header_len: h, available: 12 } if h == header_len)
    );
    assert!(
        message.contains(&format!(
            "header length is {header_len} bytes but only 12 bytes follow it"
        )),
        "{message}"
    );
}

#[test]
fn a_file_cut_inside_its_data_is_invalid() {
    let bytes = file_with(&SMALL_F64);
    let data = 8 * (15 + 5 + 20 + 4 + 8 + 2);
    let (err, message) = load_fails(&bytes[..bytes.len() - 1]);
    assert!(
        matches!(err, DecodeError::DataLength { declared, available } if declared == data && available == data - 1)
    );
    assert!(
        message.contains(&format!(
            "header lays out {data} bytes of tensor data but {} bytes follow it",
            data - 1
        )),
        "{message}"
    );
}

#[test]
fn trailing_bytes_are_invalid() {
    let mut bytes = file_with(&SMALL_F64);
    bytes.push(0);
    let data = 8 * (15 + 5 + 20 + 4 + 8 + 2);
    assert!(
        matches!(load_fails(&bytes).0, DecodeError::DataLength { declared, available } if declared == data && available == data + 1)
    );
}

#[test]
fn a_header_that_is_not_json_is_invalid() {
    let mut bytes = 4u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"nope");
    let (err, message) = load_fails(&bytes);
    assert!(
        matches!(
            &err,
            DecodeError::Header {
                tensor: None,
                line: 1,
                column: 1,
                ..
            }
        ),
        "{message}"
    );
    assert!(
        message.contains("expected the header to open with `{`"),
        "{message}"
    );

    let (err, message) = load_fails(&raw(r#"{"0.weight":{"dtype":"F64","shape":"x"}}"#, &[]));
    assert!(
        matches!(&err, DecodeError::Header { tensor: Some(t), .. } if t == "0.weight"),
        "{message}"
    );
    assert!(
        message.contains("invalid header (in the entry of `0.weight`), at line 1, column "),
        "{message}"
    );
}

/// A file of a hand-written header and data bytes.
fn raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// The header of `SMALL_F64` with `edit` applied to the JSON entry of each tensor, given its
/// name and default data offsets.
fn small_header(edit: impl Fn(&str, u64, u64) -> String) -> (String, usize) {
    let mut at = 0;
    let entries: Vec<String> = SMALL_F64
        .iter()
        .map(|(name, _, shape)| {
            let len = 8 * shape.iter().product::<usize>() as u64;
            let entry = edit(name, at, at + len);
            at += len;
            entry
        })
        .collect();
    (format!("{{{}}}", entries.join(",")), at as usize)
}

/// A tensor entry of `SMALL_F64` as JSON.
fn entry(name: &str, dtype: &str, start: u64, end: u64) -> String {
    let shape = SMALL_F64.iter().find(|t| t.0 == name).unwrap().2;
    format!(r#""{name}":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[{start},{end}]}}"#)
}

#[test]
fn a_wrong_dtype_on_the_last_tensor_names_it_and_both_dtypes() {
    // F16 for `4.bias`: the entry's size is wrong too, but the dtype is what to report.
    let (header, len) = small_header(|name, s, e| {
        let dtype = if name == "4.bias" { "F16" } else { "F64" };
        entry(name, dtype, s, e)
    });
    let (err, message) = load_fails(&raw(&header, &vec![0; len]));
    assert!(
        matches!(&err, DecodeError::Mismatch { name, found_dtype: Dtype::F16, .. } if name == "4.bias")
    );
    assert!(
        message.ends_with("tensor `4.bias` is F16 [2], expected F64 [2]"),
        "{message}"
    );
}

#[test]
fn a_missing_weight_is_named_not_an_innocent_neighbour() {
    // `2.weight` left out of the header and its bytes out of the data: the offsets of the
    // tensors after it no longer start where the one before ends.
    let (header, len) = small_header(|name, s, e| entry(name, "F64", s, e));
    let header = header
        .replace(&entry("2.weight", "F64", 160, 320), "")
        .replace(",,", ",");
    let (err, message) = load_fails(&raw(&header, &vec![0; len - 160]));
    assert!(
        matches!(&err, DecodeError::Missing { name, .. } if name == "2.weight"),
        "{message}"
    );
    assert!(
        message.ends_with("tensor `2.weight` (F64 [4, 5]) is missing"),
        "{message}"
    );
}

#[test]
fn an_unknown_dtype_is_named_with_the_tensor() {
    let (header, len) =
        small_header(|name, s, e| entry(name, if name == "2.bias" { "Q4" } else { "F64" }, s, e));
    let (err, message) = load_fails(&raw(&header, &vec![0; len]));
    assert!(
        matches!(&err, DecodeError::UnknownDtype { name, found, .. } if name == "2.bias" && found == "Q4")
    );
    assert!(
        message.ends_with("tensor `2.bias` has the unknown dtype `Q4`, expected F64"),
        "{message}"
    );
}

#[test]
fn a_tensor_named_twice_is_refused() {
    let (header, len) = small_header(|name, s, e| entry(name, "F64", s, e));
    let header = header.replacen('{', &format!("{{{},", entry("0.bias", "F64", 0, 40)), 1);
    let (err, message) = load_fails(&raw(&header, &vec![0; len]));
    assert!(matches!(&err, DecodeError::Duplicate { name } if name == "0.bias"));
    assert!(
        message.ends_with("tensor `0.bias` appears twice in the header"),
        "{message}"
    );
}

#[test]
fn offsets_that_do_not_span_the_tensor_are_named() {
    let (header, len) = small_header(|name, s, e| {
        let e = if name == "2.bias" { e + 8 } else { e };
        entry(name, "F64", s, e)
    });
    let (err, message) = load_fails(&raw(&header, &vec![0; len]));
    assert!(matches!(&err, DecodeError::Offsets { name, expected: 32, .. } if name == "2.bias"));
    assert!(
        message.ends_with("tensor `2.bias` has data_offsets [320, 360], which do not span the 32 bytes of its dtype and shape"),
        "{message}"
    );
}

#[test]
fn overlapping_tensors_name_the_one_out_of_place() {
    // `0.bias` over the first bytes of `0.weight`, and a gap where it should be.
    let (header, len) = small_header(|name, s, e| {
        if name == "0.bias" {
            entry(name, "F64", 0, 40)
        } else {
            entry(name, "F64", s, e)
        }
    });
    let (err, message) = load_fails(&raw(&header, &vec![0; len]));
    assert!(
        matches!(&err, DecodeError::Layout { name, start: 0, expected: 40 } if name == "0.weight"),
        "{message}"
    );
}

#[test]
fn huge_offsets_are_an_error_not_an_overflow() {
    // Offsets near `u64::MAX`: a careless size check overflows here.
    let (header, len) = small_header(|name, s, e| {
        if name == "0.weight" {
            entry(name, "F64", u64::MAX - 120, u64::MAX)
        } else {
            entry(name, "F64", s, e)
        }
    });
    let (err, message) = load_fails(&raw(&header, &vec![0; len]));
    assert!(
        matches!(&err, DecodeError::Layout { name, start: 120, expected: 0 } if name == "0.bias"),
        "{message}"
    );
}

#[test]
fn a_huge_tensor_name_is_cut_in_the_message() {
    let long = "x".repeat(1 << 19);
    let mut tensors = SMALL_F64.to_vec();
    tensors.push((&long, Dtype::F64, &[1]));
    let (err, message) = load_fails(&file_with(&tensors));
    assert!(matches!(&err, DecodeError::Unexpected { name, .. } if name.len() < 100));
    assert!(message.len() < 400, "{} bytes: {message}", message.len());
    assert!(
        message.contains(&format!("`{}… (524288 bytes)`", "x".repeat(io::ECHO_LEN))),
        "{message}"
    );
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let dir = Scratch::new("missing");
    let path = dir.path().join("nowhere.safetensors");
    let mut net = Small::<f64>::zeros();
    let err = io::load(&mut net, &path).unwrap_err();
    assert!(
        matches!(&err, LoadError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    assert!(
        chain(&err).starts_with(&format!("cannot read {}: ", path.display())),
        "{err}"
    );
    assert!(err.decode_error().is_none());
}
