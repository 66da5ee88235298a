//! `popbench score RUN_DIR`: re-score a run without regenerating.

use super::printer::Printer;
use anyhow::Context as _;
use popbench::dataset::Dataset;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Flags of `score`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run directories to re-score.
    #[arg(required = true)]
    runs: Vec<PathBuf>,
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let data = Dataset::load_strict(root).context("loading the curated data")?;
    for dir in &args.runs {
        let verdicts = popbench::run::runner::score_run(dir, &data)
            .with_context(|| format!("scoring {}", dir.display()))?;
        printer.out(format!(
            "{}: {} verdicts written",
            dir.display(),
            verdicts.len()
        ))?;
        super::run::print_summary(&printer, &verdicts)?;
    }
    Ok(ExitCode::SUCCESS)
}
