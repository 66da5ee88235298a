//! `popbench models`: the registry's aliases, and the models on this machine.

use super::printer::Printer;
use popbench::backend::registry::ALIASES;
use popbench::backend::resolve::{find_alias_locally, hub_cache_dir, list_local, model_dirs};
use std::process::ExitCode;

/// Flags of `models`.
#[derive(Debug, clap::Args)]
pub struct Args {}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

pub fn run(_args: Args, printer: Printer) -> anyhow::Result<ExitCode> {
    printer.out("Aliases:")?;
    for a in ALIASES {
        let here = match find_alias_locally(a) {
            Some(p) => format!("present: {}", p.display()),
            None => "not downloaded (scripts/fetch-model, or any command that opens it)".into(),
        };
        printer.out(format!(
            "  {:<24} hf:{}@{}:{}",
            a.name, a.repo, a.revision, a.file
        ))?;
        printer.out(format!(
            "  {:<24} {} — sha256 {} — {}",
            "",
            a.description,
            a.sha256,
            mib(a.bytes)
        ))?;
        printer.out(format!("  {:<24} {here}", ""))?;
    }
    let dirs: Vec<String> = model_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    printer.out(format!(
        "\nLocal models (in {} and the hub cache {}):",
        dirs.join(", "),
        hub_cache_dir().display()
    ))?;
    let local = list_local();
    if local.is_empty() {
        printer.out("  none")?;
    }
    for m in local {
        printer.out(format!("  {}  ({})", m.spec, mib(m.bytes)))?;
    }
    Ok(ExitCode::SUCCESS)
}
