//! `popbench directory CC`, `popbench directory list` and `popbench directory check`.

use super::printer::{Hint, Printer};
use anyhow::Context as _;
use popbench::dataset::Dataset;
use popbench::directory::{check, online, Status, INTERNATIONAL};
use popbench::Diagnostics;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// Flags of `directory`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// ISO 3166-1 alpha-2 country code (`KE`), or `international`; `list` lists the countries;
    /// `check` lists every service by age, source kind and confidence and checks the source
    /// rules (exit 2 with `path:line: message` per problem).
    country: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// With `check`: print the coverage table (Markdown) instead of the listing.
    #[arg(long)]
    coverage: bool,
    /// With `check`: also fetch every source and report dead links and pages that no longer
    /// show their number (needs a network; exit 1 when something is found).
    #[arg(long)]
    online: bool,
    /// With `check --online`: seconds to wait for each page.
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    /// With `check`: the date ages are counted to (`YYYY-MM-DD`; default: today, UTC).
    #[arg(long)]
    today: Option<String>,
}

/// `popbench directory check`.
fn run_check(args: &Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let today = match &args.today {
        Some(t) if popbench::diag::is_iso_date(t) => t.clone(),
        Some(t) => anyhow::bail!("--today `{t}` is not a date YYYY-MM-DD"),
        None => check::today(),
    };
    let mut diags = Diagnostics::default();
    let dir = popbench::directory::load(&Dataset::directory_dir(root), &mut diags);
    check::check(&dir, &today, &mut diags);
    diags.sort();
    if args.coverage {
        if let Some(world) = popbench::directory::world::World::load(root, &mut diags) {
            printer.out(world.coverage_markdown(&dir).trim_end())?;
            printer.out("")?;
        }
        printer.out(check::coverage_markdown(&dir).trim_end())?;
    } else if args.json {
        printer.out(serde_json::to_string_pretty(&check::rows(&dir, &today))?)?;
    } else {
        printer.out("age_days\tlast_verified\tservice\tkind\tconfidence\tprimary\tsource_kinds")?;
        for r in check::rows(&dir, &today) {
            printer.out(format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                r.age_days
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "?".into()),
                r.last_verified,
                r.id,
                r.kind,
                match r.confidence {
                    popbench::directory::Confidence::High => "high",
                    popbench::directory::Confidence::Medium => "medium",
                },
                if r.primary {
                    "yes"
                } else if r.primary_source_missing.is_some() {
                    "missing"
                } else {
                    "no"
                },
                r.source_kinds
                    .iter()
                    .map(|k| k.id())
                    .collect::<Vec<_>>()
                    .join(",")
            ))?;
        }
    }
    for d in &diags.0 {
        printer.out(d.to_string())?;
    }
    let services = dir.services().count();
    let primary = dir.services().filter(|s| s.has_primary_source()).count();
    printer.status(format!(
        "checked {} countries, {services} services ({primary} cite a primary source) against the source rules",
        dir.countries.len()
    ));
    let mut code = if diags.is_empty() {
        ExitCode::SUCCESS
    } else {
        printer.status(format!("{} problem(s)", diags.len()));
        ExitCode::from(2)
    };
    if args.online {
        let findings = online::check(&dir, Duration::from_secs(args.timeout.max(1)), |url| {
            printer.status(format!("fetching {url}"))
        });
        for f in &findings {
            printer.out(format!("online: {f}"))?;
        }
        printer.status(format!("online: {} finding(s)", findings.len()));
        if !findings.is_empty() && diags.is_empty() {
            code = ExitCode::from(1);
        }
    }
    Ok(code)
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    if args.country == "check" {
        return run_check(&args, root, printer);
    }
    if args.coverage || args.online || args.today.is_some() {
        anyhow::bail!("--coverage, --online and --today go with `popbench directory check`");
    }
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
            if !c.sources.is_empty() {
                let list: Vec<String> = c
                    .sources
                    .iter()
                    .map(|x| format!("{} ({}, read {})", x.url, x.kind, x.read))
                    .collect();
                line.push_str(&format!("  [sources: {}]", list.join(" ; ")));
            }
            printer.out(line)?;
        }
        printer.out(format!(
            "  verified {} from {}",
            s.last_verified,
            s.sources
                .iter()
                .map(|x| format!("{} ({}, read {})", x.url, x.kind, x.read))
                .collect::<Vec<_>>()
                .join(" ; ")
        ))?;
    }
    for t in &entry.traps {
        printer.out(format!("\ntrap: {} — {}", t.value, t.note))?;
    }
    Ok(ExitCode::SUCCESS)
}
