//! Command-line flags (clap derive), one file per subcommand. Parsing does no work: each
//! subcommand's `run` turns its flags into library calls.

mod chat;
mod directory;
mod gate;
mod judge;
mod judge_eval;
mod merge;
mod models;
pub mod printer;
mod report;
mod run;
mod scenarios;
mod score;
mod score_text;
mod scorer_eval;
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
    /// Write the evidence report of one or more runs: report.html, report.md, results.json, results.csv.
    Report(report::Args),
    /// Release gate: exit 0 when every requirement on the runs' metrics holds, 1 with one line
    /// per failed requirement, 2 on bad input.
    Gate(gate::Args),
    /// List model aliases and the models in ./models, $POPBENCH_MODELS and the hub cache.
    Models(models::Args),
    /// Print one greedy reply of a model to a message, for checking a model by hand.
    Chat(chat::Args),
    /// Run models on a suite into run directories (resumable, shardable), scoring as it goes.
    Run(Box<run::Args>),
    /// Re-score run directories from their responses, rewriting verdicts.jsonl.
    Score(score::Args),
    /// Score one response text against a country, language, harm and risk; prints one Verdict.
    ScoreText(score_text::Args),
    /// Agreement of the scorer with the labelled gold set; exit 1 below 100%.
    ScorerEval(scorer_eval::Args),
    /// Merge the shards of one run into one run directory.
    Merge(merge::Args),
    /// Grade the responses of runs with a model judge against datasets/rubric.toml
    /// (judgements.jsonl, resumable); rewrites verdicts.jsonl with the rule and judge layers.
    Judge(judge::Args),
    /// Agreement of a judge (and of the rules) with the judge gold set, per criterion: n,
    /// prevalence, precision, recall, balanced F1, Cohen's kappa with 95% bootstrap intervals.
    JudgeEval(judge_eval::Args),
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
        Command::Report(a) => report::run(a, &root, printer),
        Command::Gate(a) => gate::run(a, &root, printer),
        Command::Models(a) => models::run(a, printer),
        Command::Chat(a) => chat::run(a, printer),
        Command::Run(a) => run::run(*a, &root, printer),
        Command::Score(a) => score::run(a, &root, printer),
        Command::ScoreText(a) => score_text::run(a, &root, printer),
        Command::ScorerEval(a) => scorer_eval::run(a, &root, printer),
        Command::Merge(a) => merge::run(a, &root, printer),
        Command::Judge(a) => judge::run(a, &root, printer),
        Command::JudgeEval(a) => judge_eval::run(a, &root, printer),
    }
}
