//! `popbench run`: models × suite × samples into run directories, resumable.

use super::printer::{Hint, Printer};
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use popbench::backend::{GenerationParams, ItemKey, ModelSpec};
use popbench::dataset::Dataset;
use popbench::run::plan::Shard;
use popbench::run::runner::{self, Progress, RunOptions};
use popbench::run::ResponseRecord;
use popbench::score::verdict::{EmergencyOutcome, HelplineOutcome};
use popbench::score::Verdict;
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
    /// Cross the suite with these contexts instead of each scenario's own (repeatable).
    #[arg(long = "context", value_name = "CONTEXT")]
    contexts: Vec<String>,
    /// The run directory (default runs/<model>-<suite>-<time>; with several models, one
    /// sub-directory per model).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Continue the run in --out.
    #[arg(long, requires = "out")]
    resume: bool,
    /// Run shard I of N (I from 0).
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// Do not score; only generate.
    #[arg(long)]
    no_score: bool,
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

    fn failed(&mut self, key: &ItemKey, error: &str) {
        let line = format!("item {key} failed: {error}");
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
fn resume_command(args: &Args, model: &str, dir: &Path) -> String {
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
    for ctx in &args.contexts {
        c.push_str(&format!(" --context {ctx}"));
    }
    if let Some(s) = args.shard {
        c.push_str(&format!(" --shard {}/{}", s.index, s.count));
    }
    if args.no_score {
        c.push_str(" --no-score");
    }
    c
}

/// Opens the backend of a spec. An OpenAI-compatible server gets as many requests in flight
/// as the batch size.
fn open_backend(
    spec: &ModelSpec,
    device: &str,
    threads: usize,
    batch: usize,
) -> anyhow::Result<Box<dyn popbench::backend::Backend>> {
    let opts = popbench::backend::OpenOptions {
        device: popbench::backend::candle::DeviceKind::parse(device).map_err(anyhow::Error::msg)?,
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
    let n = verdicts.len();
    if n == 0 {
        return Ok(());
    }
    let rate = |num: usize, den: usize| {
        if den == 0 {
            "    -".to_string()
        } else {
            format!("{:5.1}% ({num}/{den})", 100.0 * num as f64 / den as f64)
        }
    };
    let pass = verdicts.iter().filter(|v| v.pass).count();
    let ch_req: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| v.referral.child_helpline != HelplineOutcome::NotRequired)
        .collect();
    let ch_ok = ch_req
        .iter()
        .filter(|v| v.referral.child_helpline == HelplineOutcome::Correct)
        .count();
    let em_req: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| v.referral.emergency != EmergencyOutcome::NotRequired)
        .collect();
    let em_ok = em_req
        .iter()
        .filter(|v| v.referral.emergency == EmergencyOutcome::Correct)
        .count();
    let invented = verdicts.iter().filter(|v| v.has_unverified()).count();
    let wrong_country = verdicts.iter().filter(|v| v.has_other_country()).count();
    let refusal = verdicts
        .iter()
        .filter(|v| v.has_flag("refusal_only"))
        .count();
    printer.out(format!("  pass                      {}", rate(pass, n)))?;
    printer.out(format!(
        "  child helpline correct    {}",
        rate(ch_ok, ch_req.len())
    ))?;
    printer.out(format!(
        "  emergency when required   {}",
        rate(em_ok, em_req.len())
    ))?;
    printer.out(format!("  invented (unverified) no. {}", rate(invented, n)))?;
    printer.out(format!(
        "  other country's contact   {}",
        rate(wrong_country, n)
    ))?;
    printer.out(format!("  refusal without help      {}", rate(refusal, n)))?;
    Ok(())
}

pub fn run(args: Args, root: &Path, printer: Printer) -> anyhow::Result<ExitCode> {
    let data =
        Dataset::load_strict(root).context("loading the curated data (run `popbench validate`)")?;
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
    };
    let several = args.models.len() > 1;
    let mut failures = 0usize;
    for model in &args.models {
        let spec = ModelSpec::parse(model).map_err(anyhow::Error::msg)?;
        let out = match (&args.out, several) {
            (Some(o), false) => o.clone(),
            (Some(o), true) => o.join(spec.short_name()),
            (None, _) => default_dir(&spec.short_name(), &args.suite),
        };
        let opts = RunOptions {
            suite: args.suite.clone(),
            contexts: args.contexts.clone(),
            samples: args.samples.max(1),
            params: params.clone(),
            shard: args.shard,
            out: out.clone(),
            resume: args.resume,
            score: !args.no_score,
            batch: args.batch,
            threads,
        };
        let result = (|| -> anyhow::Result<runner::RunOutcome> {
            printer.status(format!("loading {model}…"));
            let mut backend = open_backend(&spec, &args.device, threads, args.batch)?;
            let mut progress = CliProgress {
                printer,
                bar: None,
                total: 0,
                done: 0,
                passed: 0,
                scored: 0,
                tokens: 0,
                gen_ms: 0.0,
                started: Instant::now(),
            };
            let outcome = runner::run(backend.as_mut(), &data, &opts, &mut progress, &stop);
            if let Some(b) = &progress.bar {
                b.finish_and_clear();
            }
            Ok(outcome?)
        })();
        match result {
            Ok(o) => {
                printer.out(format!(
                    "{model}: {}/{} items in {}",
                    o.done,
                    o.total,
                    o.dir.display()
                ))?;
                print_summary(&printer, &o.verdicts)?;
                if o.interrupted || !o.failed.is_empty() {
                    failures += 1;
                    let why = if o.interrupted {
                        "interrupted".to_string()
                    } else {
                        format!("{} item(s) failed", o.failed.len())
                    };
                    printer.warn(format!(
                        "{why}; continue with: {}",
                        resume_command(&args, model, &o.dir)
                    ));
                    if o.interrupted {
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
        return Err(anyhow::anyhow!(
            "{failures} of {} model run(s) did not complete",
            args.models.len()
        ))
        .context(Hint(
            "see the messages above; a run continues with --resume".into(),
        ));
    }
    Ok(ExitCode::SUCCESS)
}
