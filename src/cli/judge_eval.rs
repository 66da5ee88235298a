//! `popbench judge-eval --judge SPEC [--gold DIR] [--limit N] [--out FILE]`: the judge's
//! agreement with the hand-labelled judge gold set, per criterion, beside the rule layer's.

use super::judge::JudgeFlags;
use super::printer::{Hint, Printer};
use anyhow::Context as _;
use popbench::dataset::Dataset;
use popbench::judge::agreement::BOOTSTRAP_REPS;
use popbench::judge::eval::{
    evaluate, load_gold, measure, subset, table, EvalReport, ItemJudgement, RELIABLE_KAPPA,
};
use popbench::judge::model::ModelJudge;
use popbench::score::Scorer;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Flags of `judge-eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    flags: JudgeFlags,
    /// The judge gold folder (default: datasets/gold/judge under the data root).
    #[arg(long, value_name = "DIR")]
    gold: Option<PathBuf>,
    /// Evaluate only N gold items (a fixed subset spread over the set, by a hash of the id).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Where to write the JSON report (default: judge-eval-<judge name>.json).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    if args.flags.judge.is_none() {
        return Err(anyhow::anyhow!("no judge given"))
            .context(Hint("popbench judge-eval --judge SPEC [--limit N]".into()));
    }
    args.flags.check(root)?;
    let data = Dataset::load_strict(root).context("loading the curated data")?;
    let rubric = args.flags.load_rubric(root)?;
    let dir = args
        .gold
        .clone()
        .unwrap_or_else(|| root.join("datasets").join("gold").join("judge"));
    let all = load_gold(&dir)
        .with_context(|| format!("loading the judge gold set from {}", dir.display()))?;
    let gold_items = all.len();
    let items = subset(all, args.limit);
    printer.status(format!(
        "loading the judge {}…",
        popbench::backend::redact::url_credentials(args.flags.judge.as_deref().unwrap_or(""))
    ));
    let mut backend = args.flags.open()?;
    let info = backend.info().clone();
    let params = args.flags.params();
    let started = Instant::now();
    let (judgements, calls) = {
        let mut judge = ModelJudge::new(
            backend.as_mut(),
            &rubric,
            params.clone(),
            args.flags.judge_batch,
        );
        let batch = judge.batch();
        let j = evaluate(&items, &mut judge, batch, &mut |done, total| {
            printer.status(format!(
                "judged {done}/{total} gold items ({:.0}s)",
                started.elapsed().as_secs_f64()
            ))
        });
        let calls: usize = j.iter().map(|x| x.attempts as usize).sum();
        (j, calls)
    };
    let scorer = Scorer::new(&data);
    let criteria = measure(&items, &judgements, &rubric, &scorer);
    let report = EvalReport {
        judge: info.clone(),
        params,
        rubric_sha256: rubric.hash.clone(),
        gold_dir: dir.display().to_string(),
        gold_items,
        items: items.len(),
        limit: args.limit,
        items_with_errors: judgements.iter().filter(|j| j.error.is_some()).count(),
        judge_calls: calls,
        bootstrap_reps: BOOTSTRAP_REPS,
        reliable_kappa: RELIABLE_KAPPA,
        criteria,
        judgements: items
            .iter()
            .zip(&judgements)
            .map(|(g, j)| ItemJudgement {
                id: g.id.clone(),
                judgement: j.clone(),
            })
            .collect(),
    };
    printer.out(format!(
        "judge {} on {} of {} gold items from {} ({} judge calls, {} item(s) with a judge error, {:.0}s)",
        info.spec,
        report.items,
        gold_items,
        dir.display(),
        report.judge_calls,
        report.items_with_errors,
        started.elapsed().as_secs_f64()
    ))?;
    printer.out(
        "95% bootstrap intervals in brackets; kappa below 0.6 = not reliable for this judge",
    )?;
    for line in table(&report.criteria) {
        printer.out(line)?;
    }
    let out = args.out.clone().unwrap_or_else(|| {
        let name: String = info
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        PathBuf::from(format!("judge-eval-{name}.json"))
    });
    let bytes = serde_json::to_vec_pretty(&report)?;
    popbench::run::journal::write_atomic(&out, &bytes)
        .with_context(|| format!("writing {}", out.display()))?;
    printer.out(format!("wrote {}", out.display()))?;
    Ok(ExitCode::SUCCESS)
}
