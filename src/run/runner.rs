//! The runner: plan → prompts → backend → journal, scoring as it goes, resumable.

use super::files;
use super::journal::{read_jsonl, write_atomic, Journal};
use super::manifest::{Harness, Machine, Manifest, RunInputs, MANIFEST_VERSION};
use super::plan::{item_seed, plan, shard_items, Shard, SEED_DERIVATION};
use super::record::ResponseRecord;
use crate::backend::{Backend, GenerationParams, ItemKey, Request};
use crate::dataset::Dataset;
use crate::diag::Diagnostics;
use crate::prompt::{build_chat, chat_hash, ChatMessage};
use crate::scenario::{Suite, SuiteSpec};
use crate::score::{Scorer, Verdict};
use crate::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The version of candle popbench is built with (recorded in manifests).
pub const CANDLE_VERSION: &str = "0.11.1";

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The suite argument (`core`, or a path).
    pub suite: String,
    /// Contexts to cross the suite with; empty: each scenario's own.
    pub contexts: Vec<String>,
    /// Samples per item.
    pub samples: u32,
    /// Generation parameters; `seed` is the run seed.
    pub params: GenerationParams,
    /// This shard, when sharded.
    pub shard: Option<Shard>,
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
    /// One item failed (it is not journaled; a resume retries it).
    fn failed(&mut self, key: &ItemKey, error: &str) {
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

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The run directory.
    pub dir: PathBuf,
    /// Items planned for this run or shard.
    pub total: usize,
    /// Items in the journal at the end.
    pub done: usize,
    /// Items that failed this time.
    pub failed: Vec<(ItemKey, String)>,
    /// Whether the run was stopped by a signal before finishing.
    pub interrupted: bool,
    /// The verdicts, when scored.
    pub verdicts: Vec<Verdict>,
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

/// Loads a suite, failing with every problem.
pub fn load_suite(spec: &str, root: &Path) -> Result<Suite> {
    let mut diags = Diagnostics::default();
    let suite = Suite::load(&SuiteSpec::parse(spec), root, &mut diags);
    if diags.is_empty() {
        Ok(suite)
    } else {
        diags.sort();
        Err(Error::Invalid(diags))
    }
}

/// The plan of a run, with the items dropped because a crossed context states a country the
/// scenario does not have.
pub fn full_plan(
    suite: &Suite,
    data: &Dataset,
    contexts: &[String],
    samples: u32,
) -> Result<(Vec<ItemKey>, usize)> {
    for c in contexts {
        if data.contexts.get(c).is_none() {
            return Err(Error::Input(format!(
                "unknown context `{c}` (known: {})",
                data.contexts.ids()
            )));
        }
    }
    let all = plan(suite, contexts, samples);
    let before = all.len();
    let kept: Vec<ItemKey> = all
        .into_iter()
        .filter(|k| {
            let sc = suite.get(&k.scenario_id);
            let ctx = data.contexts.get(&k.context);
            match (sc, ctx) {
                (Some(s), Some(c)) => !c.states_country || s.country_known(),
                _ => false,
            }
        })
        .collect();
    let dropped = before - kept.len();
    Ok((kept, dropped))
}

/// The inputs of a run, for the manifest and for resume checks.
pub fn run_inputs(
    opts: &RunOptions,
    suite: &Suite,
    data: &Dataset,
    backend: &dyn Backend,
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
        directory_sha256: data.directory.hash.clone(),
        policy_sha256: data.policy.hash.clone(),
        samples: opts.samples,
        generation: opts.params.clone(),
        seed_derivation: SEED_DERIVATION.into(),
        shard: opts.shard.map(|s| (s.index, s.count)),
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
    let files = |v: &[crate::backend::FileDigest]| {
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
    d
}

/// Reads a run directory's manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let p = dir.join(files::MANIFEST);
    let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Input(format!(
            "{}:{}: not a popbench manifest: {e}",
            p.display(),
            e.line()
        ))
    })
}

/// Writes a manifest atomically.
pub fn write_manifest(dir: &Path, m: &Manifest) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(m).map_err(|e| Error::Input(e.to_string()))?;
    write_atomic(&dir.join(files::MANIFEST), &bytes)
}

/// Runs (or resumes) one model on one suite into `opts.out`.
pub fn run(
    backend: &mut dyn Backend,
    data: &Dataset,
    opts: &RunOptions,
    progress: &mut dyn Progress,
    stop: &AtomicBool,
) -> Result<RunOutcome> {
    let suite = load_suite(&opts.suite, &data.root)?;
    let (all, dropped) = full_plan(&suite, data, &opts.contexts, opts.samples)?;
    if dropped > 0 {
        progress.note(&format!("{dropped} item(s) skipped: their context states a country and the scenario's country is unknown"));
    }
    if all.is_empty() {
        return Err(Error::Input(format!(
            "suite `{}` gives no items to run",
            opts.suite
        )));
    }
    backend
        .check_items(&all)
        .map_err(|e| Error::Model(e.to_string()))?;
    let items = shard_items(&all, opts.shard);
    let inputs = run_inputs(opts, &suite, data, backend);
    let dir = &opts.out;
    let journal_path = dir.join(files::RESPONSES);
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());

    let (mut journal, mut records, mut manifest) = if opts.resume {
        let m = read_manifest(dir)?;
        let diffs = input_differences(&m.inputs, &inputs);
        if !diffs.is_empty() {
            return Err(Error::Input(format!(
                "refusing to resume {}: its inputs differ from now:\n  - {}",
                dir.display(),
                diffs.join("\n  - ")
            )));
        }
        let (j, recs, torn) = Journal::open_resume(&journal_path)?;
        if torn {
            progress.note("dropped a torn last line of responses.jsonl (an item in flight when the run stopped); it will be redone");
        }
        (j, recs, m)
    } else {
        if journal_path.exists() || dir.join(files::MANIFEST).exists() {
            return Err(Error::Input(format!(
                "{} already holds a run; use --resume to continue it, or another --out",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let m = Manifest {
            manifest_version: MANIFEST_VERSION,
            run_id,
            harness: harness(&data.root),
            model: backend.info().clone(),
            inputs: inputs.clone(),
            machine: machine(&backend.info().device, opts.threads),
            started_at: now_rfc3339(),
            finished_at: None,
            items_total: items.len(),
            items_done: 0,
        };
        write_manifest(dir, &m)?;
        (Journal::create(&journal_path)?, Vec::new(), m)
    };
    // Items journaled that are not in this plan can only come from a hand-edited file.
    let planned: std::collections::HashSet<&ItemKey> = items.iter().collect();
    if let Some(r) = records.iter().find(|r| !planned.contains(&r.key())) {
        return Err(Error::Input(format!(
            "{}: item {} is not part of this run's plan",
            journal_path.display(),
            r.key()
        )));
    }

    let scorer = opts.score.then(|| Scorer::new(data));
    progress.start(items.len(), journal.len(), dir);
    let mut verdicts_by_key: HashMap<ItemKey, Verdict> = HashMap::new();
    if let Some(s) = &scorer {
        for r in &records {
            if let Some(sc) = suite.get(&r.scenario_id) {
                verdicts_by_key.insert(r.key(), s.score(sc, &r.context, r.sample, &r.response));
            }
        }
    }

    let todo: Vec<&ItemKey> = items.iter().filter(|k| !journal.contains(k)).collect();
    let mut failed = Vec::new();
    let mut interrupted = false;
    let batch = match opts.batch {
        0 => backend.preferred_batch().max(1),
        n => n,
    };
    for chunk in todo.chunks(batch) {
        if stop.load(Ordering::SeqCst) {
            interrupted = true;
            break;
        }
        let mut chats: Vec<(Vec<ChatMessage>, GenerationParams)> = Vec::with_capacity(chunk.len());
        for key in chunk {
            let sc = suite
                .get(&key.scenario_id)
                .ok_or_else(|| Error::Input(format!("no scenario `{}`", key.scenario_id)))?;
            let ctx = data
                .contexts
                .get(&key.context)
                .ok_or_else(|| Error::Input(format!("no context `{}`", key.context)))?;
            let messages = build_chat(sc, ctx, &data.country_name(&sc.country));
            let params = GenerationParams {
                seed: item_seed(opts.params.seed, key),
                ..opts.params.clone()
            };
            chats.push((messages, params));
        }
        let requests: Vec<Request<'_>> = chunk
            .iter()
            .zip(&chats)
            .map(|(key, (m, p))| Request {
                key,
                messages: m,
                params: p,
            })
            .collect();
        let results = backend.generate_batch(&requests);
        for ((key, (messages, params)), result) in chunk.iter().zip(&chats).zip(results) {
            match result {
                Ok(c) => {
                    let rec = ResponseRecord {
                        scenario_id: key.scenario_id.clone(),
                        context: key.context.clone(),
                        sample: key.sample,
                        response: c.text,
                        prompt_sha256: chat_hash(messages),
                        seed: params.seed,
                        prompt_tokens: c.prompt_tokens,
                        completion_tokens: c.completion_tokens,
                        finish_reason: c.finish_reason,
                        prompt_ms: c.prompt_ms,
                        generation_ms: c.generation_ms,
                        error: None,
                    };
                    journal.append(&rec)?;
                    let verdict = match (&scorer, suite.get(&rec.scenario_id)) {
                        (Some(s), Some(sc)) => {
                            Some(s.score(sc, &rec.context, rec.sample, &rec.response))
                        }
                        _ => None,
                    };
                    progress.item(&rec, verdict.as_ref());
                    if let Some(v) = verdict {
                        verdicts_by_key.insert(rec.key(), v);
                    }
                    records.push(rec);
                }
                Err(e) => {
                    let msg = e.to_string();
                    progress.failed(key, &msg);
                    failed.push(((*key).clone(), msg));
                }
            }
        }
    }
    if !interrupted && stop.load(Ordering::SeqCst) && journal.len() < items.len() {
        interrupted = true;
    }

    // Keep the journal in plan order: a complete run, a resumed run and merged shards then
    // write the same bytes (timings apart).
    let order: HashMap<&ItemKey, usize> = items.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let in_order = records
        .windows(2)
        .all(|w| order.get(&w[0].key()) < order.get(&w[1].key()));
    if !in_order {
        records.sort_by_key(|r| order.get(&r.key()).copied().unwrap_or(usize::MAX));
        drop(journal);
        write_jsonl(&journal_path, &records)?;
    }
    let verdicts: Vec<Verdict> = records
        .iter()
        .filter_map(|r| verdicts_by_key.remove(&r.key()))
        .collect();
    if scorer.is_some() {
        write_jsonl(&dir.join(files::VERDICTS), &verdicts)?;
    }
    manifest.items_done = records.len();
    manifest.items_total = items.len();
    if records.len() == items.len() {
        manifest.finished_at = Some(now_rfc3339());
    }
    write_manifest(dir, &manifest)?;
    Ok(RunOutcome {
        dir: dir.clone(),
        total: items.len(),
        done: records.len(),
        failed,
        interrupted,
        verdicts,
    })
}

/// Writes records as JSONL atomically.
pub fn write_jsonl<T: serde::Serialize>(path: &Path, records: &[T]) -> Result<()> {
    let mut out = Vec::new();
    for r in records {
        serde_json::to_writer(&mut out, r).map_err(|e| Error::Input(e.to_string()))?;
        out.push(b'\n');
    }
    write_atomic(path, &out)
}

/// Re-scores a run directory from its responses (no generation), rewriting verdicts.jsonl.
pub fn score_run(dir: &Path, data: &Dataset) -> Result<Vec<Verdict>> {
    let m = read_manifest(dir)?;
    let suite = load_suite(&m.inputs.suite, &data.root)?;
    let read = read_jsonl::<ResponseRecord>(&dir.join(files::RESPONSES))?;
    let scorer = Scorer::new(data);
    let mut missing = Vec::new();
    let items: Vec<(&crate::scenario::Scenario, &ResponseRecord)> = read
        .records
        .iter()
        .filter_map(|r| match suite.get(&r.scenario_id) {
            Some(s) => Some((s, r)),
            None => {
                missing.push(r.scenario_id.clone());
                None
            }
        })
        .collect();
    if !missing.is_empty() {
        missing.dedup();
        return Err(Error::Input(format!(
            "{}: {} response(s) name scenarios that suite `{}` no longer has: {}",
            dir.display(),
            missing.len(),
            m.inputs.suite,
            missing
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let verdicts = scorer.score_all(
        &items
            .iter()
            .map(|(s, r)| (*s, r.context.as_str(), r.sample, r.response.as_str()))
            .collect::<Vec<_>>(),
    );
    write_jsonl(&dir.join(files::VERDICTS), &verdicts)?;
    Ok(verdicts)
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
}
