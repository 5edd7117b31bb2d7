//! Writing files so that a verdict is never lost.
//!
//! Every file arrears writes (reports, replay files, the regressions file,
//! pictures, promoted examples) goes through [`write_atomic`]: the bytes go
//! to a temporary file in the target's own directory, which is then renamed
//! over the target. A reader therefore sees the old file or the new one,
//! never a truncated one, whatever happens to the process meanwhile; and a
//! symbolic link at the target's path is replaced, not followed, so a write
//! never lands outside the directory it names.
//!
//! [`update_locked`] adds mutual exclusion for files that several runs
//! update at once (the regressions file of CI shards sharing a checkout):
//! read, change and replace happen under an advisory lock on the file, so
//! no run's additions are lost to another's.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// A file that could not be written, with the path and the reason.
#[derive(Debug, thiserror::Error)]
#[error("failed to write {}: {reason}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub reason: String,
}

impl WriteError {
    fn new(path: &Path, reason: impl std::fmt::Display) -> WriteError {
        WriteError {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

/// The directory a path's file lives in (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, flushed to disk, then renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let mut temp = temporary_beside(path)?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| WriteError::new(path, plain_io(&e)))?;
    temp.persist(path)
        .map_err(|e| WriteError::new(path, plain_io(&e.error)))?;
    Ok(())
}

/// A temporary file in `path`'s directory with the permissions `path`
/// should end up with, for a writer that streams into it and then renames
/// it over `path` (`persist`): what [`write_atomic`] does for bytes in
/// memory.
pub fn temporary_beside(path: &Path) -> Result<tempfile::NamedTempFile, WriteError> {
    if path.is_dir() {
        return Err(WriteError::new(path, "it is a directory; give a file name"));
    }
    let dir = parent_of(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".arrears-").suffix(".tmp");
    // A temporary file is private (0600); the file it becomes should have
    // the permissions of the one it replaces, or those of any new file.
    #[cfg(unix)]
    let permissions = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .map(|m| m.permissions())
            .unwrap_or_else(|_| std::fs::Permissions::from_mode(0o666 & !umask()))
    };
    #[cfg(unix)]
    builder.permissions(permissions.clone());
    let temp = builder
        .tempfile_in(dir)
        .map_err(|e| WriteError::new(path, plain_io(&e)))?;
    // The mode given at creation is masked by the umask, and an existing
    // file's mode should be kept exactly.
    #[cfg(unix)]
    let _ = temp.as_file().set_permissions(permissions);
    Ok(temp)
}

/// Reads `path` (absent → `None`), lets `change` compute the new content,
/// and writes it atomically — all under an exclusive advisory lock on the
/// file, so that concurrent updaters take turns and none loses the
/// others' changes. `change` returns `None` to leave the file as it is.
///
/// The lock is taken on the file itself. Because the write replaces the
/// file by rename, a waiter may wake up holding a lock on a file that is no
/// longer at `path`; it then retries on the new one.
pub fn update_locked<E: From<WriteError>>(
    path: &Path,
    mut change: impl FnMut(Option<&str>) -> Result<Option<Vec<u8>>, E>,
) -> Result<(), E> {
    loop {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| WriteError::new(path, plain_io(&e)))?;
        // TODO(msrv): File::lock is stable since 1.89; rust-version is raised
        // once the branches in flight have landed.
        #[allow(clippy::incompatible_msrv)]
        file.lock()
            .map_err(|e| WriteError::new(path, format!("cannot lock it: {}", plain_io(&e))))?;
        if !same_file(&file, path) {
            // Replaced while we waited: lock the new one.
            continue;
        }
        let text = std::fs::read(path).map_err(|e| WriteError::new(path, plain_io(&e)))?;
        let text = String::from_utf8(text).map_err(|_| {
            WriteError::new(path, "it is not UTF-8 text; it is not ours to replace")
        })?;
        // An empty file is one this function just created.
        let current = (!text.is_empty()).then_some(text.as_str());
        if let Some(new) = change(current)? {
            write_atomic(path, &new)?;
        } else if current.is_none() {
            // Nothing to write and nothing was there: leave no empty file.
            let _ = std::fs::remove_file(path);
        }
        // Dropping `file` releases the lock.
        return Ok(());
    }
}

/// The process's file-creation mask, read without changing it for good.
#[cfg(unix)]
fn umask() -> u32 {
    static MASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *MASK.get_or_init(|| {
        // /proc tells without side effects; otherwise assume the usual 022.
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o022)
    })
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, _: &Path) -> bool {
    true
}

/// An I/O error's message without the "(os error N)" suffix, which says
/// nothing to a user and repeats when errors are chained.
pub fn plain_io(error: &std::io::Error) -> String {
    let text = error.to_string();
    let text = match text.find(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    match error.kind() {
        ErrorKind::NotFound => format!("{text} (does its directory exist?)"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("report.json")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode,
                0o666 & !umask(),
                "a new file gets the usual permissions"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_target_is_replaced_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.replay.yaml");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
    }

    #[test]
    fn a_directory_is_not_a_file_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(dir.path(), b"x").unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }

    #[test]
    fn concurrent_locked_updates_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        std::thread::scope(|s| {
            for t in 0..8 {
                let path = &path;
                s.spawn(move || {
                    for i in 0..20 {
                        update_locked::<WriteError>(path, |current| {
                            let mut text = current.unwrap_or("").to_string();
                            text.push_str(&format!("{t}-{i}\n"));
                            Ok(Some(text.into_bytes()))
                        })
                        .unwrap();
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 160, "{text}");
    }

    #[test]
    fn os_error_numbers_are_not_shown() {
        let e = std::io::Error::from_raw_os_error(2);
        assert!(!plain_io(&e).contains("os error"), "{}", plain_io(&e));
    }
}
