//! Outputs written whole or not at all.
//!
//! [`write_file`]: one file, through a temporary sibling that is synced and renamed over it;
//! the temporary file is removed when anything fails.
//!
//! [`write_dir`]: a set of files into one directory (a report's html, md, json, csv…), so that
//! a reader never sees files of two different writes side by side, and a kill or a full disk
//! leaves the previous set whole: the files are written into a temporary sibling directory,
//! each synced, then the directory takes the place of the old one in one step (Linux's
//! `renameat2(RENAME_EXCHANGE)`; elsewhere, or on a file system without it, two renames), and
//! the old set is removed. The directory holds a marker file ([`MARKER`]) that says popbench
//! wrote it; a non-empty directory that is not popbench's is refused, never overwritten.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The marker file of a directory that [`write_dir`] wrote.
pub const MARKER: &str = ".popbench-output";

/// Why a set of files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The directory holds files that popbench did not write.
    #[error("{dir} is not empty and was not written by popbench (it has {first}{more}): write into a new or empty directory, or one popbench wrote")]
    Foreign {
        /// The directory.
        dir: PathBuf,
        /// The first foreign entry.
        first: String,
        /// ` and N more`, or nothing.
        more: String,
    },
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a file atomically: a temporary file beside it (`NAME.EXT.tmp`), synced, then
/// renamed over it. On failure the temporary file is removed and `path` is as it was.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let written = (|| {
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// What is in a directory other than `known` names and the marker; `None` when it does not
/// exist.
fn foreign_entries(dir: &Path, known: &[&str]) -> Result<Option<Vec<String>>, WriteError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut marked = false;
    let mut all = Vec::new();
    for e in rd {
        let name = e
            .map_err(io(dir))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name == MARKER {
            marked = true;
        } else {
            all.push(name);
        }
    }
    if marked {
        return Ok(Some(Vec::new()));
    }
    all.retain(|n| !known.contains(&n.as_str()));
    all.sort();
    Ok(Some(all))
}

/// The temporary and retired siblings of `dir` (`.NAME.tmp-PID-N`, `.NAME.old-PID-N`).
fn sibling(dir: &Path, kind: &str) -> Result<PathBuf, WriteError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| WriteError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a directory name (give a path that ends in a name)",
            ),
        })?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Ok(dir.with_file_name(format!(".{name}.{kind}-{}-{nanos}", std::process::id())))
}

/// Removes the temporary siblings of `dir` left by a writer that was killed (its pid is no
/// longer running). Best effort; only where `/proc` tells which processes run.
fn remove_stale_siblings(dir: &Path) {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return;
    };
    if !Path::new("/proc/self").exists() {
        return;
    }
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(rd) = std::fs::read_dir(parent) else {
        return;
    };
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = n.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest
            .strip_prefix("tmp-")
            .or_else(|| rest.strip_prefix("old-"))
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !Path::new("/proc").join(pid.to_string()).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    // Directories can be opened and synced on Unix; elsewhere this is not needed.
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    let _ = dir;
    Ok(())
}

/// Swaps two directories in one step where the system can; `Ok(false)` where it cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> Result<bool, WriteError> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes()).map_err(|_| WriteError::Io {
            path: p.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "a NUL in the path"),
        })
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: two valid NUL-terminated paths; renameat2 reads them and nothing else.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::ENOTSUP) => Ok(false),
        _ => Err(io(b)(e)),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> Result<bool, WriteError> {
    Ok(false)
}

/// Writes `files` (name, bytes) into the directory `dir` as one set: whole or not at all,
/// replacing what a previous [`write_dir`] wrote there. `dir` may be absent or empty, or
/// hold a previous set (its [`MARKER`], or, for directories written before the marker, only
/// names among `files`); anything else is [`WriteError::Foreign`] and nothing is written.
/// Names are plain file names (no separator).
pub fn write_dir(dir: &Path, files: &[(&str, &[u8])]) -> Result<(), WriteError> {
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    let existing = foreign_entries(dir, &names)?;
    if let Some(foreign) = &existing {
        if let Some(first) = foreign.first() {
            return Err(WriteError::Foreign {
                dir: dir.to_path_buf(),
                first: first.clone(),
                more: match foreign.len() {
                    1 => String::new(),
                    n => format!(" and {} more", n - 1),
                },
            });
        }
    }
    remove_stale_siblings(dir);
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let tmp = sibling(dir, "tmp")?;
    let staged = (|| {
        std::fs::create_dir(&tmp).map_err(io(&tmp))?;
        for (name, bytes) in files.iter().copied().chain([(MARKER, &b"popbench\n"[..])]) {
            let p = tmp.join(name);
            let mut f = File::create(&p).map_err(io(&p))?;
            f.write_all(bytes).map_err(io(&p))?;
            f.sync_all().map_err(io(&p))?;
        }
        sync_dir(&tmp)
    })();
    if let Err(e) = staged {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let placed = match existing {
        // Absent: one rename.
        None => std::fs::rename(&tmp, dir).map_err(io(dir)),
        Some(_) => match exchange(&tmp, dir) {
            // The old set is now at `tmp`.
            Ok(true) => Ok(()),
            Ok(false) => {
                let old = sibling(dir, "old")?;
                std::fs::rename(dir, &old).map_err(io(dir)).and_then(|()| {
                    match std::fs::rename(&tmp, dir) {
                        Ok(()) => {
                            let _ = std::fs::remove_dir_all(&old);
                            Ok(())
                        }
                        Err(e) => {
                            let _ = std::fs::rename(&old, dir);
                            Err(io(dir)(e))
                        }
                    }
                })
            }
            Err(e) => Err(e),
        },
    };
    // After an exchange `tmp` holds the old set; after a failure, the new one: either way
    // it goes.
    let _ = std::fs::remove_dir_all(&tmp);
    placed?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_set_replaces_the_previous_set_whole_and_leaves_nothing_beside_it() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("report");
        write_dir(&out, &[("a.txt", b"one"), ("b.txt", b"one")]).unwrap();
        assert_eq!(listing(&out), [MARKER, "a.txt", "b.txt"]);
        write_dir(&out, &[("a.txt", b"two"), ("c.txt", b"two")]).unwrap();
        // The old set is gone whole: b.txt of the first write does not linger.
        assert_eq!(listing(&out), [MARKER, "a.txt", "c.txt"]);
        assert_eq!(std::fs::read(out.join("a.txt")).unwrap(), b"two");
        assert_eq!(listing(t.path()), ["report"]);
    }

    #[test]
    fn a_directory_that_is_not_popbenchs_is_refused_untouched() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("mine");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("notes.txt"), b"keep").unwrap();
        std::fs::write(out.join("a.txt"), b"keep too").unwrap();
        let e = write_dir(&out, &[("a.txt", b"x")]).unwrap_err();
        assert!(matches!(e, WriteError::Foreign { .. }), "{e}");
        assert!(e.to_string().contains("notes.txt"), "{e}");
        assert_eq!(std::fs::read(out.join("a.txt")).unwrap(), b"keep too");
        assert_eq!(listing(t.path()), ["mine"]);
        // An empty directory, and one with only the set's own names (written before the
        // marker existed), are popbench's to write.
        let empty = t.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        write_dir(&empty, &[("a.txt", b"x")]).unwrap();
        let old = t.path().join("old");
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("a.txt"), b"old").unwrap();
        write_dir(&old, &[("a.txt", b"new"), ("b.txt", b"new")]).unwrap();
        assert_eq!(std::fs::read(old.join("a.txt")).unwrap(), b"new");
    }

    #[test]
    fn a_failed_write_leaves_the_previous_set_and_no_temporary_files() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("report");
        write_dir(&out, &[("a.txt", b"one")]).unwrap();
        // A name that cannot be created fails the write after some files were staged.
        let e = write_dir(&out, &[("a.txt", b"two"), ("no/such/dir.txt", b"x")]).unwrap_err();
        assert!(matches!(e, WriteError::Io { .. }), "{e}");
        assert_eq!(std::fs::read(out.join("a.txt")).unwrap(), b"one");
        assert_eq!(listing(t.path()), ["report"]);
        // write_file removes its temporary file when the rename fails.
        let target = t.path().join("dir-in-the-way.json");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("x"), b"x").unwrap();
        assert!(write_file(&target, b"{}").is_err());
        assert_eq!(listing(t.path()), ["dir-in-the-way.json", "report"]);
    }

    #[test]
    fn a_killed_writers_temporary_directory_is_removed_by_the_next_write() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("report");
        // No process has pid 0x7fff_fff0 (above Linux's pid_max).
        let stale = t.path().join(".report.tmp-2147483632-5");
        std::fs::create_dir(&stale).unwrap();
        std::fs::write(stale.join("a.txt"), b"half").unwrap();
        write_dir(&out, &[("a.txt", b"whole")]).unwrap();
        if Path::new("/proc/self").exists() {
            assert_eq!(listing(t.path()), ["report"]);
        }
    }
}
