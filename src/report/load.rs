//! Reading a run directory: `manifest.json`, `responses.jsonl`, `verdicts.jsonl`.

use super::RunData;
use crate::run::files;
use crate::Error;
use serde::de::DeserializeOwned;
use std::path::Path;

/// Reads a JSONL file with the journal's rules (a torn last line is dropped, never parsed);
/// returns the records and whether a torn line was dropped.
pub fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<(Vec<T>, bool), Error> {
    let read = crate::run::journal::read_jsonl(path)?;
    Ok((read.records, read.dropped_torn_tail))
}

/// Loads a run directory. Returns the run and warnings (torn lines, missing verdicts).
pub fn load_run(dir: &Path) -> Result<(RunData, Vec<String>), Error> {
    let manifest = crate::run::runner::read_manifest(dir)?;
    let mut warnings = Vec::new();
    let rpath = dir.join(files::RESPONSES);
    let responses = if rpath.exists() {
        let (r, torn) = read_jsonl(&rpath)?;
        if torn {
            warnings.push(format!("{}: torn last line ignored", rpath.display()));
        }
        r
    } else {
        warnings.push(format!(
            "{}: missing; exemplars show no responses",
            rpath.display()
        ));
        Vec::new()
    };
    let vpath = dir.join(files::VERDICTS);
    if !vpath.exists() {
        return Err(Error::Input(format!(
            "{}: missing (score the run first: popbench score {})",
            vpath.display(),
            dir.display()
        )));
    }
    let (verdicts, torn) = read_jsonl(&vpath)?;
    if torn {
        warnings.push(format!("{}: torn last line ignored", vpath.display()));
    }
    if verdicts.len() < responses.len() {
        warnings.push(format!(
            "run {}: {} responses but {} verdicts; unscored responses are left out",
            manifest.run_id,
            responses.len(),
            verdicts.len()
        ));
    }
    Ok((
        RunData {
            manifest,
            responses,
            verdicts,
        },
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_last_line_is_dropped_not_parsed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(&p, "{\"a\":1}\n\n{\"a\":2}\n{\"a\":").unwrap();
        let (v, torn): (Vec<serde_json::Value>, bool) = read_jsonl(&p).unwrap();
        assert_eq!(v.len(), 2);
        assert!(torn);
        // A complete last line that happens to parse is kept only when it ends with a newline.
        std::fs::write(&p, "{\"a\":1}\n{\"a\":2}").unwrap();
        let (v, torn): (Vec<serde_json::Value>, bool) = read_jsonl(&p).unwrap();
        assert_eq!((v.len(), torn), (1, true));
        std::fs::write(&p, "{\"a\":1}\nnot json\n{\"a\":2}\n").unwrap();
        let err = read_jsonl::<serde_json::Value>(&p).unwrap_err().to_string();
        assert!(err.contains("x.jsonl:2:"), "{err}");
    }
}
