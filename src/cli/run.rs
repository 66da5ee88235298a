//! `popbench run`: models × suite × samples into run directories, resumable.
//!
//! Every flag is parsed and checked before any model loads: a bad `--model`, `--device`,
//! `--context`, `--suite` or `--only` exits 2 at once with `error:` and a `hint:`.

use super::printer::{Hint, Printer};
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use popbench::backend::candle::DeviceKind;
use popbench::backend::ModelSpec;
use popbench::conversation::child::AdaptiveChild;
use popbench::dataset::Dataset;
use popbench::run::plan::{select_plan, Shard};
use popbench::run::runner::{self, Progress, RunOptions};
use popbench::run::scoring::{load_suite, Scored};
use popbench::run::{ResponseRecord, Selection};
use popbench::score::Verdict;
use popbench::types::{ConversationMode, Failure, GenerationParams, ItemKey};
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
    /// Samples per item.
    #[arg(long, default_value_t = 1)]
    samples: u32,
    /// Run seed (per-item seeds derive from it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Maximum new tokens per response.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// Temperature (0 = greedy).
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    /// Nucleus sampling threshold.
    #[arg(long, default_value_t = 1.0)]
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
    /// Items sent to the backend together (0: what the backend prefers — up to 8 sequences
    /// decoded together on popbench's CPU engine, a remote server's concurrency, else 1).
    /// Replies do not depend on it.
    #[arg(long, default_value_t = 0)]
    batch: usize,
    /// Threads for generation (default: all cores).
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

/// The command that resumes a run: the same inputs (a resume with other inputs is refused),
/// this model only, its run directory, `--resume`.
fn resume_command(
    args: &Args,
    selection: &Selection,
    mode: ConversationMode,
    model: &str,
    dir: &Path,
) -> String {
    let d = GenerationParams::default();
    let mut c = format!(
        "popbench run --model {model} --suite {} --out {} --resume",
        args.suite,
        dir.display()
    );
    if args.samples != 1 {
        c.push_str(&format!(" --samples {}", args.samples));
    }
    if args.seed != d.seed {
        c.push_str(&format!(" --seed {}", args.seed));
    }
    if args.max_tokens != d.max_tokens {
        c.push_str(&format!(" --max-tokens {}", args.max_tokens));
    }
    if args.temperature != d.temperature {
        c.push_str(&format!(" --temperature {}", args.temperature));
    }
    if args.top_p != d.top_p {
        c.push_str(&format!(" --top-p {}", args.top_p));
    }
    if args.top_k != d.top_k {
        c.push_str(&format!(" --top-k {}", args.top_k));
    }
    for s in &args.stop {
        c.push_str(&format!(" --stop {}", shell_word(s)));
    }
    if let Some(f) = &args.contexts_file {
        c.push_str(&format!(
            " --contexts {}",
            shell_word(&f.display().to_string())
        ));
    }
    for ctx in &args.contexts {
        c.push_str(&format!(" --context {ctx}"));
    }
    for a in selection.to_args() {
        c.push(' ');
        c.push_str(&a);
    }
    if let Some(s) = args.shard {
        c.push_str(&format!(" --shard {}/{}", s.index, s.count));
    }
    if mode != ConversationMode::Live {
        c.push_str(&format!(" --conversation {}", mode.id()));
    }
    if let Some(child) = &args.child {
        c.push_str(&format!(" --child {child}"));
    }
    if args.no_score {
        c.push_str(" --no-score");
    }
    if let Some(j) = &args.judge.judge {
        c.push_str(&format!(" --judge {j}"));
    }
    c
}

/// `s` as one POSIX shell word: as it is when it is plainly safe, else in single quotes; a
/// control character (a newline, a tab) as bash's `$'…'` with escapes, so that the printed
/// command stays on one line.
fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        return s.to_string();
    }
    if !s.chars().any(char::is_control) {
        return format!("'{}'", s.replace('\'', r"'\''"));
    }
    let mut o = String::from("$'");
    for c in s.chars() {
        match c {
            '\n' => o.push_str(r"\n"),
            '\t' => o.push_str(r"\t"),
            '\r' => o.push_str(r"\r"),
            '\\' => o.push_str(r"\\"),
            '\'' => o.push_str(r"\'"),
            c if c.is_control() => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('\'');
    o
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

fn default_dir(model: &str, suite: &str) -> PathBuf {
    let now = time::OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let suite: String = Path::new(suite)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "suite".into());
    PathBuf::from("runs").join(format!("{model}-{suite}-{stamp}"))
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

/// One model to run, checked before any model loads.
struct Planned {
    arg: String,
    spec: ModelSpec,
    out: PathBuf,
}

fn bad_flag(err: impl std::fmt::Display, hint: &str) -> anyhow::Error {
    anyhow::anyhow!("{err}").context(Hint(hint.to_string()))
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    // Parse and check every flag before any work.
    let mut models: Vec<Planned> = Vec::with_capacity(args.models.len());
    let several = args.models.len() > 1;
    for m in &args.models {
        let spec = ModelSpec::parse(m).map_err(|e| {
            bad_flag(
                format!("--model {e}"),
                "see `popbench models` for aliases and local models",
            )
        })?;
        spec.check().map_err(|e| {
            bad_flag(
                format!("--model {m}: {e}"),
                "see `popbench models` for aliases and local models",
            )
        })?;
        let out = match (&args.out, several) {
            (Some(o), false) => o.clone(),
            (Some(o), true) => o.join(spec.short_name()),
            (None, _) => default_dir(&spec.short_name(), &args.suite),
        };
        if models.iter().any(|p| p.out == out) {
            return Err(bad_flag(
                format!("--model {m}: a second model writing to {}", out.display()),
                "give each --model once",
            ));
        }
        models.push(Planned {
            arg: m.clone(),
            spec,
            out,
        });
    }
    if let Some(c) = &args.child {
        let hint = "--child takes a model spec like --model (not replay:), e.g. --child smollm2-135m-instruct";
        let spec = ModelSpec::parse(c).map_err(|e| bad_flag(format!("--child {e}"), hint))?;
        spec.check()
            .map_err(|e| bad_flag(format!("--child {c}: {e}"), hint))?;
        if matches!(spec, ModelSpec::Replay(_)) {
            return Err(bad_flag(
                format!("--child {c}: a replay file cannot write new child turns"),
                hint,
            ));
        }
        if args.conversation == Some(ConversationMode::Scripted) {
            return Err(bad_flag(
                "--child needs live conversations, not --conversation scripted",
                "drop --conversation scripted (live is the default) or drop --child",
            ));
        }
    }
    // A fresh run is live unless told otherwise; a resume keeps its run's mode.
    let modes: Vec<ConversationMode> = models
        .iter()
        .map(|p| match args.conversation {
            Some(m) => m,
            None if args.resume => popbench::run::RunDir::open(&p.out)
                .map(|(_, m)| m.inputs.conversation)
                .unwrap_or(ConversationMode::Live),
            None => ConversationMode::Live,
        })
        .collect();
    if args.child.is_some() {
        if let Some((p, _)) = models
            .iter()
            .zip(&modes)
            .find(|(_, m)| **m != ConversationMode::Live)
        {
            return Err(bad_flag(
                format!(
                    "--child: the run in {} has scripted conversations; an adaptive child needs live ones",
                    p.out.display()
                ),
                "resume it without --child, or start a new run",
            ));
        }
    }
    args.judge.check(root)?;
    let stop_hint = "e.g. --stop . --stop $'\\n' (up to 4 strings, none empty)";
    GenerationParams {
        stop: args.stop.clone(),
        ..GenerationParams::default()
    }
    .check_stop()
    .map_err(|e| bad_flag(format!("--stop: {e}"), stop_hint))?;
    if !args.stop.is_empty() {
        if let Some(p) = models
            .iter()
            .find(|p| matches!(p.spec, ModelSpec::Replay(_)))
        {
            return Err(bad_flag(
                format!(
                    "--stop with --model {}: replayed responses were generated elsewhere and are scored as they are",
                    p.arg
                ),
                "drop --stop for replay models (run them separately from models that use it)",
            ));
        }
    }
    let device = DeviceKind::parse(&args.device).map_err(|e| {
        bad_flag(
            format!("--device {e}"),
            "a GPU device needs a build with its feature: --features cuda or --features metal",
        )
    })?;
    let selection = Selection::parse(&args.only, args.limit).map_err(|e| {
        bad_flag(
            e,
            "e.g. --only harm=sextortion --only country=BR,GB, or --only replayed with a replay: model",
        )
    })?;
    let mut data =
        Dataset::load_strict(root).context("loading the curated data (run `popbench validate`)")?;
    if let Some(f) = &args.contexts_file {
        data.add_contexts_file(f)
            .with_context(|| format!("--contexts {}", f.display()))?;
    }
    for c in &args.contexts {
        if data.contexts.get(c).is_none() {
            return Err(bad_flag(
                format!("--context `{c}` is not a context"),
                &format!("known contexts: {}", data.contexts.ids()),
            ));
        }
    }
    let suite = load_suite(&args.suite, &data.root)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("--suite {}", args.suite))
        .context(Hint(format!(
            "suites: {}, or a folder or .toml file of scenarios",
            popbench::scenario::Suite::names(&data.root).join(", ")
        )))?;
    // The selection's values are checked against the suite (a replay selection needs the
    // replay file, so its plan is made when the model opens).
    let replays = models
        .iter()
        .all(|p| matches!(p.spec, ModelSpec::Replay(_)));
    if selection.replayed && !replays {
        return Err(bad_flag(
            "--only replayed needs replay:PATH models (it keeps the items a replay file answers)",
            "drop --only replayed, or run the replay models on their own",
        ));
    }
    if !selection.replayed {
        select_plan(
            &suite,
            &data,
            &args.contexts,
            args.samples.max(1),
            &selection,
            None,
        )
        .map_err(|e| {
            bad_flag(
                e,
                "see `popbench scenarios` for the suite's ids, harms, countries and languages",
            )
        })?;
    }

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
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let params = GenerationParams {
        max_tokens: args.max_tokens,
        temperature: args.temperature,
        top_p: args.top_p,
        top_k: args.top_k,
        seed: args.seed,
        stop: args.stop.clone(),
    };
    let mut child = match &args.child {
        Some(c) => {
            printer.status(format!("loading the adaptive child {c}…"));
            let opts = popbench::backend::OpenOptions {
                device,
                threads: Some(threads),
                dtype: None,
                concurrency: (args.batch > 0).then_some(args.batch),
            };
            Some(AdaptiveChild::open(c, &opts).with_context(|| format!("--child {c}"))?)
        }
        None => None,
    };
    let mut failures = 0usize;
    for (p, &mode) in models.iter().zip(&modes) {
        let model = &p.arg;
        let opts = RunOptions {
            suite: args.suite.clone(),
            contexts: args.contexts.clone(),
            samples: args.samples.max(1),
            params: params.clone(),
            shard: args.shard,
            selection: selection.clone(),
            out: p.out.clone(),
            resume: args.resume,
            score: !args.no_score,
            batch: args.batch,
            threads,
            max_failures: args.max_failures,
            conversation: mode,
        };
        let result = (|| -> anyhow::Result<runner::RunOutcome> {
            printer.status(format!("loading {model}…"));
            let mut backend = open_backend(&p.spec, device, threads, args.batch)?;
            let mut progress = CliProgress::new(printer);
            let outcome = runner::run_with_child(
                backend.as_mut(),
                child.as_mut(),
                &data,
                &suite,
                &opts,
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
                        if args.child.is_some() {
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
                for line in popbench::metric::conversation_summary_lines(&o.conversations) {
                    printer.out(line)?;
                }
                print_failures(&printer, &o.failures_by_tag)?;
                if o.complete() && o.stopped.is_none() {
                    super::judge::after_run(&args.judge, root, &data, &o.dir, printer, &stop)?;
                }
                if !o.complete() || o.stopped.is_some() {
                    failures += 1;
                    let why = match &o.stopped {
                        Some(s) => s.to_string(),
                        None => format!("{} item(s) failed", o.total - o.done),
                    };
                    printer.warn(format!(
                        "{why}; continue with: {}",
                        resume_command(&args, &selection, mode, model, &o.dir)
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
                args.models.len()
            )
            .context(Hint(
                "see the messages above; a run continues with --resume".into(),
            )),
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn stop_strings_are_quoted_for_the_resume_command() {
        assert_eq!(shell_word("."), ".");
        assert_eq!(shell_word("User:"), "User:");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("the end"), "'the end'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("$HOME;rm"), "'$HOME;rm'");
        assert_eq!(shell_word("é"), "'é'");
        assert_eq!(shell_word("\n"), r"$'\n'");
        assert_eq!(shell_word("a'\tb\\"), r"$'a\'\tb\\'");
        assert_eq!(shell_word("\u{1b}"), r"$'\u001b'");
    }
}
