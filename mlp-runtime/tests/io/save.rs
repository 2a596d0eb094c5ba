//! What a save keeps (permissions, links, other files), what it writes (the same bytes for the
//! same network, metadata), and what it cleans up (temporary files a crash left).

use crate::support::{fill, NoBias, Scratch, Small};
use mlp_runtime::io::{self, Metadata, MetadataError, SaveError};
use mlp_runtime::Network;

/// A filled `Small<f64>`.
fn small(seed: u64) -> Small<f64> {
    let mut net = Small::zeros();
    fill(&mut net, seed);
    net
}

#[test]
fn the_same_network_saved_twenty_times_gives_the_same_bytes() {
    let dir = Scratch::new("same-bytes");
    let path = dir.path().join("net.safetensors");
    let net = small(4);
    let mut meta = Metadata::new();
    for key in ["z.last", "a.first", "m.middle", "app.classes"] {
        meta.insert(key, key.to_uppercase()).unwrap();
    }
    io::save_with(&net, &path, &meta).unwrap();
    let first = std::fs::read(&path).unwrap();
    for _ in 0..19 {
        io::save_with(&net, &path, &meta.clone()).unwrap();
        assert!(std::fs::read(&path).unwrap() == first);
    }
}

#[test]
fn the_header_is_written_in_a_fixed_order() {
    // The exact header, so that a change of order or spacing shows here and not as a file
    // that differs from one save to the next.
    let bytes = io::to_bytes(&NoBias::<f32>::zeros()).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
    let expected = concat!(
        r#"{"__metadata__":{"format":"pt","mlp.layers":"2 -> 3 tanh (no bias) -> 2 sigmoid (no bias)","mlp.scalar":"f32"},"#,
        r#""0.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},"#,
        r#""2.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[24,48]}}"#,
    );
    assert_eq!(header.trim_end(), expected);
    // Padded with spaces to a multiple of 8 bytes, as the `safetensors` crate pads.
    assert_eq!(header_len % 8, 0);
    assert!(header_len - expected.len() < 8);
    assert_eq!(bytes.len(), 8 + header_len + 48);
}

#[test]
fn metadata_travels_with_the_weights() {
    let dir = Scratch::new("metadata");
    let path = dir.path().join("net.safetensors");
    let net = small(5);
    let mut meta = Metadata::new();
    meta.insert("app.classes", "setosa,versicolor,virginica")
        .unwrap();
    meta.insert("app.columns", "sepal \"length\",\u{e9}\n\u{0}")
        .unwrap();
    // A reserved key is replaced by what the save writes.
    meta.insert("mlp.scalar", "f16").unwrap();
    io::save_with(&net, &path, &meta).unwrap();

    let (back, read) = Small::<f64>::load_with_metadata(&path).unwrap();
    assert_eq!(back, net);
    let entries: Vec<(&str, &str)> = read.iter().collect();
    assert_eq!(
        entries,
        [
            ("app.classes", "setosa,versicolor,virginica"),
            ("app.columns", "sepal \"length\",\u{e9}\n\u{0}"),
            ("format", "pt"),
            ("mlp.layers", "3 -> 5 tanh -> 4 sigmoid -> 2 identity"),
            ("mlp.scalar", "f64"),
        ]
    );
    // Loaded metadata saves again as it is.
    io::save_with(&net, &path, &read).unwrap();
    assert_eq!(io::load(&mut Small::<f64>::zeros(), &path).unwrap(), read);
}

#[test]
fn metadata_keys_are_namespaced_and_bounded() {
    let mut meta = Metadata::new();
    for bad in ["classes", ".x", "x.", "a..b", "a.b c", "a.b/c", ""] {
        let err = meta.insert(bad, "v").unwrap_err();
        assert!(
            matches!(&err, MetadataError::Key { key, .. } if key == bad),
            "{bad}"
        );
        assert!(err.to_string().starts_with(&format!(
            "metadata key `{bad}` is invalid: expected `namespace.name`"
        )));
    }
    let long = format!("a.{}", "b".repeat(127));
    assert!(matches!(
        meta.insert(long, "v"),
        Err(MetadataError::Key { .. })
    ));
    assert!(meta.insert(format!("a.{}", "b".repeat(126)), "v").is_ok());

    let mut full = Metadata::new();
    for i in 0..Metadata::MAX_ENTRIES {
        full.insert(format!("app.k{i}"), "").unwrap();
    }
    assert_eq!(
        full.insert("app.one-more", ""),
        Err(MetadataError::TooMany {
            entries: 65,
            max: 64
        })
    );
    // With the three entries a save adds, 64 of one's own are too many for a file.
    let err = io::to_bytes_with(&small(1), &full).unwrap_err();
    assert!(matches!(
        err,
        SaveError::Metadata(MetadataError::TooMany {
            entries: 67,
            max: 64
        })
    ));

    let mut big = Metadata::new();
    big.insert("app.blob", "\u{1}".repeat(Metadata::MAX_JSON_LEN / 6))
        .unwrap();
    let err = io::to_bytes_with(&small(1), &big).unwrap_err();
    assert!(
        matches!(err, SaveError::Metadata(MetadataError::TooLarge { max, .. }) if max == 1 << 20)
    );
    big.insert("app.blob", "x".repeat(Metadata::MAX_JSON_LEN - 200))
        .unwrap();
    let bytes = io::to_bytes_with(&small(1), &big).unwrap();
    assert_eq!(
        io::from_bytes(&mut Small::<f64>::zeros(), &bytes)
            .unwrap()
            .get("app.blob")
            .map(str::len),
        Some(Metadata::MAX_JSON_LEN - 200)
    );
}

#[test]
fn a_network_loads_in_one_call_from_a_path_a_reader_or_bytes() {
    let dir = Scratch::new("one-call");
    let path = dir.path().join("net.safetensors");
    let net = small(6);
    io::save(&net, &path).unwrap();
    assert_eq!(Small::<f64>::load(&path).unwrap(), net);
    let file = std::fs::File::open(&path).unwrap();
    assert_eq!(Small::<f64>::read_from(file).unwrap(), net);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(Small::<f64>::from_safetensors(&bytes).unwrap(), net);
    let err = NoBias::<f64>::load(&path).unwrap_err();
    assert_eq!(err.path(), path);
    assert!(NoBias::<f64>::from_safetensors(&bytes).is_err());
}

#[cfg(unix)]
mod unix {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn saving_over_a_file_keeps_its_permissions() {
        let dir = Scratch::new("perms");
        let path = dir.path().join("private.safetensors");
        io::save(&small(1), &path).unwrap();
        for m in [0o600, 0o640, 0o444, 0o755] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).unwrap();
            io::save(&small(2), &path).unwrap();
            assert_eq!(mode(&path), m, "{m:o}");
        }
        assert_eq!(dir.entries(), ["private.safetensors"]);
    }

    #[test]
    fn a_new_file_gets_the_permissions_of_any_new_file() {
        let dir = Scratch::new("new-perms");
        let reference = dir.path().join("reference");
        std::fs::write(&reference, b"").unwrap();
        let path = dir.path().join("net.safetensors");
        io::save(&small(1), &path).unwrap();
        // Not the 0o600 of a bare temporary file: 0o666 less the umask, as `fs::write` gives.
        assert_eq!(mode(&path), mode(&reference));
    }

    #[test]
    fn saving_through_a_symlink_replaces_its_target_and_keeps_the_link() {
        let dir = Scratch::new("symlink");
        std::fs::create_dir(dir.path().join("store")).unwrap();
        let target = dir.path().join("store/weights.safetensors");
        io::save(&small(1), &target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("current.safetensors");
        symlink("store/weights.safetensors", &link).unwrap();

        io::save(&small(2), &link).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(Small::<f64>::load(&target).unwrap(), small(2));
        assert_eq!(mode(&target), 0o600);
        assert_eq!(dir.entries(), ["current.safetensors", "store"]);
        let store: Vec<_> = std::fs::read_dir(dir.path().join("store"))
            .unwrap()
            .collect();
        assert_eq!(
            store.len(),
            1,
            "no temporary file is left beside the target"
        );
    }

    #[test]
    fn a_dangling_symlink_gets_its_target_created() {
        let dir = Scratch::new("dangling");
        let link = dir.path().join("link.safetensors");
        symlink("made.safetensors", &link).unwrap();
        io::save(&small(3), &link).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            Small::<f64>::load(dir.path().join("made.safetensors")).unwrap(),
            small(3)
        );
    }

    #[test]
    fn a_symlink_loop_is_an_error_not_a_hang() {
        let dir = Scratch::new("loop");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        symlink(&b, &a).unwrap();
        symlink(&a, &b).unwrap();
        let err = io::save(&small(1), &a).unwrap_err();
        assert!(matches!(err, SaveError::Write { .. }));
        assert_eq!(dir.entries(), ["a", "b"]);
    }
}

#[test]
fn stale_temporary_files_are_removed_by_the_next_save() {
    let dir = Scratch::new("stale");
    let path = dir.path().join("net.safetensors");
    // What a crash mid-save leaves: files of our naming that no save holds. Files of other
    // names, and temporary files of other targets, are not ours to remove.
    let stale = [
        ".net.safetensors.a1B2c3.mlp-tmp",
        ".net.safetensors.zzzzzz.mlp-tmp",
    ];
    let kept = [
        ".net.safetensors.toolong7.mlp-tmp",
        ".other.safetensors.a1B2c3.mlp-tmp",
        "net.safetensors.bak",
    ];
    for name in stale.iter().chain(&kept) {
        std::fs::write(dir.path().join(name), b"partial").unwrap();
    }
    io::save(&small(1), &path).unwrap();
    let mut expected: Vec<&str> = kept.to_vec();
    expected.push("net.safetensors");
    expected.sort();
    assert_eq!(dir.entries(), expected);
}

#[test]
fn a_temporary_file_held_by_a_running_save_is_left_alone() {
    let dir = Scratch::new("held");
    let path = dir.path().join("net.safetensors");
    let held = dir.path().join(".net.safetensors.HELD01.mlp-tmp");
    let file = std::fs::File::create(&held).unwrap();
    file.lock().unwrap();
    // A lock is per open file, so a second handle in this process stands for another save.
    io::save(&small(1), &path).unwrap();
    assert!(held.exists());
    drop(file);
    io::save(&small(1), &path).unwrap();
    assert!(!held.exists());
}
