//! The lines of `responses.jsonl`: one per (scenario, context, sample).
//!
//! ```json
//! {"scenario_id":"dv-locked-room-gb-en","context":"general_assistant","sample":0,
//!  "response":"I'm so sorry…","prompt_sha256":"5e1c…","seed":1234,
//!  "prompt_tokens":182,"completion_tokens":96,"finish_reason":"stop",
//!  "prompt_ms":812.4,"generation_ms":2211.9}
//! ```
//! Timing fields (`prompt_ms`, `generation_ms`) are the only ones that differ between two
//! runs of the same inputs on the same CPU.
//!
//! A generation that failed after the backend's own retries is journaled too, with an empty
//! response, `"finish_reason":"error"` and the error with its stable tag:
//! `"error":{"tag":"timeout","message":"…"}`. Failed records are never scored; a resume
//! retries them.
//!
//! A live multi-turn conversation is one line too, written when its last child turn is
//! answered: `response` answers the child's last turn and `turns` holds the answers to the
//! earlier child turns ([`TurnAnswer`]). A failure at any turn makes the whole conversation one
//! failed record (the tag of that turn's error; the message names the turn). Resume policy:
//! a conversation in flight when a run is killed has no line and is **restarted** from its
//! first turn by `--resume`; the per-turn seeds (`crate::conversation::turn_seed`) make the
//! redo give the same answers.

use crate::types::{Failure, FinishReason, ItemKey};
use serde::{Deserialize, Serialize};

/// One response of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseRecord {
    /// The scenario.
    pub scenario_id: String,
    /// The context it ran in.
    pub context: String,
    /// Sample number.
    pub sample: u32,
    /// The response text (untrusted).
    pub response: String,
    /// sha256 of the chat messages sent.
    #[serde(default)]
    pub prompt_sha256: String,
    /// The item's seed.
    #[serde(default)]
    pub seed: u64,
    /// Prompt tokens.
    #[serde(default)]
    pub prompt_tokens: usize,
    /// Completion tokens.
    #[serde(default)]
    pub completion_tokens: usize,
    /// Why generation stopped.
    #[serde(default = "default_finish")]
    pub finish_reason: FinishReason,
    /// Prompt time, ms.
    #[serde(default)]
    pub prompt_ms: f64,
    /// Generation time, ms.
    #[serde(default)]
    pub generation_ms: f64,
    /// When generation failed for this item: the error with its tag (the response is then
    /// empty and the record is not scored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    /// A live conversation: the model's answers to the child's turns before the last, in
    /// order (this record's own `response` answers the last child turn). Empty for
    /// single-turn scenarios and scripted runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<TurnAnswer>,
    /// The child's words at the last turn, when an adaptive child (`--child`) wrote them
    /// instead of the scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
}

/// The model's answer to one earlier child turn of a live conversation.
///
/// ```json
/// {"turn":0,"response":"I'm sorry that is happening…","prompt_tokens":120,
///  "completion_tokens":88,"finish_reason":"stop","prompt_ms":310.2,"generation_ms":1620.4}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnAnswer {
    /// The index in the scenario's `turns` of the child turn answered.
    pub turn: usize,
    /// The child's words at that turn, when an adaptive child (`--child`) wrote them instead
    /// of the scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
    /// The answer (untrusted).
    pub response: String,
    /// Prompt tokens.
    #[serde(default)]
    pub prompt_tokens: usize,
    /// Completion tokens.
    #[serde(default)]
    pub completion_tokens: usize,
    /// Why generation stopped.
    #[serde(default = "default_finish")]
    pub finish_reason: FinishReason,
    /// Prompt time, ms.
    #[serde(default)]
    pub prompt_ms: f64,
    /// Generation time, ms.
    #[serde(default)]
    pub generation_ms: f64,
}

fn default_finish() -> FinishReason {
    FinishReason::Stop
}

impl ResponseRecord {
    /// The item key.
    pub fn key(&self) -> ItemKey {
        ItemKey {
            scenario_id: self.scenario_id.clone(),
            context: self.context.clone(),
            sample: self.sample,
        }
    }

    /// Whether generation failed for this item.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// The record of an item whose generation failed.
    pub fn failure(key: &ItemKey, prompt_sha256: String, seed: u64, error: Failure) -> Self {
        ResponseRecord {
            scenario_id: key.scenario_id.clone(),
            context: key.context.clone(),
            sample: key.sample,
            response: String::new(),
            prompt_sha256,
            seed,
            prompt_tokens: 0,
            completion_tokens: 0,
            finish_reason: FinishReason::Error,
            prompt_ms: 0.0,
            generation_ms: 0.0,
            error: Some(error),
            turns: Vec::new(),
            child: None,
        }
    }
}
