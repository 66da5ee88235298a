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

use crate::backend::{FinishReason, ItemKey};
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
    /// When generation failed for this item: the error (the response is then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
}
