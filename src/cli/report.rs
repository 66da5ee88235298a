//! `popbench report RUN_DIR... --out DIR`.

use super::printer::Printer;
use anyhow::Context as _;
use popbench::dataset::Dataset;
use popbench::report::{self, ReportInput};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Flags of `report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run directories (each with manifest.json, responses.jsonl, verdicts.jsonl, and
    /// conversations.jsonl when it ran live conversations); one system each.
    #[arg(required = true, value_name = "RUN_DIR")]
    runs: Vec<PathBuf>,
    /// Where to write report.html, report.md, results.json and results.csv.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let data = Dataset::load_strict(root).context("loading the directory")?;
    let mut runs = Vec::new();
    let mut warnings = Vec::new();
    for dir in &args.runs {
        let (run, w) =
            report::load_run(dir).with_context(|| format!("reading run {}", dir.display()))?;
        warnings.extend(w);
        runs.push(run);
    }
    let report::load::Suites {
        scenarios,
        hashes: suite_hashes,
        warnings: suite_warnings,
    } = report::load::suites_of(&runs, root);
    warnings.extend(suite_warnings);
    for run in &runs {
        if run.manifest.inputs.directory_sha256 != data.directory.hash {
            warnings.push(format!(
                "run {}: the directory has changed since it was scored or run (hash {} then, {} now); the country cards show today's directory",
                run.manifest.run_id, run.manifest.inputs.directory_sha256, data.directory.hash
            ));
        }
    }
    for w in &warnings {
        printer.warn(w);
    }
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .ok();
    // The scorer's agreement with its gold set (a warning when below 100%).
    let gold_dir = root.join("datasets").join("gold");
    let scorer_gold = if gold_dir.is_dir() {
        match popbench::score::gold::load(&gold_dir) {
            Ok(items) if !items.is_empty() => {
                let scorer = popbench::score::Scorer::new(&data);
                let a = popbench::score::gold::evaluate(&scorer, &items);
                let (ok, n) = a
                    .fields
                    .values()
                    .fold((0, 0), |(ok, n), (o, m)| (ok + o, n + m));
                Some((ok, n))
            }
            Ok(_) => None,
            Err(e) => {
                printer.warn(format!("gold set not checked: {e}"));
                None
            }
        }
    } else {
        None
    };
    // The judge layer of judged runs (judgements.jsonl beside the verdicts).
    let mut judges = Vec::new();
    for dir in &args.runs {
        if !dir
            .join(format!("{}.jsonl", popbench::judge::record::FILE))
            .is_file()
        {
            continue;
        }
        let rubric = popbench::judge::rubric::load(&popbench::judge::rubric::Rubric::path(root))
            .map_err(|d| {
                let lines: Vec<String> = d.0.iter().map(|x| x.to_string()).collect();
                anyhow::anyhow!("{}", lines.join("\n")).context("loading the rubric")
            })?;
        if let Some(j) = popbench::judge::summary::JudgeSummary::load(dir, &rubric)
            .with_context(|| format!("reading the judgements of {}", dir.display()))?
        {
            judges.push(j);
        }
    }
    let input = ReportInput {
        runs: &runs,
        scenarios: &scenarios,
        directory: &data.directory,
        suite_hashes: &suite_hashes,
        warnings: &warnings,
        generated_at: now.as_deref(),
        scorer_gold,
        judges: &judges,
    };
    let (rep, written) = report::write_all(&input, &args.out).context("writing the report")?;
    printer.status(format!(
        "{} verdicts from {} run(s); wrote {}, {}, {}, {}, {}",
        rep.totals.verdicts,
        rep.totals.runs,
        written.markdown.display(),
        written.json.display(),
        written.csv.display(),
        written.map_csv.display(),
        written.map_geojson.display()
    ));
    printer.out(format!("report: {}", written.html.display()))?;
    Ok(ExitCode::SUCCESS)
}
