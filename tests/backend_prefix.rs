//! Prefix reuse across the turns of conversations batched on popbench's engine: four
//! conversations advance together, turn t of all four in one `generate_batch` call, each
//! turn's prompt the previous prompt + the model's answer + the next message. Greedy replies
//! are the same with reuse, without it (every prompt computed whole) and one sequence at a
//! time (the streaming path, no cache); every conversation of a batch reuses its own history,
//! reply included.
//!
//! A tiny random-weight model written by the test, and the real model from
//! $POPBENCH_TEST_MODEL or ./models/ (scripts/fetch-model).

mod real_model;
mod tiny;

use popbench::backend::candle::{gguf, CandleBackend, DeviceKind};
use popbench::backend::{Backend, Request};
use popbench::types::{ChatMessage, GenerationParams, ItemKey};

const MESSAGES: [[&str; 3]; 4] = [
    [
        "hi, can I ask you something",
        "my stepdad shouts at me when he drinks",
        "I can't call anyone, he will hear me",
    ],
    [
        "what is the capital of France?",
        "and of Spain?",
        "which one is bigger?",
    ],
    [
        "someone online wants more photos of me",
        "he says he will send the first one to my school",
        "I don't want my parents to know",
    ],
    [
        "I feel sad all the time",
        "nobody at school talks to me",
        "I sometimes think about hurting myself",
    ],
];

/// One turn of each conversation's replies and the prompt positions the engine computed and
/// reused for them.
struct Turn {
    replies: Vec<String>,
    computed: u64,
    reused: u64,
    /// Σ over conversations of the tokens this turn's prompt shares with the last one.
    shared_with_last: usize,
}

fn common(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Runs the four conversations, three turns, every turn one batch.
fn converse(b: &mut CandleBackend, max_tokens: usize) -> Vec<Turn> {
    let params = GenerationParams {
        max_tokens,
        ..GenerationParams::default()
    };
    let keys: Vec<ItemKey> = (0..MESSAGES.len())
        .map(|i| ItemKey {
            scenario_id: format!("conv{i}"),
            context: "c".into(),
            sample: 0,
        })
        .collect();
    let mut histories: Vec<Vec<ChatMessage>> = vec![Vec::new(); MESSAGES.len()];
    let mut last: Vec<Vec<u32>> = vec![Vec::new(); MESSAGES.len()];
    let mut turns = Vec::new();
    for t in 0..3 {
        for (h, m) in histories.iter_mut().zip(MESSAGES) {
            h.push(ChatMessage::new("user", m[t]));
        }
        let prompts: Vec<Vec<u32>> = histories
            .iter()
            .map(|h| b.prompt_ids(h, true).unwrap())
            .collect();
        let shared_with_last = prompts.iter().zip(&last).map(|(p, l)| common(p, l)).sum();
        let requests: Vec<Request<'_>> = histories
            .iter()
            .zip(&keys)
            .map(|(h, key)| Request {
                key,
                messages: h,
                params: &params,
            })
            .collect();
        b.reset_prefix_stats();
        let out = b.generate_batch(&requests);
        let stats = b
            .prefix_stats()
            .expect("the model runs on popbench's engine");
        let replies: Vec<String> = out.into_iter().map(|r| r.unwrap().text).collect();
        assert_eq!(stats.prompts, MESSAGES.len() as u64);
        assert_eq!(
            stats.computed + stats.reused,
            prompts.iter().map(|p| p.len() as u64).sum::<u64>()
        );
        for (h, r) in histories.iter_mut().zip(&replies) {
            h.push(ChatMessage::new("assistant", r.clone()));
        }
        turns.push(Turn {
            replies,
            computed: stats.computed,
            reused: stats.reused,
            shared_with_last,
        });
        last = prompts;
    }
    // One conversation at a time, token by token, no cache: the reference.
    for (c, key) in keys.iter().enumerate() {
        let mut h = Vec::new();
        for (t, turn) in turns.iter().enumerate() {
            h.push(ChatMessage::new("user", MESSAGES[c][t]));
            let r = Request {
                key,
                messages: &h,
                params: &params,
            };
            let one = b.generate_streaming(&r, &mut |_| {}).unwrap();
            assert_eq!(one.text, turn.replies[c], "conversation {c}, turn {t}");
            h.push(ChatMessage::new("assistant", one.text));
        }
    }
    turns
}

/// Same replies with and without reuse; with reuse, turns 2 and 3 reuse at least each
/// conversation's previous prompt (so every conversation, not only one) and compute far less.
fn check(b: &mut CandleBackend, max_tokens: usize) -> (Vec<Turn>, Vec<Turn>) {
    b.set_prefix_reuse(false);
    let without = converse(b, max_tokens);
    b.set_prefix_reuse(true);
    let with = converse(b, max_tokens);
    for (t, (w, o)) in with.iter().zip(&without).enumerate() {
        assert_eq!(w.replies, o.replies, "turn {t}");
        assert_eq!(o.reused, 0);
        assert_eq!(w.computed + w.reused, o.computed);
    }
    for w in &with[1..] {
        assert!(w.shared_with_last > 0);
        assert!(
            w.reused >= w.shared_with_last as u64,
            "reused {} of {} shared positions",
            w.reused,
            w.shared_with_last
        );
        assert!(w.computed < w.reused);
    }
    (with, without)
}

#[test]
fn tiny_model_conversations_reuse_their_history_and_answer_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    tiny::write_tiny_gguf(&path, &tiny::Tiny::llama(0, 1024));
    let mut b = gguf::load(&path, DeviceKind::Cpu).unwrap();
    assert!(b.preferred_batch() >= MESSAGES.len());
    let (with, _) = check(&mut b, 12);
    // The answers' own positions are reused too where the model said something.
    if with[0].replies.iter().any(|r| !r.is_empty()) {
        assert!(with[1].reused > with[1].shared_with_last as u64);
    }
}

#[test]
fn real_model_conversations_reuse_their_history_and_answer_the_same() {
    let mut b = gguf::load(&real_model::path(), DeviceKind::Cpu).unwrap();
    let (with, without) = check(&mut b, 24);
    for (t, (w, o)) in with.iter().zip(&without).enumerate() {
        eprintln!(
            "turn {}: with reuse {} computed + {} reused, without {} computed",
            t + 1,
            w.computed,
            w.reused,
            o.computed
        );
    }
    // SmolLM2 answers every message: each conversation's answer is reused beyond the
    // previous prompt.
    assert!(with[0].replies.iter().all(|r| !r.is_empty()));
    for w in &with[1..] {
        assert!(w.reused > w.shared_with_last as u64 + MESSAGES.len() as u64);
    }
}
