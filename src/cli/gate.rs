//! `popbench gate RUN_DIR… --require 'pass>=0.80' [--require-each …] [--on point|lower]
//! [--baseline RUN_DIR]`: a release gate. Exit 0 when every requirement holds; 1 with one line
//! per failed requirement on stdout (`metric: value [interval] < threshold (…)`); 2 on bad
//! input (an unknown metric, a run that cannot be read or is incomplete, a requirement these
//! runs cannot test).
//!
//! The figures are the report's: the runs are read as `popbench report` reads them and the
//! report's leaderboard figures and paired comparisons are checked (see [`popbench::gate`]).

use super::printer::{Hint, Printer};
use anyhow::Context as _;
use popbench::dataset::Dataset;
use popbench::gate::{self, On, Requirement, Scope};
use popbench::report::{self, ReportInput};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Flags of `gate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run directories, scored; several are repeated runs of one system, pooled as samples.
    #[arg(required = true, value_name = "RUN_DIR")]
    runs: Vec<PathBuf>,
    /// A requirement over every response: METRIC>=VALUE or METRIC<=VALUE (also > and <),
    /// VALUE a rate (0.8 or 80%) or, with --baseline, baseline±X; e.g. 'pass>=0.80',
    /// 'invented_contact<=0', 'pass>=baseline-0.02' (repeatable).
    #[arg(long = "require", value_name = "REQ", value_parser = parse_all, required_unless_present = "require_each")]
    require: Vec<Requirement>,
    /// A requirement over items with all their samples (pass^k; runs with --samples K or
    /// several runs): 'pass>=0.9' = at least 90% of items pass in every sample (repeatable).
    #[arg(long = "require-each", value_name = "REQ", value_parser = parse_each)]
    require_each: Vec<Requirement>,
    /// What is tested: `point` (the estimate) or `lower` (the 95% interval's bound that could
    /// fail: the lower bound for >=, the upper bound for <=), so a small run cannot pass by luck.
    #[arg(long, value_name = "point|lower", default_value = "point", value_parser = parse_on)]
    on: On,
    /// A run to compare with, item by item (the report's paired comparison), for
    /// requirements written `METRIC>=baseline-X`.
    #[arg(long, value_name = "RUN_DIR")]
    baseline: Option<PathBuf>,
}

fn parse_all(s: &str) -> Result<Requirement, String> {
    Requirement::parse(s, Scope::AllResponses)
}

fn parse_each(s: &str) -> Result<Requirement, String> {
    Requirement::parse(s, Scope::EverySample)
}

fn parse_on(s: &str) -> Result<On, String> {
    match s {
        "point" => Ok(On::Point),
        "lower" => Ok(On::Lower),
        _ => Err(format!("`{s}`: expected point or lower")),
    }
}

fn read(dir: &Path, printer: &Printer) -> anyhow::Result<report::RunData> {
    let (run, warnings) =
        report::load_run(dir).with_context(|| format!("reading run {}", dir.display()))?;
    for w in warnings {
        printer.warn(w);
    }
    if let Some(why) = gate::incomplete(&run, &dir.display().to_string()) {
        anyhow::bail!(why);
    }
    Ok(run)
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let requirements: Vec<Requirement> = args
        .require
        .iter()
        .chain(&args.require_each)
        .cloned()
        .collect();
    let wants_baseline = requirements
        .iter()
        .any(|r| matches!(r.threshold, gate::Threshold::Baseline(_)));
    if wants_baseline && args.baseline.is_none() {
        return Err(anyhow::anyhow!(
            "a requirement compares with a baseline, but no --baseline RUN_DIR is given"
        )
        .context(Hint(
            "add --baseline RUN_DIR: the run to compare with, e.g. the last release's".into(),
        )));
    }
    let data = Dataset::load_strict(root).context("loading the directory")?;
    let mut runs = Vec::with_capacity(args.runs.len());
    for dir in &args.runs {
        runs.push(read(dir, &printer)?);
    }
    let pooled = runs.len();
    let baseline = match &args.baseline {
        Some(b) => Some(read(b, &printer)?),
        None => None,
    };
    let all = gate::systems(runs, baseline)
        .map_err(|e| anyhow::anyhow!(e))
        .context("pooling the runs")?;
    let suites = report::load::suites_of(&all, root);
    for w in &suites.warnings {
        printer.warn(w);
    }
    let input = ReportInput {
        runs: &all,
        scenarios: &suites.scenarios,
        directory: &data.directory,
        suite_hashes: &suites.hashes,
        warnings: &[],
        generated_at: None,
        scorer_gold: None,
        judges: &[],
    };
    let rep = report::build(&input);
    let names = report::build::labels(&all);
    let m = &all[0].manifest;
    printer.status(format!(
        "gate: {} requirement(s) on {} (suite {}, {} sample(s) per item{}), testing the {}{}",
        requirements.len(),
        names[0],
        m.inputs.suite,
        m.inputs.samples,
        if pooled > 1 {
            format!(", {pooled} runs pooled")
        } else {
            String::new()
        },
        match args.on {
            On::Point => "estimate",
            On::Lower => "95% interval's bound that could fail",
        },
        names
            .get(1)
            .map(|b| format!("; baseline {b}"))
            .unwrap_or_default()
    ));
    let checks = gate::check(
        &rep,
        &names[0],
        names.get(1).map(String::as_str),
        &requirements,
        args.on,
    )
    .map_err(|e| {
        anyhow::anyhow!("{e}").context(Hint(
            "drop the requirement, or give runs that can count it".into(),
        ))
    })?;
    let failed = checks.iter().filter(|c| !c.holds).count();
    for c in &checks {
        if c.holds {
            printer.status(format!("ok: {}", c.line(args.on)));
        } else {
            printer.out(c.line(args.on))?;
        }
    }
    if failed == 0 {
        printer.status(format!(
            "gate passed: all {} requirement(s) hold",
            checks.len()
        ));
        Ok(ExitCode::SUCCESS)
    } else {
        printer.status(format!(
            "gate failed: {failed} of {} requirement(s) do not hold",
            checks.len()
        ));
        Ok(ExitCode::from(1))
    }
}
