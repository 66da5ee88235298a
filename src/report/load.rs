//! Reading a run directory for the report, through [`RunDir`]: the manifest, the responses
//! (one per item, a torn last line dropped), the verdicts and, when the run has them, the
//! live conversations' scores (`conversations.jsonl`).

use super::RunData;
use crate::run::RunDir;
use crate::Error;

/// Loads a run directory. Returns the run and warnings (torn lines, missing verdicts).
pub fn load_run(dir: &std::path::Path) -> Result<(RunData, Vec<String>), Error> {
    let (run, manifest) = RunDir::open(dir)?;
    let mut warnings = Vec::new();
    let rpath = run.responses_path();
    let responses = if rpath.exists() {
        let read = run.read_responses()?;
        if read.dropped_torn_tail {
            warnings.push(format!("{}: torn last line ignored", rpath.display()));
        }
        read.records
    } else {
        warnings.push(format!(
            "{}: missing; exemplars show no responses",
            rpath.display()
        ));
        Vec::new()
    };
    if !run.has_verdicts() {
        return Err(Error::Input(format!(
            "{}: missing (score the run first: popbench score {})",
            run.verdicts_path().display(),
            dir.display()
        )));
    }
    let read = run.read_verdicts()?;
    if read.dropped_torn_tail {
        warnings.push(format!(
            "{}: torn last line ignored",
            run.verdicts_path().display()
        ));
    }
    let verdicts = read.records;
    let answered = responses.iter().filter(|r| !r.failed()).count();
    if verdicts.len() < answered {
        warnings.push(format!(
            "run {}: {} responses but {} verdicts; unscored responses are left out",
            manifest.run_id,
            answered,
            verdicts.len()
        ));
    }
    let read = run.read_conversations()?;
    if read.dropped_torn_tail {
        warnings.push(format!(
            "{}: torn last line ignored",
            run.conversations_path().display()
        ));
    }
    let conversations = read.records;
    Ok((
        RunData {
            manifest,
            responses,
            verdicts,
            conversations,
        },
        warnings,
    ))
}
