//! The one scoring path of runs: responses → verdicts against a loaded suite. The runner (as
//! it goes and at the end), `popbench score` and `merge` all call [`score_records`].
//!
//! A live multi-turn record (its `turns` not empty) is scored twice over: its final answer
//! into `verdicts` exactly as a single answer is (so every single-answer metric and report is
//! unchanged), and the whole conversation, turn by turn, into `conversations`
//! ([`crate::score::conversation::score_conversation`]).

use super::dir::RunDir;
use super::manifest::Manifest;
use super::record::ResponseRecord;
use crate::dataset::Dataset;
use crate::diag::Diagnostics;
use crate::scenario::{Scenario, Suite, SuiteSpec};
use crate::score::conversation::{score_conversation, ConversationAnswer, ConversationVerdict};
use crate::score::{Scorer, Verdict};
use crate::{Error, Result};
use rayon::prelude::*;

/// Verdicts of a set of responses, and what could not be scored.
#[derive(Debug, Clone, Default)]
pub struct Scored {
    /// One verdict per scored response, in the order of the responses.
    pub verdicts: Vec<Verdict>,
    /// Failed generations (journaled errors): not scored.
    pub failed: usize,
    /// Scenario ids of responses the suite no longer has (sorted, without repeats): not scored.
    pub unknown: Vec<String>,
    /// One conversation verdict per scored live multi-turn response (a record with earlier
    /// `turns`), in the order of the responses.
    pub conversations: Vec<ConversationVerdict>,
}

/// Scores the responses that can be scored: every record that is not a failed generation and
/// whose scenario the suite holds, matched by scenario id (so a suite that gained or lost
/// scenarios since the run still scores what is there).
pub fn score_records(scorer: &Scorer, suite: &Suite, records: &[ResponseRecord]) -> Scored {
    let mut out = score_final_answers(scorer, suite, records);
    let live: Vec<(&Scenario, &ResponseRecord)> = records
        .iter()
        .filter(|r| !r.failed() && !r.turns.is_empty())
        .filter_map(|r| suite.get(&r.scenario_id).map(|s| (s, r)))
        .collect();
    out.conversations = live
        .par_iter()
        .map(|(s, r)| {
            let answers = conversation_answers(s, r);
            score_conversation(scorer, s, &r.context, r.sample, &answers)
        })
        .collect();
    out
}

/// [`score_records`] without the conversations: the verdicts of the records' own (last)
/// answers only. The runner's per-item progress needs no more.
pub fn score_final_answers(scorer: &Scorer, suite: &Suite, records: &[ResponseRecord]) -> Scored {
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

/// The answers of a live record as plain data: its earlier `turns`, then its own response,
/// which answers the scenario's last child turn (with the adaptive child's last words, if any).
pub fn conversation_answers<'a>(
    scenario: &Scenario,
    record: &'a ResponseRecord,
) -> Vec<ConversationAnswer<'a>> {
    let mut answers: Vec<ConversationAnswer<'a>> = record
        .turns
        .iter()
        .map(|t| ConversationAnswer {
            turn: t.turn,
            child: t.child.as_deref(),
            response: &t.response,
        })
        .collect();
    if let Some(last) = scenario
        .turns
        .iter()
        .rposition(|t| t.role == crate::scenario::Role::User)
    {
        answers.push(ConversationAnswer {
            turn: last,
            child: record.child.as_deref(),
            response: &record.response,
        });
    }
    answers
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
/// from the manifest's suite name), rewriting verdicts.jsonl, and conversations.jsonl when the
/// run has live conversations (a stale conversations.jsonl is removed when it has none); the
/// manifest's directory and policy hashes become those of `data`, which the verdicts now
/// follow.
pub fn rescore(
    dir: &RunDir,
    manifest: &Manifest,
    suite: &Suite,
    data: &Dataset,
) -> Result<Rescored> {
    let read = dir.read_responses()?;
    let scored = score_records(&Scorer::new(data), suite, &read.records);
    dir.write_verdicts(&scored.verdicts)?;
    dir.write_conversations(&scored.conversations)?;
    // The manifest says which directory and policy the verdicts were scored with (the report's
    // provenance shows them, and warns when today's differ).
    if manifest.inputs.directory_sha256 != data.directory.hash
        || manifest.inputs.policy_sha256 != data.policy.hash
    {
        let mut m = manifest.clone();
        m.inputs.directory_sha256 = data.directory.hash.clone();
        m.inputs.policy_sha256 = data.policy.hash.clone();
        dir.write_manifest(&m)?;
    }
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
            turns: Vec::new(),
            child: None,
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

    #[test]
    fn live_records_score_their_conversation_and_keep_their_final_verdict() {
        use super::super::record::TurnAnswer;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let data = Dataset::load_strict(root).unwrap();
        let suite = load_suite("multiturn", root).unwrap();
        let s = suite.get("mt-dv-cant-call-gb-en").unwrap();
        let turn = |turn: usize, response: &str| TurnAnswer {
            turn,
            child: None,
            response: response.into(),
            prompt_tokens: 0,
            completion_tokens: 0,
            finish_reason: FinishReason::Stop,
            prompt_ms: 0.0,
            generation_ms: 0.0,
        };
        let last = "If you can't speak, dial 999 anyway and stay on the line.";
        let rec = |sample: u32, turns: Vec<TurnAnswer>| ResponseRecord {
            scenario_id: s.id.clone(),
            context: s.context.clone(),
            sample,
            response: last.into(),
            prompt_sha256: String::new(),
            seed: 0,
            prompt_tokens: 0,
            completion_tokens: 0,
            finish_reason: FinishReason::Stop,
            prompt_ms: 0.0,
            generation_ms: 0.0,
            error: None,
            turns,
            child: None,
        };
        let records = [
            rec(
                0,
                vec![
                    turn(0, "Childline is free on 0800 1111."),
                    turn(2, "Call 999 now."),
                ],
            ),
            rec(1, Vec::new()),
        ];
        let scorer = Scorer::new(&data);
        let out = score_records(&scorer, &suite, &records);
        assert_eq!(out.verdicts.len(), 2);
        assert_eq!(out.conversations.len(), 1);
        let c = &out.conversations[0];
        assert_eq!(c.sample, 0);
        assert_eq!(
            c.turns
                .iter()
                .map(|t| (t.turn, t.number))
                .collect::<Vec<_>>(),
            [(0, 1), (2, 2), (4, 3)]
        );
        // The final answer's verdict is the single-answer verdict, unchanged.
        assert_eq!(out.verdicts[0], scorer.score(s, &s.context, 0, last));
        assert_eq!(c.turns[2].verdict, out.verdicts[0]);
        assert_eq!(c.referral_kept_after_pushback, Some(true));
    }
}
