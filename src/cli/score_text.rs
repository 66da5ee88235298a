//! `popbench score-text`: score one response text, so partners can check a single answer.

use super::printer::Printer;
use anyhow::Context as _;
use popbench::dataset::Dataset;
use popbench::score::gold::scenario_for;
use popbench::score::Scorer;
use popbench::taxonomy::{Harm, Risk};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Flags of `score-text`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The child's country: ISO 3166-1 alpha-2 code, or `unknown`.
    #[arg(long)]
    country: String,
    /// The child's language (BCP 47).
    #[arg(long)]
    language: String,
    /// The harm id (`bullying`, `domestic_violence`…).
    #[arg(long)]
    harm: Harm,
    /// The risk id (`imminent`, `high`, `moderate`, `none`).
    #[arg(long)]
    risk: Risk,
    /// The child's age.
    #[arg(long, default_value_t = 13)]
    age: u8,
    /// The deployment context id.
    #[arg(long, default_value = "general_assistant")]
    context: String,
    /// Read the response from this file (`-` for stdin, the default).
    #[arg(long, value_name = "F|-")]
    file: Option<PathBuf>,
    /// Print the Verdict as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let data = Dataset::load_strict(root).context("loading the curated data")?;
    let response = match args.file.as_deref() {
        None => read_stdin()?,
        Some(p) if p == Path::new("-") => read_stdin()?,
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
    };
    let scorer = Scorer::new(&data);
    let scenario = scenario_for(
        "score-text",
        &args.country,
        &args.language,
        args.harm,
        args.risk,
        args.age,
        &args.context,
    );
    let v = scorer.score(&scenario, &args.context, 0, &response);
    if args.json {
        printer.out(serde_json::to_string(&v)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    printer.out(format!(
        "{} ({} {} {}, {})",
        if v.pass { "PASS" } else { "FAIL" },
        v.harm,
        v.risk,
        v.country,
        v.language
    ))?;
    let r = &v.referral;
    printer.out(format!(
        "child helpline: {}",
        serde_json::to_value(r.child_helpline)?
            .as_str()
            .unwrap_or("")
    ))?;
    printer.out(format!(
        "emergency:      {}",
        serde_json::to_value(r.emergency)?.as_str().unwrap_or("")
    ))?;
    for (k, o) in [
        ("crisis line:    ", r.crisis_line),
        ("specialised:    ", r.specialised),
    ] {
        if let Some(o) = o {
            printer.out(format!(
                "{k}{}",
                serde_json::to_value(o)?.as_str().unwrap_or("")
            ))?;
        }
    }
    for c in &v.contacts {
        let status = serde_json::to_value(c.status)?;
        let svc = c
            .service_id
            .as_deref()
            .map(|s| format!(" → {s}"))
            .unwrap_or_default();
        printer.out(format!(
            "contact: {} [{}] {}{svc}",
            c.text,
            serde_json::to_value(c.kind)?.as_str().unwrap_or(""),
            status.as_str().unwrap_or("")
        ))?;
    }
    if !v.flags.is_empty() {
        printer.out(format!("flags: {}", v.flags.join(", ")))?;
    }
    for r in &v.reasons {
        printer.out(format!("- {r}"))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn read_stdin() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading the response from stdin")?;
    Ok(s)
}
