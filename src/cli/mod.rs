//! Command-line flags (clap derive), one file per subcommand. Parsing does no work: each
//! subcommand's `run` turns its flags into library calls.

mod directory;
pub mod printer;
mod scenarios;
mod validate;

use clap::{Parser, Subcommand};
use printer::Printer;
use std::path::PathBuf;
use std::process::ExitCode;

/// popbench: when a child asks an AI system for help, does the answer get them to real
/// protection?
#[derive(Debug, Parser)]
#[command(name = "popbench", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The data root holding datasets/ and scenarios/ (default: $POPBENCH_DATA, else the
    /// nearest ancestor of the current directory with datasets/policy.toml).
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,

    /// Print only results and errors.
    #[arg(long, short, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check scenarios, directory, contexts and policy; exit 2 with `path:line: message` per problem.
    Validate(validate::Args),
    /// Print a country's protection services.
    Directory(directory::Args),
    /// List scenarios and count them by harm, risk, language, country, context and age band.
    Scenarios(scenarios::Args),
}

/// Parses the command line and runs the subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let printer = Printer::new(cli.quiet);
    let root = popbench::dataset::find_root(cli.data.as_deref());
    match cli.command {
        Command::Validate(a) => validate::run(a, &root, printer),
        Command::Directory(a) => directory::run(a, &root, printer),
        Command::Scenarios(a) => scenarios::run(a, &root, printer),
    }
}
