//! The loader against mutated files: bit flips, truncations, random bytes, spliced bytes and
//! edits to the JSON header. It never panics, and when it refuses a file the network is
//! exactly as it was. Every load stays within the memory bound of `bounds.rs`.

use crate::bounds::memory_bound;
use crate::counting::peak_bytes;
use crate::support::{bits, fill, NoBias, Scratch, Small};
use mlp_runtime::io;
use mlp_runtime::Network;
use proptest::prelude::*;

/// Fragments that are likely to make a header almost right.
const TOKENS: &[&str] = &[
    "0",
    "1",
    "9",
    "-1",
    "\"",
    ",",
    ":",
    "[",
    "]",
    "{",
    "}",
    " ",
    "F32",
    "F64",
    "I64",
    "U8",
    "BF16",
    "0.weight",
    "2.bias",
    "4.bias",
    "__metadata__",
    "dtype",
    "shape",
    "data_offsets",
    "null",
    "1e308",
    "18446744073709551615",
    "99999999999999999999999",
    "\\u0000",
    "\u{fffd}",
];

#[derive(Clone, Debug)]
enum Mutation {
    /// Flip one bit anywhere in the file.
    FlipBit(usize, u8),
    /// Keep only a prefix.
    Truncate(usize),
    /// Overwrite a run of bytes.
    Overwrite(usize, Vec<u8>),
    /// Insert bytes.
    Insert(usize, Vec<u8>),
    /// Replace a range of the JSON header with a token, fixing up the header length so that
    /// the edit reaches the JSON parser and the layout checks.
    EditHeader(usize, usize, &'static str),
    /// Set the 8-byte header length.
    HeaderLen(u64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(i, v)| Mutation::Overwrite(i, v)),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..16)
        )
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), 0usize..12, proptest::sample::select(TOKENS))
            .prop_map(|(i, n, t)| Mutation::EditHeader(i, n, t)),
        prop_oneof![any::<u64>(), 0u64..2048].prop_map(Mutation::HeaderLen),
    ]
}

/// Applies one mutation; positions wrap around the current length.
fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match m {
        Mutation::FlipBit(i, b) if len > 0 => bytes[i % len] ^= 1 << b,
        Mutation::Truncate(n) => bytes.truncate(n % (len + 1)),
        Mutation::Overwrite(i, v) if len > 0 => {
            for (k, &x) in v.iter().enumerate() {
                let at = (i + k) % len;
                bytes[at] = x;
            }
        }
        Mutation::Insert(i, v) => {
            let at = i % (len + 1);
            bytes.splice(at..at, v.iter().copied());
        }
        Mutation::EditHeader(i, n, token) if len >= 8 => {
            let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap());
            let header_end =
                usize::try_from(header_len).map_or(len, |h| h.saturating_add(8).min(len));
            let header = header_end - 8;
            let start = 8 + i % (header + 1);
            let end = (start + n).min(header_end);
            bytes.splice(start..end, token.bytes());
            let new_len = header + token.len() - (end - start);
            bytes[..8].copy_from_slice(&(new_len as u64).to_le_bytes());
        }
        Mutation::HeaderLen(h) if len >= 8 => bytes[..8].copy_from_slice(&h.to_le_bytes()),
        _ => {}
    }
}

/// Loads `bytes` into a filled network; if it is refused, the network must be unchanged.
fn check<N: Network>(bytes: &[u8], seed: u64) -> Result<(), TestCaseError> {
    let mut net = N::zeros();
    fill(&mut net, seed);
    let before = bits(&net);
    let (result, peak) = peak_bytes(|| io::from_bytes(&mut net, bytes));
    prop_assert!(peak <= memory_bound::<N>(), "held {} bytes", peak);
    if let Err(err) = result {
        prop_assert_eq!(
            bits(&net),
            before,
            "refused with `{}` but changed the network",
            err
        );
        let message = err.to_string();
        prop_assert!(
            !message.is_empty() && !message.ends_with('.') && message.len() <= 512,
            "{}",
            message
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn mutated_f64_files_never_panic(mutations in proptest::collection::vec(mutation(), 1..4), seed in any::<u64>()) {
        let mut source = Small::<f64>::zeros();
        fill(&mut source, seed);
        let mut bytes = io::to_bytes(&source).unwrap();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        check::<Small<f64>>(&bytes, seed ^ 1)?;
    }

    #[test]
    fn mutated_f32_files_never_panic(mutations in proptest::collection::vec(mutation(), 1..4), seed in any::<u64>()) {
        let mut source = NoBias::<f32>::zeros();
        fill(&mut source, seed);
        let mut bytes = io::to_bytes(&source).unwrap();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        check::<NoBias<f32>>(&bytes, seed ^ 1)?;
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        check::<Small<f64>>(&bytes, 3)?;
    }

    #[test]
    fn random_bytes_behind_a_plausible_header_length_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes = (body.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&body);
        check::<NoBias<f32>>(&bytes, 4)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn mutated_files_on_disk_leave_the_network_unchanged(mutations in proptest::collection::vec(mutation(), 1..3)) {
        let dir = Scratch::new("fuzz");
        let path = dir.path().join("net.safetensors");
        let mut source = Small::<f32>::zeros();
        fill(&mut source, 8);
        let mut bytes = io::to_bytes(&source).unwrap();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        std::fs::write(&path, &bytes).unwrap();
        let mut net = Small::<f32>::zeros();
        fill(&mut net, 9);
        let before = bits(&net);
        if let Err(err) = io::load(&mut net, &path) {
            prop_assert_eq!(bits(&net), before, "refused with `{}` but changed the network", err);
            prop_assert!(err.to_string().contains(&path.display().to_string()));
        }
    }
}
