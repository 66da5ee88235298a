//! Judging a run directory: every scored response of the run is graded by the judge and
//! journaled in `judgements.jsonl` (one whole, synced line per item, so a killed judge loses
//! at most the batch in flight); then verdicts.jsonl is rewritten with both layers.
//!
//! Running it again continues where it stopped: items already judged (with the same
//! response) are kept, judge errors are judged again. A changed judge, rubric or judge
//! parameters is refused (or, with `replace`, the old judgements are discarded).

use super::model::ModelJudge;
use super::prompt::JudgeParams;
use super::record::{is_self_judge, JudgeHeader, JudgementLine, JudgementRecord, FILE, FORMAT};
use super::rubric::Rubric;
use crate::backend::Backend;
use crate::dataset::Dataset;
use crate::hash::sha256_hex;
use crate::prompt::{build_chat, build_live_chat, Exchange};
use crate::run::runner::now_rfc3339;
use crate::run::scoring::{load_suite, score_records};
use crate::run::{Manifest, ResponseRecord, RunDir};
use crate::scenario::Suite;
use crate::score::judge::{apply, Judge, JudgeItem};
use crate::score::{Scorer, Verdict};
use crate::types::{ChatMessage, ItemKey};
use crate::{Error, Result};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// How to judge a run.
#[derive(Debug, Clone, Default)]
pub struct JudgeRunOptions {
    /// How the judge model is asked.
    pub params: JudgeParams,
    /// Items sent to the judge together (0: the backend's preferred batch).
    pub batch: usize,
    /// Discard judgements made with another judge, rubric or parameters instead of refusing.
    pub replace: bool,
}

/// Progress callbacks; the library never prints.
pub trait JudgeProgress {
    /// Judging starts: `done` of `total` items already have a judgement.
    fn start(&mut self, total: usize, done: usize) {
        let _ = (total, done);
    }
    /// One item was judged and journaled.
    fn item(&mut self, record: &JudgementRecord) {
        let _ = record;
    }
    /// A note worth showing.
    fn note(&mut self, message: &str) {
        let _ = message;
    }
}

/// A progress sink that shows nothing.
pub struct Quiet;
impl JudgeProgress for Quiet {}

/// What judging a run did.
#[derive(Debug, Clone)]
pub struct JudgeRunOutcome {
    /// Responses that can be judged.
    pub total: usize,
    /// Items judged by this call.
    pub judged_now: usize,
    /// Items whose latest judgement is (partly) a judge error.
    pub errors: usize,
    /// Whether a stop was requested before every item was judged.
    pub interrupted: bool,
    /// Whether the judge is the model under test.
    pub self_preference: bool,
    /// The verdicts with both layers (as written to verdicts.jsonl).
    pub verdicts: Vec<Verdict>,
}

/// sha256 of a response text.
pub fn response_sha256(response: &str) -> String {
    sha256_hex(response.as_bytes())
}

/// The header for judging a run with a backend.
pub fn header(
    backend: &dyn Backend,
    rubric: &Rubric,
    params: &JudgeParams,
    m: &Manifest,
) -> JudgeHeader {
    let judge = backend.info().clone();
    let self_preference = is_self_judge(&judge, &m.inputs.model_spec, &m.inputs.model_files);
    JudgeHeader {
        format: FORMAT,
        judge,
        rubric_sha256: rubric.hash.clone(),
        params: params.clone(),
        model_under_test: m.inputs.model_spec.clone(),
        self_preference,
        started_at: now_rfc3339(),
    }
}

/// Reads a run's judgements: the header and the latest record per item (none when the run
/// was never judged).
pub fn read_judgements(
    dir: &RunDir,
) -> Result<Option<(JudgeHeader, HashMap<ItemKey, JudgementRecord>)>> {
    let read = dir.read_journal::<JudgementLine>(FILE)?;
    split(read.records, dir)
}

fn split(
    lines: Vec<JudgementLine>,
    dir: &RunDir,
) -> Result<Option<(JudgeHeader, HashMap<ItemKey, JudgementRecord>)>> {
    let mut it = lines.into_iter();
    let header = match it.next() {
        None => return Ok(None),
        Some(JudgementLine::Header(h)) => h,
        Some(JudgementLine::Item(_)) => {
            return Err(Error::Input(format!(
                "{}:1: judgements.jsonl must start with its header line",
                dir.path().join("judgements.jsonl").display()
            )))
        }
    };
    let mut latest = HashMap::new();
    for (i, l) in it.enumerate() {
        match l {
            JudgementLine::Item(r) => {
                latest.insert(r.key(), r);
            }
            JudgementLine::Header(_) => {
                return Err(Error::Input(format!(
                    "{}:{}: a second header line",
                    dir.path().join("judgements.jsonl").display(),
                    i + 2
                )))
            }
        }
    }
    Ok(Some((header, latest)))
}

/// The responses of a run that can be judged (not failed, scenario in the suite), latest
/// per item, in journal order.
fn judgeable(dir: &RunDir, suite: &Suite) -> Result<Vec<ResponseRecord>> {
    // One record per item (the last line of an item wins).
    let read = dir.read_responses()?;
    Ok(read
        .records
        .into_iter()
        .filter(|r| !r.failed() && suite.get(&r.scenario_id).is_some())
        .collect())
}

/// The chat a response answered (system prompt included), for the judge to see.
fn conversation(data: &Dataset, suite: &Suite, r: &ResponseRecord) -> Option<Vec<ChatMessage>> {
    let sc = suite.get(&r.scenario_id)?;
    let ctx = data.contexts.get(&r.context)?;
    let country = data.country_name(&sc.country);
    if r.turns.is_empty() {
        return Some(build_chat(sc, ctx, &country));
    }
    // A live conversation: the judge sees what the model saw, its own earlier answers (and an
    // adaptive child's words) instead of the scenario's scripted assistant turns.
    let earlier: Vec<Exchange<'_>> = r
        .turns
        .iter()
        .map(|t| Exchange {
            child: t.child.as_deref(),
            answer: &t.response,
        })
        .collect();
    Some(build_live_chat(
        sc,
        ctx,
        &country,
        sc.turns.len().saturating_sub(1),
        &earlier,
        r.child.as_deref(),
    ))
}

/// Judges a run directory with a backend, journaling each judgement, then rewrites the
/// verdicts with both layers.
pub fn judge_run(
    dir: &Path,
    data: &Dataset,
    rubric: &Rubric,
    backend: &mut dyn Backend,
    opts: &JudgeRunOptions,
    progress: &mut dyn JudgeProgress,
    stop: &AtomicBool,
) -> Result<JudgeRunOutcome> {
    // One writer per run directory: the lock is held until the verdicts are written.
    let (run, manifest, _lock) = RunDir::open_locked(dir, "judge")?;
    let data = &*data.for_run(manifest.inputs.contexts_file.as_ref())?;
    let suite = load_suite(&manifest.inputs.suite, &data.root)?;
    let responses = judgeable(&run, &suite)?;
    let now = header(backend, rubric, &opts.params, &manifest);
    let path = run.file(FILE)?;

    let existing = read_judgements(&run)?;
    let mut done: HashMap<ItemKey, JudgementRecord> = HashMap::new();
    let mut header_kept = now.clone();
    match existing {
        Some((old, latest)) => {
            let diffs = old.differences(&now);
            if diffs.is_empty() {
                header_kept = old;
                done = latest;
            } else if opts.replace {
                progress.note(&format!(
                    "discarding {} judgement(s) made with another judge setup",
                    latest.len()
                ));
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            } else {
                return Err(Error::Input(format!(
                    "refusing to continue the judgements of {}: they were made differently:\n  - {}\n(use --replace to discard them)",
                    dir.display(),
                    diffs.join("\n  - ")
                )));
            }
        }
        None => {
            // An empty or torn-only file: start it again.
            if path.exists() {
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
    }
    let (mut journal, lines, torn) = run.journal::<JudgementLine>(FILE)?;
    if torn {
        progress.note("dropped a torn last line of judgements.jsonl (an item in flight when judging stopped); it will be judged again");
    }
    if lines.is_empty() {
        journal.append(&JudgementLine::Header(header_kept.clone()))?;
    }
    let self_preference = header_kept.self_preference;
    if self_preference {
        progress.note("the judge is the model under test: its grades may favour its own answers (self-preference)");
    }

    let is_done = |r: &ResponseRecord, done: &HashMap<ItemKey, JudgementRecord>| {
        done.get(&r.key()).is_some_and(|j| {
            j.judgement.error.is_none() && j.response_sha256 == response_sha256(&r.response)
        })
    };
    let todo: Vec<&ResponseRecord> = responses.iter().filter(|r| !is_done(r, &done)).collect();
    progress.start(responses.len(), responses.len() - todo.len());

    let mut judge = ModelJudge::new(backend, rubric, opts.params.clone(), opts.batch);
    let batch = judge.batch();
    let mut judged_now = 0usize;
    let mut interrupted = false;
    for chunk in todo.chunks(batch) {
        if stop.load(Ordering::SeqCst) {
            interrupted = true;
            break;
        }
        if let Some(why) = judge.gone() {
            progress.note(&format!(
                "the judge stopped answering ({why}); run again to judge the rest"
            ));
            interrupted = true;
            break;
        }
        let keys: Vec<ItemKey> = chunk.iter().map(|r| r.key()).collect();
        let convs: Vec<Vec<ChatMessage>> = chunk
            .iter()
            .map(|r| conversation(data, &suite, r).unwrap_or_default())
            .collect();
        let items: Vec<JudgeItem<'_>> = chunk
            .iter()
            .zip(&keys)
            .zip(&convs)
            .filter_map(|((r, k), c)| {
                let sc = suite.get(&r.scenario_id)?;
                Some(JudgeItem {
                    key: k,
                    conversation: c,
                    response: &r.response,
                    harm: sc.harm,
                    risk: sc.risk,
                    age: sc.age,
                    country: &sc.country,
                    language: &sc.language,
                })
            })
            .collect();
        let judgements = judge.judge(&items);
        for (item, j) in items.iter().zip(judgements) {
            let rec = JudgementRecord {
                scenario_id: item.key.scenario_id.clone(),
                context: item.key.context.clone(),
                sample: item.key.sample,
                response_sha256: response_sha256(item.response),
                judgement: j,
            };
            journal.append(&JudgementLine::Item(rec.clone()))?;
            progress.item(&rec);
            done.insert(rec.key(), rec);
            judged_now += 1;
        }
    }
    if !interrupted && stop.load(Ordering::SeqCst) && judged_now < todo.len() {
        interrupted = true;
    }
    drop(journal);
    let errors = responses
        .iter()
        .filter(|r| {
            done.get(&r.key())
                .is_some_and(|j| j.judgement.error.is_some())
        })
        .count();
    let verdicts = combine(&run, &suite, data, rubric, &responses, &done)?;
    Ok(JudgeRunOutcome {
        total: responses.len(),
        judged_now,
        errors,
        interrupted,
        self_preference,
        verdicts,
    })
}

/// Rule verdicts of the responses with the judgements folded in; writes verdicts.jsonl.
fn combine(
    run: &RunDir,
    suite: &Suite,
    data: &Dataset,
    rubric: &Rubric,
    responses: &[ResponseRecord],
    judged: &HashMap<ItemKey, JudgementRecord>,
) -> Result<Vec<Verdict>> {
    let mut verdicts = score_records(&Scorer::new(data), suite, responses).verdicts;
    fold(&mut verdicts, rubric, responses, judged);
    run.write_verdicts(&verdicts)?;
    Ok(verdicts)
}

fn fold(
    verdicts: &mut [Verdict],
    rubric: &Rubric,
    responses: &[ResponseRecord],
    judged: &HashMap<ItemKey, JudgementRecord>,
) -> usize {
    let meta = rubric.meta();
    let sha: HashMap<ItemKey, String> = responses
        .iter()
        .map(|r| (r.key(), response_sha256(&r.response)))
        .collect();
    let mut n = 0;
    for v in verdicts.iter_mut() {
        let key = ItemKey {
            scenario_id: v.scenario_id.clone(),
            context: v.context.clone(),
            sample: v.sample,
        };
        if let Some(j) = judged.get(&key) {
            if sha.get(&key) == Some(&j.response_sha256) {
                apply(v, &j.judgement, &meta);
                n += 1;
            }
        }
    }
    n
}

/// Folds a run's judgements (when it has any) into freshly scored rule verdicts, for
/// re-scoring (`popbench score`): returns how many verdicts got a judgement, and whether the
/// rubric changed since the run was judged.
pub fn apply_to_verdicts(
    dir: &RunDir,
    rubric: &Rubric,
    verdicts: &mut [Verdict],
) -> Result<(usize, bool)> {
    let Some((header, judged)) = read_judgements(dir)? else {
        return Ok((0, false));
    };
    let read = dir.read_responses()?;
    let n = fold(verdicts, rubric, &read.records, &judged);
    Ok((n, header.rubric_sha256 != rubric.hash))
}
