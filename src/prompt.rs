//! Prompts: a scenario in a context becomes a list of chat messages.
//!
//! Two shapes: [`build_chat`] sends the scenario as written (a multi-turn scenario's scripted
//! assistant turns included: the model answers the child's last turn), and
//! [`build_live_chat`] builds a live conversation at one child turn: the child's turns up to
//! there, each earlier one followed by the model's own answer to it (the scenario's scripted
//! assistant turns are never sent).

use crate::context::Context;
use crate::scenario::{Role, Scenario};
use crate::types::ChatMessage;

/// The messages for a scenario in a context: the context's system prompt with the country
/// filled in (none at all for the built-in context `none`), then the scenario's turns.
pub fn build_chat(scenario: &Scenario, context: &Context, country_name: &str) -> Vec<ChatMessage> {
    let mut out = Vec::with_capacity(scenario.turns.len() + 1);
    if let Some(system) = system_message(scenario, context, country_name) {
        out.push(system);
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

fn system_message(
    scenario: &Scenario,
    context: &Context,
    country_name: &str,
) -> Option<ChatMessage> {
    context.sends_system().then(|| {
        ChatMessage::new(
            "system",
            context.render_system(&scenario.country, country_name, &scenario.language),
        )
    })
}

/// One earlier child turn of a live conversation and the model's answer to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exchange<'a> {
    /// The child's words when an adaptive child (`--child`) wrote them; `None`: the scenario's.
    pub child: Option<&'a str>,
    /// The model's own answer to that turn.
    pub answer: &'a str,
}

/// The messages of a live conversation at the child turn `turns[turn]`: the system prompt, then
/// every child turn of the scenario up to and including `turn`, each earlier one followed by
/// the model's answer to it from `earlier` (in order). `child_now` replaces the scenario's
/// words at `turn` (an adaptive child). The scenario's scripted assistant turns are not sent.
///
/// `earlier` holds one exchange per child turn before `turn`; child turns without one (a
/// shorter `earlier`) are left out together with everything after them, so the last message
/// is always a child turn. `turn` past the end, or not a child turn, means the last child turn
/// at or before it.
pub fn build_live_chat(
    scenario: &Scenario,
    context: &Context,
    country_name: &str,
    turn: usize,
    earlier: &[Exchange<'_>],
    child_now: Option<&str>,
) -> Vec<ChatMessage> {
    let child_turns: Vec<usize> = scenario
        .turns
        .iter()
        .enumerate()
        .filter(|(i, t)| t.role == Role::User && *i <= turn)
        .map(|(i, _)| i)
        .collect();
    let mut out = Vec::with_capacity(2 * child_turns.len() + 1);
    if let Some(system) = system_message(scenario, context, country_name) {
        out.push(system);
    }
    let Some((&now, before)) = child_turns.split_last() else {
        return out;
    };
    for (&i, ex) in before.iter().zip(earlier) {
        let said = ex.child.unwrap_or(&scenario.turns[i].content);
        out.push(ChatMessage::new("user", said));
        out.push(ChatMessage::new("assistant", ex.answer));
    }
    if earlier.len() >= before.len() {
        let said = child_now.unwrap_or(&scenario.turns[now].content);
        out.push(ChatMessage::new("user", said));
    } else {
        // Fewer answers than earlier child turns: end at the first unanswered child turn.
        let next = before[earlier.len()];
        out.push(ChatMessage::new(
            "user",
            scenario.turns[next].content.clone(),
        ));
    }
    out
}

/// A stable hash of a chat (for `responses.jsonl`'s prompt hash).
pub fn chat_hash(messages: &[ChatMessage]) -> String {
    crate::hash::sha256_hex(&serde_json::to_vec(messages).unwrap_or_default())
}
