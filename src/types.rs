//! Small shared types at the bottom of the crate: a chat message, a run item's key, a file
//! digest, what a backend says about its model, why generation stopped, and why it failed.
//!
//! This module imports nothing from the rest of popbench, so every layer (backend, run,
//! score, report) may import it without depending on another layer.

use serde::{Deserialize, Serialize};

/// One chat message, as chat templates and OpenAI-compatible servers expect it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

impl ChatMessage {
    /// A message with a role.
    pub fn new(role: &str, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.to_string(),
            content: content.into(),
        }
    }
}

/// The key of one run item: a scenario in a context, sample number k.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ItemKey {
    /// The scenario id.
    pub scenario_id: String,
    /// The context id.
    pub context: String,
    /// The sample number, from 0.
    pub sample: u32,
}

impl std::fmt::Display for ItemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} [{}] #{}",
            self.scenario_id, self.context, self.sample
        )
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// An end-of-turn token or a stop string ([`GenerationParams::stop`]), or the server said
    /// so.
    Stop,
    /// `max_tokens` was reached.
    Length,
    /// The response was replayed from a file.
    Replayed,
    /// Generation failed; the record carries the error.
    Error,
}

/// Generation parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationParams {
    /// Maximum new tokens.
    pub max_tokens: usize,
    /// Temperature; 0 means greedy.
    pub temperature: f64,
    /// Nucleus sampling threshold (1.0 = off).
    pub top_p: f64,
    /// Top-k sampling (0 = off).
    pub top_k: usize,
    /// The seed of this item (derived per item by the runner).
    pub seed: u64,
    /// Stop strings (`--stop`, OpenAI's `stop`): the reply ends as soon as its text contains
    /// one, and the text returned ends before it (the stop string is not part of the reply;
    /// the finish reason is [`FinishReason::Stop`]). At most [`MAX_STOP_STRINGS`], none empty
    /// ([`GenerationParams::check_stop`]). Left out of manifests when empty, so runs without
    /// stop strings read and compare as before the field existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
}

/// The most stop strings a request may carry (OpenAI's limit).
pub const MAX_STOP_STRINGS: usize = 4;

/// The most new tokens a reply may be asked for (`--max-tokens`): far beyond any model's
/// context, so it only refuses a runaway number.
pub const MAX_NEW_TOKENS: usize = 1 << 20;

/// The highest temperature accepted (`--temperature`).
pub const MAX_TEMPERATURE: f64 = 100.0;

/// The lowest temperature that samples (`--temperature`); below it the logits divided by the
/// temperature overflow. 0 is greedy.
pub const MIN_SAMPLING_TEMPERATURE: f64 = 0.01;

/// A generation parameter out of its range: the flag that sets it and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The command-line flag (`--temperature`).
    pub flag: &'static str,
    /// What is wrong, with the range.
    pub message: String,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.flag, self.message)
    }
}

impl std::error::Error for ParamError {}

/// Checks a maximum number of new tokens: 1 to [`MAX_NEW_TOKENS`].
pub fn check_max_tokens(flag: &'static str, n: usize) -> Result<(), ParamError> {
    if (1..=MAX_NEW_TOKENS).contains(&n) {
        return Ok(());
    }
    Err(ParamError {
        flag,
        message: format!("{n} is out of range: a reply needs 1 to {MAX_NEW_TOKENS} new tokens"),
    })
}

/// Checks a temperature: 0 (greedy), or a finite number from [`MIN_SAMPLING_TEMPERATURE`] to
/// [`MAX_TEMPERATURE`]. NaN and infinities are refused (a manifest cannot store them, and a
/// sampler fails on them).
pub fn check_temperature(flag: &'static str, t: f64) -> Result<(), ParamError> {
    if t == 0.0 || (MIN_SAMPLING_TEMPERATURE..=MAX_TEMPERATURE).contains(&t) {
        return Ok(());
    }
    Err(ParamError {
        flag,
        message: format!(
            "{t} is out of range: use 0 (greedy) or a number from {MIN_SAMPLING_TEMPERATURE} to {MAX_TEMPERATURE}"
        ),
    })
}

impl Default for GenerationParams {
    fn default() -> Self {
        GenerationParams {
            max_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            seed: 0,
            stop: Vec::new(),
        }
    }
}

impl GenerationParams {
    /// Checks every parameter against its range: `max_tokens` 1 to [`MAX_NEW_TOKENS`],
    /// `temperature` by [`check_temperature`], `top_p` in (0, 1], the stop strings by
    /// [`GenerationParams::check_stop`]. `top_k` and `seed` take any value.
    pub fn check(&self) -> Result<(), ParamError> {
        check_max_tokens("--max-tokens", self.max_tokens)?;
        check_temperature("--temperature", self.temperature)?;
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(ParamError {
                flag: "--top-p",
                message: format!(
                    "{} is out of range: nucleus sampling keeps a share of the probability above 0 and at most 1 (1 = off)",
                    self.top_p
                ),
            });
        }
        self.check_stop().map_err(|message| ParamError {
            flag: "--stop",
            message,
        })
    }

    /// Checks the stop strings: at most [`MAX_STOP_STRINGS`], none empty.
    pub fn check_stop(&self) -> Result<(), String> {
        if self.stop.len() > MAX_STOP_STRINGS {
            return Err(format!(
                "{} stop strings given; at most {MAX_STOP_STRINGS} are allowed (OpenAI's limit)",
                self.stop.len()
            ));
        }
        if let Some(i) = self.stop.iter().position(String::is_empty) {
            return Err(format!(
                "stop string {} is empty; an empty stop string would end every reply before it starts",
                i + 1
            ));
        }
        Ok(())
    }

    /// Where the first stop string in `text` starts (a byte offset, on a character boundary):
    /// the earliest occurrence of any of them; None when none occurs (or none is set).
    pub fn stop_position(&self, text: &str) -> Option<usize> {
        self.stop
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| text.find(s.as_str()))
            .min()
    }

    /// `text` cut before its first stop string, and whether one was found.
    pub fn cut_at_stop<'t>(&self, text: &'t str) -> (&'t str, bool) {
        match self.stop_position(text) {
            Some(at) => (&text[..at], true),
            None => (text, false),
        }
    }
}

/// A file the model was loaded from, with its digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Path (as resolved on this machine).
    pub path: String,
    /// sha256, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// What a backend says about its model, recorded in the run manifest.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The spec as given.
    pub spec: String,
    /// A short name for directories and reports.
    pub name: String,
    /// `candle-gguf`, `candle-safetensors`, `replay`, `openai`.
    pub backend: String,
    /// The architecture family (`llama`, `qwen2`…), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Weight and config files with digests.
    pub files: Vec<FileDigest>,
    /// sha256 of the chat template used, when the backend renders one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_template_sha256: Option<String>,
    /// Where the tokenizer came from (`gguf-metadata`, `tokenizer.json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokenizer_source: Option<String>,
    /// `cpu`, `cuda:0`, `metal`, or `remote`.
    pub device: String,
    /// Weight dtype or quantization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtype: Option<String>,
    /// What runs a local model: `popbench-engine (avx2, 2 threads)` or `candle-transformers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// What a remote (OpenAI-compatible) server said about itself when the run started; absent
    /// for local models, and in manifests written before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<Box<ServerInfo>>,
}

/// What an OpenAI-compatible server reports about itself, asked once, best effort: its
/// `/v1/models` list and, where the engine exposes one, its own self-description (llama.cpp
/// `/props`, vLLM `/version`, TGI `/info`, Ollama `/api/version`). Untrusted text, as the
/// server wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The base URL asked (e.g. `http://127.0.0.1:8080/v1`).
    pub base_url: String,
    /// The models `/v1/models` listed (empty when it did not answer).
    #[serde(default)]
    pub models: Vec<ServedModel>,
    /// The engine, as told by the endpoint that answered: `llama.cpp`, `vllm`, `tgi`, `ollama`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The engine's version or build, where it says (llama.cpp: `build_info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The model file the server loaded, where it says (llama.cpp: `model_path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_path: Option<String>,
    /// The raw answers, by path (`/v1/models`, `/props`…), each cut to a few kB; long
    /// fields such as a chat template are replaced by their sha256.
    #[serde(default)]
    pub reports: std::collections::BTreeMap<String, String>,
}

/// One entry of a server's `/v1/models` list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServedModel {
    /// The model id requests name.
    pub id: String,
    /// Who the server says owns it (`llamacpp`, `vllm`, `library`…), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
}

/// Why one generation failed, as journaled in `responses.jsonl`:
///
/// ```json
/// "error": {"tag": "http_status", "message": "http://…/chat/completions after 5 attempt(s): HTTP 500: busy"}
/// ```
///
/// The tag is stable (reports count failures by it); the message is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// A stable tag: `timeout`, `connection`, `http_status`, `bad_response`,
    /// `context_overflow`, `invalid_utf8`, `template`, `generate`, `items`, `load`.
    pub tag: String,
    /// What went wrong, in words.
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.tag)
    }
}

/// How a multi-turn scenario runs, recorded in the run manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationMode {
    /// The model under test writes every assistant turn, with its own earlier answers in the
    /// history; the child's turns are the scenario's (or an adaptive child's, `--child`).
    /// The default of `popbench run`.
    Live,
    /// The scenario's scripted assistant turns are sent as history and the model answers the
    /// child's last turn only. Manifests written before live mode existed read as scripted.
    #[default]
    Scripted,
}

impl ConversationMode {
    /// The stable id (`live`, `scripted`).
    pub fn id(self) -> &'static str {
        match self {
            ConversationMode::Live => "live",
            ConversationMode::Scripted => "scripted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_flags_out_of_range_are_refused_by_flag() {
        let ok = GenerationParams::default();
        assert_eq!(ok.check(), Ok(()));
        let with = |f: &dyn Fn(&mut GenerationParams)| {
            let mut p = GenerationParams::default();
            f(&mut p);
            p.check().map_err(|e| e.flag)
        };
        for t in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1.0,
            0.001,
            101.0,
        ] {
            assert_eq!(with(&|p| p.temperature = t), Err("--temperature"), "{t}");
        }
        for t in [0.0, 0.01, 0.7, 2.0, 100.0] {
            assert_eq!(with(&|p| p.temperature = t), Ok(()), "{t}");
        }
        for p in [2.0, -0.5, 0.0, f64::NAN, f64::INFINITY] {
            assert_eq!(with(&|g| g.top_p = p), Err("--top-p"), "{p}");
        }
        assert_eq!(with(&|g| g.top_p = 0.9), Ok(()));
        assert_eq!(with(&|g| g.max_tokens = 0), Err("--max-tokens"));
        assert_eq!(
            with(&|g| g.max_tokens = MAX_NEW_TOKENS + 1),
            Err("--max-tokens")
        );
        assert_eq!(with(&|g| g.stop = vec![String::new()]), Err("--stop"));
        let e = with(&|p| p.temperature = f64::NAN).unwrap_err();
        assert_eq!(e, "--temperature");
    }

    fn with_stop(stop: &[&str]) -> GenerationParams {
        GenerationParams {
            stop: stop.iter().map(|s| s.to_string()).collect(),
            ..GenerationParams::default()
        }
    }

    #[test]
    fn the_earliest_stop_string_cuts_the_text() {
        let p = with_stop(&["world", "lo w", "o"]);
        // "lo w" starts at 3, before "o" (4) and "world" (6): the earliest wins, whatever
        // the order the strings were given in.
        assert_eq!(p.cut_at_stop("hello world"), ("hel", true));
        assert_eq!(
            with_stop(&["world"]).cut_at_stop("hello world"),
            ("hello ", true)
        );
        assert_eq!(with_stop(&["xyz"]).cut_at_stop("hello"), ("hello", false));
        assert_eq!(
            GenerationParams::default().cut_at_stop("hello"),
            ("hello", false)
        );
        // At position 0: nothing is left.
        assert_eq!(with_stop(&["he"]).cut_at_stop("hello"), ("", true));
        // Multi-byte: the cut falls on a character boundary.
        assert_eq!(with_stop(&["é"]).cut_at_stop("caféine"), ("caf", true));
        assert_eq!(with_stop(&["日本"]).cut_at_stop("ab日本語"), ("ab", true));
        assert_eq!(with_stop(&["\n\n"]).stop_position("a\nb\n\nc"), Some(3));
    }

    #[test]
    fn stop_strings_are_checked() {
        assert!(with_stop(&[]).check_stop().is_ok());
        assert!(with_stop(&[".", "\n", "User:", "é"]).check_stop().is_ok());
        let e = with_stop(&["a", "b", "c", "d", "e"])
            .check_stop()
            .unwrap_err();
        assert!(e.contains("at most 4"), "{e}");
        let e = with_stop(&["a", ""]).check_stop().unwrap_err();
        assert!(e.contains("stop string 2 is empty"), "{e}");
    }

    #[test]
    fn params_without_stop_strings_serialize_as_before() {
        let p = GenerationParams::default();
        let j = serde_json::to_string(&p).unwrap();
        assert!(!j.contains("stop"), "{j}");
        let old = r#"{"max_tokens":256,"temperature":0.0,"top_p":1.0,"top_k":0,"seed":0}"#;
        let back: GenerationParams = serde_json::from_str(old).unwrap();
        assert_eq!(back, p);
        let s = with_stop(&["."]);
        let j = serde_json::to_string(&s).unwrap();
        assert!(j.ends_with(r#","stop":["."]}"#), "{j}");
        assert_eq!(serde_json::from_str::<GenerationParams>(&j).unwrap(), s);
    }
}
