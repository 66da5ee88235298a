//! Warnings computed from the runs, shown at the top of the HTML and Markdown and kept in
//! `results.json`: answers cut at the token limit, replacement characters, generation
//! errors, a model under 1B parameters, a dirty tree, stale directory entries and a scorer
//! that disagrees with its gold set.

use super::anatomy::{cut, garbled};
use crate::report::doc::build::{jump, para, t};
use crate::report::doc::Block;
use crate::report::figures::{Row, Tally};
use crate::report::fmt::pct;
use crate::report::model::{Report, Warning};
use crate::report::ReportInput;
use std::collections::BTreeMap;

/// Directory entries last verified longer ago than this many months are stale.
pub const STALE_MONTHS: i32 = 12;

/// Models with fewer parameters than this (in billions) are a floor, not a finding.
pub const SMALL_MODEL_BILLIONS: f64 = 1.0;

/// The parameter count (in billions) a model's name states (`SmolLM2-135M-Instruct` →
/// 0.135, `Llama-3.1-8B` → 8): a number followed by `M` or `B` and then no letter or digit.
pub fn stated_parameters(name: &str) -> Option<f64> {
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit()
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric() && b[i - 1] != b'.')
        {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            let unit = b.get(i).copied();
            let after = b.get(i + 1).copied();
            let ends = after.is_none_or(|c| !c.is_ascii_alphanumeric());
            if let (Some(u), true) = (unit, ends) {
                if let Ok(x) = name[start..i].parse::<f64>() {
                    match u {
                        b'M' | b'm' => return Some(x / 1000.0),
                        b'B' | b'b' => return Some(x),
                        _ => {}
                    }
                }
            }
        } else {
            i += 1;
        }
    }
    None
}

/// `YYYY-MM-DD` twelve months before a date that starts with `YYYY-MM-DD`.
fn months_before(date: &str, months: i32) -> Option<String> {
    let y: i32 = date.get(0..4)?.parse().ok()?;
    let m: i32 = date.get(5..7)?.parse().ok()?;
    let d = date.get(8..10)?;
    let total = y * 12 + (m - 1) - months;
    Some(format!("{:04}-{:02}-{d}", total / 12, total % 12 + 1))
}

/// The warnings of runs labelled `names`; a warning about items gets their list (the rows
/// are every verdict, with their responses).
pub(in crate::report) fn computed(
    input: &ReportInput<'_>,
    names: &[String],
    rows: &[Row<'_>],
    tally: &mut Tally,
) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut push = |id: &str, system: Option<&String>, text: String, items: Option<u32>| {
        out.push(Warning {
            id: id.into(),
            system: system.cloned(),
            text,
            items,
        })
    };
    for (sys, (run, name)) in input.runs.iter().zip(names).enumerate() {
        let n = run.responses.len();
        if n == 0 {
            continue;
        }
        let share = |k: usize| pct(Some(k as f64 / n as f64));
        let mine = || rows.iter().filter(move |r| r.sys == sys);
        let cut_n = run.responses.iter().filter(|r| cut(r)).count();
        if cut_n > 0 {
            let items = tally.list(
                format!("{name}: answers cut at the token limit"),
                mine().filter(|r| r.resp.is_some_and(cut)).map(|r| r.idx),
            );
            push(
                "truncated",
                Some(name),
                format!(
                    "{name}: {cut_n} of {n} responses ({}) stopped at the token limit ({} tokens); a referral may have been cut off.",
                    share(cut_n),
                    run.manifest.inputs.generation.max_tokens
                ),
                items,
            );
        }
        let garbled_n = run.responses.iter().filter(|r| garbled(r)).count();
        let cut_char = run
            .responses
            .iter()
            .filter(|r| !garbled(r) && r.response.contains(char::REPLACEMENT_CHARACTER))
            .count();
        if garbled_n > 0 {
            let items = tally.list(
                format!("{name}: answers with broken text (U+FFFD inside the text)"),
                mine()
                    .filter(|r| r.resp.is_some_and(garbled))
                    .map(|r| r.idx),
            );
            push(
                "replacement_characters",
                Some(name),
                format!(
                    "{name}: {garbled_n} of {n} responses ({}) contain replacement characters (U+FFFD) inside the text: broken text.{}",
                    share(garbled_n),
                    if cut_char > 0 {
                        format!(" {cut_char} more end in a character the token limit cut, which is not counted.")
                    } else {
                        String::new()
                    }
                ),
                items,
            );
        }
        let mut tags: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &run.responses {
            if let Some(e) = &r.error {
                *tags.entry(e.tag.as_str()).or_default() += 1;
            }
        }
        let errors: usize = tags.values().sum();
        if errors > 0 {
            let by: Vec<String> = tags.iter().map(|(t, k)| format!("{t} {k}")).collect();
            push(
                "generation_errors",
                Some(name),
                format!(
                    "{name}: generation failed for {errors} of {n} items ({}); these items have no answer and no verdict.",
                    by.join(", ")
                ),
                None,
            );
        }
        let m = &run.manifest;
        let params = [m.model.name.as_str(), m.inputs.model_spec.as_str()]
            .into_iter()
            .find_map(stated_parameters);
        if let Some(b) = params.filter(|b| *b < SMALL_MODEL_BILLIONS) {
            push(
                "small_model",
                Some(name),
                format!(
                    "{name} has about {} parameters (under 1B): its results are a floor, not a finding about deployed systems.",
                    if b < 1.0 { format!("{:.0}M", b * 1000.0) } else { format!("{b}B") }
                ),
                None,
            );
        }
        if m.harness.git_dirty == Some(true) {
            push(
                "dirty_tree",
                Some(name),
                format!(
                    "{name}: run from a popbench tree with uncommitted changes (commit {}); the code that produced it cannot be checked out exactly.",
                    m.harness.git_commit.as_deref().unwrap_or("unknown")
                ),
                None,
            );
        }
    }
    // Stale entries, against the newest run's start date (so the report is reproducible).
    let reference = input
        .runs
        .iter()
        .map(|r| r.manifest.started_at.as_str())
        .max();
    if let Some(cutoff) = reference.and_then(|d| months_before(d, STALE_MONTHS)) {
        let mut stale: BTreeMap<&str, usize> = BTreeMap::new();
        for e in input.directory.entries() {
            for s in &e.services {
                if !s.last_verified.is_empty() && s.last_verified.as_str() < cutoff.as_str() {
                    *stale.entry(e.code.as_str()).or_default() += 1;
                }
            }
        }
        let total: usize = stale.values().sum();
        if total > 0 {
            let codes: Vec<&str> = stale.keys().copied().collect();
            push(
                "stale_directory",
                None,
                format!(
                    "{total} directory service(s) were last verified before {cutoff}, more than {STALE_MONTHS} months before the run ({}).",
                    codes.join(", ")
                ),
                None,
            );
        }
    }
    if let Some((agree, compared)) = input.scorer_gold {
        if agree < compared {
            push(
                "scorer_gold",
                None,
                format!(
                    "The scorer agrees with its gold labels on {agree} of {compared} fields ({}); some verdicts may be wrong (run popbench scorer-eval).",
                    pct(Some(agree as f64 / compared as f64))
                ),
                None,
            );
        }
    }
    out
}

/// The section: every warning, in a box, each with a link to the items it concerns.
pub fn write(r: &Report) -> Vec<Block<'_>> {
    if r.warnings.is_empty() {
        return vec![para("No warnings: no answer was cut or garbled, no generation failed, and the directory and scorer checks pass.")];
    }
    vec![Block::Caveat(vec![Block::List(
        r.warnings
            .iter()
            .map(|w| {
                let mut line = vec![t(&w.text)];
                line.extend(jump(w.items, " ", "Its items."));
                line
            })
            .collect(),
    )])]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_from_names() {
        assert_eq!(stated_parameters("SmolLM2-135M-Instruct"), Some(0.135));
        assert_eq!(stated_parameters("Llama-3.1-8B-Instruct"), Some(8.0));
        assert_eq!(stated_parameters("qwen2.5-0.5b"), Some(0.5));
        assert_eq!(stated_parameters("SmolLM2"), None);
        assert_eq!(stated_parameters("model-Q4_1.gguf"), None);
        assert_eq!(stated_parameters("replay:answers.jsonl"), None);
    }

    #[test]
    fn twelve_months_back() {
        assert_eq!(
            months_before("2026-11-28T10:00:00Z", 12).as_deref(),
            Some("2025-11-28")
        );
        assert_eq!(
            months_before("2026-01-05", 1).as_deref(),
            Some("2025-12-05")
        );
        assert_eq!(months_before("bad", 12), None);
    }
}
