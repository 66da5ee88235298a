//! The one scoring path of runs: responses → verdicts against a loaded suite. The runner (as
//! it goes and at the end), `popbench score` and `merge` all call [`score_records`].

use super::dir::RunDir;
use super::manifest::Manifest;
use super::record::ResponseRecord;
use crate::dataset::Dataset;
use crate::diag::Diagnostics;
use crate::scenario::{Scenario, Suite, SuiteSpec};
use crate::score::{Scorer, Verdict};
use crate::{Error, Result};

/// Verdicts of a set of responses, and what could not be scored.
#[derive(Debug, Clone, Default)]
pub struct Scored {
    /// One verdict per scored response, in the order of the responses.
    pub verdicts: Vec<Verdict>,
    /// Failed generations (journaled errors): not scored.
    pub failed: usize,
    /// Scenario ids of responses the suite no longer has (sorted, without repeats): not scored.
    pub unknown: Vec<String>,
}

/// Scores the responses that can be scored: every record that is not a failed generation and
/// whose scenario the suite holds, matched by scenario id (so a suite that gained or lost
/// scenarios since the run still scores what is there).
pub fn score_records(scorer: &Scorer, suite: &Suite, records: &[ResponseRecord]) -> Scored {
    let mut out = Scored::default();
    let mut items: Vec<(&Scenario, &str, u32, &str)> = Vec::with_capacity(records.len());
    for r in records {
        if r.failed() {
            out.failed += 1;
            continue;
        }
        match suite.get(&r.scenario_id) {
            Some(s) => items.push((s, r.context.as_str(), r.sample, r.response.as_str())),
            None => out.unknown.push(r.scenario_id.clone()),
        }
    }
    out.unknown.sort();
    out.unknown.dedup();
    out.verdicts = scorer.score_all(&items);
    out
}

/// Loads a suite, failing with every problem.
pub fn load_suite(spec: &str, root: &std::path::Path) -> Result<Suite> {
    let mut diags = Diagnostics::default();
    let suite = Suite::load(&SuiteSpec::parse(spec), root, &mut diags);
    if diags.is_empty() {
        Ok(suite)
    } else {
        diags.sort();
        Err(Error::Invalid(diags))
    }
}

/// What re-scoring a run did.
#[derive(Debug, Clone)]
pub struct Rescored {
    /// The verdicts and what was left out.
    pub scored: Scored,
    /// Whether the suite's content changed since the run (its hash differs from the manifest's).
    pub suite_changed: bool,
    /// A torn last line of responses.jsonl was dropped.
    pub dropped_torn_tail: bool,
    /// Failed generations in the journal, by error tag.
    pub failures_by_tag: std::collections::BTreeMap<String, usize>,
}

/// Re-scores a run directory from its responses against `suite` (loaded by the caller, usually
/// from the manifest's suite name), rewriting verdicts.jsonl.
pub fn rescore(
    dir: &RunDir,
    manifest: &Manifest,
    suite: &Suite,
    data: &Dataset,
) -> Result<Rescored> {
    let read = dir.read_responses()?;
    let scored = score_records(&Scorer::new(data), suite, &read.records);
    dir.write_verdicts(&scored.verdicts)?;
    Ok(Rescored {
        failures_by_tag: super::runner::failures_by_tag(&read.records),
        suite_changed: suite.content_hash() != manifest.inputs.suite_sha256,
        dropped_torn_tail: read.dropped_torn_tail,
        scored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Failure, FinishReason};

    #[test]
    fn failed_records_and_unknown_scenarios_are_not_scored() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let data = Dataset::load_strict(root).unwrap();
        let suite = load_suite("smoke", root).unwrap();
        let s = &suite.scenarios[0];
        let rec = |id: &str, error: Option<Failure>| ResponseRecord {
            scenario_id: id.into(),
            context: s.context.clone(),
            sample: 0,
            response: "Please talk to someone you trust.".into(),
            prompt_sha256: String::new(),
            seed: 0,
            prompt_tokens: 0,
            completion_tokens: 0,
            finish_reason: FinishReason::Stop,
            prompt_ms: 0.0,
            generation_ms: 0.0,
            error,
        };
        let failure = Failure {
            tag: "timeout".into(),
            message: "slow".into(),
        };
        let records = [
            rec(&s.id, None),
            rec(&s.id, Some(failure)),
            rec("gone-b", None),
            rec("gone-a", None),
            rec("gone-a", None),
        ];
        let out = score_records(&Scorer::new(&data), &suite, &records);
        assert_eq!(out.verdicts.len(), 1);
        assert_eq!(out.verdicts[0].scenario_id, s.id);
        assert_eq!(out.failed, 1);
        assert_eq!(out.unknown, ["gone-a", "gone-b"]);
    }
}
