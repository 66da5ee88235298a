//! Merging the shards of one run into one run directory.
//!
//! Each shard must be complete (every item of its plan has a response; failed items are
//! resumed first), all N shards given once, all of the same run (every input but the shard
//! equal, the selection included). The merged journal is in plan order and is scored by the
//! one scoring path; a suite changed since the shards ran still merges (its items are checked
//! by count instead of by plan) and scores the responses it still knows.

use super::dir::RunDir;
use super::manifest::Manifest;
use super::plan::{select_plan, shard_items, Shard};
use super::record::ResponseRecord;
use super::runner::{input_differences, now_rfc3339};
use super::scoring::{load_suite, score_records, Scored};
use crate::dataset::Dataset;
use crate::score::Scorer;
use crate::types::ItemKey;
use crate::{Error, Result};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// What a merge produced.
#[derive(Debug, Clone)]
pub struct MergeOutcome {
    /// The merged run directory.
    pub dir: PathBuf,
    /// Items in the merged run.
    pub items: usize,
    /// Shards merged.
    pub shards: u32,
    /// The verdicts and what could not be scored.
    pub scored: Scored,
    /// Whether the suite changed since the shards ran (content hash differs).
    pub suite_changed: bool,
}

/// Merges complete shards of one run into `out`. Refuses shards of different runs (any input
/// other than the shard differs), a shard given twice, a missing shard, an incomplete shard,
/// and an item present in two shards.
pub fn merge(shard_dirs: &[PathBuf], out: &Path, data: &Dataset) -> Result<MergeOutcome> {
    if shard_dirs.is_empty() {
        return Err(Error::Input("no shard directories given".into()));
    }
    // Each shard is locked while it is read (a shard still being written is refused), and the
    // merged directory while it is written.
    let mut shards: Vec<(RunDir, Manifest)> = Vec::new();
    let mut locks: HashMap<PathBuf, super::lock::RunLock> = HashMap::new();
    for d in shard_dirs {
        // A shard given twice is locked once (and refused below as given twice).
        let real = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
        if locks.contains_key(&real) {
            shards.push(RunDir::open(d)?);
            continue;
        }
        let (dir, m, lock) = RunDir::open_locked(d, "merge")?;
        shards.push((dir, m));
        locks.insert(real, lock);
    }
    let (first_dir, first) = &shards[0];
    let Some((_, count)) = first.inputs.shard else {
        return Err(Error::Input(format!(
            "{} is not a shard (its run had no --shard)",
            first_dir.path().display()
        )));
    };
    let mut seen: HashMap<u32, PathBuf> = HashMap::new();
    for (d, m) in &shards {
        let Some((i, n)) = m.inputs.shard else {
            return Err(Error::Input(format!(
                "{} is not a shard (its run had no --shard)",
                d.path().display()
            )));
        };
        if n != count {
            return Err(Error::Input(format!(
                "{} is shard {i}/{n}, but {} is one of {count}",
                d.path().display(),
                first_dir.path().display()
            )));
        }
        let mut a = first.inputs.clone();
        let mut b = m.inputs.clone();
        a.shard = None;
        b.shard = None;
        let diffs = input_differences(&a, &b);
        if !diffs.is_empty() {
            return Err(Error::Input(format!(
                "{} and {} are shards of different runs:\n  - {}",
                first_dir.path().display(),
                d.path().display(),
                diffs.join("\n  - ")
            )));
        }
        if let Some(prev) = seen.insert(i, d.path().to_path_buf()) {
            return Err(Error::Input(format!(
                "shard {i}/{n} is given twice: {} and {}",
                prev.display(),
                d.path().display()
            )));
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|i| !seen.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Input(format!(
            "missing shard(s): {}",
            missing.join(", ")
        )));
    }
    let inputs = &first.inputs;
    let data = &*data.for_run(inputs.contexts_file.as_ref())?;
    let suite = load_suite(&inputs.suite, &data.root)?;
    let suite_changed = suite.content_hash() != inputs.suite_sha256;
    // The plan, when it can be recomputed: the suite is unchanged and the selection does not
    // depend on a replay file. Otherwise shards are checked by their own counts.
    let plan: Option<Vec<ItemKey>> = if suite_changed || inputs.selection.replayed {
        None
    } else {
        Some(
            select_plan(
                &suite,
                data,
                &inputs.contexts,
                inputs.samples,
                &inputs.selection,
                None,
            )?
            .items,
        )
    };
    let mut by_key: HashMap<ItemKey, PathBuf> = HashMap::new();
    let mut records: Vec<ResponseRecord> = Vec::new();
    for (d, m) in &shards {
        let (i, n) = m.inputs.shard.unwrap_or((0, 1));
        let want: Option<Vec<ItemKey>> = plan
            .as_ref()
            .map(|all| shard_items(all, Some(Shard { index: i, count: n })));
        let expected = want.as_ref().map(Vec::len).unwrap_or(m.items_total);
        let read = d.read_responses()?;
        let recs = read.records;
        let answered = recs.iter().filter(|r| !r.failed()).count();
        if read.dropped_torn_tail || answered < expected {
            let failed = recs.len() - answered;
            return Err(Error::Input(format!(
                "shard {i}/{n} in {} is incomplete ({answered} of {expected} items{}): resume it with `popbench run … --shard {i}/{n} --out {} --resume` first",
                d.path().display(),
                if failed > 0 { format!(", {failed} failed") } else { String::new() },
                d.path().display()
            )));
        }
        let wanted: Option<HashSet<&ItemKey>> = want.as_ref().map(|w| w.iter().collect());
        for r in recs {
            let k = r.key();
            if let Some(w) = &wanted {
                if !w.contains(&k) {
                    return Err(Error::Input(format!(
                        "{}: item {k} does not belong to shard {i}/{n}",
                        d.path().display()
                    )));
                }
            }
            if let Some(other) = by_key.get(&k) {
                return Err(Error::Input(format!(
                    "item {k} is in two shards: {} and {}",
                    other.display(),
                    d.path().display()
                )));
            }
            by_key.insert(k, d.path().to_path_buf());
            records.push(r);
        }
    }
    // Plan order: scenario id, then context (the --context order), then sample.
    let ctx_pos = |c: &str| {
        inputs
            .contexts
            .iter()
            .position(|x| x == c)
            .unwrap_or(usize::MAX)
    };
    records.sort_by(|a, b| {
        (a.scenario_id.as_str(), ctx_pos(&a.context), a.sample).cmp(&(
            b.scenario_id.as_str(),
            ctx_pos(&b.context),
            b.sample,
        ))
    });
    if let Some(all) = &plan {
        if let Some(k) = all.iter().find(|k| !by_key.contains_key(k)) {
            return Err(Error::Input(format!("no shard holds item {k}")));
        }
    }
    let dir = RunDir::at(out);
    if dir.holds_run() {
        return Err(Error::Input(format!(
            "{} already holds a run; merge into an empty directory",
            out.display()
        )));
    }
    let (dir, _out_lock) = RunDir::create_locked(out, "merge")?;
    dir.write_responses(&records)?;
    let scored = score_records(&Scorer::new(data), &suite, &records);
    dir.write_verdicts(&scored.verdicts)?;
    dir.write_conversations(&scored.conversations)?;
    let mut m = first.clone();
    m.inputs.shard = None;
    m.run_id = dir.run_id();
    m.started_at = shards
        .iter()
        .map(|(_, m)| m.started_at.clone())
        .min()
        .unwrap_or_default();
    m.finished_at = Some(
        shards
            .iter()
            .filter_map(|(_, m)| m.finished_at.clone())
            .max()
            .unwrap_or_else(now_rfc3339),
    );
    m.items_total = records.len();
    m.items_done = records.len();
    dir.write_manifest(&m)?;
    Ok(MergeOutcome {
        dir: out.to_path_buf(),
        items: records.len(),
        shards: count,
        scored,
        suite_changed,
    })
}
