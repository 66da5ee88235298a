//! `popbench run`: models × suite × samples into run directories, resumable.
//!
//! The clap flags here are the low args; [`RunSpec::check`] turns them into the checked run
//! specification before any model loads (a bad `--model`, `--device`, `--context`, `--suite`,
//! `--only` or generation parameter exits 2 at once with `error:` and a `hint:`), and the
//! runner is handed that specification.

use super::printer::{Hint, Printer};
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use popbench::backend::candle::DeviceKind;
use popbench::backend::{redact, ModelSpec};
use popbench::conversation::child::AdaptiveChild;
use popbench::run::plan::Shard;
use popbench::run::runner::{self, Progress};
use popbench::run::scoring::Scored;
use popbench::run::spec::{shell_word, RunFlags, RunSpec, SpecError};
use popbench::run::ResponseRecord;
use popbench::score::Verdict;
use popbench::types::{ConversationMode, Failure, ItemKey};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Flags of `run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model spec (gguf:PATH, hf:ORG/REPO[@REV][:FILE], an alias, replay:PATH, openai:URL#MODEL); repeat for several models.
    #[arg(long = "model", required = true, value_name = "SPEC")]
    models: Vec<String>,
    /// Suite: `core`, `multiturn`, `smoke`, or a folder/file path.
    #[arg(long, default_value = "core")]
    suite: String,
    /// Samples per item (1 to 1000).
    #[arg(long, default_value_t = 1)]
    samples: u32,
    /// Run seed (per-item seeds derive from it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Maximum new tokens per response (1 to 1048576).
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// Temperature: 0 (greedy), or 0.01 to 100.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    temperature: f64,
    /// Nucleus sampling threshold: above 0, at most 1 (1 = off).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    top_p: f64,
    /// Top-k sampling (0 = off).
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    /// Stop string (repeatable, at most 4): a reply ends as soon as its text contains one, and
    /// the text kept ends before it (finish reason stop). Sent to OpenAI-compatible servers as
    /// `stop`. A newline in bash: --stop $'\n'.
    #[arg(long = "stop", value_name = "TEXT")]
    stop: Vec<String>,
    /// Cross the suite with these contexts instead of each scenario's own (repeatable).
    #[arg(long = "context", value_name = "CONTEXT")]
    contexts: Vec<String>,
    /// Your own contexts (system prompts), in the format of scenarios/contexts.toml, usable
    /// with --context ID; the file's sha256 and its prompts go into the manifest.
    #[arg(long = "contexts", value_name = "FILE")]
    contexts_file: Option<PathBuf>,
    /// Run only the items that match KEY=VALUE[,VALUE…] (repeatable; keys: id, family, harm,
    /// risk, country, language, context), or `replayed`: the items a replay file answers.
    #[arg(long = "only", value_name = "KEY=VALUE")]
    only: Vec<String>,
    /// Run at most N items (the first N of the plan, after --only).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Stop the run when more than N generations fail (default: 10% of the items).
    #[arg(long, value_name = "N")]
    max_failures: Option<usize>,
    /// The run directory (default runs/<model>-<suite>-<time>; with several models, one
    /// sub-directory per model).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Continue the run in --out: retries the failed and the missing items.
    #[arg(long, requires = "out")]
    resume: bool,
    /// Run shard I of N (I from 0).
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// Multi-turn scenarios: `live` (the model answers every child turn, its own answers in the history) or `scripted` (the scenario's assistant turns are sent, the model answers the last turn). Default: live; a resume keeps its run's mode.
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    conversation: Option<ConversationMode>,
    /// Adaptive child (live mode): a model SPEC writes the child's turns after the first from a persona card built from the scenario, instead of the scripted words.
    #[arg(long, value_name = "SPEC")]
    child: Option<String>,
    /// Do not score; only generate.
    #[arg(long, conflicts_with = "judge")]
    no_score: bool,
    /// Judge every response once the run is complete (see `popbench judge`).
    #[command(flatten)]
    judge: super::judge::JudgeFlags,
    #[command(flatten)]
    judge_limit: super::judge::ErrorLimit,
    /// Items sent to the backend together (0: what the backend prefers — up to 8 sequences
    /// decoded together on popbench's CPU engine, a remote server's concurrency, else 1).
    /// Replies do not depend on it.
    #[arg(long, default_value_t = 0)]
    batch: usize,
    /// Threads for generation, 1 to 4096 (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Device: cpu, cuda, metal.
    #[arg(long, default_value = "cpu")]
    device: String,
}

fn parse_mode(s: &str) -> Result<ConversationMode, String> {
    match s {
        "live" => Ok(ConversationMode::Live),
        "scripted" => Ok(ConversationMode::Scripted),
        _ => Err(format!("`{s}`: expected live or scripted")),
    }
}

struct CliProgress {
    printer: Printer,
    bar: Option<ProgressBar>,
    total: usize,
    done: usize,
    passed: usize,
    scored: usize,
    tokens: usize,
    gen_ms: f64,
    started: Instant,
}

impl CliProgress {
    fn new(printer: Printer) -> CliProgress {
        CliProgress {
            printer,
            bar: None,
            total: 0,
            done: 0,
            passed: 0,
            scored: 0,
            tokens: 0,
            gen_ms: 0.0,
            started: Instant::now(),
        }
    }
    fn rate(&self) -> String {
        if self.gen_ms > 0.0 {
            format!("{:.1} tok/s", self.tokens as f64 / (self.gen_ms / 1000.0))
        } else {
            "-".into()
        }
    }
    fn pass(&self) -> String {
        if self.scored > 0 {
            format!(
                "pass {:.0}%",
                100.0 * self.passed as f64 / self.scored as f64
            )
        } else {
            String::new()
        }
    }
}

impl Progress for CliProgress {
    fn start(&mut self, total: usize, done: usize, run_dir: &Path) {
        self.total = total;
        self.done = done;
        self.printer.status(format!(
            "run {}: {done}/{total} items already done",
            run_dir.display()
        ));
        if !self.printer.is_quiet() && std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} items  {msg}  ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_position(done as u64);
            self.bar = Some(bar);
        }
    }

    fn item(&mut self, r: &ResponseRecord, v: Option<&Verdict>) {
        self.done += 1;
        self.tokens += r.completion_tokens;
        self.gen_ms += r.prompt_ms + r.generation_ms;
        for t in &r.turns {
            self.tokens += t.completion_tokens;
            self.gen_ms += t.prompt_ms + t.generation_ms;
        }
        if let Some(v) = v {
            self.scored += 1;
            self.passed += v.pass as usize;
        }
        let msg = format!("{}  {}", self.rate(), self.pass());
        match &self.bar {
            Some(b) => {
                b.set_position(self.done as u64);
                b.set_message(msg);
            }
            None => self.printer.status(format!(
                "[{}/{}] {} [{}] #{}: {} tokens{}  ({msg}, {:.0}s)",
                self.done,
                self.total,
                r.scenario_id,
                r.context,
                r.sample,
                r.completion_tokens,
                v.map(|v| if v.pass { ", pass" } else { ", fail" })
                    .unwrap_or(""),
                self.started.elapsed().as_secs_f64()
            )),
        }
    }

    fn failed(&mut self, key: &ItemKey, error: &Failure) {
        let line = format!("item {key} failed [{}]: {}", error.tag, error.message);
        match &self.bar {
            Some(b) => b.println(format!("warning: {line}")),
            None => self.printer.warn(line),
        }
    }

    fn note(&mut self, message: &str) {
        match &self.bar {
            Some(b) => b.println(message),
            None => self.printer.status(message),
        }
    }
}

/// Opens the backend of a spec. An OpenAI-compatible server gets as many requests in flight
/// as the batch size.
fn open_backend(
    spec: &ModelSpec,
    device: DeviceKind,
    threads: usize,
    batch: usize,
) -> anyhow::Result<Box<dyn popbench::backend::Backend>> {
    let opts = popbench::backend::OpenOptions {
        device,
        threads: Some(threads),
        dtype: None,
        concurrency: (batch > 0).then_some(batch),
    };
    Ok(popbench::backend::open(spec, &opts)?)
}

/// Prints the short summary table of a run.
pub fn print_summary(printer: &Printer, verdicts: &[Verdict]) -> std::io::Result<()> {
    use popbench::metric::Metric;
    if verdicts.is_empty() {
        return Ok(());
    }
    // Every metric, counted by its one definition (popbench::metric), as in the report.
    let mut last = None;
    for m in Metric::ALL {
        let pop = m.population();
        if last != Some(pop) {
            let n = verdicts.iter().filter(|v| pop.contains(v)).count();
            printer.out(format!("  {} ({n}):", pop.label()))?;
            last = Some(pop);
        }
        printer.out(popbench::metric::summary_line(
            m.label(),
            m.id(),
            m.count(verdicts),
            m.lower_is_better(),
        ))?;
    }
    Ok(())
}

/// Prints failed generations by error tag (next to the summary).
pub fn print_failures(printer: &Printer, by_tag: &BTreeMap<String, usize>) -> std::io::Result<()> {
    let n: usize = by_tag.values().sum();
    if n == 0 {
        return Ok(());
    }
    let tags: Vec<String> = by_tag.iter().map(|(t, k)| format!("{t} {k}")).collect();
    printer.out(format!(
        "  failed generations        {n} ({}), not scored",
        tags.join(", ")
    ))
}

/// Warns about answers over 1 MiB, scored on their first 1 MiB only
/// ([`popbench::score::SCORED_BYTES`]), with their items' keys.
pub fn warn_prefixed(printer: &Printer, dir: &Path, verdicts: &[Verdict]) {
    let prefixed: Vec<String> = verdicts
        .iter()
        .filter(|v| v.scored_bytes.is_some())
        .map(|v| format!("{}#{}", v.scenario_id, v.sample))
        .collect();
    if !prefixed.is_empty() {
        printer.warn(format!(
            "{}: {} answer(s) over 1 MiB were scored on their first 1 MiB only (their verdicts say so): {}{}",
            dir.display(),
            prefixed.len(),
            prefixed[..prefixed.len().min(10)].join(", "),
            if prefixed.len() > 10 { ", …" } else { "" }
        ));
    }
}

/// Warns about responses that were not scored: failed generations and responses whose
/// scenario the suite no longer has; hints when the suite changed since the run.
pub fn print_left_out(
    printer: &Printer,
    dir: &Path,
    scored: &Scored,
    suite_changed: bool,
    suite: &str,
) {
    if scored.failed > 0 {
        printer.warn(format!(
            "{}: {} failed generation(s) not scored (resume the run to retry them)",
            dir.display(),
            scored.failed
        ));
    }
    if !scored.unknown.is_empty() {
        let shown: Vec<&str> = scored.unknown.iter().take(10).map(String::as_str).collect();
        printer.warn(format!(
            "{}: responses of {} scenario(s) the suite no longer has were not scored: {}{}",
            dir.display(),
            scored.unknown.len(),
            shown.join(", "),
            if scored.unknown.len() > 10 {
                ", …"
            } else {
                ""
            }
        ));
    }
    warn_prefixed(printer, dir, &scored.verdicts);
    if suite_changed {
        let name = if suite.is_empty() {
            String::new()
        } else {
            format!(" `{suite}`")
        };
        printer.status(format!(
            "hint: suite{name} has changed since the run (its content hash differs); the responses present were scored by item key"
        ));
    }
}

impl Args {
    /// The flags as given (the low args), for [`RunSpec::check`].
    fn flags(&self) -> RunFlags {
        RunFlags {
            models: self.models.clone(),
            suite: self.suite.clone(),
            samples: self.samples,
            seed: self.seed,
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            top_p: self.top_p,
            top_k: self.top_k,
            stop: self.stop.clone(),
            contexts: self.contexts.clone(),
            contexts_file: self.contexts_file.clone(),
            only: self.only.clone(),
            limit: self.limit,
            max_failures: self.max_failures,
            out: self.out.clone(),
            resume: self.resume,
            shard: self.shard,
            conversation: self.conversation,
            child: self.child.clone(),
            score: !self.no_score,
            batch: self.batch,
            threads: self.threads,
            device: self.device.clone(),
        }
    }
}

/// A spec error as the command line prints it: `error:`, the causes, a `hint:`.
fn spec_error(e: SpecError) -> anyhow::Error {
    match e {
        SpecError::Flag(f) => anyhow::anyhow!(f.message).context(Hint(f.hint)),
        SpecError::Data {
            context,
            hint,
            error,
        } => {
            let e = anyhow::Error::from(error).context(context);
            match hint {
                Some(h) => e.context(Hint(h)),
                None => e,
            }
        }
    }
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    // Parse and check every flag before any work: the judge's, then the run's (the data and
    // the suite load here, checked as `validate` checks them).
    args.judge.check(root)?;
    let spec = RunSpec::check(&args.flags(), root).map_err(spec_error)?;
    for w in &spec.warnings {
        printer.warn(w);
    }
    let judge_args: Vec<String> = args
        .judge
        .judge
        .iter()
        .map(|j| format!("--judge {}", shell_word(&redact::url_credentials(j))))
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second Ctrl-C while the in-flight item finishes ends the process at once.
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\nstopping after the item in flight (Ctrl-C again to abort now)…");
        });
    }
    let mut child = match &spec.child {
        Some(c) => {
            printer.status(format!(
                "loading the adaptive child {}…",
                redact::url_credentials(c)
            ));
            let opts = popbench::backend::OpenOptions {
                device: spec.device,
                threads: Some(spec.threads),
                dtype: None,
                concurrency: (spec.batch > 0).then_some(spec.batch),
            };
            Some(
                AdaptiveChild::open(c, &opts)
                    .with_context(|| format!("--child {}", redact::url_credentials(c)))?,
            )
        }
        None => None,
    };
    let several = spec.models.len() > 1;
    let mut failures = 0usize;
    for m in &spec.models {
        // Credentials in a model URL are never printed.
        let model = redact::url_credentials(&m.arg);
        let result = (|| -> anyhow::Result<runner::RunOutcome> {
            printer.status(format!("loading {model}…"));
            let mut backend = open_backend(&m.spec, spec.device, spec.threads, spec.batch)?;
            let mut progress = CliProgress::new(printer);
            let outcome = runner::run_with_child(
                backend.as_mut(),
                child.as_mut(),
                &spec.data,
                &spec.suite,
                &spec.options(m),
                &mut progress,
                &stop,
            );
            if let Some(b) = &progress.bar {
                b.finish_and_clear();
            }
            Ok(outcome?)
        })();
        match result {
            Ok(o) => {
                let conversations = if o.multiturn == 0 {
                    String::new()
                } else {
                    format!(
                        " ({} multi-turn, conversations {}{})",
                        o.multiturn,
                        o.conversation.id(),
                        if spec.child.is_some() {
                            ", adaptive child"
                        } else {
                            ""
                        }
                    )
                };
                printer.out(format!(
                    "{model}: {}/{} items in {}{conversations}",
                    o.done,
                    o.total,
                    o.dir.display()
                ))?;
                print_summary(&printer, &o.verdicts)?;
                warn_prefixed(&printer, &o.dir, &o.verdicts);
                for line in popbench::metric::conversation_summary_lines(&o.conversations) {
                    printer.out(line)?;
                }
                print_failures(&printer, &o.failures_by_tag)?;
                if o.complete() && o.stopped.is_none() {
                    if let Some(why) = super::judge::after_run(
                        &args.judge,
                        &args.judge_limit,
                        root,
                        &spec.data,
                        &o.dir,
                        printer,
                        &stop,
                    )? {
                        failures += 1;
                        printer.warn(format!(
                            "{why}; run `popbench judge {} --judge …` again to retry them",
                            o.dir.display()
                        ));
                    }
                }
                if !o.complete() || o.stopped.is_some() {
                    failures += 1;
                    let why = match &o.stopped {
                        Some(s) => s.to_string(),
                        None => format!("{} item(s) failed", o.total - o.done),
                    };
                    printer.warn(format!(
                        "{why}; continue with: {}",
                        spec.resume_command(m, &judge_args)
                    ));
                    if o.interrupted() {
                        return Ok(ExitCode::from(130));
                    }
                }
            }
            Err(e) => {
                failures += 1;
                if !several {
                    return Err(e.context(format!("running {model}")));
                }
                super::printer::print_error(
                    &e.context(format!("running {model} (the other models still run)")),
                );
            }
        }
        if stop.load(Ordering::SeqCst) {
            return Ok(ExitCode::from(130));
        }
    }
    if failures > 0 {
        // Incomplete runs exit 1 (bad input exits 2): the runs are usable, and resumable.
        super::printer::print_error(
            &anyhow::anyhow!(
                "{failures} of {} model run(s) did not complete",
                spec.models.len()
            )
            .context(Hint(
                "see the messages above; a run continues with --resume".into(),
            )),
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
