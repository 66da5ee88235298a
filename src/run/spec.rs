//! The run command's specification, checked once before any work.
//!
//! `popbench run`'s flags as given are [`RunFlags`] (ripgrep's low args: plain values, nothing
//! checked, nothing loaded). [`RunSpec::check`] turns them, completely, into a [`RunSpec`]
//! (high args): the curated data and the suite loaded and checked as `validate` checks them,
//! every model spec parsed and checked, every generation parameter in its range, the
//! selection checked against the suite, each model's run directory chosen and checked. A bad
//! value is a [`SpecError`] naming its flag, before any model loads. The runner is handed the
//! spec, one model at a time ([`RunSpec::options`]), and parses nothing.
//!
//! A new flag of `run` touches this file (its low value, its check, its high value) and the
//! command line (`src/cli/run.rs`, its clap declaration); the runner only when the flag
//! changes what a run does.

use super::dir::RunDir;
use super::lock::RunLock;
use super::plan::{select_plan, Shard};
use super::runner::RunOptions;
use super::select::Selection;
use crate::backend::candle::DeviceKind;
use crate::backend::ModelSpec;
use crate::dataset::Dataset;
use crate::diag::Diagnostics;
use crate::scenario::{Suite, SuiteSpec};
use crate::types::{ConversationMode, GenerationParams};
use crate::Error;
use std::path::{Path, PathBuf};

/// The most samples per item (`--samples`).
pub const MAX_SAMPLES: u32 = 1000;

/// The most items one run may plan (scenarios × contexts × samples): past this, shard the run.
pub const MAX_ITEMS: usize = 10_000_000;

/// The most generation threads (`--threads`) and items in one batch (`--batch`).
pub const MAX_PARALLEL: usize = 4096;

/// The flags of `popbench run` as given: plain values, nothing checked (the low args).
/// [`Default`] holds the command line's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFlags {
    /// `--model` (repeatable).
    pub models: Vec<String>,
    /// `--suite`.
    pub suite: String,
    /// `--samples`.
    pub samples: u32,
    /// `--seed`.
    pub seed: u64,
    /// `--max-tokens`.
    pub max_tokens: usize,
    /// `--temperature`.
    pub temperature: f64,
    /// `--top-p`.
    pub top_p: f64,
    /// `--top-k`.
    pub top_k: usize,
    /// `--stop` (repeatable).
    pub stop: Vec<String>,
    /// `--context` (repeatable).
    pub contexts: Vec<String>,
    /// `--contexts FILE`: a partner's own contexts, usable with `--context ID`.
    pub contexts_file: Option<PathBuf>,
    /// `--only` (repeatable).
    pub only: Vec<String>,
    /// `--limit`.
    pub limit: Option<usize>,
    /// `--max-failures`.
    pub max_failures: Option<usize>,
    /// `--out`.
    pub out: Option<PathBuf>,
    /// `--resume`.
    pub resume: bool,
    /// `--shard`.
    pub shard: Option<Shard>,
    /// `--conversation`.
    pub conversation: Option<ConversationMode>,
    /// `--child`.
    pub child: Option<String>,
    /// Not `--no-score`.
    pub score: bool,
    /// `--batch` (0: the backend's preferred batch).
    pub batch: usize,
    /// `--threads` (None: every core).
    pub threads: Option<usize>,
    /// `--device`.
    pub device: String,
}

impl Default for RunFlags {
    fn default() -> Self {
        let g = GenerationParams::default();
        RunFlags {
            models: Vec::new(),
            suite: "core".into(),
            samples: 1,
            seed: g.seed,
            max_tokens: g.max_tokens,
            temperature: g.temperature,
            top_p: g.top_p,
            top_k: g.top_k,
            stop: Vec::new(),
            contexts: Vec::new(),
            contexts_file: None,
            only: Vec::new(),
            limit: None,
            max_failures: None,
            out: None,
            resume: false,
            shard: None,
            conversation: None,
            child: None,
            score: true,
            batch: 0,
            threads: None,
            device: "cpu".into(),
        }
    }
}

/// One model of a run: its spec, its run directory and how its conversations run.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRun {
    /// The `--model` argument as given.
    pub arg: String,
    /// The parsed spec.
    pub spec: ModelSpec,
    /// Its run directory.
    pub out: PathBuf,
    /// Live or scripted (a resume keeps its run's mode).
    pub conversation: ConversationMode,
}

/// A checked run specification (the high args): everything a run needs, loaded and checked.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The curated data (directory, policy, contexts).
    pub data: Dataset,
    /// The `--suite` argument as given (recorded in manifests).
    pub suite_arg: String,
    /// The suite, loaded and checked as `validate --suite` checks it.
    pub suite: Suite,
    /// The models, in the order given.
    pub models: Vec<ModelRun>,
    /// Contexts to cross the suite with (known ids); empty: each scenario's own.
    pub contexts: Vec<String>,
    /// The partner's contexts file (`--contexts`), already added to `data`.
    pub contexts_file: Option<PathBuf>,
    /// Samples per item (1 to [`MAX_SAMPLES`]).
    pub samples: u32,
    /// The generation parameters, each in its range; `seed` is the run seed.
    pub params: GenerationParams,
    /// This shard, when sharded.
    pub shard: Option<Shard>,
    /// Which items run.
    pub selection: Selection,
    /// Continue the runs in their directories.
    pub resume: bool,
    /// Score as the run goes.
    pub score: bool,
    /// Items per backend call (0: the backend's preferred batch).
    pub batch: usize,
    /// Generation threads.
    pub threads: usize,
    /// Failed generations before a run stops (None: 10% of its items).
    pub max_failures: Option<usize>,
    /// The adaptive child's model spec (`--child`), checked.
    pub child: Option<String>,
    /// The device.
    pub device: DeviceKind,
    /// What deserves a word but stops nothing (a language tag popbench does not know).
    pub warnings: Vec<String>,
}

/// A flag whose value cannot run: what is wrong and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagError {
    /// What is wrong, naming the flag.
    pub message: String,
    /// What to do instead.
    pub hint: String,
}

/// Why a run specification cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A flag's value is wrong.
    #[error("{}", .0.message)]
    Flag(FlagError),
    /// The curated data or the suite has problems.
    #[error("{context}")]
    Data {
        /// What was being loaded.
        context: String,
        /// What to do, when there is something to say.
        hint: Option<String>,
        /// The problems.
        #[source]
        error: Error,
    },
}

fn flag(message: impl Into<String>, hint: impl Into<String>) -> SpecError {
    SpecError::Flag(FlagError {
        message: message.into(),
        hint: hint.into(),
    })
}

const MODEL_HINT: &str = "see `popbench models` for aliases and local models";

/// A name that is safe as one path component: never empty, `.` or `..`, no separator.
pub fn safe_component(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches(|c| c == '.' || c == '-');
    if s.is_empty() {
        "model".into()
    } else {
        s.to_string()
    }
}

/// `runs/<model>-<suite>-<UTC time>`.
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
    let suite = Path::new(suite)
        .file_stem()
        .map(|s| safe_component(&s.to_string_lossy()))
        .unwrap_or_else(|| "suite".into());
    PathBuf::from("runs").join(format!("{}-{suite}-{stamp}", safe_component(model)))
}

impl RunSpec {
    /// Checks every flag, loads the data from `root` and the suite, and returns the run's
    /// specification, or the first problem (cheap checks first: no data is loaded for a bad
    /// model spec).
    pub fn check(flags: &RunFlags, root: &Path) -> Result<RunSpec, SpecError> {
        let models = check_models(flags)?;
        let child = check_child(flags)?;
        let conversations = conversation_modes(flags, &models)?;
        let params = GenerationParams {
            max_tokens: flags.max_tokens,
            temperature: flags.temperature,
            top_p: flags.top_p,
            top_k: flags.top_k,
            seed: flags.seed,
            stop: flags.stop.clone(),
        };
        params.check().map_err(|e| {
            let hint = match e.flag {
                "--stop" => "e.g. --stop . --stop $'\\n' (up to 4 strings, none empty)",
                _ => "see `popbench run --help` for each flag's range",
            };
            flag(e.to_string(), hint)
        })?;
        if !(1..=MAX_SAMPLES).contains(&flags.samples) {
            return Err(flag(
                format!(
                    "--samples: {} is out of range: each item takes 1 to {MAX_SAMPLES} samples",
                    flags.samples
                ),
                "--samples 1 is one response per item; give more to measure sampling variance",
            ));
        }
        if flags.threads == Some(0) || flags.threads.is_some_and(|t| t > MAX_PARALLEL) {
            return Err(flag(
                format!(
                    "--threads: {} is out of range (1 to {MAX_PARALLEL})",
                    flags.threads.unwrap_or(0)
                ),
                "leave --threads out to use every core",
            ));
        }
        if flags.batch > MAX_PARALLEL {
            return Err(flag(
                format!(
                    "--batch: {} is out of range (0 to {MAX_PARALLEL})",
                    flags.batch
                ),
                "--batch 0 (the default) takes what the backend prefers",
            ));
        }
        if !flags.stop.is_empty() {
            if let Some(m) = models
                .iter()
                .find(|m| matches!(m.spec, ModelSpec::Replay(_)))
            {
                return Err(flag(
                    format!(
                        "--stop with --model {}: replayed responses were generated elsewhere and are scored as they are",
                        m.arg
                    ),
                    "drop --stop for replay models (run them separately from models that use it)",
                ));
            }
        }
        let device = DeviceKind::parse(&flags.device).map_err(|e| {
            flag(
                format!("--device {e}"),
                "a GPU device needs a build with its feature: --features cuda or --features metal",
            )
        })?;
        let selection = Selection::parse(&flags.only, flags.limit).map_err(|e| {
            flag(
                e,
                "e.g. --only harm=sextortion --only country=BR,GB, or --only replayed with a replay: model",
            )
        })?;
        let mut data = Dataset::load_strict(root).map_err(|error| SpecError::Data {
            context: "loading the curated data (run `popbench validate`)".into(),
            hint: None,
            error,
        })?;
        if let Some(f) = &flags.contexts_file {
            data.add_contexts_file(f).map_err(|error| SpecError::Data {
                context: format!("--contexts {}", f.display()),
                hint: None,
                error,
            })?;
        }
        for c in &flags.contexts {
            if data.contexts.get(c).is_none() {
                return Err(flag(
                    format!("--context `{c}` is not a context"),
                    format!("known contexts: {}", data.contexts.ids()),
                ));
            }
        }
        let suite = load_checked_suite(&flags.suite, &data)?;
        let items = suite.scenarios.len() * flags.contexts.len().max(1) * flags.samples as usize;
        if items > MAX_ITEMS {
            return Err(flag(
                format!(
                    "--suite {} with {} sample(s) plans {items} items, more than one run may hold ({MAX_ITEMS})",
                    flags.suite, flags.samples
                ),
                "split the run with --shard I/N, or run fewer samples",
            ));
        }
        let replays = models
            .iter()
            .all(|m| matches!(m.spec, ModelSpec::Replay(_)));
        if selection.replayed && !replays {
            return Err(flag(
                "--only replayed needs replay:PATH models (it keeps the items a replay file answers)",
                "drop --only replayed, or run the replay models on their own",
            ));
        }
        // The selection's values are checked against the suite (a replay selection needs the
        // replay file, so its plan is made when the model opens).
        if !selection.replayed {
            select_plan(
                &suite,
                &data,
                &flags.contexts,
                flags.samples,
                &selection,
                None,
            )
            .map_err(|e| {
                flag(
                    e.to_string(),
                    "see `popbench scenarios` for the suite's ids, harms, countries and languages",
                )
            })?;
        }
        let warnings = language_warnings(&suite, &data);
        let threads = flags.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        let models = models
            .into_iter()
            .zip(conversations)
            .map(|(m, conversation)| ModelRun { conversation, ..m })
            .collect();
        Ok(RunSpec {
            data,
            suite_arg: flags.suite.clone(),
            suite,
            models,
            contexts: flags.contexts.clone(),
            contexts_file: flags.contexts_file.clone(),
            samples: flags.samples,
            params,
            shard: flags.shard,
            selection,
            resume: flags.resume,
            score: flags.score,
            batch: flags.batch,
            threads,
            max_failures: flags.max_failures,
            child,
            device,
            warnings,
        })
    }

    /// What the runner is handed for one model of the spec.
    pub fn options(&self, model: &ModelRun) -> RunOptions {
        RunOptions {
            suite: self.suite_arg.clone(),
            contexts: self.contexts.clone(),
            samples: self.samples,
            params: self.params.clone(),
            shard: self.shard,
            selection: self.selection.clone(),
            out: model.out.clone(),
            resume: self.resume,
            score: self.score,
            batch: self.batch,
            threads: self.threads,
            max_failures: self.max_failures,
            conversation: model.conversation,
        }
    }

    /// The command that resumes one model's run: the same inputs (a resume with other inputs
    /// is refused), this model only, its run directory, `--resume`; then `extra` (flags of
    /// steps after the run, e.g. `--judge SPEC`). Credentials in a model URL are not printed.
    pub fn resume_command(&self, model: &ModelRun, extra: &[String]) -> String {
        let d = GenerationParams::default();
        let p = &self.params;
        let mut c = format!(
            "popbench run --model {} --suite {} --out {} --resume",
            shell_word(&crate::backend::redact::url_credentials(&model.arg)),
            shell_word(&self.suite_arg),
            shell_word(&model.out.display().to_string())
        );
        if self.samples != 1 {
            c.push_str(&format!(" --samples {}", self.samples));
        }
        if p.seed != d.seed {
            c.push_str(&format!(" --seed {}", p.seed));
        }
        if p.max_tokens != d.max_tokens {
            c.push_str(&format!(" --max-tokens {}", p.max_tokens));
        }
        if p.temperature != d.temperature {
            c.push_str(&format!(" --temperature {}", p.temperature));
        }
        if p.top_p != d.top_p {
            c.push_str(&format!(" --top-p {}", p.top_p));
        }
        if p.top_k != d.top_k {
            c.push_str(&format!(" --top-k {}", p.top_k));
        }
        for s in &p.stop {
            c.push_str(&format!(" --stop {}", shell_word(s)));
        }
        if let Some(f) = &self.contexts_file {
            c.push_str(&format!(
                " --contexts {}",
                shell_word(&f.display().to_string())
            ));
        }
        for ctx in &self.contexts {
            c.push_str(&format!(" --context {ctx}"));
        }
        for a in self.selection.to_args() {
            c.push(' ');
            c.push_str(&a);
        }
        if let Some(s) = self.shard {
            c.push_str(&format!(" --shard {}/{}", s.index, s.count));
        }
        if model.conversation != ConversationMode::Live {
            c.push_str(&format!(" --conversation {}", model.conversation.id()));
        }
        if let Some(child) = &self.child {
            c.push_str(&format!(
                " --child {}",
                shell_word(&crate::backend::redact::url_credentials(child))
            ));
        }
        if !self.score {
            c.push_str(" --no-score");
        }
        for e in extra {
            c.push(' ');
            c.push_str(e);
        }
        c
    }
}

/// Each `--model` parsed and checked, with its run directory.
fn check_models(flags: &RunFlags) -> Result<Vec<ModelRun>, SpecError> {
    let several = flags.models.len() > 1;
    let mut models: Vec<ModelRun> = Vec::with_capacity(flags.models.len());
    for m in &flags.models {
        let spec = ModelSpec::parse(m).map_err(|e| flag(format!("--model {e}"), MODEL_HINT))?;
        spec.check()
            .map_err(|e| flag(format!("--model {m}: {e}"), MODEL_HINT))?;
        // The short name is one safe path component (never `..`, never a separator).
        let name = safe_component(&spec.short_name());
        let out = match (&flags.out, several) {
            (Some(o), false) => o.clone(),
            (Some(o), true) => o.join(&name),
            (None, _) => default_dir(&name, &flags.suite),
        };
        if models.iter().any(|p| p.out == out) {
            return Err(flag(
                format!("--model {m}: a second model writing to {}", out.display()),
                "give each --model once",
            ));
        }
        if !flags.resume {
            RunDir::check_new(&out).map_err(|e| {
                flag(
                    format!("--out: {e}"),
                    "give a new or empty directory, or --resume to continue a run there",
                )
            })?;
        } else if RunDir::at(&out).manifest_path().is_file() {
            // A run another process is writing is refused now, before any model loads (the
            // runner takes the lock for good when it starts).
            RunLock::acquire(&out, "run").map_err(|e| {
                flag(
                    format!("--out: {e}"),
                    "one writer per run directory: let the other run finish, or stop it",
                )
            })?;
        }
        models.push(ModelRun {
            arg: m.clone(),
            spec,
            out,
            conversation: ConversationMode::Live,
        });
    }
    Ok(models)
}

/// `--child`: a model spec that can write new child turns, with live conversations.
fn check_child(flags: &RunFlags) -> Result<Option<String>, SpecError> {
    let Some(c) = &flags.child else {
        return Ok(None);
    };
    let hint =
        "--child takes a model spec like --model (not replay:), e.g. --child smollm2-135m-instruct";
    let spec = ModelSpec::parse(c).map_err(|e| flag(format!("--child {e}"), hint))?;
    spec.check()
        .map_err(|e| flag(format!("--child {c}: {e}"), hint))?;
    if matches!(spec, ModelSpec::Replay(_)) {
        return Err(flag(
            format!("--child {c}: a replay file cannot write new child turns"),
            hint,
        ));
    }
    if flags.conversation == Some(ConversationMode::Scripted) {
        return Err(flag(
            "--child needs live conversations, not --conversation scripted",
            "drop --conversation scripted (live is the default) or drop --child",
        ));
    }
    Ok(Some(c.clone()))
}

/// Each model's conversation mode: as given; else a fresh run is live and a resume keeps its
/// run's mode. An adaptive child needs live runs.
fn conversation_modes(
    flags: &RunFlags,
    models: &[ModelRun],
) -> Result<Vec<ConversationMode>, SpecError> {
    let modes: Vec<ConversationMode> = models
        .iter()
        .map(|m| match flags.conversation {
            Some(mode) => mode,
            None if flags.resume => RunDir::open(&m.out)
                .map(|(_, man)| man.inputs.conversation)
                .unwrap_or(ConversationMode::Live),
            None => ConversationMode::Live,
        })
        .collect();
    if flags.child.is_some() {
        if let Some((m, _)) = models
            .iter()
            .zip(&modes)
            .find(|(_, mode)| **mode != ConversationMode::Live)
        {
            return Err(flag(
                format!(
                    "--child: the run in {} has scripted conversations; an adaptive child needs live ones",
                    m.out.display()
                ),
                "resume it without --child, or start a new run",
            ));
        }
    }
    Ok(modes)
}

/// Loads a suite and applies every check `validate --suite` applies: a scenario `validate`
/// refuses (an unknown context, a country the directory does not have) never runs.
pub fn load_checked_suite(arg: &str, data: &Dataset) -> Result<Suite, SpecError> {
    let mut diags = Diagnostics::default();
    let suite = Suite::load(&SuiteSpec::parse(arg), &data.root, &mut diags);
    if diags.is_empty() {
        crate::validate::check_suite(&suite, data, &mut diags);
    }
    if diags.is_empty() {
        return Ok(suite);
    }
    diags.sort();
    Err(SpecError::Data {
        context: format!("--suite {arg}"),
        hint: Some(format!(
            "suites: {}, or a folder or .toml file of scenarios",
            Suite::names(&data.root).join(", ")
        )),
        error: Error::Invalid(diags),
    })
}

/// A warning per language of the suite that popbench does not know (well-formed, so it runs;
/// the scorer has no phrases or services for it).
fn language_warnings(suite: &Suite, data: &Dataset) -> Vec<String> {
    let directory: Vec<&str> = data.directory.languages().collect();
    let mut unknown: std::collections::BTreeMap<&str, usize> = Default::default();
    for s in &suite.scenarios {
        if !crate::language::is_known(&s.language, directory.iter().copied()) {
            *unknown.entry(s.language.as_str()).or_default() += 1;
        }
    }
    unknown
        .into_iter()
        .map(|(tag, n)| {
            format!("language `{tag}` ({n} scenario(s)) is a well-formed BCP 47 tag that popbench does not know: no directory service lists it; its items run and are scored")
        })
        .collect()
}

/// `s` as one POSIX shell word: as it is when it is plainly safe, else in single quotes; a
/// control character (a newline, a tab) as bash's `$'…'` with escapes, so that the printed
/// command stays on one line.
pub fn shell_word(s: &str) -> String {
    // `#` starts a comment only at the start of a word: `openai:URL#MODEL` stays as it is.
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-#".contains(c);
    if !s.is_empty() && !s.starts_with('#') && s.chars().all(plain) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            shell_word("openai:http://h:8/v1#m"),
            "openai:http://h:8/v1#m"
        );
        assert_eq!(shell_word("#m"), "'#m'");
    }

    #[test]
    fn a_short_name_is_one_safe_path_component() {
        assert_eq!(safe_component(".."), "model");
        assert_eq!(safe_component("."), "model");
        assert_eq!(safe_component(""), "model");
        assert_eq!(safe_component("../../etc"), "etc");
        assert_eq!(safe_component("a/b\\c"), "a-b-c");
        assert_eq!(safe_component(".hidden"), "hidden");
        assert_eq!(safe_component("qwen2.5-7b"), "qwen2.5-7b");
    }
}
