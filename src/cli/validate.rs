//! `popbench validate`.

use super::printer::Printer;
use popbench::scenario::SuiteSpec;
use std::path::Path;
use std::process::ExitCode;

/// Flags of `validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Validate only these suites (names or paths); default: every suite under scenarios/.
    #[arg(long = "suite", value_name = "SUITE")]
    suites: Vec<String>,
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let specs: Vec<SuiteSpec> = args.suites.iter().map(|s| SuiteSpec::parse(s)).collect();
    let (diags, summary) = popbench::validate::validate(root, &specs);
    for d in &diags.0 {
        printer.out(d.to_string())?;
    }
    let suites = summary
        .suites
        .iter()
        .map(|(n, c)| format!("{n} {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    printer.status(format!(
        "checked {} countries, {} services, {} contacts, {} contexts, {} policy rules; scenarios: {}",
        summary.countries, summary.services, summary.contacts, summary.contexts, summary.rules, suites
    ));
    if diags.is_empty() {
        printer.status("ok: no problems");
        Ok(ExitCode::SUCCESS)
    } else {
        printer.status(format!("{} problem(s)", diags.len()));
        Ok(ExitCode::from(2))
    }
}
