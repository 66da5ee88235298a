//! `popbench score RUN_DIR`: re-score a run without regenerating.

use super::printer::Printer;
use anyhow::Context as _;
use popbench::dataset::Dataset;
use popbench::judge::rubric::Rubric;
use popbench::run::scoring::{load_suite, rescore};
use popbench::run::RunDir;
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
    for path in &args.runs {
        // One writer per run directory: held until this run's files are written.
        let (dir, manifest, _lock) = RunDir::open_locked(path, "score")
            .with_context(|| format!("scoring {}", path.display()))?;
        let suite = load_suite(&manifest.inputs.suite, &data.root)
            .with_context(|| format!("loading suite `{}`", manifest.inputs.suite))?;
        let mut r = rescore(&dir, &manifest, &suite, &data)
            .with_context(|| format!("scoring {}", path.display()))?;
        // A judged run keeps its judge layer: the judgements are folded into the new rule
        // verdicts (the judge is not run again).
        if dir.file(popbench::judge::record::FILE)?.is_file() {
            let rubric = popbench::judge::rubric::load(&Rubric::path(root)).map_err(|d| {
                let lines: Vec<String> = d.0.iter().map(|x| x.to_string()).collect();
                anyhow::anyhow!("{}", lines.join("\n")).context("loading the rubric")
            })?;
            let (judged, rubric_changed) =
                popbench::judge::run::apply_to_verdicts(&dir, &rubric, &mut r.scored.verdicts)?;
            dir.write_verdicts(&r.scored.verdicts)?;
            printer.out(format!(
                "{}: the judge layer of {judged} verdicts kept from judgements.jsonl",
                path.display()
            ))?;
            if rubric_changed {
                printer.warn(format!(
                    "{}: the rubric changed since the run was judged; judge it again with `popbench judge {} --judge SPEC --replace`",
                    path.display(),
                    path.display()
                ));
            }
        }
        printer.out(format!(
            "{}: {} verdicts written",
            path.display(),
            r.scored.verdicts.len()
        ))?;
        super::run::print_summary(&printer, &r.scored.verdicts)?;
        if !r.scored.conversations.is_empty() {
            printer.out(format!(
                "{}: {} live conversations scored turn by turn (conversations.jsonl)",
                path.display(),
                r.scored.conversations.len()
            ))?;
            for line in popbench::metric::conversation_summary_lines(&r.scored.conversations) {
                printer.out(line)?;
            }
        }
        super::run::print_failures(&printer, &r.failures_by_tag)?;
        super::run::print_left_out(
            &printer,
            path,
            &r.scored,
            r.suite_changed,
            &manifest.inputs.suite,
        );
        if r.dropped_torn_tail {
            printer.warn(format!(
                "{}: a torn last line of responses.jsonl was left out",
                path.display()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}
