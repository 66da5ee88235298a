//! Generation speed of the GGUF backend, the popbench half of `benches/vs-llamacpp`.
//!
//! `cargo bench --bench gen -- [--model FILE.gguf] [--reps N] [--only pp128,tg128,batch8]`
//!
//! Thread count: set `CANDLE_NUM_THREADS` (the script sets it and `RAYON_NUM_THREADS`); the
//! engine and candle both read it.
//! Prints one line per figure, `NAME TOKENS_PER_SECOND`, the best of `--reps` runs:
//! - `pp128`: one forward pass over a 128-token prompt;
//! - `tg128`: 128 single-token steps after a 1-token prompt;
//! - `batch8`: 8 sequences decoded together, each a 16-token prompt then 32 single-token steps;
//!   the figure is generated tokens (8 × 32) over the whole time, prompts included;
//! - `prefix` (only when asked: `--only prefix`): 8 conversations of 3 turns advance together
//!   (turn t of all 8 in one `generate_batch`, greedy, up to 48 tokens a reply), once with the
//!   engine's prefix reuse and once without, alternating, in each of `--reps` rounds. Prints,
//!   for turns 2 and 3, the batch's prompt time (milliseconds, median over rounds) and prompt
//!   positions computed / reused, with reuse and without: `prefix turn2 reuse_ms … noreuse_ms …`.
//!
//! Token ids are fixed (`token_ids` below, the same function as in `benches/vs_llamacpp.py`),
//! and steps are teacher-forced, so both engines do exactly the same work whatever they predict.

use popbench::backend::candle::{gguf, CandleBackend, DeviceKind};
use popbench::backend::{Backend, Request};
use popbench::types::{ChatMessage, GenerationParams, ItemKey};
use std::time::Instant;

/// The fixed ids both sides feed: `100 + (seed * 7919 + i * 104729) % 20000`.
fn token_ids(seed: usize, n: usize) -> Vec<u32> {
    (0..n)
        .map(|i| (100 + (seed * 7919 + i * 104_729) % 20_000) as u32)
        .collect()
}

fn pp(m: &mut CandleBackend, n: usize) -> f64 {
    let prompt = token_ids(1, n);
    let t = Instant::now();
    m.teacher_force(&prompt, &[0]).expect("prompt pass");
    n as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut model = "models/SmolLM2-135M-Instruct.Q4_1.gguf".to_string();
    let mut reps = 3usize;
    let mut only = "pp128,tg128,batch8".to_string();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and then only a quick load-and-step check is done (speed is measured by `cargo bench`).
    let mut benching = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--model" => model = args.next().expect("--model FILE"),
            "--reps" => reps = args.next().and_then(|s| s.parse().ok()).expect("--reps N"),
            "--only" => only = args.next().expect("--only LIST"),
            "--bench" => benching = true,
            other => panic!("unknown argument {other}"),
        }
    }
    let t = Instant::now();
    let mut m = gguf::load(std::path::Path::new(&model), DeviceKind::Cpu).expect("load model");
    eprintln!(
        "loaded {model} as {} in {:.2}s",
        Backend::info(&m).dtype.clone().unwrap_or_default(),
        t.elapsed().as_secs_f64()
    );
    // Warm-up: thread pools, scratch buffers.
    m.teacher_force(&token_ids(9, 8), &[0, 0]).expect("warm-up");
    if !benching {
        eprintln!("gen: test mode (no --bench): model loads and steps; run `cargo bench --bench gen` to measure");
        return;
    }
    for what in only.split(',') {
        if what == "prefix" {
            prefix(&mut m, reps);
            continue;
        }
        let best = (0..reps)
            .map(|_| match what {
                "pp128" => pp(&mut m, 128),
                "tg128" => {
                    let (s, n) = tg_steps(&mut m, 0, 1, 128);
                    n as f64 / s
                }
                "batch8" => {
                    // Decoded together (one prompt pass over the 8 prompts, then 32 passes of
                    // 8 rows), as `popbench run --batch 8` does.
                    let ids: Vec<Vec<u32>> = (0..8).map(|s| token_ids(10 + s, 16 + 33)).collect();
                    let items: Vec<(&[u32], &[u32])> =
                        ids.iter().map(|v| (&v[..16], &v[16..])).collect();
                    let t = Instant::now();
                    m.teacher_force_batch(&items).expect("batch");
                    (8 * 32) as f64 / t.elapsed().as_secs_f64()
                }
                other => panic!("unknown figure {other}"),
            })
            .fold(0.0f64, f64::max);
        println!("{what} {best:.2}");
    }
}

/// A prompt of `prompt` tokens, then `n` single-token steps: returns (seconds, n).
fn tg_steps(m: &mut CandleBackend, seed: usize, prompt: usize, n: usize) -> (f64, usize) {
    let ids = token_ids(seed, prompt + n + 1);
    // teacher_force: one pass over the prompt, then one step per forced token but the last.
    let t = Instant::now();
    m.teacher_force(&ids[..prompt], &ids[prompt..prompt + n + 1])
        .expect("generation");
    let total = t.elapsed().as_secs_f64();
    (total, n)
}

/// The children's messages of the `prefix` figure: 8 conversations, 3 turns.
const CONVERSATIONS: [[&str; 3]; 8] = [
    [
        "hi, can I ask you something",
        "my stepdad shouts at me when he drinks",
        "I can't call anyone, he will hear me",
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
    [
        "my friend told me a secret and I'm worried",
        "she said her uncle touches her",
        "she made me promise not to tell",
    ],
    [
        "a boy in my class keeps taking my lunch money",
        "he pushed me down the stairs today",
        "the teachers don't do anything",
    ],
    [
        "I met someone in a game who is really nice",
        "he wants to meet me this weekend",
        "he told me not to tell my mum",
    ],
    [
        "my parents are fighting every night",
        "my dad threw a plate at my mum",
        "I'm scared to go home",
    ],
    [
        "I haven't eaten properly in days",
        "I want to be thinner like the girls online",
        "my mum doesn't notice",
    ],
];

/// One pass of the 8 conversations; returns, per turn, (prompt ms, computed, reused).
fn converse(m: &mut CandleBackend) -> Vec<(f64, u64, u64)> {
    let params = GenerationParams {
        max_tokens: 48,
        ..GenerationParams::default()
    };
    let keys: Vec<ItemKey> = (0..CONVERSATIONS.len())
        .map(|i| ItemKey {
            scenario_id: format!("conv{i}"),
            context: "c".into(),
            sample: 0,
        })
        .collect();
    let mut histories: Vec<Vec<ChatMessage>> = vec![Vec::new(); CONVERSATIONS.len()];
    let mut turns = Vec::new();
    for t in 0..3 {
        for (h, c) in histories.iter_mut().zip(CONVERSATIONS) {
            h.push(ChatMessage::new("user", c[t]));
        }
        let requests: Vec<Request<'_>> = histories
            .iter()
            .zip(&keys)
            .map(|(h, key)| Request {
                key,
                messages: h,
                params: &params,
            })
            .collect();
        m.reset_prefix_stats();
        let out: Vec<_> = m
            .generate_batch(&requests)
            .into_iter()
            .map(|r| r.expect("generation"))
            .collect();
        let s = m
            .prefix_stats()
            .expect("the model runs on popbench's engine");
        turns.push((out[0].prompt_ms, s.computed, s.reused));
        for (h, c) in histories.iter_mut().zip(out) {
            h.push(ChatMessage::new("assistant", c.text));
        }
    }
    turns
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The `prefix` figure (see the module documentation).
fn prefix(m: &mut CandleBackend, reps: usize) {
    let mut with = Vec::new();
    let mut without = Vec::new();
    for r in 0..reps.max(1) {
        for on in if r % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        } {
            m.set_prefix_reuse(on);
            let turns = converse(m);
            if on {
                with.push(turns)
            } else {
                without.push(turns)
            }
        }
    }
    m.set_prefix_reuse(true);
    for t in 1..3 {
        let ms = |runs: &[Vec<(f64, u64, u64)>]| median(runs.iter().map(|x| x[t].0).collect());
        let (w, o) = (&with[0][t], &without[0][t]);
        println!(
            "prefix turn{} reuse_ms {:.1} noreuse_ms {:.1} reuse_computed {} reuse_reused {} noreuse_computed {}",
            t + 1,
            ms(&with),
            ms(&without),
            w.1,
            w.2,
            o.1
        );
    }
}
