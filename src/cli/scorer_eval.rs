//! `popbench scorer-eval`: agreement of the scorer with the hand-labelled gold set.

use super::printer::Printer;
use anyhow::Context as _;
use popbench::dataset::Dataset;
use popbench::score::{gold, Scorer};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Flags of `scorer-eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The gold folder (default: datasets/gold under the data root).
    #[arg(long, value_name = "DIR")]
    gold: Option<PathBuf>,
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let data = Dataset::load_strict(root).context("loading the curated data")?;
    let dir = args
        .gold
        .unwrap_or_else(|| root.join("datasets").join("gold"));
    let items =
        gold::load(&dir).with_context(|| format!("loading the gold set from {}", dir.display()))?;
    let scorer = Scorer::new(&data);
    let a = gold::evaluate(&scorer, &items);
    printer.out(format!("{} gold responses from {}", a.items, dir.display()))?;
    for (field, (ok, n)) in &a.fields {
        let pct = if *n == 0 {
            100.0
        } else {
            100.0 * *ok as f64 / *n as f64
        };
        printer.out(format!("{field:<26} {ok:>4}/{n:<4} {pct:6.1}%"))?;
    }
    for d in &a.disagreements {
        printer.out(format!(
            "\n{}: {} expected {} got {}",
            d.id, d.field, d.expected, d.got
        ))?;
        for r in &d.reasons {
            printer.out(format!("    {r}"))?;
        }
    }
    Ok(if a.perfect() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
