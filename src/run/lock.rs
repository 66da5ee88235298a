//! One writer per run directory: an advisory lock (`flock`, exclusive) on `.popbench-lock`
//! inside the run directory, held by `run`, `score`, `judge` and `merge` for as long as they
//! write there.
//!
//! The lock belongs to the open file, not to the file on disk: the kernel releases it when the
//! process ends, however it ends, so a lock left by a process killed with SIGKILL never blocks
//! the next writer (the file stays, holding the dead process's pid, and is taken over). The
//! holder writes its pid, command and start time into the file, so that a second writer is
//! told who holds the directory.

use crate::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside a run directory.
pub const LOCK_FILE: &str = ".popbench-lock";

/// A held lock on a run directory; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    _file: File,
}

impl RunLock {
    /// Takes the lock of the run directory `dir` (which must exist) for `command` (`run`,
    /// `score`…), without waiting: a directory locked by another process is
    /// [`Error::Busy`], naming the holder's pid and command.
    pub fn acquire(dir: &Path, command: &str) -> Result<RunLock> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another process (it has not written its pid yet)".to_string()
                } else {
                    holder.to_string()
                };
                return Err(Error::Busy(format!(
                    "{} is in use by {who}: one writer per run directory; wait for it to end (or stop it), then run `popbench {command}` again",
                    dir.display()
                )));
            }
            // A file system without advisory locks (some network mounts): the run goes on
            // unguarded rather than not at all.
            Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {}
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let me = format!(
            "popbench {command} (pid {}, since {})\n",
            std::process::id(),
            super::runner::now_rfc3339()
        );
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(me.as_bytes()))
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io(&path, e))?;
        Ok(RunLock { path, _file: file })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_the_holders_pid_and_the_lock_is_released_on_drop() {
        let t = tempfile::tempdir().unwrap();
        let held = RunLock::acquire(t.path(), "run").unwrap();
        assert_eq!(held.path(), t.path().join(LOCK_FILE));
        // A second open file description, as a second process has: flock refuses it.
        let e = RunLock::acquire(t.path(), "score").unwrap_err();
        assert_eq!(e.tag(), "busy");
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("popbench run (pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("popbench score"), "{msg}");
        drop(held);
        let again = RunLock::acquire(t.path(), "judge").unwrap();
        let text = std::fs::read_to_string(again.path()).unwrap();
        assert!(text.starts_with("popbench judge (pid "), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }
}
