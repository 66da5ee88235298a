//! `popbench judge RUN_DIR… --judge SPEC`: grade the responses of runs with a model judge
//! against datasets/rubric.toml, journaling judgements.jsonl and rewriting verdicts.jsonl with
//! both layers. Also the judge flags shared with `run --judge` and `judge-eval`.

use super::printer::{Hint, Printer};
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use popbench::backend::{Backend, ModelSpec};
use popbench::dataset::Dataset;
use popbench::judge::eval::EvalReport;
use popbench::judge::prompt::JudgeParams;
use popbench::judge::record::JudgementRecord;
use popbench::judge::rubric::{self, Rubric};
use popbench::judge::run::{judge_run, JudgeProgress, JudgeRunOptions, JudgeRunOutcome};
use popbench::judge::summary::{check_agreement_matches, JudgeSummary, AGREEMENT_FILE};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The judge flags (`--judge SPEC` and how the judge is asked).
#[derive(Debug, Clone, clap::Args)]
pub struct JudgeFlags {
    /// The judge model: gguf:PATH, hf:ORG/REPO[@REV][:FILE], an alias, openai:URL#MODEL.
    #[arg(long = "judge", value_name = "SPEC")]
    pub judge: Option<String>,
    /// The rubric (default: datasets/rubric.toml under the data root).
    #[arg(long = "rubric", value_name = "FILE")]
    pub rubric: Option<PathBuf>,
    /// Maximum new tokens per judge call (1 to 1048576).
    #[arg(long = "judge-max-tokens", default_value_t = JudgeParams::default().max_tokens)]
    pub judge_max_tokens: usize,
    /// Judge temperature: 0 (greedy), or 0.01 to 100.
    #[arg(
        long = "judge-temperature",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub judge_temperature: f64,
    /// Judge seed (for a sampled judge).
    #[arg(long = "judge-seed", default_value_t = 0)]
    pub judge_seed: u64,
    /// Show the rubric's yes/no examples to the judge (`off` makes prompts shorter for small models).
    #[arg(long = "judge-examples", default_value = "on", value_parser = ["on", "off"])]
    pub judge_examples: String,
    /// Items sent to the judge together (0: what the backend prefers — up to 8 sequences on
    /// popbench's CPU engine, a server's concurrency).
    #[arg(long = "judge-batch", default_value_t = 0)]
    pub judge_batch: usize,
    /// Threads for a local judge model (default: all cores).
    #[arg(long = "judge-threads")]
    pub judge_threads: Option<usize>,
    /// Device for a local judge model: cpu, cuda, metal.
    #[arg(long = "judge-device", default_value = "cpu")]
    pub judge_device: String,
}

impl JudgeFlags {
    /// The judge parameters.
    pub fn params(&self) -> JudgeParams {
        JudgeParams {
            max_tokens: self.judge_max_tokens,
            temperature: self.judge_temperature,
            seed: self.judge_seed,
            examples: self.judge_examples == "on",
            ..JudgeParams::default()
        }
    }

    /// Loads the rubric.
    pub fn load_rubric(&self, root: &Path) -> anyhow::Result<Rubric> {
        let path = self.rubric.clone().unwrap_or_else(|| Rubric::path(root));
        rubric::load(&path).map_err(|d| {
            let lines: Vec<String> = d.0.iter().map(|x| x.to_string()).collect();
            anyhow::anyhow!("{}", lines.join("\n"))
                .context(format!("loading the rubric {}", path.display()))
        })
    }

    /// Checks the judge flags before any work (the spec parses and its file exists, the
    /// device is known, the parameters are in range, the rubric loads): a bad one is refused
    /// at once.
    pub fn check(&self, root: &Path) -> anyhow::Result<()> {
        let Some(spec_text) = self.judge.as_deref() else {
            return Ok(());
        };
        popbench::types::check_max_tokens("--judge-max-tokens", self.judge_max_tokens)
            .and_then(|()| {
                popbench::types::check_temperature("--judge-temperature", self.judge_temperature)
            })
            .map_err(|e| {
                anyhow::anyhow!("{e}").context(Hint(
                    "see `popbench judge --help` for each flag's range".into(),
                ))
            })?;
        if self.judge_threads == Some(0) {
            return Err(anyhow::anyhow!("--judge-threads: 0 is out of range")
                .context(Hint("leave --judge-threads out to use every core".into())));
        }
        let hint = |e: String| {
            anyhow::anyhow!("--judge {e}").context(super::printer::Hint(
                "the judge takes the same specs as --model; see `popbench models`".into(),
            ))
        };
        let spec = ModelSpec::parse(spec_text).map_err(|e| hint(e.to_string()))?;
        spec.check()
            .map_err(|e| hint(format!("{spec_text}: {e}")))?;
        popbench::backend::candle::DeviceKind::parse(&self.judge_device)
            .map_err(|e| anyhow::anyhow!("--judge-device {e}"))?;
        self.load_rubric(root)?;
        Ok(())
    }

    /// Opens the judge's backend.
    pub fn open(&self) -> anyhow::Result<Box<dyn Backend>> {
        let spec_text = self
            .judge
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("no judge: give --judge SPEC"))?;
        let spec = ModelSpec::parse(spec_text).map_err(anyhow::Error::msg)?;
        let opts = popbench::backend::OpenOptions {
            device: popbench::backend::candle::DeviceKind::parse(&self.judge_device)
                .map_err(anyhow::Error::msg)?,
            threads: self.judge_threads,
            dtype: None,
            concurrency: (self.judge_batch > 0).then_some(self.judge_batch),
        };
        popbench::backend::open(&spec, &opts).with_context(|| {
            format!(
                "opening the judge {}",
                popbench::backend::redact::url_credentials(spec_text)
            )
        })
    }
}

/// How many judge errors a judged run may end with (`judge`, `run --judge`; `judge-eval`
/// measures them instead).
#[derive(Debug, Clone, clap::Args)]
pub struct ErrorLimit {
    /// Exit 1 when more than N judged items end with a judge error (default: 10% of the
    /// items, at least 1). The errors stay recorded, never read as "no"; the next `popbench
    /// judge` retries them.
    #[arg(long = "max-judge-errors", value_name = "N")]
    pub max_judge_errors: Option<usize>,
}

impl ErrorLimit {
    /// Why a judged run's errors are too many, when they are.
    pub fn exceeded(&self, dir: &Path, out: &JudgeRunOutcome) -> Option<String> {
        let max = self
            .max_judge_errors
            .unwrap_or_else(|| popbench::run::runner::default_max_failures(out.total));
        (out.errors > max).then(|| {
            format!(
                "{}: {} of {} judged items have judge errors, more than --max-judge-errors {max}: the judge layer of this run is not usable",
                dir.display(),
                out.errors,
                out.total
            )
        })
    }
}

/// Flags of `judge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run directories to judge.
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    #[command(flatten)]
    flags: JudgeFlags,
    #[command(flatten)]
    limit: ErrorLimit,
    /// Discard judgements made with another judge, rubric or parameters (default: refuse).
    #[arg(long)]
    replace: bool,
    /// A `judge-eval` JSON report of this judge (same model, rubric and parameters), recorded
    /// in each run as judge_agreement.json so that the report shows the judge's agreement.
    #[arg(long, value_name = "FILE")]
    agreement: Option<PathBuf>,
}

struct CliJudgeProgress {
    printer: Printer,
    bar: Option<ProgressBar>,
    total: usize,
    done: usize,
    errors: usize,
    started: Instant,
}

impl CliJudgeProgress {
    fn new(printer: Printer) -> CliJudgeProgress {
        CliJudgeProgress {
            printer,
            bar: None,
            total: 0,
            done: 0,
            errors: 0,
            started: Instant::now(),
        }
    }
}

impl JudgeProgress for CliJudgeProgress {
    fn start(&mut self, total: usize, done: usize) {
        self.total = total;
        self.done = done;
        self.printer
            .status(format!("judge: {done}/{total} items already judged"));
        if !self.printer.is_quiet() && std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} judged  {msg}  ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_position(done as u64);
            self.bar = Some(bar);
        }
    }

    fn item(&mut self, r: &JudgementRecord) {
        self.done += 1;
        let yes: Vec<&str> = r
            .judgement
            .decisions
            .iter()
            .filter(|d| d.value == Some(true))
            .map(|d| d.criterion.as_str())
            .collect();
        if r.judgement.error.is_some() {
            self.errors += 1;
        }
        match &self.bar {
            Some(b) => {
                b.set_position(self.done as u64);
                b.set_message(format!("{} judge error(s)", self.errors));
            }
            None => self.printer.status(format!(
                "[{}/{}] {} [{}] #{}: yes to {}{}  ({:.0}s)",
                self.done,
                self.total,
                r.scenario_id,
                r.context,
                r.sample,
                if yes.is_empty() {
                    "none".to_string()
                } else {
                    yes.join(", ")
                },
                r.judgement
                    .error
                    .as_ref()
                    .map(|e| format!("; judge error [{}]", e.tag))
                    .unwrap_or_default(),
                self.started.elapsed().as_secs_f64()
            )),
        }
    }

    fn note(&mut self, message: &str) {
        match &self.bar {
            Some(b) => b.println(message),
            None => self.printer.status(message),
        }
    }
}

/// Prints what judging a run found: per criterion, judge yes rate beside the rules.
pub fn print_judge_summary(printer: &Printer, s: &JudgeSummary) -> std::io::Result<()> {
    printer.out(format!(
        "  judge {}: {} item(s) judged, {} with a judge error",
        s.judge_spec, s.items, s.items_with_errors
    ))?;
    if s.self_preference {
        printer.out("  warning: the judge is the model under test (self-preference)")?;
    }
    printer.out(format!(
        "  {:<24} {:>14} {:>14} {:>8}",
        "criterion", "judge yes", "rules yes", "kappa"
    ))?;
    for c in &s.criteria {
        let judge = format!("{}/{}", c.judge_yes, c.judged);
        let rules = match c.rule_yes {
            Some(y) => format!("{y}/{}", c.rule_n),
            None => "-".into(),
        };
        let kappa = match (c.kappa.and_then(|k| k.value), c.reliable) {
            (Some(k), Some(false)) => format!("{k:.2} (not reliable)"),
            (Some(k), _) => format!("{k:.2}"),
            _ => "-".into(),
        };
        printer.out(format!(
            "  {:<24} {:>14} {:>14} {:>8}",
            c.id, judge, rules, kappa
        ))?;
    }
    Ok(())
}

/// Judges one run directory and prints its summary; `Ok(outcome)` even with judge errors.
#[allow(clippy::too_many_arguments)]
pub fn judge_dir(
    dir: &Path,
    data: &Dataset,
    rubric: &Rubric,
    backend: &mut dyn Backend,
    flags: &JudgeFlags,
    replace: bool,
    printer: Printer,
    stop: &AtomicBool,
) -> anyhow::Result<JudgeRunOutcome> {
    let opts = JudgeRunOptions {
        params: flags.params(),
        batch: flags.judge_batch,
        replace,
    };
    let mut progress = CliJudgeProgress::new(printer);
    let out = judge_run(dir, data, rubric, backend, &opts, &mut progress, stop);
    if let Some(b) = &progress.bar {
        b.finish_and_clear();
    }
    let out = out.with_context(|| format!("judging {}", dir.display()))?;
    if let Some(s) = JudgeSummary::load(dir, rubric)? {
        printer.out(format!(
            "{}: {}/{} items judged ({} this time)",
            dir.display(),
            out.total - out.errors,
            out.total,
            out.judged_now
        ))?;
        print_judge_summary(&printer, &s)?;
    }
    if out.errors > 0 {
        printer.warn(format!(
            "{} item(s) have judge errors (counted, not read as \"no\"); run `popbench judge` on {} again to retry them",
            out.errors,
            dir.display()
        ));
    }
    Ok(out)
}

/// The judge step of `popbench run --judge SPEC`: judges the run directory just written,
/// when a judge is given. Returns `Ok(None)` when no judge was asked for or the judge errors
/// are within the limit, else why they are too many.
pub fn after_run(
    flags: &JudgeFlags,
    limit: &ErrorLimit,
    root: &Path,
    data: &Dataset,
    dir: &Path,
    printer: Printer,
    stop: &AtomicBool,
) -> anyhow::Result<Option<String>> {
    if flags.judge.is_none() {
        return Ok(None);
    }
    let rubric = flags.load_rubric(root)?;
    printer.status(format!(
        "loading the judge {}…",
        popbench::backend::redact::url_credentials(flags.judge.as_deref().unwrap_or(""))
    ));
    let mut backend = flags.open()?;
    let out = judge_dir(
        dir,
        data,
        &rubric,
        backend.as_mut(),
        flags,
        false,
        printer,
        stop,
    )?;
    Ok(if out.interrupted {
        None
    } else {
        limit.exceeded(dir, &out)
    })
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    if args.flags.judge.is_none() {
        return Err(anyhow::anyhow!("no judge given")).context(Hint(
            "popbench judge RUN_DIR --judge SPEC (e.g. openai:http://127.0.0.1:8000/v1#MODEL)"
                .into(),
        ));
    }
    args.flags.check(root)?;
    let data =
        Dataset::load_strict(root).context("loading the curated data (run `popbench validate`)")?;
    let rubric = args.flags.load_rubric(root)?;
    let agreement: Option<(EvalReport, Vec<u8>)> = match &args.agreement {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            let r: EvalReport = serde_json::from_slice(&bytes)
                .with_context(|| format!("{}: not a judge-eval JSON report", p.display()))?;
            Some((r, bytes))
        }
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\nstopping after the batch in flight (Ctrl-C again to abort now)…");
        });
    }
    // A run another process is writing is refused before the judge loads (judging takes the
    // lock for good).
    for dir in &args.runs {
        popbench::run::RunDir::open(dir).with_context(|| format!("judging {}", dir.display()))?;
        popbench::run::lock::RunLock::acquire(dir, "judge")
            .with_context(|| format!("judging {}", dir.display()))?;
    }
    printer.status(format!(
        "loading the judge {}…",
        popbench::backend::redact::url_credentials(args.flags.judge.as_deref().unwrap_or(""))
    ));
    let mut backend = args.flags.open()?;
    let mut interrupted = false;
    let mut too_many = Vec::new();
    for dir in &args.runs {
        let out = judge_dir(
            dir,
            &data,
            &rubric,
            backend.as_mut(),
            &args.flags,
            args.replace,
            printer,
            &stop,
        )?;
        if let Some((report, bytes)) = &agreement {
            let run = popbench::run::RunDir::at(dir.as_path());
            if let Some((header, _)) = popbench::judge::run::read_judgements(&run)? {
                check_agreement_matches(report, &header).map_err(|why| {
                    anyhow::anyhow!(
                        "{}: this agreement report is not of the judge of {}: {why}",
                        args.agreement.as_deref().unwrap_or(Path::new("")).display(),
                        dir.display()
                    )
                })?;
                popbench::run::journal::write_atomic(&dir.join(AGREEMENT_FILE), bytes)?;
                printer.status(format!(
                    "{}: agreement table recorded ({AGREEMENT_FILE})",
                    dir.display()
                ));
            }
        }
        if out.interrupted {
            interrupted = true;
            break;
        }
        too_many.extend(args.limit.exceeded(dir, &out));
    }
    if interrupted {
        printer.warn("interrupted; run the same command again to continue");
        return Ok(ExitCode::from(130));
    }
    if !too_many.is_empty() {
        super::printer::print_error(
            &anyhow::anyhow!("{}", too_many.join("\n")).context(Hint(
                "check that the judge follows the reply format (`popbench judge-eval` measures it), then run `popbench judge` again to retry the errors".into(),
            )),
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
