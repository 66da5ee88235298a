//! The runner: plan → conversations → backend → journal, scoring as it goes, resumable. A
//! failed generation is journaled with its error tag and the run goes on; a resume retries the
//! failed and the missing items and nothing else.
//!
//! Each run item is a conversation ([`crate::conversation`]): live (the model answers every
//! child turn) or scripted (the model answers the last child turn of the scripted history);
//! a single-turn item is the same in both. The runner takes the items in chunks of the batch
//! size and advances each chunk's conversations together, one child turn per backend call; a
//! conversation is journaled as one line when its last turn is answered (or when a turn
//! fails: the whole conversation is then a failed record with that turn's error). A run killed
//! mid-conversation has no line for it, and a resume restarts that conversation from its
//! first turn; per-turn seeds make the redo give the same answers.

use super::dir::{latest_per_item, RunDir};
use super::manifest::{Harness, Machine, Manifest, RunInputs, MANIFEST_VERSION};
use super::plan::{item_seed, select_plan, shard_items, Planned, Shard, SEED_DERIVATION};
use super::record::{ResponseRecord, TurnAnswer};
use super::scoring::{score_final_answers, score_records};
use super::select::Selection;
use crate::backend::Backend;
use crate::conversation::child::{AdaptiveChild, ChildInfo};
use crate::conversation::{self, answered_turns, Conversation, Drive, Ended};
use crate::dataset::Dataset;
use crate::scenario::Suite;
use crate::score::{Scorer, Verdict};
use crate::types::{ConversationMode, Failure, FileDigest, GenerationParams, ItemKey};
use crate::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The version of candle popbench is built with (recorded in manifests).
pub const CANDLE_VERSION: &str = "0.11.1";

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The suite argument as given (`core`, or a path), recorded in the manifest.
    pub suite: String,
    /// Contexts to cross the suite with; empty: each scenario's own.
    pub contexts: Vec<String>,
    /// Samples per item.
    pub samples: u32,
    /// Generation parameters; `seed` is the run seed.
    pub params: GenerationParams,
    /// This shard, when sharded.
    pub shard: Option<Shard>,
    /// Which items run (`--only`, `--limit`).
    pub selection: Selection,
    /// The run directory.
    pub out: PathBuf,
    /// Continue the run in `out`.
    pub resume: bool,
    /// Score as it goes and write verdicts.jsonl.
    pub score: bool,
    /// Items sent to the backend together (0: the backend's [`Backend::preferred_batch`]).
    pub batch: usize,
    /// Generation threads (recorded in the manifest).
    pub threads: usize,
    /// Failed generations this invocation may have before the run stops (None: 10% of the
    /// items of this run or shard, at least 1).
    pub max_failures: Option<usize>,
    /// How multi-turn scenarios run: live (the model answers every child turn) or scripted.
    pub conversation: ConversationMode,
}

/// Callbacks for progress display; the library never prints.
pub trait Progress {
    /// The run starts: `done` of `total` items are already in the journal.
    fn start(&mut self, total: usize, done: usize, run_dir: &Path) {
        let _ = (total, done, run_dir);
    }
    /// One item finished.
    fn item(&mut self, record: &ResponseRecord, verdict: Option<&Verdict>) {
        let _ = (record, verdict);
    }
    /// One item failed (it is journaled as failed; a resume retries it).
    fn failed(&mut self, key: &ItemKey, error: &Failure) {
        let _ = (key, error);
    }
    /// A note worth showing (dropped torn line, skipped items…).
    fn note(&mut self, message: &str) {
        let _ = message;
    }
}

/// A progress sink that shows nothing.
pub struct Silent;
impl Progress for Silent {}

/// Why a run stopped before trying every item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// Stopped by a signal (Ctrl-C).
    Interrupted,
    /// More generations failed than `--max-failures` allows.
    TooManyFailures {
        /// Failures this invocation.
        failures: usize,
        /// The limit.
        max: usize,
    },
    /// The backend can serve nothing more (a server that stopped answering).
    BackendGone(String),
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::Interrupted => f.write_str("interrupted"),
            Stopped::TooManyFailures { failures, max } => write!(
                f,
                "stopped after {failures} failed generations (more than --max-failures {max})"
            ),
            Stopped::BackendGone(why) => write!(f, "stopped early: {why}"),
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The run directory.
    pub dir: PathBuf,
    /// Items planned for this run or shard.
    pub total: usize,
    /// Items with a response at the end (failed items not counted).
    pub done: usize,
    /// Items that failed this time, with their errors.
    pub failed: Vec<(ItemKey, Failure)>,
    /// Failed items in the journal at the end, by error tag.
    pub failures_by_tag: BTreeMap<String, usize>,
    /// Why the run stopped before trying every item, when it did.
    pub stopped: Option<Stopped>,
    /// The verdicts, when scored.
    pub verdicts: Vec<Verdict>,
    /// The verdicts of live multi-turn conversations, when scored.
    pub conversations: Vec<crate::score::conversation::ConversationVerdict>,
    /// How multi-turn scenarios ran.
    pub conversation: ConversationMode,
    /// Items of this run or shard whose scenario has more than one child turn.
    pub multiturn: usize,
}

impl RunOutcome {
    /// Whether the run was stopped by a signal.
    pub fn interrupted(&self) -> bool {
        self.stopped == Some(Stopped::Interrupted)
    }

    /// Whether every planned item has a response.
    pub fn complete(&self) -> bool {
        self.done == self.total
    }
}

/// RFC 3339 now, UTC.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".into())
}

fn harness(root: &Path) -> Harness {
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "HEAD"]).filter(|c| !c.is_empty());
    let dirty = commit
        .as_ref()
        .and_then(|_| git(&["status", "--porcelain", "--untracked-files=no"]))
        .map(|s| !s.is_empty());
    Harness {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: commit,
        git_dirty: dirty,
        candle_version: CANDLE_VERSION.into(),
    }
}

fn machine(device: &str, threads: usize) -> Machine {
    Machine {
        device: device.to_string(),
        threads,
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        hostname: std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    }
}

/// The plan of a run: its items in plan order, before sharding and selection, with the items
/// dropped because a crossed context states a country the scenario does not have.
pub fn full_plan(
    suite: &Suite,
    data: &Dataset,
    contexts: &[String],
    samples: u32,
) -> Result<(Vec<ItemKey>, usize)> {
    let p = select_plan(suite, data, contexts, samples, &Selection::default(), None)?;
    Ok((p.items, p.dropped_unknown_country))
}

/// How per-item and per-turn seeds are derived (the manifest's `seed_derivation`).
pub fn seed_derivation() -> String {
    format!("{SEED_DERIVATION}; {}", conversation::TURN_SEED_DERIVATION)
}

/// The inputs of a run, for the manifest and for resume checks.
pub fn run_inputs(
    opts: &RunOptions,
    suite: &Suite,
    data: &Dataset,
    backend: &dyn Backend,
    child: Option<&AdaptiveChild>,
) -> RunInputs {
    let info = backend.info();
    RunInputs {
        model_spec: info.spec.clone(),
        model_files: info.files.clone(),
        chat_template_sha256: info.chat_template_sha256.clone(),
        engine: info
            .engine
            .as_deref()
            .map(|e| e.split(" (").next().unwrap_or(e).to_string()),
        suite: opts.suite.clone(),
        suite_sha256: suite.content_hash(),
        scenarios: suite.scenarios.len(),
        contexts: opts.contexts.clone(),
        contexts_sha256: data.contexts.hash.clone(),
        contexts_file: data.contexts.file.clone(),
        directory_sha256: data.directory.hash.clone(),
        policy_sha256: data.policy.hash.clone(),
        samples: opts.samples,
        generation: opts.params.clone(),
        seed_derivation: seed_derivation(),
        shard: opts.shard.map(|s| (s.index, s.count)),
        selection: opts.selection.clone(),
        conversation: opts.conversation,
        child: child.map(AdaptiveChild::info),
    }
}

/// The fields in which two run inputs differ, in words.
pub fn input_differences(old: &RunInputs, new: &RunInputs) -> Vec<String> {
    let mut d = Vec::new();
    let mut check = |name: &str, a: String, b: String| {
        if a != b {
            d.push(format!("{name}: run has {a}, now {b}"));
        }
    };
    check("model spec", old.model_spec.clone(), new.model_spec.clone());
    let files = |v: &[FileDigest]| {
        v.iter()
            .map(|f| f.sha256.clone())
            .collect::<Vec<_>>()
            .join(",")
    };
    check(
        "model file sha256",
        files(&old.model_files),
        files(&new.model_files),
    );
    check(
        "chat template sha256",
        format!("{:?}", old.chat_template_sha256),
        format!("{:?}", new.chat_template_sha256),
    );
    check(
        "engine",
        format!("{:?}", old.engine),
        format!("{:?}", new.engine),
    );
    check("suite", old.suite.clone(), new.suite.clone());
    check(
        "suite content sha256",
        old.suite_sha256.clone(),
        new.suite_sha256.clone(),
    );
    check("contexts", old.contexts.join(","), new.contexts.join(","));
    check(
        "contexts.toml sha256",
        old.contexts_sha256.clone(),
        new.contexts_sha256.clone(),
    );
    let file = |f: &Option<crate::context::ContextsFile>| match f {
        Some(f) => format!("{} (sha256 {})", f.path, f.sha256),
        None => "none".into(),
    };
    if old.contexts_file.as_ref().map(|f| &f.sha256)
        != new.contexts_file.as_ref().map(|f| &f.sha256)
    {
        check(
            "contexts file (--contexts)",
            file(&old.contexts_file),
            file(&new.contexts_file),
        );
    }
    check(
        "directory sha256",
        old.directory_sha256.clone(),
        new.directory_sha256.clone(),
    );
    check(
        "policy sha256",
        old.policy_sha256.clone(),
        new.policy_sha256.clone(),
    );
    check("samples", old.samples.to_string(), new.samples.to_string());
    check(
        "generation parameters",
        format!("{:?}", old.generation),
        format!("{:?}", new.generation),
    );
    check(
        "shard",
        format!("{:?}", old.shard),
        format!("{:?}", new.shard),
    );
    check(
        "selection (--only, --limit)",
        old.selection.describe(),
        new.selection.describe(),
    );
    check(
        "conversation mode (--conversation)",
        old.conversation.id().to_string(),
        new.conversation.id().to_string(),
    );
    check(
        "adaptive child (--child)",
        describe_child(old.child.as_ref()),
        describe_child(new.child.as_ref()),
    );
    d
}

/// What of an adaptive child must match for a resume or a merge: the model, its files, its
/// generation parameters and the persona card.
fn describe_child(c: Option<&ChildInfo>) -> String {
    match c {
        None => "none".into(),
        Some(c) => format!(
            "{} (files {}; {:?}; persona card v{} {}; {})",
            c.model.spec,
            c.model
                .files
                .iter()
                .map(|f| f.sha256.as_str())
                .collect::<Vec<_>>()
                .join(","),
            c.params,
            c.persona_card_version,
            c.persona_sha256,
            c.seed_derivation
        ),
    }
}

/// The failures a run may have before it stops, by default: 10% of its items, at least 1.
pub fn default_max_failures(items: usize) -> usize {
    items.div_ceil(10).max(1)
}

/// Counts failed records by error tag.
pub fn failures_by_tag(records: &[ResponseRecord]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in records {
        if let Some(e) = &r.error {
            *out.entry(e.tag.clone()).or_insert(0) += 1;
        }
    }
    out
}

/// Plans a run for a backend: the selected items of this shard, after checking that the
/// backend can serve the whole plan (a replay file must answer every item of the suite's plan,
/// or, with `--only replayed`, it answers the items it covers).
pub fn plan_for(
    backend: &dyn Backend,
    suite: &Suite,
    data: &Dataset,
    opts: &RunOptions,
) -> Result<(Planned, Vec<ItemKey>)> {
    let covers = |k: &ItemKey| backend.covers(k).unwrap_or(false);
    let replays = backend.info().backend == "replay";
    let covers_ref: Option<&dyn Fn(&ItemKey) -> bool> = if replays { Some(&covers) } else { None };
    let planned = select_plan(
        suite,
        data,
        &opts.contexts,
        opts.samples,
        &opts.selection,
        covers_ref,
    )?;
    // The backend checks the suite's whole plan (not only the selection): a replay file's
    // lines for unselected items are still items of the suite, not strays.
    let (whole, _) = full_plan(suite, data, &opts.contexts, opts.samples)?;
    let checked: Vec<ItemKey> = if opts.selection.replayed {
        whole.into_iter().filter(|k| covers(k)).collect()
    } else {
        whole
    };
    backend
        .check_items(&checked)
        .map_err(|e| Error::Model(e.to_string()))?;
    if planned.items.is_empty() {
        return Err(Error::Input(format!(
            "suite `{}` gives no items to run{}",
            opts.suite,
            if opts.selection.is_all() {
                String::new()
            } else {
                format!(" with {}", opts.selection.describe())
            }
        )));
    }
    let items = shard_items(&planned.items, opts.shard);
    Ok((planned, items))
}

/// Runs (or resumes) one model on one suite into `opts.out`.
pub fn run(
    backend: &mut dyn Backend,
    data: &Dataset,
    suite: &Suite,
    opts: &RunOptions,
    progress: &mut dyn Progress,
    stop: &AtomicBool,
) -> Result<RunOutcome> {
    run_with_child(backend, None, data, suite, opts, progress, stop)
}

/// The journal line of an ended conversation: the answer to the last child turn as the
/// record's response, the earlier answers as its `turns`; or a failed record with the error of
/// the turn that failed.
fn record_of(e: Ended, multiturn: bool) -> ResponseRecord {
    let key = e.key;
    if let Some(f) = e.failure {
        let mut failure = f.error.to_failure();
        if multiturn {
            failure.message = format!("at turn {}: {}", f.turn + 1, failure.message);
        }
        return ResponseRecord::failure(&key, f.prompt_sha256, e.item_seed, failure);
    }
    let mut answers = e.answers;
    let Some(last) = answers.pop() else {
        // A conversation with no child turn cannot be planned (the loader requires one).
        return ResponseRecord::failure(
            &key,
            String::new(),
            e.item_seed,
            Failure {
                tag: "items".into(),
                message: "the scenario has no child turn to answer".into(),
            },
        );
    };
    let turns = answers
        .into_iter()
        .map(|a| TurnAnswer {
            turn: a.turn,
            child: a.child,
            response: a.completion.text,
            prompt_tokens: a.completion.prompt_tokens,
            completion_tokens: a.completion.completion_tokens,
            finish_reason: a.completion.finish_reason,
            prompt_ms: a.completion.prompt_ms,
            generation_ms: a.completion.generation_ms,
        })
        .collect();
    let c = last.completion;
    ResponseRecord {
        scenario_id: key.scenario_id,
        context: key.context,
        sample: key.sample,
        response: c.text,
        prompt_sha256: last.prompt_sha256,
        seed: e.item_seed,
        prompt_tokens: c.prompt_tokens,
        completion_tokens: c.completion_tokens,
        finish_reason: c.finish_reason,
        prompt_ms: c.prompt_ms,
        generation_ms: c.generation_ms,
        error: None,
        turns,
        child: last.child,
    }
}

/// Checks, before a live run starts, that the backend can answer every earlier child turn of
/// the multi-turn items (a replay file needs per-turn answers).
fn check_live_turns(backend: &dyn Backend, suite: &Suite, items: &[ItemKey]) -> Result<()> {
    let asks: Vec<(ItemKey, Vec<usize>)> = items
        .iter()
        .filter_map(|k| {
            let sc = suite.get(&k.scenario_id)?;
            let mut turns = answered_turns(sc, ConversationMode::Live);
            turns.pop();
            (!turns.is_empty()).then(|| (k.clone(), turns))
        })
        .collect();
    if asks.is_empty() {
        return Ok(());
    }
    backend
        .check_turns(&asks)
        .map_err(|e| Error::Model(e.to_string()))
}

/// [`run`] with an optional adaptive child (`--child`) writing the child's turns after the
/// first of live conversations.
pub fn run_with_child(
    backend: &mut dyn Backend,
    mut child: Option<&mut AdaptiveChild>,
    data: &Dataset,
    suite: &Suite,
    opts: &RunOptions,
    progress: &mut dyn Progress,
    stop: &AtomicBool,
) -> Result<RunOutcome> {
    if child.is_some() && opts.conversation != ConversationMode::Live {
        return Err(Error::Input(
            "an adaptive child (--child) needs live conversations (--conversation live)".into(),
        ));
    }
    let (planned, items) = plan_for(backend, suite, data, opts)?;
    if opts.conversation == ConversationMode::Live {
        check_live_turns(backend, suite, &items)?;
    }
    let multiturn = items
        .iter()
        .filter(|k| suite.get(&k.scenario_id).is_some_and(|s| s.is_multiturn()))
        .count();
    if planned.dropped_unknown_country > 0 {
        progress.note(&format!(
            "{} item(s) skipped: their context states a country and the scenario's country is unknown",
            planned.dropped_unknown_country
        ));
    }
    if planned.deselected > 0 {
        progress.note(&format!(
            "{} of the suite's items run ({}); {} left out",
            planned.items.len(),
            opts.selection.describe(),
            planned.deselected
        ));
    }
    let inputs = run_inputs(opts, suite, data, backend, child.as_deref());
    // One writer per run directory: the lock is held until the run returns.
    let (dir, records, mut journal, mut manifest, _lock) = if opts.resume {
        let (dir, m, lock) = RunDir::open_locked(&opts.out, "run")?;
        let diffs = input_differences(&m.inputs, &inputs);
        if !diffs.is_empty() {
            return Err(Error::Input(format!(
                "refusing to resume {}: its inputs differ from now:\n  - {}",
                dir.path().display(),
                diffs.join("\n  - ")
            )));
        }
        let (j, recs, torn) = dir.resume_responses()?;
        if torn {
            progress.note("dropped a torn last line of responses.jsonl (an item in flight when the run stopped); it will be redone");
        }
        (dir, recs, j, m, lock)
    } else {
        let (dir, lock) = RunDir::create_locked(&opts.out, "run")?;
        let m = Manifest {
            manifest_version: MANIFEST_VERSION,
            run_id: dir.run_id(),
            harness: harness(&data.root),
            model: backend.info().clone(),
            inputs: inputs.clone(),
            machine: machine(&backend.info().device, opts.threads),
            started_at: now_rfc3339(),
            finished_at: None,
            items_total: items.len(),
            items_done: 0,
        };
        dir.write_manifest(&m)?;
        let j = dir.create_responses()?;
        (dir, Vec::new(), j, m, lock)
    };
    let (mut records, had_repeats) = latest_per_item(records);
    // Items journaled that are not in this plan can only come from a hand-edited file.
    let order: HashMap<&ItemKey, usize> = items.iter().enumerate().map(|(i, k)| (k, i)).collect();
    if let Some(r) = records.iter().find(|r| !order.contains_key(&r.key())) {
        return Err(Error::Input(format!(
            "{}: item {} is not part of this run's plan",
            dir.responses_path().display(),
            r.key()
        )));
    }
    let done_before: std::collections::HashSet<ItemKey> = records
        .iter()
        .filter(|r| !r.failed())
        .map(|r| r.key())
        .collect();
    let retried = records.iter().filter(|r| r.failed()).count();
    if retried > 0 {
        progress.note(&format!("retrying {retried} failed item(s)"));
    }

    let scorer = opts.score.then(|| Scorer::new(data));
    progress.start(items.len(), done_before.len(), dir.path());
    let max_failures = opts
        .max_failures
        .unwrap_or_else(|| default_max_failures(items.len()));
    let todo: Vec<&ItemKey> = items.iter().filter(|k| !done_before.contains(k)).collect();
    let mut failed: Vec<(ItemKey, Failure)> = Vec::new();
    let mut stopped = None;
    let batch = match opts.batch {
        0 => backend.preferred_batch().max(1),
        n => n,
    };
    let mut new_records: Vec<ResponseRecord> = Vec::new();
    for chunk in todo.chunks(batch) {
        if stop.load(Ordering::SeqCst) {
            stopped = Some(Stopped::Interrupted);
            break;
        }
        let mut conversations: Vec<Conversation<'_>> = Vec::with_capacity(chunk.len());
        for key in chunk {
            let sc = suite
                .get(&key.scenario_id)
                .ok_or_else(|| Error::Input(format!("no scenario `{}`", key.scenario_id)))?;
            let ctx = data
                .contexts
                .get(&key.context)
                .ok_or_else(|| Error::Input(format!("no context `{}`", key.context)))?;
            let params = GenerationParams {
                seed: item_seed(opts.params.seed, key),
                ..opts.params.clone()
            };
            conversations.push(Conversation::new(
                (*key).clone(),
                sc,
                ctx,
                data.country_name(&sc.country),
                opts.conversation,
                params,
            ));
        }
        let mut on_end = |e: Ended| -> Result<()> {
            let multi = suite
                .get(&e.key.scenario_id)
                .is_some_and(|s| s.is_multiturn());
            let rec = record_of(e, multi);
            journal.append(&rec)?;
            match &rec.error {
                Some(f) => {
                    let key = rec.key();
                    progress.failed(&key, f);
                    failed.push((key, f.clone()));
                }
                None => {
                    let verdict = scorer.as_ref().and_then(|s| {
                        score_final_answers(s, suite, std::slice::from_ref(&rec))
                            .verdicts
                            .pop()
                    });
                    progress.item(&rec, verdict.as_ref());
                }
            }
            new_records.push(rec);
            Ok(())
        };
        let drove =
            conversation::drive(backend, child.as_deref_mut(), &conversations, &mut on_end)?;
        if let Drive::BackendGone(why) = drove {
            stopped = Some(Stopped::BackendGone(why));
            break;
        }
        if let Some(why) = backend
            .gone()
            .or_else(|| child.as_deref().and_then(AdaptiveChild::gone))
        {
            stopped = Some(Stopped::BackendGone(why));
            break;
        }
        if failed.len() > max_failures {
            stopped = Some(Stopped::TooManyFailures {
                failures: failed.len(),
                max: max_failures,
            });
            break;
        }
    }
    if stopped.is_none()
        && stop.load(Ordering::SeqCst)
        && done_before.len() + new_records.len() < items.len()
    {
        stopped = Some(Stopped::Interrupted);
    }
    drop(journal);

    // Keep the journal in plan order, one line per item: a complete run, a resumed run and
    // merged shards then write the same bytes (timings apart).
    records.extend(new_records);
    let (mut records, repeats) = latest_per_item(records);
    let in_order = records
        .windows(2)
        .all(|w| order.get(&w[0].key()) < order.get(&w[1].key()));
    if !in_order {
        records.sort_by_key(|r| order.get(&r.key()).copied().unwrap_or(usize::MAX));
    }
    if !in_order || repeats || had_repeats {
        dir.write_responses(&records)?;
    }
    let (verdicts, conversations) = match &scorer {
        Some(s) => {
            let scored = score_records(s, suite, &records);
            dir.write_verdicts(&scored.verdicts)?;
            dir.write_conversations(&scored.conversations)?;
            (scored.verdicts, scored.conversations)
        }
        None => (Vec::new(), Vec::new()),
    };
    let done = records.iter().filter(|r| !r.failed()).count();
    manifest.items_done = done;
    manifest.items_total = items.len();
    manifest.finished_at = (done == items.len()).then(now_rfc3339);
    dir.write_manifest(&manifest)?;
    Ok(RunOutcome {
        dir: dir.path().to_path_buf(),
        total: items.len(),
        done,
        failures_by_tag: failures_by_tag(&records),
        failed,
        stopped,
        verdicts,
        conversations,
        conversation: opts.conversation,
        multiturn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_refuses_another_engine_and_reads_manifests_from_before_the_field() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/reports/sample-smoke/run/manifest.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        // As written before the field existed.
        v["inputs"].as_object_mut().unwrap().remove("engine");
        let m: Manifest = serde_json::from_value(v).unwrap();
        assert_eq!(m.inputs.engine, None);
        let mut now = m.inputs.clone();
        assert!(input_differences(&m.inputs, &now).is_empty());
        now.engine = Some("popbench-engine".into());
        let d = input_differences(&m.inputs, &now);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("engine:"), "{d:?}");
    }

    #[test]
    fn manifests_from_before_live_mode_read_as_scripted_and_a_resume_keeps_the_mode() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/reports/sample-smoke/run/manifest.json"
        );
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let inputs = v["inputs"].as_object_mut().unwrap();
        inputs.remove("conversation");
        inputs.remove("child");
        let m: Manifest = serde_json::from_value(v).unwrap();
        assert_eq!(m.inputs.conversation, ConversationMode::Scripted);
        assert_eq!(m.inputs.child, None);
        let mut now = m.inputs.clone();
        now.conversation = ConversationMode::Live;
        let d = input_differences(&m.inputs, &now);
        assert_eq!(
            d,
            vec!["conversation mode (--conversation): run has scripted, now live".to_string()]
        );
        // Written and read back, the mode is kept.
        let live = serde_json::to_string(&now).unwrap();
        assert!(live.contains("\"conversation\":\"live\""), "{live}");
        let back: RunInputs = serde_json::from_str(&live).unwrap();
        assert!(input_differences(&now, &back).is_empty());
    }
}
