//! Backends turn chats into completions: candle GGUF, candle safetensors, a replay file, or
//! an OpenAI-compatible HTTP server. The trait is small on purpose: a runner needs to
//! describe the model (for provenance), check the items it will ask for, and generate.

pub mod candle;
pub mod open;
pub mod openai;
pub mod redact;
pub mod registry;
pub mod replay;
pub mod resolve;
pub mod spec;

pub use open::{open, OpenOptions};
pub use spec::ModelSpec;

use serde::{Deserialize, Serialize};

use crate::types::{ChatMessage, FinishReason, GenerationParams, ItemKey, ModelInfo};

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

/// Errors of backends. Each has a stable tag ([`BackendError::tag`]) that a run journals with
/// a failed item and that summaries and reports count.
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
    /// The prompt does not fit the model's context.
    #[error("context overflow: {0}")]
    ContextOverflow(String),
    /// The model produced bytes that are not UTF-8 text.
    #[error("invalid UTF-8: {0}")]
    InvalidUtf8(String),
    /// A replay file has no response for an item, or the items do not match.
    #[error("{0}")]
    Items(String),
    /// An HTTP server answered with an error status after the backend's retries.
    #[error("remote model: {message}")]
    HttpStatus {
        /// The last status code.
        status: u16,
        /// What the server said.
        message: String,
    },
    /// An HTTP request timed out after the backend's retries.
    #[error("remote model: {0}")]
    Timeout(String),
    /// The server could not be reached (refused, reset, DNS) after the backend's retries.
    #[error("remote model: {0}")]
    Connection(String),
    /// The server answered something that is not a chat completion.
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
            BackendError::ContextOverflow(_) => "context_overflow",
            BackendError::InvalidUtf8(_) => "invalid_utf8",
            BackendError::Items(_) => "items",
            BackendError::HttpStatus { .. } => "http_status",
            BackendError::Timeout(_) => "timeout",
            BackendError::Connection(_) => "connection",
            BackendError::Remote(_) => "bad_response",
        }
    }

    /// The same error with its message passed through `f` (e.g. to redact secrets).
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> BackendError {
        match self {
            BackendError::Load(m) => BackendError::Load(f(m)),
            BackendError::Template(m) => BackendError::Template(f(m)),
            BackendError::Generate(m) => BackendError::Generate(f(m)),
            BackendError::ContextOverflow(m) => BackendError::ContextOverflow(f(m)),
            BackendError::InvalidUtf8(m) => BackendError::InvalidUtf8(f(m)),
            BackendError::Items(m) => BackendError::Items(f(m)),
            BackendError::HttpStatus { status, message } => BackendError::HttpStatus {
                status,
                message: f(message),
            },
            BackendError::Timeout(m) => BackendError::Timeout(f(m)),
            BackendError::Connection(m) => BackendError::Connection(f(m)),
            BackendError::Remote(m) => BackendError::Remote(f(m)),
        }
    }

    /// The error as journaled with a failed item.
    pub fn to_failure(&self) -> crate::types::Failure {
        crate::types::Failure {
            tag: self.tag().to_string(),
            message: self.to_string(),
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

    /// Checks, before a live run starts, that the backend can answer the earlier child turns
    /// of these multi-turn items (each with the indices in its scenario's `turns` of the child
    /// turns before the last). A backend that generates answers any turn; a replay file must
    /// hold an answer for each of them. Default: yes.
    fn check_turns(&self, _items: &[(ItemKey, Vec<usize>)]) -> Result<(), BackendError> {
        Ok(())
    }

    /// Whether the backend has an answer for an item without generating one: `Some` for
    /// backends that replay answers (`--only replayed` keeps the items it answers), `None`
    /// for backends that generate (they answer everything). Default: `None`.
    fn covers(&self, _key: &ItemKey) -> Option<bool> {
        None
    }

    /// Requests this backend serves best together (the runner's batch when none is asked for).
    fn preferred_batch(&self) -> usize {
        1
    }

    /// Why the backend can serve nothing more (a remote server that stopped answering), when
    /// that is so; the runner then stops and leaves the rest to a resume. Default: never.
    fn gone(&self) -> Option<String> {
        None
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
