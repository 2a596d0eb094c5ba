//! Every way a file can fail to fit the network gives a typed error that names the file and
//! the tensor, and leaves the network as it was.

use crate::support::{bits, fill, NoBias, Scratch, Small};
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
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
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
    let mut bytes = file_with(&SMALL_F64);
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let (err, message) = load_fails(&bytes);
    assert!(matches!(
        err,
        DecodeError::HeaderTooLarge {
            header_len: u64::MAX,
            max: 100_000_000
        }
    ));
    assert!(message.contains(&format!(
        "header length is {} bytes, more than the limit of 100000000 bytes",
        u64::MAX
    )));
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
    assert!(matches!(load_fails(&bytes).0, DecodeError::Format(_)));
}

#[test]
fn huge_offsets_are_an_error_not_an_overflow() {
    // Offsets that add up to nearly `usize::MAX`: a careless size check overflows here.
    let mut header = String::from("{");
    let chunk = 1u64 << 60;
    for i in 0..16u64 {
        let end = if i == 15 {
            u64::MAX - 4
        } else {
            (i + 1) * chunk
        };
        let start = i * chunk;
        header.push_str(&format!(
            "\"t{i}\":{{\"dtype\":\"U8\",\"shape\":[{}],\"data_offsets\":[{start},{end}]}},",
            end - start
        ));
    }
    header.pop();
    header.push('}');
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0; 16]);
    let (err, message) = load_fails(&bytes);
    assert!(
        matches!(err, DecodeError::DataLength { declared, available: 16 } if declared as u64 == u64::MAX - 4),
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
        err.to_string()
            .starts_with(&format!("cannot read {}: ", path.display())),
        "{err}"
    );
    assert!(err.decode_error().is_none());
}
