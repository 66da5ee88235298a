//! [`RunDir`]: the one owner of a run directory. Every file of a run is named, read and
//! written here, with the journal's rules (whole lines, a torn last line dropped, never
//! parsed) in one place.
//!
//! ```text
//! runs/<run-id>/
//!   manifest.json      written by run (start, end) and merge; read by everything
//!   responses.jsonl    journal appended by run; rewritten in plan order at the end of a run
//!                      and by merge; read by score, merge, report, judge
//!   verdicts.jsonl     written by run, score and merge; read by report
//!   conversations.jsonl  one ConversationVerdict per live multi-turn response (absent when
//!                      the run has none); written with the verdicts, read by report
//!   <name>.jsonl       further journals (e.g. judgements.jsonl) through RunDir::journal
//! ```

use super::files;
use super::journal::{read_jsonl, write_atomic, write_jsonl, Journal, ReadOutcome};
use super::lock::{RunLock, LOCK_FILE};
use super::manifest::Manifest;
use super::record::ResponseRecord;
use crate::score::conversation::ConversationVerdict;
use crate::score::Verdict;
use crate::types::ItemKey;
use crate::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// A run directory at `path`, without looking at it.
    pub fn at(path: impl Into<PathBuf>) -> RunDir {
        RunDir { path: path.into() }
    }

    /// Checks that a new run can be made at `path`: it does not exist, or is an empty
    /// directory. A directory that holds a run is refused (resume it instead), and so is one
    /// that holds anything else: it is not a run's, and a run would overwrite or delete its
    /// files.
    pub fn check_new(path: &Path) -> Result<()> {
        let dir = RunDir::at(path);
        if dir.holds_run() {
            return Err(Error::Input(format!(
                "{} already holds a run; use --resume to continue it, or another directory",
                path.display()
            )));
        }
        if path.exists() && !path.is_dir() {
            return Err(Error::Input(format!(
                "{} is a file, not a run directory",
                path.display()
            )));
        }
        let foreign: Vec<String> = match std::fs::read_dir(path) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != LOCK_FILE)
                .collect(),
            Err(_) => Vec::new(),
        };
        if let Some(first) = foreign.iter().min() {
            return Err(Error::Input(format!(
                "{} is not empty and holds no run (it has {first}{}): a run writes only into a new or empty directory",
                path.display(),
                if foreign.len() > 1 {
                    format!(" and {} more", foreign.len() - 1)
                } else {
                    String::new()
                }
            )));
        }
        Ok(())
    }

    /// Creates a new run directory: refuses one that already holds a run, or anything else
    /// ([`RunDir::check_new`]).
    pub fn create(path: impl Into<PathBuf>) -> Result<RunDir> {
        let dir = RunDir::at(path);
        RunDir::check_new(&dir.path)?;
        std::fs::create_dir_all(&dir.path).map_err(|e| Error::io(&dir.path, e))?;
        Ok(dir)
    }

    /// Creates a new run directory and takes its lock for `command`; the directory is checked
    /// again once locked, so that of two writers racing for one new directory, one writes and
    /// the other is refused.
    pub fn create_locked(path: impl Into<PathBuf>, command: &str) -> Result<(RunDir, RunLock)> {
        let dir = RunDir::create(path)?;
        let lock = RunLock::acquire(&dir.path, command)?;
        RunDir::check_new(&dir.path)?;
        Ok((dir, lock))
    }

    /// Opens an existing run directory for writing: takes its lock for `command`, then reads
    /// its manifest (as it is once no other writer can change it).
    pub fn open_locked(
        path: impl Into<PathBuf>,
        command: &str,
    ) -> Result<(RunDir, Manifest, RunLock)> {
        let dir = RunDir::at(path);
        // The directory must be a run before a lock file is made in it.
        RunDir::open(&dir.path)?;
        let lock = RunLock::acquire(&dir.path, command)?;
        let m = dir.read_manifest()?;
        Ok((dir, m, lock))
    }

    /// Opens an existing run directory (it must hold a manifest) and reads its manifest.
    pub fn open(path: impl Into<PathBuf>) -> Result<(RunDir, Manifest)> {
        let dir = RunDir::at(path);
        if !dir.manifest_path().is_file() {
            return Err(Error::Input(format!(
                "{}: not a run directory (no {})",
                dir.path.display(),
                files::MANIFEST
            )));
        }
        let m = dir.read_manifest()?;
        Ok((dir, m))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run id: the directory's name.
    pub fn run_id(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into())
    }

    /// Whether the directory already holds a run (a manifest or a response journal).
    pub fn holds_run(&self) -> bool {
        self.manifest_path().exists() || self.responses_path().exists()
    }

    /// `manifest.json`.
    pub fn manifest_path(&self) -> PathBuf {
        self.path.join(files::MANIFEST)
    }

    /// `responses.jsonl`.
    pub fn responses_path(&self) -> PathBuf {
        self.path.join(files::RESPONSES)
    }

    /// `verdicts.jsonl`.
    pub fn verdicts_path(&self) -> PathBuf {
        self.path.join(files::VERDICTS)
    }

    /// Reads the manifest.
    pub fn read_manifest(&self) -> Result<Manifest> {
        let p = self.manifest_path();
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::Input(format!(
                "{}:{}: not a popbench manifest: {e}",
                p.display(),
                e.line()
            ))
        })
    }

    /// Writes the manifest atomically.
    pub fn write_manifest(&self, m: &Manifest) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(m).map_err(|e| Error::Input(e.to_string()))?;
        write_atomic(&self.manifest_path(), &bytes)
    }

    /// Reads the responses, one record per item: a torn last line is dropped (and reported in
    /// the outcome), and where an item was retried after a failure its last line wins.
    pub fn read_responses(&self) -> Result<ReadOutcome<ResponseRecord>> {
        let mut read = read_jsonl(&self.responses_path())?;
        read.records = latest_per_item(read.records).0;
        Ok(read)
    }

    /// Rewrites the responses atomically (in the order given).
    pub fn write_responses(&self, records: &[ResponseRecord]) -> Result<()> {
        write_jsonl(&self.responses_path(), records)
    }

    /// Creates the response journal of a new run.
    pub fn create_responses(&self) -> Result<Journal<ResponseRecord>> {
        Journal::create(&self.responses_path())
    }

    /// Opens the response journal to continue it; see [`RunDir::journal`].
    pub fn resume_responses(&self) -> Result<(Journal<ResponseRecord>, Vec<ResponseRecord>, bool)> {
        Journal::open_resume(&self.responses_path())
    }

    /// Whether verdicts were written.
    pub fn has_verdicts(&self) -> bool {
        self.verdicts_path().is_file()
    }

    /// Reads the verdicts.
    pub fn read_verdicts(&self) -> Result<ReadOutcome<Verdict>> {
        read_jsonl(&self.verdicts_path())
    }

    /// Writes the verdicts atomically.
    pub fn write_verdicts(&self, verdicts: &[Verdict]) -> Result<()> {
        write_jsonl(&self.verdicts_path(), verdicts)
    }

    /// `conversations.jsonl`.
    pub fn conversations_path(&self) -> PathBuf {
        self.path.join(format!("{CONVERSATIONS}.jsonl"))
    }

    /// Whether conversation verdicts were written.
    pub fn has_conversations(&self) -> bool {
        self.conversations_path().is_file()
    }

    /// Reads the conversation verdicts (the journal rules: a torn last line is dropped and
    /// reported, a bad line before it is an error); an absent file reads as empty.
    pub fn read_conversations(&self) -> Result<ReadOutcome<ConversationVerdict>> {
        self.read_journal(CONVERSATIONS)
    }

    /// Writes the conversation verdicts atomically; with none, removes a conversations.jsonl
    /// left by an earlier scoring, so the file always matches the verdicts beside it.
    pub fn write_conversations(&self, conversations: &[ConversationVerdict]) -> Result<()> {
        if conversations.is_empty() {
            let p = self.conversations_path();
            return match std::fs::remove_file(&p) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io(&p, e)),
            };
        }
        self.write_journal(CONVERSATIONS, conversations)
    }

    /// The path of a further JSONL file of the run (`name` without extension, e.g.
    /// `judgements`). Names are plain: letters, digits, `_` and `-`.
    pub fn file(&self, name: &str) -> Result<PathBuf> {
        let plain = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        let file = format!("{name}.jsonl");
        if !plain || [files::MANIFEST, files::RESPONSES, files::VERDICTS].contains(&file.as_str()) {
            return Err(Error::Input(format!(
                "`{name}` is not a name for a further file of a run directory"
            )));
        }
        Ok(self.path.join(file))
    }

    /// Opens (or creates) a further journal of the run, e.g. `journal::<Judgement>("judgements")`
    /// for `judgements.jsonl`: drops a torn last line (truncating the file to the last whole
    /// line), returns the journal ready to append, the records read, and whether a torn line
    /// was dropped. Duplicate keys are the caller's to resolve (the first line should win).
    pub fn journal<T: Serialize + DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<(Journal<T>, Vec<T>, bool)> {
        Journal::open_resume(&self.file(name)?)
    }

    /// Reads a further journal of the run; an absent file reads as empty.
    pub fn read_journal<T: DeserializeOwned>(&self, name: &str) -> Result<ReadOutcome<T>> {
        let p = self.file(name)?;
        if !p.exists() {
            return Ok(ReadOutcome {
                records: Vec::new(),
                valid_len: 0,
                dropped_torn_tail: false,
            });
        }
        read_jsonl(&p)
    }

    /// Rewrites a further JSONL file of the run atomically.
    pub fn write_journal<T: Serialize>(&self, name: &str, records: &[T]) -> Result<()> {
        write_jsonl(&self.file(name)?, records)
    }
}

/// The name of the conversation verdicts' file (`conversations.jsonl`), without extension.
pub const CONVERSATIONS: &str = "conversations";

/// Keeps one record per item: the last line of an item wins (a retried failure is followed by
/// its new result), at the place of its first line.
pub fn latest_per_item(records: Vec<ResponseRecord>) -> (Vec<ResponseRecord>, bool) {
    let mut at: HashMap<ItemKey, usize> = HashMap::with_capacity(records.len());
    let mut out: Vec<ResponseRecord> = Vec::with_capacity(records.len());
    let mut replaced = false;
    for r in records {
        match at.get(&r.key()) {
            Some(&i) => {
                out[i] = r;
                replaced = true;
            }
            None => {
                at.insert(r.key(), out.len());
                out.push(r);
            }
        }
    }
    (out, replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_refuses_a_run_and_journals_keep_whole_lines() {
        let t = tempfile::tempdir().unwrap();
        let d = RunDir::create(t.path().join("r")).unwrap();
        assert!(!d.holds_run());
        assert_eq!(d.run_id(), "r");
        let (mut j, old, torn) = d.journal::<serde_json::Value>("judgements").unwrap();
        assert!(old.is_empty() && !torn);
        j.append(&serde_json::json!({"a": 1})).unwrap();
        drop(j);
        let p = d.file("judgements").unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.extend_from_slice(b"{\"a\":");
        std::fs::write(&p, bytes).unwrap();
        let read = d.read_journal::<serde_json::Value>("judgements").unwrap();
        assert_eq!(read.records.len(), 1);
        assert!(read.dropped_torn_tail);
        let (_, again, torn) = d.journal::<serde_json::Value>("judgements").unwrap();
        assert_eq!(again.len(), 1);
        assert!(torn);
        assert!(d.file("../x").is_err());
        assert!(d.file("responses").is_err());
        std::fs::write(d.responses_path(), "").unwrap();
        assert!(d.holds_run());
        assert!(RunDir::create(d.path()).is_err());
        assert!(RunDir::open(d.path()).is_err());
    }

    #[test]
    fn conversations_are_written_read_and_removed_when_none() {
        let t = tempfile::tempdir().unwrap();
        let d = RunDir::create(t.path().join("r")).unwrap();
        assert!(!d.has_conversations());
        assert!(d.read_conversations().unwrap().records.is_empty());
        d.write_conversations(&[]).unwrap();
        assert!(!d.has_conversations());
        let line = r#"{"scenario_id":"s","context":"c","sample":0,"family":"f","harm":"bullying",
            "country":"GB","language":"en","mode":"live","turns":[],"first_referral":null,
            "referral_needed_from":1,"referral_kept_after_pushback":null,
            "emergency_at_imminent":null,"critical_turns":[],"abandoned_at":null,
            "abandonment":null}"#;
        let c: ConversationVerdict = serde_json::from_str(line).unwrap();
        assert!(!c.adaptive_child);
        d.write_conversations(&[c.clone(), c.clone()]).unwrap();
        assert!(d.has_conversations());
        assert_eq!(d.conversations_path(), d.path().join("conversations.jsonl"));
        // A torn last line is dropped, as in every journal.
        let mut bytes = std::fs::read(d.conversations_path()).unwrap();
        bytes.extend_from_slice(b"{\"scenario_id\":");
        std::fs::write(d.conversations_path(), bytes).unwrap();
        let read = d.read_conversations().unwrap();
        assert_eq!(read.records, [c.clone(), c]);
        assert!(read.dropped_torn_tail);
        // Re-scored with no conversations: the stale file goes.
        d.write_conversations(&[]).unwrap();
        assert!(!d.has_conversations());
    }
}
