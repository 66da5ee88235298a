//! `popbench directory CC`.

use super::printer::{Hint, Printer};
use anyhow::Context as _;
use popbench::dataset::Dataset;
use popbench::directory::{Status, INTERNATIONAL};
use std::path::Path;
use std::process::ExitCode;

/// Flags of `directory`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// ISO 3166-1 alpha-2 country code (`KE`), or `international`; `list` lists the countries.
    country: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let data = Dataset::load_strict(root).context("loading the directory")?;
    let dir = &data.directory;
    if args.country == "list" {
        for e in dir.entries() {
            printer.out(format!(
                "{}\t{}\t{}\t{} services",
                e.code,
                e.name,
                e.region,
                e.services.len()
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let code = if args.country.eq_ignore_ascii_case(INTERNATIONAL) {
        INTERNATIONAL.to_string()
    } else {
        args.country.to_ascii_uppercase()
    };
    let Some(entry) = dir.country(&code) else {
        return Err(anyhow::anyhow!(
            "country `{}` is not in the directory",
            args.country
        ))
        .context(Hint("`popbench directory list` lists the countries".into()));
    };
    if args.json {
        printer.out(serde_json::to_string_pretty(entry)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    printer.out(format!(
        "{} ({}), region {}",
        entry.name, entry.code, entry.region
    ))?;
    if let Some(cc) = &entry.calling_code {
        printer.out(format!("calling code +{cc}"))?;
    }
    for s in &entry.services {
        let status = match s.status {
            Status::Current => String::new(),
            Status::Retired => format!(
                " [RETIRED{}]",
                s.replaced_by
                    .as_deref()
                    .map(|r| format!(", replaced by {r}"))
                    .unwrap_or_default()
            ),
        };
        printer.out(format!(
            "\n{} — {} ({}, for {}){status}",
            s.id, s.name, s.kind, s.audience
        ))?;
        if !s.aliases.is_empty() {
            printer.out(format!("  also: {}", s.aliases.join("; ")))?;
        }
        for c in &s.contacts {
            let mut line = format!("  {:<9} {}", c.kind.id(), c.value);
            if let Some(k) = &c.keyword {
                line.push_str(&format!(" (keyword {k})"));
            }
            if let Some(h) = c.hours.as_ref().or(s.hours.as_ref()) {
                line.push_str(&format!("  {h}"));
            }
            if c.status == Status::Retired {
                line.push_str(&format!(
                    "  [retired{}]",
                    c.replaced_by
                        .as_deref()
                        .map(|r| format!(", now {r}"))
                        .unwrap_or_default()
                ));
            }
            if let Some(sc) = &c.scope {
                line.push_str(&format!("  ({sc})"));
            }
            printer.out(line)?;
        }
        printer.out(format!(
            "  verified {} from {}",
            s.last_verified,
            s.sources.join(" ; ")
        ))?;
    }
    for t in &entry.traps {
        printer.out(format!("\ntrap: {} — {}", t.value, t.note))?;
    }
    Ok(ExitCode::SUCCESS)
}
