//! Atomic replacement of a file: write beside it, sync, rename.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the temporary files of concurrent writes within one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary file that is removed when dropped, unless it has been renamed into place.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: the write has already failed, and that error is the one reported.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Creates a new, empty temporary file in `dir`, named after `name` so that a leftover
/// from a crash is easy to recognise: `.{name}.tmp-{pid}-{n}`.
fn create_temp(dir: &Path, name: &std::ffi::OsStr) -> io::Result<(TempFile, File)> {
    let mut attempts = 0;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".tmp-{}-{n}", std::process::id()));
        let path = dir.join(temp_name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((TempFile { path, armed: true }, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Syncs a directory, so that a rename inside it survives a power loss. Not every platform
/// or file system can open or sync a directory, so failures are ignored: the file itself is
/// already in place and synced.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Replaces the file at `path` with what `write` writes, atomically.
///
/// `write` fills a new temporary file in the same directory as `path`; the file is then
/// synced to disk and renamed over `path`, and the directory is synced where the platform
/// allows. Readers see either the old file or the complete new one, never a part. If
/// `write`, the sync or the rename fails (or `write` panics), the temporary file is removed
/// and `path` is left as it was.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # let dir = std::env::temp_dir().join(format!("mlp-atomic-doctest-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// use std::io::Write;
/// let path = dir.join("notes.txt");
/// mlp_runtime::io::write_atomic(&path, |f| f.write_all(b"old"))?;
/// let failed = mlp_runtime::io::write_atomic(&path, |f| {
///     f.write_all(b"new, but ")?;
///     Err(std::io::Error::other("disk full"))
/// });
/// assert!(failed.is_err());
/// assert_eq!(std::fs::read(&path)?, b"old");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file")
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let (mut temp, mut file) = create_temp(dir, name)?;
    write(&mut file)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp.path, path)?;
    temp.armed = false;
    sync_dir(dir);
    Ok(())
}
