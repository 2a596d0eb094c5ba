//! Atomic replacement of a file: write beside it, sync, rename, sync the directory.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// The ending of every temporary file [`write_atomic`] creates.
pub const TEMP_SUFFIX: &str = ".mlp-tmp";

/// The number of random characters between a temporary file's prefix and suffix.
const RANDOM_LEN: usize = 6;

/// The most symbolic links followed from the path given to the file written.
const MAX_LINKS: usize = 40;

/// The start of the name of a temporary file for `name`: `.{name}.`.
fn temp_prefix(name: &OsStr) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    prefix
}

/// Follows symbolic links from `path` to the file they lead to, which need not exist (as
/// `std::fs::write` does through a dangling link).
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&path)?;
                path = match path.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(io::Error::other(format!(
        "more than {MAX_LINKS} symbolic links lead from the path"
    )))
}

/// Whether `file_name` is a temporary file [`write_atomic`] made for `name`.
fn is_temp_for(file_name: &OsStr, prefix: &OsStr) -> bool {
    let (Some(file_name), Some(prefix)) = (file_name.to_str(), prefix.to_str()) else {
        return false;
    };
    file_name
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX))
        .is_some_and(|random| {
            random.len() == RANDOM_LEN && random.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// Removes the temporary files for `name` in `dir` that no running save holds: a save holds
/// an exclusive lock on its temporary file until the rename, and the system drops the locks
/// of a process that dies. Best effort: a file that cannot be opened or locked is left.
fn remove_stale(dir: &Path, name: &OsStr) {
    let prefix = temp_prefix(name);
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !is_temp_for(&entry.file_name(), &prefix) {
            continue;
        }
        let path = entry.path();
        if let Ok(file) = File::open(&path) {
            if file.try_lock().is_ok() {
                let _ = fs::remove_file(&path);
            }
        }
    }
}

/// Creates a temporary file for `name` in `dir`, locked, with the permissions a new file gets
/// (`0o666` less the umask on Unix).
fn create_temp(dir: &Path, name: &OsStr) -> io::Result<NamedTempFile> {
    let prefix = temp_prefix(name);
    let mut builder = tempfile::Builder::new();
    builder
        .prefix(&prefix)
        .suffix(TEMP_SUFFIX)
        .rand_bytes(RANDOM_LEN);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    // A concurrent save's `remove_stale` may lock and remove the file between its creation
    // and our lock; then its name no longer leads to it, and a new one is made.
    for _ in 0..8 {
        let temp = builder.tempfile_in(dir)?;
        match temp.as_file().try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => continue,
            // A file system without locks: the file stays unlocked, and so is never stale.
            Err(fs::TryLockError::Error(_)) => return Ok(temp),
        }
        if still_named(&temp)? {
            return Ok(temp);
        }
    }
    Err(io::Error::other(
        "the temporary file was removed by a concurrent save, 8 times",
    ))
}

/// Whether the temporary file's path still names the file it opened.
fn still_named(temp: &NamedTempFile) -> io::Result<bool> {
    let by_name = match fs::symlink_metadata(temp.path()) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let opened = temp.as_file().metadata()?;
        Ok(by_name.dev() == opened.dev() && by_name.ino() == opened.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = by_name;
        Ok(true)
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
/// `write` fills a new temporary file in the same directory as the target; the file is then
/// given the target's permissions, synced to disk and renamed over the target, and the
/// directory is synced where the platform allows. Readers see either the old file or the
/// complete new one, never a part. If `write`, the sync or the rename fails (or `write`
/// panics), the temporary file is removed and the target is left as it was.
///
/// - **Temporary files** are named `.{name}.XXXXXX.mlp-tmp`, where `{name}` is the
///   target's file name and `XXXXXX` six random letters and digits. A save holds a lock on
///   its temporary file; a process killed mid-save leaves its file unlocked, and the next
///   save to the same target removes every unlocked one of that name.
/// - **Permissions**: a target that exists keeps its permissions (a `0o600` file stays
///   `0o600`); a new one gets those of a new file (`0o666` less the umask, on Unix). Its
///   owner becomes the user saving, as for any new file.
/// - **Symbolic links** are followed: if `path` is a link, the file it leads to is replaced
///   atomically, in that file's directory, and the link is kept. A dangling link gets its
///   target created.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # let dir = std::env::temp_dir().join(format!("mlp-atomic-doctest-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// use std::io::Write;
/// let path = dir.join("notes.txt");
/// mlp::io::write_atomic(&path, |f| f.write_all(b"old"))?;
/// let failed = mlp::io::write_atomic(&path, |f| {
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
    let target = resolve(path)?;
    let name = target.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file")
    })?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    remove_stale(dir, name);
    let permissions = match fs::metadata(&target) {
        Ok(m) if m.is_file() => Some(m.permissions()),
        _ => None,
    };
    let mut temp = create_temp(dir, name)?;
    write(temp.as_file_mut())?;
    if let Some(permissions) = permissions {
        temp.as_file().set_permissions(permissions)?;
    }
    temp.as_file().sync_all()?;
    temp.persist(&target).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
}
