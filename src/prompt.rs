//! Prompts: a scenario in a context becomes a list of chat messages.

use crate::context::Context;
use crate::scenario::{Role, Scenario};
pub use crate::types::ChatMessage;

/// The messages for a scenario in a context: the context's system prompt (when not empty)
/// with the country filled in, then the scenario's turns.
pub fn build_chat(scenario: &Scenario, context: &Context, country_name: &str) -> Vec<ChatMessage> {
    let mut out = Vec::with_capacity(scenario.turns.len() + 1);
    let system = context.render_system(&scenario.country, country_name, &scenario.language);
    if !system.trim().is_empty() {
        out.push(ChatMessage::new("system", system));
    }
    for t in &scenario.turns {
        let role = match t.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        out.push(ChatMessage::new(role, t.content.clone()));
    }
    out
}

/// A stable hash of a chat (for `responses.jsonl`'s prompt hash).
pub fn chat_hash(messages: &[ChatMessage]) -> String {
    crate::hash::sha256_hex(&serde_json::to_vec(messages).unwrap_or_default())
}
