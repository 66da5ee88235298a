//! Provenance: what each run is, from its manifest (model and files with their hashes, the
//! suite, directory and policy hashes, popbench's commit, the generation settings, the
//! device and the times), so that a reader can check or repeat it.

use crate::report::doc::build::{name, t};
use crate::report::doc::{Block, Inline};
use crate::report::fmt::stop_strings;
use crate::report::model::*;
use crate::report::ReportInput;
use std::collections::BTreeSet;

/// The contexts a run's items were answered in (responses first, then verdicts, in order
/// of first appearance) and where each one's system prompt came from.
fn contexts_tested(run: &crate::report::RunData) -> Vec<ContextTested> {
    let file = run.manifest.inputs.contexts_file.as_ref();
    let mut seen = BTreeSet::new();
    run.responses
        .iter()
        .map(|r| r.context.as_str())
        .chain(run.verdicts.iter().map(|v| v.context.as_str()))
        .filter(|c| seen.insert(*c))
        .map(|id| {
            let from_file = file.and_then(|f| f.contexts.iter().find(|c| c.id == id));
            let source = match from_file {
                Some(_) => "file",
                None if id == crate::context::NONE => "none",
                None => "popbench",
            };
            ContextTested {
                id: id.to_string(),
                source: source.into(),
                system: from_file.map(|c| c.system.clone()),
            }
        })
        .collect()
}

/// The provenance of each run.
pub(in crate::report) fn build(input: &ReportInput<'_>, names: &[String]) -> Vec<Provenance> {
    input
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let m = &r.manifest;
            Provenance {
                system: names[i].clone(),
                run_id: m.run_id.clone(),
                model_spec: m.inputs.model_spec.clone(),
                backend: m.model.backend.clone(),
                model_files: m.model.files.clone(),
                chat_template_sha256: m
                    .model
                    .chat_template_sha256
                    .clone()
                    .or_else(|| m.inputs.chat_template_sha256.clone()),
                suite: m.inputs.suite.clone(),
                suite_sha256: m.inputs.suite_sha256.clone(),
                suite_sha256_now: input.suite_hashes.get(&m.inputs.suite).cloned(),
                directory_sha256: m.inputs.directory_sha256.clone(),
                policy_sha256: m.inputs.policy_sha256.clone(),
                contexts_sha256: m.inputs.contexts_sha256.clone(),
                contexts_file: m.inputs.contexts_file.as_ref().map(|f| ContextsFileRef {
                    path: f.path.clone(),
                    sha256: f.sha256.clone(),
                }),
                contexts: contexts_tested(r),
                popbench_version: m.harness.version.clone(),
                popbench_commit: m.harness.git_commit.clone(),
                git_dirty: m.harness.git_dirty,
                samples: m.inputs.samples,
                temperature: m.inputs.generation.temperature,
                max_tokens: m.inputs.generation.max_tokens,
                stop: m.inputs.generation.stop.clone(),
                seed: m.inputs.generation.seed,
                device: m.machine.device.clone(),
                started_at: m.started_at.clone(),
                finished_at: m.finished_at.clone(),
                items_total: m.items_total,
                responses: r.responses.len() as u64,
                verdicts: r.verdicts.len() as u64,
            }
        })
        .collect()
}

/// The section: one list of facts per run.
pub fn write<'r>(r: &'r Report) -> Vec<Block<'r>> {
    let mut o = Vec::new();
    for p in &r.provenance {
        o.push(Block::Heading {
            level: 3,
            id: None,
            text: vec![name(&p.system)],
        });
        let mut kv: Vec<(Vec<Inline>, Vec<Inline>)> = Vec::new();
        let mut add = |k: &'static str, v: Vec<Inline<'r>>| kv.push((vec![t(k)], v));
        let code = |s: &str| Inline::Code(s.to_string().into());
        add("Run", vec![t(&p.run_id)]);
        add(
            "Model",
            vec![t(format!("{} ({})", p.model_spec, p.backend))],
        );
        for f in &p.model_files {
            add(
                "Model file",
                vec![t(format!("{} sha256 ", f.path)), code(&f.sha256)],
            );
        }
        add(
            "Chat template sha256",
            vec![p
                .chat_template_sha256
                .as_deref()
                .map(code)
                .unwrap_or(t("–"))],
        );
        add(
            "Suite",
            vec![t(format!("{} sha256 ", p.suite)), code(&p.suite_sha256)],
        );
        if let Some(now) = &p.suite_sha256_now {
            if now != &p.suite_sha256 {
                add("Suite now", vec![code(now), t(" (differs from the run's)")]);
            }
        }
        add("Directory sha256", vec![code(&p.directory_sha256)]);
        add("Policy sha256", vec![code(&p.policy_sha256)]);
        add("Contexts sha256", vec![code(&p.contexts_sha256)]);
        if let Some(f) = &p.contexts_file {
            add(
                "Contexts file",
                vec![t(format!("{} sha256 ", f.path)), code(&f.sha256)],
            );
        }
        for c in &p.contexts {
            let mut v = vec![code(&c.id)];
            match (c.source.as_str(), &c.system) {
                ("file", Some(prompt)) => v.extend([
                    t(" — system prompt from the contexts file: "),
                    Inline::Quoted(prompt.as_str().into()),
                ]),
                ("none", _) => v.push(t(" — no system prompt sent")),
                _ => v.push(t(" — popbench's system prompt (scenarios/contexts.toml)")),
            }
            add("Context", v);
        }
        add(
            "popbench",
            vec![t(format!(
                "{} commit {}{}",
                p.popbench_version,
                p.popbench_commit.as_deref().unwrap_or("unknown"),
                if p.git_dirty == Some(true) {
                    " (dirty tree)"
                } else {
                    ""
                }
            ))],
        );
        add(
            "Generation",
            vec![t(format!(
                "{} sample{} per item, temperature {}, max tokens {}, seed {}{}",
                p.samples,
                if p.samples == 1 { "" } else { "s" },
                p.temperature,
                p.max_tokens,
                p.seed,
                stop_strings(&p.stop, |s| format!("{s:?}"))
            ))],
        );
        add("Device", vec![t(&p.device)]);
        add(
            "Time",
            vec![t(format!(
                "{} → {}",
                p.started_at,
                p.finished_at.as_deref().unwrap_or("–")
            ))],
        );
        add(
            "Items",
            vec![t(format!(
                "{} planned, {} responses, {} verdicts",
                p.items_total, p.responses, p.verdicts
            ))],
        );
        o.push(Block::Defs(kv));
    }
    o
}
