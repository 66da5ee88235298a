//! Conversations: how one run item of a scenario is played against a backend, turn by turn.
//!
//! A run item is a conversation. In **live** mode (the default of `popbench run`) the child's
//! turns are the scenario's and every assistant turn is written by the model under test, with
//! its own earlier answers in the history: the model answers child turn 1, then child turn 2
//! after its own answer to turn 1, and so on ([`crate::prompt::build_live_chat`]); the
//! scenario's scripted assistant turns are never sent. In **scripted** mode the scenario is sent
//! as written, scripted assistant turns included, and the model answers the child's last turn
//! only ([`crate::prompt::build_chat`]). A single-turn scenario is the same conversation in both
//! modes: one child turn, one answer, the same messages and the same seed.
//!
//! [`drive`] advances a chunk of conversations together: step `s` sends the `s`-th answered
//! child turn of every conversation in the chunk that has one to
//! [`Backend::generate_batch`] in one call (turn `t` of eight conversations in one pass), so a
//! batching backend decodes them together. A single-turn conversation (and every scripted one)
//! ends at step 0. A conversation ends when its last child turn is answered, or at the first
//! turn whose generation fails (the whole conversation then counts as failed, with that turn's
//! error); [`drive`] hands each ended conversation to its caller at once, so the runner journals
//! it while the others go on.
//!
//! Seeds: the answer to a scenario's last child turn uses the item seed (so single-turn and
//! scripted items keep the seeds they always had); the answer to an earlier child turn of a
//! live conversation uses [`turn_seed`], derived from the item seed and the turn's index
//! ([`TURN_SEED_DERIVATION`]). A conversation's answers therefore depend neither on the batch
//! it ran in nor on whether it was restarted after an interruption.

pub mod child;

use crate::backend::{Backend, BackendError, Completion, Request};
use crate::context::Context;
use crate::prompt::{build_chat, build_live_chat, chat_hash, Exchange};
use crate::scenario::{Role, Scenario};
use crate::types::{ChatMessage, ConversationMode, GenerationParams, ItemKey};
use child::{child_seed, AdaptiveChild, ChildRequest};
use sha2::{Digest, Sha256};

/// How the seed of an answer to an earlier child turn of a live conversation is derived
/// (recorded in the manifest with the item seed's derivation).
pub const TURN_SEED_DERIVATION: &str = "the answer to the scenario's last child turn uses item_seed; in live mode the answer to an earlier child turn t (its index in the scenario's turns) uses turn_seed = u64 little-endian of the first 8 bytes of sha256(\"{item_seed}\\0turn\\0{t}\")";

/// The child turns (indices in `scenario.turns`) the model answers in a conversation: in live
/// mode every child turn, in scripted mode the last one only.
pub fn answered_turns(scenario: &Scenario, mode: ConversationMode) -> Vec<usize> {
    let child = scenario.child_turns();
    match mode {
        ConversationMode::Live => child,
        ConversationMode::Scripted => child.last().copied().into_iter().collect(),
    }
}

/// The seed of the answer to child turn `turn` of a scenario, from the item seed: the item
/// seed itself for the scenario's last child turn, else derived as [`TURN_SEED_DERIVATION`]
/// says.
pub fn turn_seed(item_seed: u64, scenario: &Scenario, turn: usize) -> u64 {
    let last = scenario.turns.iter().rposition(|t| t.role == Role::User);
    if last.is_none_or(|l| turn >= l) {
        return item_seed;
    }
    let mut h = Sha256::new();
    h.update(format!("{item_seed}\0turn\0{turn}").as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_le_bytes(b)
}

/// One answered child turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    /// The index in the scenario's `turns` of the child turn answered.
    pub turn: usize,
    /// The child's words at that turn when an adaptive child wrote them (`None`: the
    /// scenario's).
    pub child: Option<String>,
    /// The model's answer.
    pub completion: Completion,
    /// The seed it was generated with.
    pub seed: u64,
    /// sha256 of the messages sent for it ([`chat_hash`]).
    pub prompt_sha256: String,
}

/// The turn at which a conversation failed, and why.
#[derive(Debug)]
pub struct TurnFailure {
    /// The index in the scenario's `turns` of the child turn whose answer failed.
    pub turn: usize,
    /// sha256 of the messages sent for it.
    pub prompt_sha256: String,
    /// The error.
    pub error: BackendError,
}

/// An ended conversation: every answered turn in order, or the turn that failed.
#[derive(Debug)]
pub struct Ended {
    /// The run item.
    pub key: ItemKey,
    /// The item seed (the seed of the last child turn's answer).
    pub item_seed: u64,
    /// The answers, in the order of the child turns (all of them when the conversation
    /// completed; those before the failed turn otherwise).
    pub answers: Vec<Answered>,
    /// The turn that failed, when one did (the conversation then counts as failed).
    pub failure: Option<TurnFailure>,
}

/// A conversation in progress: one run item.
#[derive(Debug, Clone)]
pub struct Conversation<'a> {
    key: ItemKey,
    scenario: &'a Scenario,
    context: &'a Context,
    country_name: String,
    mode: ConversationMode,
    params: GenerationParams,
    turns: Vec<usize>,
}

impl<'a> Conversation<'a> {
    /// The conversation of a run item: `params` are the run's generation parameters with the
    /// item seed as `seed`.
    pub fn new(
        key: ItemKey,
        scenario: &'a Scenario,
        context: &'a Context,
        country_name: String,
        mode: ConversationMode,
        params: GenerationParams,
    ) -> Conversation<'a> {
        let turns = answered_turns(scenario, mode);
        Conversation {
            key,
            scenario,
            context,
            country_name,
            mode,
            params,
            turns,
        }
    }

    /// The run item.
    pub fn key(&self) -> &ItemKey {
        &self.key
    }

    /// The scenario.
    pub fn scenario(&self) -> &'a Scenario {
        self.scenario
    }

    /// The child turns the model answers, in order (indices in the scenario's `turns`).
    pub fn turns(&self) -> &[usize] {
        &self.turns
    }

    /// The messages sent for the answer to the `step`-th answered child turn, given the
    /// answers so far (`answers[i]` answers `turns()[i]`) and the child's words at this turn
    /// when an adaptive child wrote them.
    pub fn messages(
        &self,
        step: usize,
        answers: &[Answered],
        child_now: Option<&str>,
    ) -> Vec<ChatMessage> {
        match self.mode {
            ConversationMode::Scripted => {
                build_chat(self.scenario, self.context, &self.country_name)
            }
            ConversationMode::Live => {
                let turn = self.turns.get(step).copied().unwrap_or(usize::MAX);
                let earlier: Vec<Exchange<'_>> = answers
                    .iter()
                    .take(step)
                    .map(|a| Exchange {
                        child: a.child.as_deref(),
                        answer: &a.completion.text,
                    })
                    .collect();
                build_live_chat(
                    self.scenario,
                    self.context,
                    &self.country_name,
                    turn,
                    &earlier,
                    child_now,
                )
            }
        }
    }

    /// The generation parameters of the answer to the `step`-th answered child turn (the seed
    /// is [`turn_seed`]).
    pub fn params(&self, step: usize) -> GenerationParams {
        let turn = self.turns.get(step).copied().unwrap_or(usize::MAX);
        GenerationParams {
            seed: turn_seed(self.params.seed, self.scenario, turn),
            ..self.params.clone()
        }
    }
}

/// How a [`drive`] call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drive {
    /// Every conversation ended (answered or failed) and was handed over.
    Ended,
    /// The backend can serve nothing more ([`Backend::gone`]); the conversations not handed
    /// over are left for a resume (they restart).
    BackendGone(String),
}

/// Plays a chunk of conversations against a backend, advancing them together (see the module
/// documentation), and hands each one to `ended` as soon as it ends, in the chunk's order within
/// a step. With `child`, the child's turns after the first come from the adaptive child (live
/// conversations only; scripted conversations have one step and never ask it). An error from
/// `ended` stops the drive and is returned.
pub fn drive<E>(
    backend: &mut dyn Backend,
    mut child: Option<&mut AdaptiveChild>,
    conversations: &[Conversation<'_>],
    ended: &mut dyn FnMut(Ended) -> Result<(), E>,
) -> Result<Drive, E> {
    struct State {
        answers: Vec<Answered>,
        open: bool,
    }
    let mut state: Vec<State> = conversations
        .iter()
        .map(|_| State {
            answers: Vec::new(),
            open: true,
        })
        .collect();
    let steps = conversations
        .iter()
        .map(|c| c.turns.len())
        .max()
        .unwrap_or(0);
    for step in 0..steps {
        let active: Vec<usize> = (0..conversations.len())
            .filter(|&i| state[i].open && step < conversations[i].turns.len())
            .collect();
        if active.is_empty() {
            break;
        }
        // The adaptive child writes this turn's words (child turns after the first).
        let mut voiced: Vec<Option<String>> = vec![None; conversations.len()];
        let mut failed_voice: Vec<Option<BackendError>> =
            (0..conversations.len()).map(|_| None).collect();
        if let Some(voice) = child.as_deref_mut() {
            if step > 0 {
                let asks: Vec<usize> = active
                    .iter()
                    .copied()
                    .filter(|&i| conversations[i].mode == ConversationMode::Live)
                    .collect();
                let histories: Vec<Vec<ChatMessage>> = asks
                    .iter()
                    .map(|&i| {
                        let c = &conversations[i];
                        let mut history = c.messages(step, &state[i].answers, None);
                        history.pop(); // the scripted child turn being re-voiced
                        history
                    })
                    .collect();
                let requests: Vec<ChildRequest<'_>> = asks
                    .iter()
                    .zip(&histories)
                    .map(|(&i, history)| {
                        let c = &conversations[i];
                        let turn = c.turns[step];
                        ChildRequest {
                            key: &c.key,
                            scenario: c.scenario,
                            country_name: &c.country_name,
                            turn,
                            history,
                            seed: child_seed(c.params.seed, turn),
                        }
                    })
                    .collect();
                let mut results = voice.next_turns(&requests).into_iter();
                for &i in &asks {
                    match results.next() {
                        Some(Ok(words)) => voiced[i] = Some(words),
                        Some(Err(e)) => failed_voice[i] = Some(e),
                        None => {
                            failed_voice[i] = Some(BackendError::Generate(
                                "the adaptive child gave fewer answers than asked".into(),
                            ))
                        }
                    }
                }
            }
        }
        let mut sent: Vec<(usize, Vec<ChatMessage>, GenerationParams)> = Vec::new();
        for &i in &active {
            let c = &conversations[i];
            let messages = c.messages(step, &state[i].answers, voiced[i].as_deref());
            if let Some(error) = failed_voice[i].take() {
                state[i].open = false;
                ended(Ended {
                    key: c.key.clone(),
                    item_seed: c.params.seed,
                    answers: std::mem::take(&mut state[i].answers),
                    failure: Some(TurnFailure {
                        turn: c.turns[step],
                        prompt_sha256: chat_hash(&messages),
                        error,
                    }),
                })?;
                continue;
            }
            sent.push((i, messages, c.params(step)));
        }
        let requests: Vec<Request<'_>> = sent
            .iter()
            .map(|(i, m, p)| Request {
                key: &conversations[*i].key,
                messages: m,
                params: p,
            })
            .collect();
        let mut results = if requests.is_empty() {
            Vec::new()
        } else {
            backend.generate_batch(&requests)
        }
        .into_iter();
        for (i, messages, params) in &sent {
            let c = &conversations[*i];
            let turn = c.turns[step];
            let result = results.next().unwrap_or_else(|| {
                Err(BackendError::Generate(
                    "the backend gave fewer completions than requests".into(),
                ))
            });
            let st = &mut state[*i];
            match result {
                Ok(completion) => {
                    st.answers.push(Answered {
                        turn,
                        child: voiced[*i].take(),
                        completion,
                        seed: params.seed,
                        prompt_sha256: chat_hash(messages),
                    });
                    if step + 1 == c.turns.len() {
                        st.open = false;
                        ended(Ended {
                            key: c.key.clone(),
                            item_seed: c.params.seed,
                            answers: std::mem::take(&mut st.answers),
                            failure: None,
                        })?;
                    }
                }
                Err(error) => {
                    st.open = false;
                    ended(Ended {
                        key: c.key.clone(),
                        item_seed: c.params.seed,
                        answers: std::mem::take(&mut st.answers),
                        failure: Some(TurnFailure {
                            turn,
                            prompt_sha256: chat_hash(messages),
                            error,
                        }),
                    })?;
                }
            }
        }
        if let Some(why) = backend.gone() {
            if state.iter().any(|s| s.open) {
                return Ok(Drive::BackendGone(why));
            }
        }
    }
    Ok(Drive::Ended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;
    use crate::scenario::{Suite, SuiteSpec};

    fn multiturn() -> Suite {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut diags = Diagnostics::default();
        Suite::load(&SuiteSpec::parse("multiturn"), root, &mut diags)
    }

    #[test]
    fn the_last_turn_keeps_the_item_seed_and_earlier_turns_get_their_own() {
        let suite = multiturn();
        let sc = suite
            .scenarios
            .iter()
            .find(|s| answered_turns(s, ConversationMode::Live).len() >= 3)
            .expect("a conversation of three child turns");
        let live = answered_turns(sc, ConversationMode::Live);
        let scripted = answered_turns(sc, ConversationMode::Scripted);
        assert_eq!(scripted, vec![*live.last().unwrap()]);
        assert!(live.iter().all(|&i| sc.turns[i].role == Role::User));
        let seeds: Vec<u64> = live.iter().map(|&t| turn_seed(42, sc, t)).collect();
        assert_eq!(*seeds.last().unwrap(), 42);
        let mut distinct = seeds.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), seeds.len(), "{seeds:?}");
        assert_eq!(turn_seed(42, sc, live[0]), seeds[0], "reproducible");
        assert_ne!(turn_seed(43, sc, live[0]), seeds[0]);
    }
}
