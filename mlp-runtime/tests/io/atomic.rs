//! A failed save never destroys the previous file and never leaves a temporary file behind.

use crate::support::{chain, fill, Scratch, Small};
use mlp_runtime::io::{self, SaveError};
use mlp_runtime::Network;
use std::io::Write;

/// A directory holding one saved network, and that network's bytes.
fn saved(tag: &str) -> (Scratch, std::path::PathBuf, Vec<u8>) {
    let dir = Scratch::new(tag);
    let path = dir.path().join("net.safetensors");
    let mut net = Small::<f32>::zeros();
    fill(&mut net, 9);
    io::save(&net, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (dir, path, bytes)
}

#[test]
fn a_write_that_fails_halfway_keeps_the_old_file() {
    let (dir, path, before) = saved("fail-write");
    let err = io::write_atomic(&path, |f| {
        f.write_all(&before[..before.len() / 2])?;
        Err(std::io::Error::other("simulated disk full"))
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "simulated disk full");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(dir.entries(), ["net.safetensors"]);
}

#[test]
fn a_write_that_panics_keeps_the_old_file() {
    let (dir, path, before) = saved("panic-write");
    let result = std::panic::catch_unwind(|| {
        io::write_atomic(&path, |f| {
            f.write_all(b"partial")?;
            panic!("simulated crash in the middle of a save");
        })
    });
    assert!(result.is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(dir.entries(), ["net.safetensors"]);
}

#[test]
fn the_new_file_appears_only_once_complete() {
    let (dir, path, before) = saved("complete");
    io::write_atomic(&path, |f| {
        f.write_all(b"new contents")?;
        // While the new contents are being written, the target still holds the old ones.
        assert_eq!(std::fs::read(&path)?, before);
        assert_eq!(
            dir.entries().len(),
            2,
            "the temporary file sits beside the target"
        );
        Ok(())
    })
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new contents");
    assert_eq!(dir.entries(), ["net.safetensors"]);
}

#[test]
fn saving_over_a_directory_fails_and_cleans_up() {
    let dir = Scratch::new("over-dir");
    let target = dir.path().join("net.safetensors");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"kept").unwrap();
    let err = io::save(&Small::<f64>::zeros(), &target).unwrap_err();
    assert!(matches!(&err, SaveError::Write { path, .. } if path == &target));
    assert!(
        chain(&err).starts_with(&format!("cannot write {}: ", target.display())),
        "{err}"
    );
    assert_eq!(std::fs::read(target.join("keep")).unwrap(), b"kept");
    assert_eq!(dir.entries(), ["net.safetensors"]);
}

#[test]
fn saving_into_a_missing_directory_fails_and_creates_nothing() {
    let dir = Scratch::new("no-dir");
    let target = dir.path().join("absent").join("net.safetensors");
    let err = io::save(&Small::<f64>::zeros(), &target).unwrap_err();
    assert!(
        matches!(&err, SaveError::Write { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    );
    assert!(dir.entries().is_empty());
}

#[test]
fn a_path_without_a_file_name_is_refused() {
    let err = io::save(&Small::<f64>::zeros(), "..").unwrap_err();
    assert!(
        matches!(&err, SaveError::Write { source, .. } if source.kind() == std::io::ErrorKind::InvalidInput)
    );
    assert!(
        chain(&err).contains("the path does not name a file"),
        "{err}"
    );
}

#[test]
fn a_bare_file_name_saves_in_the_current_directory() {
    // `Path::parent` of a bare name is empty; the temporary file must still go beside it.
    // Every other test in this binary uses absolute paths, so moving the current directory
    // for a moment disturbs none of them.
    let dir = Scratch::new("bare");
    let mut net = Small::<f64>::zeros();
    fill(&mut net, 4);
    let cwd = std::env::current_dir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let saved = io::save(&net, "bare.safetensors");
    std::env::set_current_dir(cwd).unwrap();
    saved.unwrap();
    assert_eq!(dir.entries(), ["bare.safetensors"]);
    let mut back = Small::<f64>::zeros();
    io::load(&mut back, dir.path().join("bare.safetensors")).unwrap();
    assert_eq!(back, net);
}
