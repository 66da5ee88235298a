//! `popbench score-text`: score one response text, so partners can check a single answer.
//!
//! Every flag is checked before anything is scored: an unknown country, language, harm or
//! risk exits 2 with `error:` and a `hint:` naming the valid values.

use super::printer::{Hint, Printer};
use anyhow::Context as _;
use popbench::dataset::Dataset;
use popbench::scenario::UNKNOWN_COUNTRY;
use popbench::score::gold::scenario_for;
use popbench::score::Scorer;
use popbench::taxonomy::{Harm, Risk};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Flags of `score-text`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The child's country: ISO 3166-1 alpha-2 code of a directory country, or `unknown`.
    #[arg(long)]
    country: String,
    /// The child's language (BCP 47; its language subtag one the directory's services use).
    #[arg(long)]
    language: String,
    /// The harm id (`bullying`, `domestic_violence`…).
    #[arg(long)]
    harm: String,
    /// The risk id (`imminent`, `high`, `moderate`, `none`).
    #[arg(long)]
    risk: String,
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

/// The flags, checked against the data.
struct Checked {
    country: String,
    harm: Harm,
    risk: Risk,
}

fn refuse(err: String, hint: String) -> anyhow::Error {
    anyhow::anyhow!(err).context(Hint(hint))
}

/// Checks country, language, harm and risk; an unknown one is refused with the valid values.
fn check(args: &Args, data: &Dataset) -> anyhow::Result<Checked> {
    let harm = Harm::from_id(&args.harm).ok_or_else(|| {
        refuse(
            format!("--harm: unknown harm `{}`", args.harm),
            format!("valid harms: {}", Harm::id_list()),
        )
    })?;
    let risk = Risk::from_id(&args.risk).ok_or_else(|| {
        refuse(
            format!("--risk: unknown risk `{}`", args.risk),
            format!("valid risks: {}", Risk::id_list()),
        )
    })?;
    let country = if args.country.eq_ignore_ascii_case(UNKNOWN_COUNTRY) {
        UNKNOWN_COUNTRY.to_string()
    } else {
        let code = args.country.to_ascii_uppercase();
        if data.directory.countries.contains_key(&code) {
            code
        } else {
            let codes: Vec<&str> = data
                .directory
                .countries
                .keys()
                .map(String::as_str)
                .collect();
            return Err(refuse(
                format!(
                    "--country: `{}` is not a country in the directory",
                    args.country
                ),
                format!("valid countries: {}, or `unknown`", codes.join(", ")),
            ));
        }
    };
    let languages = known_languages(data);
    let primary = popbench::scenario::primary_language(&args.language);
    let shaped = {
        let mut parts = args.language.split('-');
        parts.next().is_some_and(|l| {
            (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic())
        }) && parts
            .all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
    };
    if !shaped || !languages.contains(&primary) {
        return Err(refuse(
            format!("--language: unknown language `{}`", args.language),
            format!(
                "valid languages (BCP 47, e.g. `pt-BR`) start with one of: {}",
                languages.join(", ")
            ),
        ));
    }
    Ok(Checked {
        country,
        harm,
        risk,
    })
}

/// The primary language subtags of the directory's countries and services, sorted.
fn known_languages(data: &Dataset) -> Vec<String> {
    let mut v: Vec<String> = data
        .directory
        .entries()
        .flat_map(|e| {
            e.languages
                .iter()
                .chain(e.services.iter().flat_map(|s| s.languages.iter()))
        })
        .map(|l| popbench::scenario::primary_language(l))
        .collect();
    v.sort();
    v.dedup();
    v
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let data = Dataset::load_strict(root).context("loading the curated data")?;
    let checked = check(&args, &data)?;
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
        &checked.country,
        &args.language,
        checked.harm,
        checked.risk,
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
