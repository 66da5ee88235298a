//! Merging the shards of one run into one run directory.

use super::files;
use super::journal::read_jsonl;
use super::manifest::Manifest;
use super::plan::{shard_items, Shard};
use super::record::ResponseRecord;
use super::runner::{
    full_plan, input_differences, load_suite, now_rfc3339, read_manifest, write_jsonl,
    write_manifest,
};
use crate::dataset::Dataset;
use crate::score::Scorer;
use crate::{Error, Result};
use std::collections::HashMap;
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
}

/// Merges complete shards of one run into `out`. Refuses shards of different runs (any input
/// other than the shard differs), a shard given twice, a missing shard, an incomplete shard,
/// and an item present in two shards.
pub fn merge(shard_dirs: &[PathBuf], out: &Path, data: &Dataset) -> Result<MergeOutcome> {
    if shard_dirs.is_empty() {
        return Err(Error::Input("no shard directories given".into()));
    }
    let mut manifests: Vec<(PathBuf, Manifest)> = Vec::new();
    for d in shard_dirs {
        manifests.push((d.clone(), read_manifest(d)?));
    }
    let (first_dir, first) = &manifests[0];
    let Some((_, count)) = first.inputs.shard else {
        return Err(Error::Input(format!(
            "{} is not a shard (its run had no --shard)",
            first_dir.display()
        )));
    };
    let mut seen: HashMap<u32, PathBuf> = HashMap::new();
    for (d, m) in &manifests {
        let Some((i, n)) = m.inputs.shard else {
            return Err(Error::Input(format!(
                "{} is not a shard (its run had no --shard)",
                d.display()
            )));
        };
        if n != count {
            return Err(Error::Input(format!(
                "{} is shard {i}/{n}, but {} is one of {count}",
                d.display(),
                first_dir.display()
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
                first_dir.display(),
                d.display(),
                diffs.join("\n  - ")
            )));
        }
        if let Some(prev) = seen.insert(i, d.clone()) {
            return Err(Error::Input(format!(
                "shard {i}/{n} is given twice: {} and {}",
                prev.display(),
                d.display()
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
    let suite = load_suite(&first.inputs.suite, &data.root)?;
    if suite.content_hash() != first.inputs.suite_sha256 {
        return Err(Error::Input(format!(
            "suite `{}` has changed since the shards ran (content hash differs)",
            first.inputs.suite
        )));
    }
    let (all, _) = full_plan(&suite, data, &first.inputs.contexts, first.inputs.samples)?;
    let mut by_key: HashMap<crate::backend::ItemKey, (ResponseRecord, PathBuf)> = HashMap::new();
    for (d, m) in &manifests {
        let (i, n) = m.inputs.shard.unwrap_or((0, 1));
        let want = shard_items(&all, Some(Shard { index: i, count: n }));
        let read = read_jsonl::<ResponseRecord>(&d.join(files::RESPONSES))?;
        if read.dropped_torn_tail || read.records.len() < want.len() {
            return Err(Error::Input(format!(
                "shard {i}/{n} in {} is incomplete ({} of {} items): resume it with `popbench run … --shard {i}/{n} --out {} --resume` first",
                d.display(),
                read.records.len(),
                want.len(),
                d.display()
            )));
        }
        let wanted: std::collections::HashSet<_> = want.iter().collect();
        for r in read.records {
            let k = r.key();
            if !wanted.contains(&k) {
                return Err(Error::Input(format!(
                    "{}: item {k} does not belong to shard {i}/{n}",
                    d.display()
                )));
            }
            if let Some((_, other)) = by_key.get(&k) {
                return Err(Error::Input(format!(
                    "item {k} is in two shards: {} and {}",
                    other.display(),
                    d.display()
                )));
            }
            by_key.insert(k, (r, d.clone()));
        }
    }
    let mut records = Vec::with_capacity(all.len());
    for k in &all {
        match by_key.remove(k) {
            Some((r, _)) => records.push(r),
            None => return Err(Error::Input(format!("no shard holds item {k}"))),
        }
    }
    if out.join(files::RESPONSES).exists() || out.join(files::MANIFEST).exists() {
        return Err(Error::Input(format!(
            "{} already holds a run; merge into an empty directory",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    write_jsonl(&out.join(files::RESPONSES), &records)?;
    let scorer = Scorer::new(data);
    let verdicts: Vec<_> = records
        .iter()
        .filter_map(|r| {
            suite
                .get(&r.scenario_id)
                .map(|s| scorer.score(s, &r.context, r.sample, &r.response))
        })
        .collect();
    write_jsonl(&out.join(files::VERDICTS), &verdicts)?;
    let mut m = first.clone();
    m.inputs.shard = None;
    m.run_id = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    m.started_at = manifests
        .iter()
        .map(|(_, m)| m.started_at.clone())
        .min()
        .unwrap_or_default();
    m.finished_at = Some(
        manifests
            .iter()
            .filter_map(|(_, m)| m.finished_at.clone())
            .max()
            .unwrap_or_else(now_rfc3339),
    );
    m.items_total = records.len();
    m.items_done = records.len();
    write_manifest(out, &m)?;
    Ok(MergeOutcome {
        dir: out.to_path_buf(),
        items: records.len(),
        shards: count,
    })
}
