//! `popbench scorer-eval`: agreement of the scorer with the hand-labelled gold set.

use super::printer::Printer;
use anyhow::Context as _;
use popbench::dataset::Dataset;
use popbench::score::{gold, Scorer};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where the corpora of real answers are, under the data root.
const DEFAULT_REAL: &str = "tests/data/real-answers";

/// Flags of `scorer-eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The gold folder (default: datasets/gold under the data root).
    #[arg(long, value_name = "DIR")]
    gold: Option<PathBuf>,

    /// Judge the scorer on published answers of real systems instead: every `*/answers.jsonl`
    /// under DIR (default: tests/data/real-answers under the data root), checked against the
    /// hand labels of datasets/gold/real/contacts.jsonl and flags.jsonl. Lists every
    /// distinct contact the directory does not vouch for (with its count, status, label and
    /// the words around it), every critical flag, each critical rule's precision, and what
    /// does not hold; exit 1 when anything does not hold.
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = DEFAULT_REAL)]
    real: Option<PathBuf>,

    /// With --real: print the report as JSON.
    #[arg(long, requires = "real")]
    json: bool,
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let data = Dataset::load_strict(root).context("loading the curated data")?;
    let gold_dir = args
        .gold
        .clone()
        .unwrap_or_else(|| root.join("datasets").join("gold"));
    if let Some(dir) = &args.real {
        // The default is under the data root; a path given is as written.
        let dir = if dir.as_os_str() == DEFAULT_REAL {
            root.join(DEFAULT_REAL)
        } else {
            dir.clone()
        };
        return real(&data, &dir, &gold_dir, args.json, printer);
    }
    let dir = gold_dir;
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

/// `scorer-eval --real`.
fn real(
    data: &Dataset,
    dir: &Path,
    gold: &Path,
    json: bool,
    printer: Printer,
) -> anyhow::Result<ExitCode> {
    use popbench::score::real;
    let conversations =
        real::load(dir).with_context(|| format!("loading real answers from {}", dir.display()))?;
    let labels_at = |name: &str| gold.join("real").join(name);
    let contacts = match labels_at("contacts.jsonl") {
        p if p.is_file() => real::load_contact_labels(&p)?,
        _ => Vec::new(),
    };
    let flags = match labels_at("flags.jsonl") {
        p if p.is_file() => real::load_flag_labels(&p)?,
        _ => Vec::new(),
    };
    let scorer = Scorer::new(data);
    let r = real::evaluate(&scorer, &conversations, &contacts, &flags);
    if json {
        printer.out(serde_json::to_string_pretty(&r)?)?;
        return Ok(if r.holds() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    printer.out(format!(
        "real answers from {} ({} conversations)",
        dir.display(),
        conversations.len()
    ))?;
    printer.out(format!(
        "{:<28} {:>7} {:>9} {:>9} {:>9} {:>10} {:>9}",
        "corpus", "answers", "contacts", "verified", "not in dir", "invented", "inv. ans."
    ))?;
    for (corpus, n) in &r.answers {
        let st = r.statuses.get(corpus).cloned().unwrap_or_default();
        let total: usize = st.values().sum();
        let of = |f: &dyn Fn(popbench::score::verdict::ContactStatus) -> bool| -> usize {
            st.iter().filter(|(s, _)| f(**s)).map(|(_, n)| n).sum()
        };
        let verified = of(&|s| s == popbench::score::verdict::ContactStatus::Verified);
        let nid = of(&|s| s.is_not_in_directory());
        let inv = of(&|s| s.is_invented());
        let ia = r.invented_answers.get(corpus).copied().unwrap_or(0);
        printer.out(format!(
            "{corpus:<28} {n:>7} {total:>9} {verified:>9} {nid:>9} {inv:>10} {:>8.1}%",
            100.0 * ia as f64 / (*n).max(1) as f64
        ))?;
    }
    printer.out(format!(
        "\n{} distinct contacts the directory does not vouch for:",
        r.distinct.len()
    ))?;
    for d in &r.distinct {
        let label = d
            .label
            .map(|l| {
                serde_json::to_value(l)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .unwrap_or_else(|| "UNLABELLED".into());
        let statuses: Vec<String> = d
            .statuses
            .iter()
            .map(|(s, n)| format!("{}×{n}", popbench::metric::status_id(*s)))
            .collect();
        printer.out(format!(
            "{:>5}  {:<40} {:<16} {}  …{}…",
            d.count,
            d.text,
            label,
            statuses.join(","),
            d.context
        ))?;
    }
    printer.out(
        "\nrules on real text, every critical one and those labelled (raised, labelled right, labelled wrong, precision):",
    )?;
    for (rule, p) in &r.precision {
        let prec = p
            .precision()
            .map_or("-".to_string(), |x| format!("{:.1}%", 100.0 * x));
        printer.out(format!(
            "{rule:<26} {:>5} {:>5} {:>5} {prec:>7}",
            p.raised, p.right, p.wrong
        ))?;
    }
    let cs = &r.conversations;
    if cs.conversations > 0 {
        printer.out(format!(
            "\nlong conversations (two answers or more): {} scored; abandon the child: {} ({:.1}%); rated best practice on guiding to human help by most clinician raters: {}, of which abandoned: {}",
            cs.conversations,
            cs.abandoned.len(),
            100.0 * cs.abandoned.len() as f64 / cs.conversations as f64,
            cs.best_practice.len(),
            cs.best_practice_abandoned.len()
        ))?;
    }
    if r.problems.is_empty() {
        printer.out("\nholds: every distinct contact is labelled, no real contact is called invented, nothing labelled not-a-contact is extracted, every critical flag is labelled")?;
        Ok(ExitCode::SUCCESS)
    } else {
        printer.out(format!("\n{} problems:", r.problems.len()))?;
        for p in &r.problems {
            printer.out(format!("  {p}"))?;
        }
        Ok(ExitCode::from(1))
    }
}
