//! Backends turn chats into completions: candle GGUF, candle safetensors, a replay file, or
//! an OpenAI-compatible HTTP server. The trait is small on purpose: a runner needs to
//! describe the model (for provenance), check the items it will ask for, and generate.

pub mod candle;
pub mod open;
pub mod openai;
pub mod registry;
pub mod replay;
pub mod resolve;
pub mod spec;

pub use open::{open, OpenOptions};
pub use spec::ModelSpec;

use crate::prompt::ChatMessage;
use serde::{Deserialize, Serialize};

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
}

impl Default for GenerationParams {
    fn default() -> Self {
        GenerationParams {
            max_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            seed: 0,
        }
    }
}

/// One request to a backend.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Which item this is (replay backends look responses up by it).
    pub key: &'a ItemKey,
    /// The chat.
    pub messages: &'a [ChatMessage],
    /// How to generate.
    pub params: &'a GenerationParams,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// An end-of-turn token (or the server said so).
    Stop,
    /// `max_tokens` was reached.
    Length,
    /// The response was replayed from a file.
    Replayed,
}

/// A completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The generated text (untrusted).
    pub text: String,
    /// Tokens in the rendered prompt (0 when unknown).
    pub prompt_tokens: usize,
    /// Tokens generated (0 when unknown).
    pub completion_tokens: usize,
    /// Time spent on the prompt, ms.
    pub prompt_ms: f64,
    /// Time spent generating, ms.
    pub generation_ms: f64,
    /// Why it stopped.
    pub finish_reason: FinishReason,
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
}

/// Errors of backends.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The model could not be found or loaded.
    #[error("cannot load model: {0}")]
    Load(String),
    /// The chat could not be rendered into a prompt.
    #[error("chat template: {0}")]
    Template(String),
    /// Generation failed.
    #[error("generation failed: {0}")]
    Generate(String),
    /// A replay file has no response for an item, or the items do not match.
    #[error("{0}")]
    Items(String),
    /// An HTTP backend failed after its retries.
    #[error("remote model: {0}")]
    Remote(String),
}

impl BackendError {
    /// A stable tag for counting errors.
    pub fn tag(&self) -> &'static str {
        match self {
            BackendError::Load(_) => "load",
            BackendError::Template(_) => "template",
            BackendError::Generate(_) => "generate",
            BackendError::Items(_) => "items",
            BackendError::Remote(_) => "remote",
        }
    }
}

/// Something that turns chats into completions.
pub trait Backend: Send {
    /// What model this is, for the manifest.
    fn info(&self) -> &ModelInfo;

    /// Checks, before a run starts, that the backend can serve these items (a replay file
    /// must hold every one of them and nothing else). Default: yes.
    fn check_items(&self, _items: &[ItemKey]) -> Result<(), BackendError> {
        Ok(())
    }

    /// Requests this backend serves best together (the runner's batch when none is asked for).
    fn preferred_batch(&self) -> usize {
        1
    }

    /// Generates one completion.
    fn generate(&mut self, request: &Request<'_>) -> Result<Completion, BackendError>;

    /// Generates several completions; backends that batch override this. Results are in the
    /// order of the requests.
    fn generate_batch(
        &mut self,
        requests: &[Request<'_>],
    ) -> Vec<Result<Completion, BackendError>> {
        requests.iter().map(|r| self.generate(r)).collect()
    }
}
