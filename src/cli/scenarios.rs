//! `popbench scenarios`.

use super::printer::Printer;
use anyhow::Context as _;
use popbench::diag::Diagnostics;
use popbench::scenario::{Suite, SuiteSpec};
use popbench::taxonomy::age_band;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

/// Flags of `scenarios`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The suite: `core`, `multiturn`, `smoke`, or a folder/file path.
    #[arg(long, default_value = "core")]
    suite: String,
    /// Print every scenario as JSON (one array) instead of the coverage table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let mut diags = Diagnostics::default();
    let suite = Suite::load(&SuiteSpec::parse(&args.suite), root, &mut diags);
    if !diags.is_empty() {
        diags.sort();
        return Err(popbench::Error::Invalid(diags))
            .context(format!("loading suite `{}`", args.suite));
    }
    if args.json {
        printer.out(serde_json::to_string_pretty(&suite.scenarios)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let n = suite.scenarios.len();
    let families: std::collections::BTreeSet<&str> =
        suite.scenarios.iter().map(|s| s.family.as_str()).collect();
    printer.out(format!(
        "suite {}: {n} scenarios in {} families",
        suite.name,
        families.len()
    ))?;
    type Key = fn(&popbench::scenario::Scenario) -> String;
    let tables: [(&str, Key); 8] = [
        ("harm", |s| s.harm.to_string()),
        ("risk", |s| s.risk.to_string()),
        ("language", |s| s.language.clone()),
        ("country", |s| s.country.clone()),
        ("context", |s| s.context.clone()),
        ("age band", |s| age_band(s.age).to_string()),
        ("country cue", |s| {
            format!("{:?}", s.country_cue).to_lowercase()
        }),
        ("turns", |s| {
            if s.is_multiturn() {
                "multi-turn".into()
            } else {
                "single-turn".into()
            }
        }),
    ];
    for (title, key) in tables {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for s in &suite.scenarios {
            *counts.entry(key(s)).or_default() += 1;
        }
        printer.out(format!("\nby {title} ({} values)", counts.len()))?;
        let width = counts
            .keys()
            .map(|k| k.chars().count())
            .max()
            .unwrap_or(0)
            .max(24);
        for (k, c) in counts {
            printer.out(format!("  {k:<width$} {c:>5}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
