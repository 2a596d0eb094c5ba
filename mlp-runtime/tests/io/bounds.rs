//! Loading costs what the network needs, whatever the input: a committed corpus of hostile
//! files, and streams too large to commit (a 3 GiB file, `/dev/zero`, a 100 MB header), are
//! each loaded under a counting allocator and a counting reader. For every input the bytes
//! read and the most memory held at once stay under bounds that follow from the network,
//! the message stays short, and a refused input leaves the network as it was.
//!
//! The corpus lives in `tests/io/corpus/`; `hand_made` below writes its files. Run with
//! `MLP_BLESS_CORPUS=1` to rewrite them after changing `hand_made`; a file added there by hand
//! (a fuzzing find, say) is replayed too.

use crate::counting::peak_bytes;
use crate::support::{bits, fill, NoBias, Scratch, Small};
use mlp_runtime::io::{self, DecodeError};
use mlp_runtime::Network;
use std::io::Read;
use std::path::PathBuf;

/// The committed corpus.
fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/io/corpus")
}

/// A reader that counts the bytes it hands out.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// The size of `N`'s tensors in a file.
fn data_bytes<N: Network>() -> u64 {
    (N::num_params() * std::mem::size_of::<N::Scalar>()) as u64
}

/// The most bytes a load of `N` may read from a stream: the header length, the largest
/// header, the tensors' data and one byte to find trailing data.
fn read_bound<N: Network>() -> u64 {
    8 + io::header_limit::<N>() + data_bytes::<N>() + 1
}

/// The most memory a load of `N` may hold at once: twice the largest header (the header and
/// its parsed entries) and a few times the data (the tensors' bytes, the `safetensors`
/// crate's second parse, the staged scalars).
pub fn memory_bound<N: Network>() -> usize {
    (2 * io::header_limit::<N>() + 4 * data_bytes::<N>()) as usize
}

/// What one load did.
struct Outcome {
    refusal: Option<String>,
    read: u64,
    peak: usize,
}

/// Loads a stream into a filled `N` and checks the bounds and the network.
fn load_stream<N: Network>(reader: impl Read, what: &str) -> Outcome {
    let mut net = N::zeros();
    fill(&mut net, 3);
    let before = bits(&net);
    let mut counted = Counted {
        inner: reader,
        read: 0,
    };
    let (result, peak) = peak_bytes(|| io::read_from(&mut net, &mut counted));
    let refusal = result.err().map(|e| {
        assert_eq!(
            bits(&net),
            before,
            "{what}: refused but changed the network"
        );
        let message = e.to_string();
        assert!(
            message.len() <= 512,
            "{what}: a message of {} bytes",
            message.len()
        );
        message
    });
    assert!(
        counted.read <= read_bound::<N>(),
        "{what}: read {} bytes, bound {}",
        counted.read,
        read_bound::<N>()
    );
    assert!(
        peak <= memory_bound::<N>(),
        "{what}: held {peak} bytes, bound {}",
        memory_bound::<N>()
    );
    Outcome {
        refusal,
        read: counted.read,
        peak,
    }
}

/// Loads `bytes` into `N` as bytes, as a stream and as a file, checks the three agree on
/// whether it loads, and returns the stream's outcome.
fn load_all_ways<N: Network>(bytes: &[u8], what: &str, dir: &Scratch) -> Outcome {
    let stream = load_stream::<N>(bytes, what);
    let mut net = N::zeros();
    let (from_bytes, peak) = peak_bytes(|| io::from_bytes(&mut net, bytes));
    assert!(
        peak <= memory_bound::<N>(),
        "{what}: from_bytes held {peak} bytes"
    );
    assert_eq!(
        from_bytes.is_ok(),
        stream.refusal.is_none(),
        "{what}: bytes and stream disagree"
    );
    let path = dir.path().join("input.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let (from_file, peak) = peak_bytes(|| io::load(&mut net, &path));
    assert!(
        peak <= memory_bound::<N>(),
        "{what}: load held {peak} bytes"
    );
    assert_eq!(
        from_file.is_ok(),
        stream.refusal.is_none(),
        "{what}: file and stream disagree"
    );
    stream
}

/// A file of a hand-written header and data bytes.
fn raw(header: &[u8], data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(data);
    bytes
}

/// A valid file of `Small<f64>` whose header has `edit` applied.
fn small_edited(edit: impl Fn(String) -> String) -> Vec<u8> {
    let mut net = Small::<f64>::zeros();
    fill(&mut net, 1);
    let bytes = io::to_bytes(&net).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(bytes[8..8 + header_len].to_vec()).unwrap();
    raw(edit(header).as_bytes(), &bytes[8 + header_len..])
}

/// The hand-made hostile files of the corpus, by name. Those named `valid-*` must load into
/// `Small<f64>`; every other must be refused by both test networks.
fn hand_made() -> Vec<(&'static str, Vec<u8>)> {
    let mut net = Small::<f64>::zeros();
    fill(&mut net, 1);
    let valid = io::to_bytes(&net).unwrap();
    let mut files = vec![
        ("valid-small-f64", valid.clone()),
        ("empty", Vec::new()),
        ("short", vec![1, 0, 0]),
        ("zeros-4k", vec![0; 4096]),
        ("header-length-max", {
            let mut b = valid.clone();
            b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
            b
        }),
        ("header-length-100mb", {
            let mut b = 100_000_000u64.to_le_bytes().to_vec();
            b.extend(b"{\"a\":{\"dtype\":\"U8\"".iter().cycle().take(4096));
            b
        }),
        ("truncated-in-data", valid[..valid.len() - 3].to_vec()),
        ("trailing-bytes", [&valid[..], b"tail"].concat()),
        (
            "f16-last-bias",
            small_edited(|h| {
                h.replacen(
                    "\"4.bias\":{\"dtype\":\"F64\"",
                    "\"4.bias\":{\"dtype\":\"F16\"",
                    1,
                )
            }),
        ),
        (
            "unknown-dtype",
            small_edited(|h| h.replacen("\"F64\"", "\"F64X\"", 1)),
        ),
        (
            "duplicate-tensor",
            small_edited(|h| h.replacen("\"0.bias\"", "\"0.weight\"", 1)),
        ),
        ("not-json", raw(b"{nope", &[])),
        ("invalid-utf8", raw(b"{\"\xff\xfe\":1}", &[])),
        (
            "nested-arrays",
            raw(
                format!("{{\"__metadata__\":{}", "[".repeat(20_000)).as_bytes(),
                &[],
            ),
        ),
        ("metadata-1k-entries", {
            let entries: Vec<String> = (0..1_000).map(|i| format!("\"k{i}\":\"\"")).collect();
            raw(
                format!("{{\"__metadata__\":{{{}}}}}", entries.join(",")).as_bytes(),
                &[],
            )
        }),
        (
            "metadata-not-strings",
            small_edited(|h| h.replacen("\"pt\"", "[1,2]", 1)),
        ),
        ("tensors-500-unexpected", {
            let entries: Vec<String> = (0..500)
                .map(|i| {
                    format!("\"t{i}\":{{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}")
                })
                .collect();
            raw(format!("{{{}}}", entries.join(",")).as_bytes(), &[])
        }),
        (
            "name-4k",
            small_edited(|h| {
                h.replacen(
                    '{',
                    &format!(
                        "{{\"{}\":{{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}},",
                        "n".repeat(1 << 12)
                    ),
                    1,
                )
            }),
        ),
        (
            "shape-10k-dims",
            small_edited(|h| {
                h.replacen(
                    "\"shape\":[5,3]",
                    &format!("\"shape\":[{}1]", "1,".repeat(10_000)),
                    1,
                )
            }),
        ),
        (
            "offsets-near-max",
            small_edited(|h| {
                h.replacen(
                    "\"data_offsets\":[0,120]",
                    "\"data_offsets\":[18446744073709551495,18446744073709551615]",
                    1,
                )
            }),
        ),
    ];
    files.sort_by_key(|(name, _)| *name);
    files
}

#[test]
fn the_corpus_holds_every_hand_made_file() {
    let dir = corpus_dir();
    let bless = std::env::var_os("MLP_BLESS_CORPUS").is_some();
    for (name, bytes) in hand_made() {
        let path = dir.join(format!("{name}.safetensors"));
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (rerun with MLP_BLESS_CORPUS=1)", path.display()));
        assert!(
            committed == bytes,
            "{name}: the committed file differs (rerun with MLP_BLESS_CORPUS=1)"
        );
    }
}

#[test]
fn every_corpus_file_loads_within_bounds_or_is_refused_by_name() {
    let scratch = Scratch::new("corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus has {} files", files.len());
    let (mut most_read, mut most_held) = (0, 0);
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let small = load_all_ways::<Small<f64>>(&bytes, &name, &scratch);
        let no_bias = load_all_ways::<NoBias<f32>>(&bytes, &name, &scratch);
        assert_eq!(
            small.refusal.is_none(),
            name.starts_with("valid-"),
            "{name}: {:?}",
            small.refusal
        );
        assert!(
            no_bias.refusal.is_some(),
            "{name} loads into the wrong network"
        );
        most_read = most_read.max(small.read).max(no_bias.read);
        most_held = most_held.max(small.peak).max(no_bias.peak);
    }
    eprintln!("corpus: at most {most_read} bytes read and {most_held} bytes held by one load");
}

#[test]
fn a_3_gib_stream_behind_a_valid_header_reads_only_the_network() {
    let valid = io::to_bytes(&Small::<f64>::zeros()).unwrap();
    let stream = valid.as_slice().chain(std::io::repeat(0).take(3 << 30));
    let out = load_stream::<Small<f64>>(stream, "3 GiB stream");
    assert_eq!(out.read, valid.len() as u64 + 1);
    let declared = data_bytes::<Small<f64>>();
    assert_eq!(
        out.refusal.unwrap(),
        format!("header lays out {declared} bytes of tensor data but more bytes follow them")
    );
    eprintln!(
        "3 GiB stream: {} bytes read, {} bytes held",
        out.read, out.peak
    );
}

#[test]
fn a_3_gib_file_behind_a_valid_header_is_refused_by_its_length() {
    let dir = Scratch::new("sparse");
    let path = dir.path().join("big.safetensors");
    let valid = io::to_bytes(&Small::<f64>::zeros()).unwrap();
    let file = std::fs::File::create(&path).unwrap();
    std::io::Write::write_all(&mut &file, &valid).unwrap();
    // Sparse where the file system allows: nothing of it is written.
    file.set_len(3 << 30).unwrap();
    let mut net = Small::<f64>::zeros();
    let (result, peak) = peak_bytes(|| io::load(&mut net, &path));
    let err = result.unwrap_err();
    assert!(
        matches!(err.decode_error(), Some(DecodeError::DataLength { available, .. }) if *available > 3 << 29)
    );
    assert!(peak <= memory_bound::<Small<f64>>(), "held {peak} bytes");
    eprintln!("3 GiB file: refused holding {peak} bytes");
}

#[test]
fn an_endless_stream_of_zeros_is_refused_at_once() {
    let out = load_stream::<Small<f64>>(std::io::repeat(0), "zeros");
    assert_eq!(out.read, 8);
    assert!(out
        .refusal
        .unwrap()
        .contains("expected the header to open with `{`"));
    #[cfg(target_os = "linux")]
    {
        let mut net = Small::<f64>::zeros();
        let (result, peak) = peak_bytes(|| io::load(&mut net, "/dev/zero"));
        assert!(result.is_err());
        assert!(
            peak <= memory_bound::<Small<f64>>(),
            "/dev/zero: held {peak} bytes"
        );
    }
}

#[test]
fn headers_claiming_megabytes_are_refused_after_eight_bytes() {
    // The hostile headers: 100 MB with 1.6 M entries, 14 MB with 1 M metadata
    // entries, a 90 MiB tensor name. Each is refused on its length alone.
    for (what, header_len, body) in [
        (
            "100 MB of entries",
            100_000_000u64,
            &b"{\"t\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"[..],
        ),
        (
            "14 MB of metadata",
            14_000_000,
            &b"{\"__metadata__\":{\"k\":\"\","[..],
        ),
        (
            "a 90 MiB name",
            90 << 20,
            &b"{\"nnnnnnnnnnnnnnnnnnnnnnnn"[..],
        ),
    ] {
        let len = header_len.to_le_bytes();
        let stream = len
            .as_slice()
            .chain(body)
            .chain(std::io::repeat(b' ').take(header_len));
        let out = load_stream::<Small<f64>>(stream, what);
        assert_eq!(out.read, 8, "{what}");
        assert!(
            out.refusal.unwrap().contains("more than the limit"),
            "{what}"
        );
    }
}

#[test]
fn a_header_at_the_limit_full_of_metadata_is_refused_at_the_first_entry_too_many() {
    // A header of 1 MiB made of short metadata entries: parsing stops at entry 65.
    let limit = io::header_limit::<Small<f64>>() as usize;
    let mut header = String::from("{\"__metadata__\":{");
    let mut i = 0;
    while header.len() + 16 < limit {
        header.push_str(&format!("\"k{i}\":\"\","));
        i += 1;
    }
    header.push_str("\"end\":\"\"}}");
    let bytes = raw(header.as_bytes(), &[]);
    let out = load_stream::<Small<f64>>(bytes.as_slice(), "metadata at the limit");
    let message = out.refusal.unwrap();
    assert!(
        message.contains("more than 64 metadata entries"),
        "{message}"
    );
    eprintln!(
        "{i} metadata entries in {} bytes: refused holding {} bytes",
        header.len(),
        out.peak
    );
}

#[test]
fn the_header_limit_follows_from_the_network() {
    // As `header_limit`'s documentation works it out for `3 → 5 → 4 → 2` with biases: the
    // metadata's 1 MiB and 16 bytes, 256 per entry, twice the 42 bytes of names, 24 per
    // dimension (9 in all).
    assert_eq!(
        io::header_limit::<Small<f64>>(),
        (1 << 20) + 16 + 6 * 256 + 2 * 42 + 9 * 24
    );
    // Without biases, 2 entries of 2 dimensions.
    assert_eq!(
        io::header_limit::<NoBias<f32>>(),
        (1 << 20) + 16 + 2 * 256 + 2 * 16 + 4 * 24
    );
}

#[test]
fn a_header_at_the_limit_full_of_tensor_entries_is_parsed_within_bounds() {
    // The costliest header to parse: as many short tensor entries as the limit allows.
    let limit = io::header_limit::<Small<f64>>() as usize;
    let mut entries = Vec::new();
    let mut len = 2;
    while len + 64 < limit {
        let entry = format!(
            "\"{}\":{{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}",
            entries.len()
        );
        len += entry.len() + 1;
        entries.push(entry);
    }
    let header = format!("{{{}}}", entries.join(","));
    let bytes = raw(header.as_bytes(), &[]);
    let out = load_stream::<Small<f64>>(bytes.as_slice(), "tensor entries at the limit");
    let message = out.refusal.unwrap();
    assert!(
        message.contains("more than 28 tensor entries, where the network has 6"),
        "{message}"
    );
    eprintln!(
        "{} tensor entries in {} bytes: refused holding {} bytes",
        entries.len(),
        header.len(),
        out.peak
    );
}
