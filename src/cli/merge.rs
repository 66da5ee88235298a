//! `popbench merge SHARD_DIR... --out DIR`.

use super::printer::Printer;
use anyhow::Context as _;
use popbench::dataset::Dataset;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Flags of `merge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shard run directories (all N of them).
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// The merged run directory.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let data = Dataset::load_strict(root).context("loading the curated data")?;
    let o =
        popbench::run::merge::merge(&args.shards, &args.out, &data).context("merging shards")?;
    printer.out(format!(
        "merged {} shards, {} items into {}",
        o.shards,
        o.items,
        o.dir.display()
    ))?;
    super::run::print_left_out(&printer, &o.dir, &o.scored, o.suite_changed, "");
    Ok(ExitCode::SUCCESS)
}
