//! `popbench chat --model SPEC [--system TEXT] [--max-tokens N] [--stop TEXT]… "message"`: one
//! greedy reply, for checking a model by hand.

use super::printer::{Hint, Printer};
use anyhow::Context as _;
use popbench::backend::candle::DeviceKind;
use popbench::backend::{open::open_local, ModelSpec, OpenOptions, Request};
use popbench::types::{ChatMessage, GenerationParams, ItemKey};
use std::io::Write as _;
use std::process::ExitCode;

/// Flags of `chat`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model: gguf:PATH, safetensors:DIR, hf:ORG/REPO[@REV][:FILE] or an alias.
    #[arg(long, value_name = "SPEC", default_value = popbench::backend::registry::DEFAULT_ALIAS)]
    model: String,
    /// A system message.
    #[arg(long, value_name = "TEXT")]
    system: Option<String>,
    /// Maximum new tokens (1 to 1048576).
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_tokens: usize,
    /// Stop string (repeatable, up to 4), as `popbench run --stop`: the reply ends before the
    /// first one it writes.
    #[arg(long = "stop", value_name = "TEXT")]
    stop: Vec<String>,
    /// Device: cpu, cuda, cuda:N or metal.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Print the rendered prompt and token counts to stderr.
    #[arg(long)]
    show_prompt: bool,
    /// The user's message.
    message: String,
}

pub fn run(args: Args, printer: Printer) -> anyhow::Result<ExitCode> {
    let spec = ModelSpec::parse(&args.model).map_err(anyhow::Error::msg)?;
    let device = DeviceKind::parse(&args.device).map_err(anyhow::Error::msg)?;
    let params = GenerationParams {
        max_tokens: args.max_tokens,
        stop: args.stop.clone(),
        ..GenerationParams::default()
    };
    params.check().map_err(|e| {
        let hint = match e.flag {
            "--stop" => "e.g. --stop . --stop $'\\n' (up to 4 strings, none empty)",
            _ => "see `popbench chat --help` for each flag's range",
        };
        anyhow::anyhow!("{e}").context(Hint(hint.into()))
    })?;
    let opts = OpenOptions {
        device,
        ..OpenOptions::default()
    };
    printer.status(format!("loading {}", args.model));
    let mut backend = open_local(&spec, &opts)
        .with_context(|| format!("opening model `{}`", args.model))
        .context(Hint("`popbench models` lists aliases and local models; scripts/fetch-model gets the default one".into()))?;
    let mut messages = Vec::new();
    if let Some(s) = &args.system {
        messages.push(ChatMessage::new("system", s.clone()));
    }
    messages.push(ChatMessage::new("user", args.message.clone()));
    if args.show_prompt {
        printer.status(backend.prompt_text(&messages, true)?);
    }
    let key = ItemKey {
        scenario_id: "chat".into(),
        context: "chat".into(),
        sample: 0,
    };
    let request = Request {
        key: &key,
        messages: &messages,
        params: &params,
    };
    let mut stdout = std::io::stdout().lock();
    let mut write_err = None;
    let completion = backend.generate_streaming(&request, &mut |text| {
        if write_err.is_none() {
            if let Err(e) = stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush())
            {
                write_err = Some(e);
            }
        }
    })?;
    if let Some(e) = write_err {
        return Err(e.into());
    }
    writeln!(stdout)?;
    printer.status(format!(
        "{} prompt tokens ({:.0} ms), {} completion tokens ({:.0} ms), finish: {:?}",
        completion.prompt_tokens,
        completion.prompt_ms,
        completion.completion_tokens,
        completion.generation_ms,
        completion.finish_reason
    ));
    Ok(ExitCode::SUCCESS)
}
