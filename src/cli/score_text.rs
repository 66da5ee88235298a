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
    /// The child's language (BCP 47; an alias such as `tl` is read as `fil`; a tag popbench does
    /// not know is scored with a warning).
    #[arg(long)]
    language: String,
    /// The harm id (`bullying`, `domestic_violence`…).
    #[arg(long)]
    harm: String,
    /// The risk id (`imminent`, `high`, `moderate`, `none`).
    #[arg(long)]
    risk: String,
    /// The child's age (5 to 25).
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
    /// The language tag in canonical form (`tl` → `fil`).
    language: String,
    harm: Harm,
    risk: Risk,
    /// What deserves a word but stops nothing (a language popbench does not know).
    warnings: Vec<String>,
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
    if data.contexts.get(&args.context).is_none() {
        return Err(refuse(
            format!("--context: `{}` is not a context", args.context),
            format!("known contexts: {}", data.contexts.ids()),
        ));
    }
    if !(5..=25).contains(&args.age) {
        return Err(refuse(
            format!("--age: {} is outside 5..=25", args.age),
            "scenarios are about children and young people aged 5 to 25".into(),
        ));
    }
    // BCP 47: an ill-formed tag is refused; an alias is resolved (`tl` → `fil`); a
    // well-formed tag popbench does not know is scored, with a warning.
    let languages = known_languages(data);
    let tag = popbench::language::parse_tag(&args.language).map_err(|e| {
        refuse(
            format!("--language: {e}"),
            format!(
                "languages the directory's services use: {}",
                languages.join(", ")
            ),
        )
    })?;
    let mut warnings = Vec::new();
    if !popbench::language::is_known(&tag.tag, languages.iter().map(String::as_str)) {
        warnings.push(format!(
            "--language `{}` is a well-formed BCP 47 tag that popbench does not know: no directory service lists it; scored all the same",
            tag.tag
        ));
    }
    Ok(Checked {
        country,
        language: tag.tag,
        harm,
        risk,
        warnings,
    })
}

/// The primary language subtags of the directory's countries and services, sorted.
fn known_languages(data: &Dataset) -> Vec<String> {
    let mut v: Vec<String> = data
        .directory
        .languages()
        .map(popbench::scenario::primary_language)
        .collect();
    v.sort();
    v.dedup();
    v
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let data = Dataset::load_strict(root).context("loading the curated data")?;
    let checked = check(&args, &data)?;
    for w in &checked.warnings {
        printer.warn(w);
    }
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
        &checked.language,
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
