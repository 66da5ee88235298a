//! Reading a run directory for the report, through [`RunDir`]: the manifest, the responses
//! (one per item, a torn last line dropped), the verdicts and, when the run has them, the
//! live conversations' scores (`conversations.jsonl`).

use super::RunData;
use crate::diag::Diagnostics;
use crate::run::RunDir;
use crate::scenario::{Scenario, Suite, SuiteSpec};
use crate::Error;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The scenarios of the suites some runs ran, as loaded now.
#[derive(Debug, Clone, Default)]
pub struct Suites {
    /// Every scenario of those suites, each id once.
    pub scenarios: Vec<Scenario>,
    /// Content hash of each suite as loaded now, by suite name.
    pub hashes: BTreeMap<String, String>,
    /// Problems met while loading, and runs whose suite changed since they ran.
    pub warnings: Vec<String>,
}

/// Loads the suite of every run from the data root `root` (each suite once), for the
/// families, ages and child's words of their items.
pub fn suites_of(runs: &[RunData], root: &Path) -> Suites {
    let mut out = Suites::default();
    let mut seen = BTreeSet::new();
    for run in runs {
        let name = &run.manifest.inputs.suite;
        if !out.hashes.contains_key(name) {
            let mut diags = Diagnostics::default();
            let suite = Suite::load(&SuiteSpec::parse(name), root, &mut diags);
            if !diags.is_empty() {
                out.warnings.push(format!(
                    "suite `{name}`: {} problem(s) while loading (first: {})",
                    diags.len(),
                    diags.0[0]
                ));
            }
            out.hashes.insert(name.clone(), suite.content_hash());
            for s in suite.scenarios {
                if seen.insert(s.id.clone()) {
                    out.scenarios.push(s);
                }
            }
        }
        let now = &out.hashes[name];
        if now != &run.manifest.inputs.suite_sha256 {
            out.warnings.push(format!(
                "run {}: suite `{name}` has changed since the run (hash {} then, {} now); scenario details may not match the responses",
                run.manifest.run_id, run.manifest.inputs.suite_sha256, now
            ));
        }
    }
    out
}

/// Loads a run directory. Returns the run and warnings (torn lines, missing verdicts).
pub fn load_run(dir: &Path) -> Result<(RunData, Vec<String>), Error> {
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
