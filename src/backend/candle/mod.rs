//! Local models through candle: quantized GGUF files and safetensors folders.
//!
//! Both kinds share one [`CandleBackend`]: a causal LM ([`CausalLm`]), a [`ChatTokenizer`],
//! the model's own [`ChatTemplate`] and the end-of-turn tokens its configuration names.

mod batch;
pub mod batched;
pub mod chat_template;
pub mod gguf;
pub mod native;
pub mod prefix;
pub mod safetensors;
pub mod tokenizer;

pub use chat_template::ChatTemplate;
pub use tokenizer::ChatTokenizer;

use super::{Backend, BackendError, Completion, Request};
use crate::types::{ChatMessage, FileDigest, FinishReason, GenerationParams, ModelInfo};
use candle_core::{DType, Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use std::time::Instant;

/// A causal language model: feed tokens at a position, get the logits of the next token.
pub trait CausalLm: Send {
    /// Runs `tokens` starting at position `pos` (0 starts a new sequence and clears the
    /// cache); returns the next-token logits after the last one, as f32 of length vocab.
    fn forward(&mut self, tokens: &[u32], pos: usize) -> candle_core::Result<Vec<f32>>;
    /// Clears the KV cache.
    fn reset(&mut self);
    /// The model as popbench's own engine, which decodes batches (None: not on the engine).
    fn native(&mut self) -> Option<&mut native::Native> {
        None
    }
    /// The model as popbench's batched candle model (None: not that model).
    fn batched(&mut self) -> Option<&mut batched::Batched> {
        None
    }
}

/// Turns a model output (`[vocab]`, `[1, vocab]` or `[1, 1, vocab]`) into f32 logits.
pub(crate) fn last_logits(t: Tensor) -> candle_core::Result<Vec<f32>> {
    let t = t.to_dtype(DType::F32)?.flatten_all()?;
    t.to_vec1::<f32>()
}

/// Input ids as a `[1, n]` tensor.
pub(crate) fn input(tokens: &[u32], device: &Device) -> candle_core::Result<Tensor> {
    Tensor::new(tokens, device)?.unsqueeze(0)
}

/// Sizes candle's CPU thread pools to `n`. candle 0.11's quantized matmul runs on its own
/// barrier pool (not rayon's global pool), sized once from `CANDLE_NUM_THREADS`, else
/// `RAYON_NUM_THREADS`, else the physical core count; more threads than free cores collapses
/// speed (4 threads on 2 cores: 2.1 tok/s). Call before the first model runs; a value already
/// in the environment wins.
pub fn set_cpu_threads(n: usize) {
    for var in ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, n.max(1).to_string());
        }
    }
}

/// What runs a local model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Runner {
    /// On the CPU popbench's engine, on GPUs popbench's batched candle model ([`batched`]),
    /// when they support the model; else candle-transformers. `POPBENCH_ENGINE=candle` in the
    /// environment picks the batched candle model on the CPU too, `candle-transformers`
    /// candle-transformers everywhere.
    #[default]
    Auto,
    /// popbench's batched candle model on any device (llama, mistral, Qwen2, Qwen3); on the
    /// CPU device its GGUF matrices run through popbench's engine kernels
    /// ([`batched`]'s module documentation).
    Batched,
    /// popbench's batched candle model with candle's own quantized kernels on every device:
    /// on the CPU device, the code path GPUs run (for tests and comparisons).
    BatchedCandleKernels,
    /// candle-transformers, one sequence at a time (for comparisons).
    Candle,
}

/// CPU threads for local models: `CANDLE_NUM_THREADS`, else `RAYON_NUM_THREADS` (both set by
/// [`set_cpu_threads`] from `--threads`), else the CPUs available to this process.
pub fn cpu_threads() -> usize {
    ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A local model, ready to generate.
pub struct CandleBackend {
    model: Box<dyn CausalLm>,
    /// Shared with the stop-string scans of the replies being decoded (`batch::StopScan`).
    tokenizer: std::sync::Arc<ChatTokenizer>,
    template: ChatTemplate,
    stop_ids: Vec<u32>,
    context_length: usize,
    info: ModelInfo,
    preferred_batch: usize,
}

impl std::fmt::Debug for CandleBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandleBackend")
            .field("info", &self.info)
            .field("stop_ids", &self.stop_ids)
            .finish_non_exhaustive()
    }
}

/// The parts a loader hands to [`CandleBackend::new`].
pub struct Parts {
    /// The network.
    pub model: Box<dyn CausalLm>,
    /// The tokenizer.
    pub tokenizer: ChatTokenizer,
    /// The chat template source.
    pub template: String,
    /// `bos_token`, `eos_token` (and any other named tokens) for the template.
    pub template_vars: std::collections::BTreeMap<String, String>,
    /// End-of-sequence ids from the model's config.
    pub eos_ids: Vec<u32>,
    /// Positions the model can attend to.
    pub context_length: usize,
    /// Provenance (files, family, device, dtype); `chat_template_sha256` and
    /// `tokenizer_source` are filled in here.
    pub info: ModelInfo,
}

/// End-of-turn markers that chat templates write after a turn. One is a stop token when it is
/// a special token of the model *and* the model's own template writes it.
const END_OF_TURN_MARKERS: &[&str] = &[
    "<|im_end|>",
    "<|eot_id|>",
    "<end_of_turn>",
    "<|end|>",
    "<|eom_id|>",
    "<|endoftext|>",
];

impl CandleBackend {
    /// Assembles a backend and works out its stop tokens.
    pub fn new(parts: Parts) -> Result<CandleBackend, BackendError> {
        let Parts {
            mut model,
            tokenizer,
            template,
            template_vars,
            eos_ids,
            context_length,
            mut info,
        } = parts;
        let template = ChatTemplate::new(&template, template_vars).map_err(|e| {
            BackendError::Template(format!("cannot compile the model's chat template: {e}"))
        })?;
        let mut stop_ids = eos_ids;
        for m in END_OF_TURN_MARKERS {
            if template.source().contains(m) {
                if let Some(id) = tokenizer.special_id(m) {
                    stop_ids.push(id);
                }
            }
        }
        stop_ids.sort_unstable();
        stop_ids.dedup();
        if stop_ids.is_empty() {
            return Err(BackendError::Load("the model names no end-of-sequence token and its template writes no known end-of-turn token".into()));
        }
        info.chat_template_sha256 = Some(template.sha256());
        info.tokenizer_source = Some(tokenizer.source().to_string());
        let preferred_batch = match model.native() {
            Some(n) => n.preferred_batch(),
            None => model.batched().map_or(1, |b| b.preferred_batch()),
        };
        Ok(CandleBackend {
            model,
            tokenizer: std::sync::Arc::new(tokenizer),
            template,
            stop_ids,
            context_length,
            info,
            preferred_batch,
        })
    }

    /// Records the spec the model was opened with (the manifest's `spec` and `name`).
    pub fn set_spec(&mut self, spec: String, name: String) {
        self.info.spec = spec;
        self.info.name = name;
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &ChatTokenizer {
        &self.tokenizer
    }

    /// The chat template.
    pub fn template(&self) -> &ChatTemplate {
        &self.template
    }

    /// Token ids that end a reply.
    pub fn stop_ids(&self) -> &[u32] {
        &self.stop_ids
    }

    /// Positions the model can attend to (prompt + reply).
    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// Renders a chat with the model's template (message text neutralized, see
    /// [`ChatTokenizer::neutralize`]); the result still holds sentinels.
    fn render_safe(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, BackendError> {
        let safe: Vec<ChatMessage> = messages
            .iter()
            .map(|m| {
                Ok(ChatMessage {
                    role: m.role.clone(),
                    content: self
                        .tokenizer
                        .neutralize(&m.content)
                        .map_err(BackendError::Template)?,
                })
            })
            .collect::<Result<_, BackendError>>()?;
        self.template
            .render(&safe, add_generation_prompt)
            .map_err(BackendError::Template)
    }

    /// The prompt text exactly as the model sees it.
    pub fn prompt_text(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, BackendError> {
        Ok(self
            .render_safe(messages, add_generation_prompt)?
            .replace(tokenizer::SENTINEL, ""))
    }

    /// The prompt token ids: the template's special tokens as ids, message text encoded without
    /// special-token parsing.
    pub fn prompt_ids(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<Vec<u32>, BackendError> {
        let rendered = self.render_safe(messages, add_generation_prompt)?;
        self.tokenizer
            .encode_prompt(&rendered)
            .map_err(BackendError::Template)
    }

    fn forward(&mut self, tokens: &[u32], pos: usize) -> Result<Vec<f32>, BackendError> {
        run(self.model.as_mut(), tokens, pos)
    }

    /// Teacher forcing: feeds `prompt`, then each token of `continuation`; returns, for every
    /// step, the model's top token and the gap between its top two logits.
    pub fn teacher_force(
        &mut self,
        prompt: &[u32],
        continuation: &[u32],
    ) -> Result<Vec<(u32, f32)>, BackendError> {
        if prompt.len() + continuation.len() > self.context_length {
            return Err(BackendError::Generate(
                "prompt and continuation exceed the context".into(),
            ));
        }
        Ok(self
            .forced_logits(prompt, continuation)?
            .iter()
            .map(|l| top_two(l))
            .collect())
    }

    /// The next-token logits after `prompt`, then after each token of `continuation` but the
    /// last (one entry per continuation token; the KV cache carries the sequence along).
    pub fn forced_logits(
        &mut self,
        prompt: &[u32],
        continuation: &[u32],
    ) -> Result<Vec<Vec<f32>>, BackendError> {
        if prompt.len() + continuation.len() > self.context_length {
            return Err(BackendError::Generate(
                "prompt and continuation exceed the context".into(),
            ));
        }
        self.model.reset();
        let mut logits = self.forward(prompt, 0)?;
        let mut out = Vec::with_capacity(continuation.len());
        for (i, &t) in continuation.iter().enumerate() {
            if i + 1 < continuation.len() {
                let next = self.forward(&[t], prompt.len() + i)?;
                out.push(std::mem::replace(&mut logits, next));
            } else {
                out.push(std::mem::take(&mut logits));
            }
        }
        Ok(out)
    }

    /// How many tokens a reply to `prompt` may have: `max_tokens`, or less where the context
    /// ends. Refuses empty prompts and prompts that fill the context.
    fn max_new_tokens(
        &self,
        prompt: &[u32],
        params: &GenerationParams,
    ) -> Result<usize, BackendError> {
        if prompt.is_empty() {
            return Err(BackendError::Generate("empty prompt".into()));
        }
        if prompt.len() >= self.context_length {
            return Err(BackendError::ContextOverflow(format!(
                "the prompt has {} tokens but the model's context holds {}; shorten the chat",
                prompt.len(),
                self.context_length
            )));
        }
        Ok(params.max_tokens.min(self.context_length - prompt.len()))
    }

    /// Whether the model decodes several sequences together (popbench's engine or batched
    /// candle model).
    fn decodes_batches(&mut self) -> bool {
        self.model.native().is_some() || self.model.batched().is_some()
    }

    /// Prompt positions computed and reused (from the prefix cache) by batched generation on
    /// popbench's engine since the last [`CandleBackend::reset_prefix_stats`]; None when the
    /// model is not on the engine.
    pub fn prefix_stats(&mut self) -> Option<prefix::PrefixStats> {
        self.model.native().map(|n| n.prefix_cache().stats())
    }

    /// Zeroes the counters of [`CandleBackend::prefix_stats`].
    pub fn reset_prefix_stats(&mut self) {
        if let Some(n) = self.model.native() {
            n.prefix_cache().reset_stats();
        }
    }

    /// Turns the engine's prefix reuse on (the default) or off (every prompt computed whole;
    /// for comparisons). Off empties the cache.
    pub fn set_prefix_reuse(&mut self, on: bool) {
        if let Some(n) = self.model.native() {
            n.prefix_cache().set_enabled(on);
        }
    }

    /// Teacher forcing of several pairs together on popbench's engine (one pair after another
    /// through candle-transformers); the results equal [`CandleBackend::teacher_force`]'s.
    pub fn teacher_force_batch(
        &mut self,
        items: &[(&[u32], &[u32])],
    ) -> Result<Vec<Vec<(u32, f32)>>, BackendError> {
        if self.model.native().is_some() {
            return batch::teacher_force(self, items);
        }
        if self.model.batched().is_some() {
            return batched::teacher_force(self, items);
        }
        items
            .iter()
            .map(|(p, c)| self.teacher_force(p, c))
            .collect()
    }

    /// Generates from prompt ids; calls `on_text` with text as soon as it forms whole characters
    /// (with stop strings, as soon as it can no longer turn out to be the start of one: the
    /// text streamed is the text returned, which ends before the first stop string).
    pub fn generate_ids(
        &mut self,
        prompt: &[u32],
        params: &GenerationParams,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Completion, BackendError> {
        let max_new = self.max_new_tokens(prompt, params)?;
        let mut sampler = LogitsProcessor::from_sampling(params.seed, sampling(params));
        self.model.reset();
        let t0 = Instant::now();
        let mut logits = self.forward(prompt, 0)?;
        let prompt_ms = t0.elapsed().as_secs_f64() * 1e3;
        let t1 = Instant::now();
        let mut out: Vec<u32> = Vec::new();
        let mut stream = self.tokenizer.stream();
        let scan = batch::StopScan::new(&self.tokenizer, params);
        // With stop strings: the bytes of the reply's text already passed to `on_text`.
        let mut shown = 0usize;
        let mut finish = FinishReason::Length;
        while out.len() < max_new {
            let l = Tensor::new(logits.as_slice(), &Device::Cpu)
                .map_err(|e| BackendError::Generate(e.to_string()))?;
            let next = sampler
                .sample(&l)
                .map_err(|e| BackendError::Generate(e.to_string()))?;
            if self.stop_ids.contains(&next) {
                finish = FinishReason::Stop;
                break;
            }
            out.push(next);
            match &scan {
                None => {
                    if let Some(text) = stream.step(next).map_err(BackendError::Generate)? {
                        on_text(&text);
                    }
                }
                Some(scan) => {
                    let (text, at) = scan.scan(&out).map_err(BackendError::Generate)?;
                    // Text that may still be the start of a stop string waits.
                    let safe = at.unwrap_or(text.len() - stop_prefix_len(&text, &params.stop));
                    if let Some(new) = text.get(shown..safe).filter(|t| !t.is_empty()) {
                        on_text(new);
                        shown = safe;
                    }
                    if at.is_some() {
                        finish = FinishReason::Stop;
                        break;
                    }
                }
            }
            if out.len() >= max_new {
                break;
            }
            logits = run(self.model.as_mut(), &[next], prompt.len() + out.len() - 1)?;
        }
        drop(stream);
        let (text, finish) = batch::reply_text(&self.tokenizer, &out, params, finish)
            .map_err(BackendError::Generate)?;
        if scan.is_some() {
            // What was held back as a possible stop string's start, and was not one.
            if let Some(rest) = text.get(shown..).filter(|t| !t.is_empty()) {
                on_text(rest);
            }
        }
        Ok(Completion {
            text,
            prompt_tokens: prompt.len(),
            completion_tokens: out.len(),
            prompt_ms,
            generation_ms: t1.elapsed().as_secs_f64() * 1e3,
            finish_reason: finish,
        })
    }

    /// Generates a reply to a chat, streaming its text to `on_text`.
    pub fn generate_streaming(
        &mut self,
        request: &Request<'_>,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Completion, BackendError> {
        let prompt = self.prompt_ids(request.messages, true)?;
        self.generate_ids(&prompt, request.params, on_text)
    }
}

/// The length of the longest end of `text` that is a proper start of one of `stops` (0: none):
/// text a following token could still turn into a stop string. On a character boundary (a
/// string cannot start inside a character).
fn stop_prefix_len(text: &str, stops: &[String]) -> usize {
    stops
        .iter()
        .flat_map(|s| {
            (1..s.len())
                .filter(|&k| s.is_char_boundary(k) && text.ends_with(&s[..k]))
                .max()
        })
        .max()
        .unwrap_or(0)
}

fn run(model: &mut dyn CausalLm, tokens: &[u32], pos: usize) -> Result<Vec<f32>, BackendError> {
    model
        .forward(tokens, pos)
        .map_err(|e| BackendError::Generate(e.to_string()))
}

fn top_two(logits: &[f32]) -> (u32, f32) {
    let mut best = (0usize, f32::NEG_INFINITY);
    let mut second = f32::NEG_INFINITY;
    for (i, &v) in logits.iter().enumerate() {
        if v > best.1 {
            second = best.1;
            best = (i, v);
        } else if v > second {
            second = v;
        }
    }
    (best.0 as u32, best.1 - second)
}

/// The sampling rule for generation parameters: temperature 0 is greedy.
pub fn sampling(p: &GenerationParams) -> Sampling {
    if p.temperature <= 0.0 {
        return Sampling::ArgMax;
    }
    let temperature = p.temperature;
    let top_p = p.top_p > 0.0 && p.top_p < 1.0;
    match (p.top_k > 0, top_p) {
        (true, true) => Sampling::TopKThenTopP {
            k: p.top_k,
            p: p.top_p,
            temperature,
        },
        (true, false) => Sampling::TopK {
            k: p.top_k,
            temperature,
        },
        (false, true) => Sampling::TopP {
            p: p.top_p,
            temperature,
        },
        (false, false) => Sampling::All { temperature },
    }
}

impl Backend for CandleBackend {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn preferred_batch(&self) -> usize {
        self.preferred_batch
    }

    fn generate(&mut self, request: &Request<'_>) -> Result<Completion, BackendError> {
        if self.decodes_batches() {
            return batch::generate(self, std::slice::from_ref(request))
                .pop()
                .unwrap_or_else(|| Err(BackendError::Generate("no result".into())));
        }
        self.generate_streaming(request, &mut |_| {})
    }

    /// On popbench's engine and batched candle model the requests are decoded together (see
    /// `batch`); through candle-transformers, one after another.
    fn generate_batch(
        &mut self,
        requests: &[Request<'_>],
    ) -> Vec<Result<Completion, BackendError>> {
        if self.decodes_batches() {
            return batch::generate(self, requests);
        }
        requests.iter().map(|r| self.generate(r)).collect()
    }
}

/// Which device to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceKind {
    /// The CPU (default).
    #[default]
    Cpu,
    /// A CUDA GPU by ordinal (needs the `cuda` feature).
    Cuda(usize),
    /// Apple Metal (needs the `metal` feature).
    Metal,
}

impl DeviceKind {
    /// Parses `cpu`, `cuda`, `cuda:N`, `metal`.
    pub fn parse(s: &str) -> Result<DeviceKind, String> {
        match s {
            "cpu" => Ok(DeviceKind::Cpu),
            "cuda" | "gpu" => Ok(DeviceKind::Cuda(0)),
            "metal" => Ok(DeviceKind::Metal),
            _ => match s.strip_prefix("cuda:").map(str::parse) {
                Some(Ok(n)) => Ok(DeviceKind::Cuda(n)),
                _ => Err(format!(
                    "unknown device `{s}`: use cpu, cuda, cuda:N or metal"
                )),
            },
        }
    }

    /// Opens the device.
    pub fn open(self) -> Result<Device, BackendError> {
        match self {
            DeviceKind::Cpu => Ok(Device::Cpu),
            DeviceKind::Cuda(n) => Device::new_cuda(n).map_err(|e| {
                BackendError::Load(format!(
                    "cuda:{n}: {e} (was popbench built with --features cuda?)"
                ))
            }),
            DeviceKind::Metal => Device::new_metal(0).map_err(|e| {
                BackendError::Load(format!(
                    "metal: {e} (was popbench built with --features metal?)"
                ))
            }),
        }
    }

    /// The name recorded in the manifest.
    pub fn name(self) -> String {
        match self {
            DeviceKind::Cpu => "cpu".into(),
            DeviceKind::Cuda(n) => format!("cuda:{n}"),
            DeviceKind::Metal => "metal".into(),
        }
    }
}

/// sha256 and size of a file, for provenance.
pub fn digest_file(path: &std::path::Path) -> Result<FileDigest, BackendError> {
    use sha2::Digest as _;
    use std::io::Read as _;
    let mut f = std::fs::File::open(path)
        .map_err(|e| BackendError::Load(format!("{}: {e}", path.display())))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| BackendError::Load(format!("{}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        h.update(&buf[..n]);
    }
    Ok(FileDigest {
        path: path.display().to_string(),
        sha256: hex::encode(h.finalize()),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_rules() {
        let mut p = GenerationParams::default();
        assert!(matches!(sampling(&p), Sampling::ArgMax));
        p.temperature = 0.7;
        assert!(matches!(sampling(&p), Sampling::All { .. }));
        p.top_k = 40;
        p.top_p = 0.9;
        assert!(matches!(sampling(&p), Sampling::TopKThenTopP { k: 40, .. }));
        assert_eq!(top_two(&[0.0, 3.0, 2.5]), (1, 0.5));
        assert_eq!(DeviceKind::parse("cuda:1").unwrap(), DeviceKind::Cuda(1));
    }

    #[test]
    fn text_that_may_start_a_stop_string_is_held_back() {
        let stops = ["User:".to_string(), "é!".to_string()];
        assert_eq!(stop_prefix_len("hello", &stops), 0);
        assert_eq!(stop_prefix_len("hello Us", &stops), 2);
        assert_eq!(stop_prefix_len("hello User", &stops), 4);
        // A whole stop string is found by the scan, not held back here.
        assert_eq!(stop_prefix_len("hello User:", &stops), 0);
        assert_eq!(stop_prefix_len("caf é", &stops), "é".len());
        assert_eq!(stop_prefix_len("", &stops), 0);
        assert_eq!(stop_prefix_len("abc", &[]), 0);
    }
}
