//! Reading a run directory: `manifest.json`, `responses.jsonl`, `verdicts.jsonl`.

use super::RunData;
use crate::run::{files, Manifest};
use crate::Error;
use serde::de::DeserializeOwned;
use std::path::Path;

/// Reads a JSONL file. A last line without its newline is a torn write (the process died
/// mid-line): it is dropped, never parsed, and reported through the returned flag. Blank
/// lines are skipped; any other line that does not parse is an error naming `path:line`.
pub fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<(Vec<T>, bool), Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let (complete, torn) = match text.rfind('\n') {
        Some(i) => (&text[..=i], i + 1 < text.len()),
        None => ("", !text.is_empty()),
    };
    let mut out = Vec::new();
    for (i, line) in complete.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item = serde_json::from_str(line)
            .map_err(|e| Error::Input(format!("{}:{}: {e}", path.display(), i + 1)))?;
        out.push(item);
    }
    Ok((out, torn))
}

/// Loads a run directory. Returns the run and warnings (torn lines, missing verdicts).
pub fn load_run(dir: &Path) -> Result<(RunData, Vec<String>), Error> {
    let mpath = dir.join(files::MANIFEST);
    let text = std::fs::read_to_string(&mpath).map_err(|e| Error::io(&mpath, e))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::Input(format!("{}: {e}", mpath.display())))?;
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
        std::fs::write(&p, "{\"a\":1}\nnot json\n").unwrap();
        let err = read_jsonl::<serde_json::Value>(&p).unwrap_err().to_string();
        assert!(err.contains("x.jsonl:2:"), "{err}");
    }
}
