//! The response journal: `responses.jsonl`, append-only, one whole line per response,
//! flushed and synced as soon as the response exists.
//!
//! A run killed at any moment leaves at most one torn last line (no trailing newline, or not
//! valid JSON). Reading detects it and drops it; [`Journal::open_resume`] truncates the file
//! back to the last whole line before appending, so a torn line is never parsed as data.

use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// What reading a JSONL file found.
#[derive(Debug, Default)]
pub struct ReadOutcome<T> {
    /// The whole, valid lines.
    pub records: Vec<T>,
    /// Byte length of the valid prefix (where appending may continue).
    pub valid_len: u64,
    /// Whether a torn last line was dropped.
    pub dropped_torn_tail: bool,
}

/// Reads a JSONL file. A last line without a newline, or a last line that does not parse, is
/// a torn write: dropped. A bad line that is not the last is an error (`path:line: …`).
pub fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<ReadOutcome<T>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut out = ReadOutcome {
        records: Vec::new(),
        valid_len: 0,
        dropped_torn_tail: false,
    };
    let mut start = 0usize;
    let mut line_no = 0usize;
    while start < bytes.len() {
        line_no += 1;
        let (end, complete) = match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(p) => (start + p, true),
            None => (bytes.len(), false),
        };
        let line = &bytes[start..end];
        let next = if complete { end + 1 } else { end };
        let is_last = next >= bytes.len();
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            if complete {
                out.valid_len = next as u64;
            }
            start = next;
            continue;
        }
        match serde_json::from_slice::<T>(line) {
            Ok(r) if complete => {
                out.records.push(r);
                out.valid_len = next as u64;
            }
            // An incomplete line is always the last one; a complete last line that does not
            // parse is a torn write too (the newline of a later partial write landed first).
            _ if is_last => out.dropped_torn_tail = true,
            Err(e) => {
                return Err(Error::Input(format!(
                    "{}:{line_no}: not a valid record: {e}",
                    path.display()
                )));
            }
            Ok(_) => out.dropped_torn_tail = true,
        }
        start = next;
    }
    Ok(out)
}

/// An open JSONL journal of `T` records, ready to append: each record is one whole line,
/// flushed and synced before [`Journal::append`] returns.
#[derive(Debug)]
pub struct Journal<T> {
    path: PathBuf,
    file: File,
    len: usize,
    _records: PhantomData<fn(&T)>,
}

impl<T: Serialize + DeserializeOwned> Journal<T> {
    /// Creates a new, empty journal (fails if it exists).
    pub fn create(path: &Path) -> Result<Journal<T>> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            len: 0,
            _records: PhantomData,
        })
    }

    /// Opens a journal to continue it (creating it when it does not exist): reads it, drops a
    /// torn tail (truncating the file to the last whole line), and returns the records read
    /// and whether a torn line was dropped.
    pub fn open_resume(path: &Path) -> Result<(Journal<T>, Vec<T>, bool)> {
        if !path.exists() {
            return Ok((Journal::create(path)?, Vec::new(), false));
        }
        let read: ReadOutcome<T> = read_jsonl(path)?;
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        file.set_len(read.valid_len)
            .map_err(|e| Error::io(path, e))?;
        file.sync_all().map_err(|e| Error::io(path, e))?;
        drop(file);
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok((
            Journal {
                path: path.to_path_buf(),
                file,
                len: read.records.len(),
                _records: PhantomData,
            },
            read.records,
            read.dropped_torn_tail,
        ))
    }

    /// Lines in the journal (read at open, plus appended since).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the journal is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one whole line, then flushes and syncs it to disk.
    pub fn append(&mut self, record: &T) -> Result<()> {
        let mut line = serde_json::to_vec(record)
            .map_err(|e| Error::Input(format!("cannot encode a record: {e}")))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|e| Error::io(&self.path, e))?;
        self.file
            .sync_data()
            .map_err(|e| Error::io(&self.path, e))?;
        self.len += 1;
        Ok(())
    }
}

/// Writes records as JSONL atomically (a temporary file renamed over `path`).
pub fn write_jsonl<T: Serialize>(path: &Path, records: &[T]) -> Result<()> {
    let mut out = Vec::new();
    for r in records {
        serde_json::to_writer(&mut out, r).map_err(|e| Error::Input(e.to_string()))?;
        out.push(b'\n');
    }
    write_atomic(path, &out)
}

/// Writes a file atomically ([`crate::atomic::write_file`]): to a temporary file beside it,
/// synced, then renamed over it; the temporary file is removed when anything fails.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::atomic::write_file(path, bytes).map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::record::ResponseRecord;
    use crate::types::FinishReason;

    fn rec(id: &str) -> ResponseRecord {
        ResponseRecord {
            scenario_id: id.into(),
            context: "c".into(),
            sample: 0,
            response: "hi".into(),
            prompt_sha256: String::new(),
            seed: 0,
            prompt_tokens: 1,
            completion_tokens: 1,
            finish_reason: FinishReason::Stop,
            prompt_ms: 0.0,
            generation_ms: 0.0,
            error: None,
            turns: Vec::new(),
            child: None,
        }
    }

    #[test]
    fn torn_tail_is_dropped_and_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        {
            let mut j = Journal::<ResponseRecord>::create(&p).unwrap();
            j.append(&rec("a")).unwrap();
            j.append(&rec("b")).unwrap();
        }
        let mut bytes = std::fs::read(&p).unwrap();
        let whole = bytes.len();
        bytes.extend_from_slice(br#"{"scenario_id":"c","con"#);
        std::fs::write(&p, &bytes).unwrap();
        let (mut j, recs, torn) = Journal::<ResponseRecord>::open_resume(&p).unwrap();
        assert!(torn);
        assert_eq!(recs.len(), 2);
        assert_eq!(std::fs::metadata(&p).unwrap().len() as usize, whole);
        j.append(&rec("c")).unwrap();
        let again: ReadOutcome<ResponseRecord> = read_jsonl(&p).unwrap();
        assert_eq!(
            again
                .records
                .iter()
                .map(|r| r.scenario_id.as_str())
                .collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert!(!again.dropped_torn_tail);
    }

    #[test]
    fn complete_but_invalid_last_line_is_torn_and_inner_bad_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.jsonl");
        let good = serde_json::to_string(&rec("a")).unwrap();
        std::fs::write(&p, format!("{good}\n{{\"x\n")).unwrap();
        let r: ReadOutcome<ResponseRecord> = read_jsonl(&p).unwrap();
        assert_eq!(r.records.len(), 1);
        assert!(r.dropped_torn_tail);
        std::fs::write(&p, format!("not json\n{good}\n")).unwrap();
        let e = read_jsonl::<ResponseRecord>(&p).unwrap_err().to_string();
        assert!(e.contains("r.jsonl:1:"), "{e}");
    }
}
