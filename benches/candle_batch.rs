//! Batched decoding on a candle device, measured on the CPU device: aggregate generated tokens
//! per second of popbench's batched candle model (src/backend/candle/batched/), 8 requests
//! decoded as one batch against the same 8 decoded one at a time (issue 17's target: batch 8
//! at least 3x its own batch-1 aggregate).
//!
//! `POPBENCH_TEST_MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf cargo bench --bench candle_batch`
//!
//! Prints the engine string, `batch1 TOK/S`, `batch8 TOK/S` and their ratio;
//! `POPBENCH_SPEED_RUNNER=candle-transformers` measures candle-transformers instead, for
//! comparison. Replies are greedy, up to 32 tokens each; two alternating rounds, the best of
//! each; the figure counts the tokens really generated over the whole time, prompts included.
//! CPU threads are set as `popbench run` sets them (all available CPUs, or
//! `CANDLE_NUM_THREADS`), and the prefix cache is off: the same eight prompts run in every
//! round, and copying them from the cache would measure the cache, not batching.
//! Under `cargo test --all-targets` (no `--bench` argument) it does nothing: speed is measured
//! here, never in tests.

use popbench::backend::candle::{batched, gguf, set_cpu_threads, DeviceKind, Runner};
use popbench::backend::{Backend, Request};
use popbench::types::{ChatMessage, GenerationParams, ItemKey};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let path = std::env::var_os("POPBENCH_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    if !path.is_file() {
        eprintln!("{}: no model (run scripts/fetch-model)", path.display());
        std::process::exit(1);
    }
    // POPBENCH_SPEED_RUNNER=candle-transformers: the same figures for candle-transformers
    // (one sequence at a time), for comparison on the same machine state.
    let runner = match std::env::var("POPBENCH_SPEED_RUNNER").as_deref() {
        Ok("candle-transformers") => Runner::Candle,
        _ => Runner::Batched,
    };
    // As `popbench run` does (a value already in the environment wins).
    set_cpu_threads(std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut m = gguf::load_with(&path, DeviceKind::Cpu, runner).unwrap();
    if let Some(model) = batched::model_of(&mut m) {
        model.prefix_cache().set_enabled(false);
    }
    let topics = [
        "a cat",
        "the sea",
        "a robot",
        "winter",
        "a library",
        "a dragon",
        "the moon",
        "a garden",
    ];
    let chats: Vec<Vec<ChatMessage>> = topics
        .iter()
        .map(|t| {
            vec![ChatMessage {
                role: "user".into(),
                content: format!("Write a long story about {t}."),
            }]
        })
        .collect();
    let keys: Vec<ItemKey> = (0..chats.len())
        .map(|i| ItemKey {
            scenario_id: format!("s{i}"),
            context: "c".into(),
            sample: 0,
        })
        .collect();
    let params = GenerationParams {
        max_tokens: 32,
        ..GenerationParams::default()
    };
    let requests: Vec<Request<'_>> = (0..chats.len())
        .map(|i| Request {
            key: &keys[i],
            messages: &chats[i],
            params: &params,
        })
        .collect();
    // Warm-up, then alternating rounds (the machine's load moves under a long run); the
    // best round of each counts.
    m.generate(&requests[0]).unwrap();
    let (mut rate1, mut rate8) = (0f64, 0f64);
    let (mut one, mut eight) = (0, 0);
    for _ in 0..2 {
        let t = Instant::now();
        one = 0;
        for r in &requests {
            one += m.generate(r).unwrap().completion_tokens;
        }
        rate1 = rate1.max(one as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        eight = m
            .generate_batch(&requests)
            .into_iter()
            .map(|c| c.unwrap().completion_tokens)
            .sum();
        rate8 = rate8.max(eight as f64 / t.elapsed().as_secs_f64());
    }
    assert_eq!(one, eight);
    println!("{}", m.info().engine.as_deref().unwrap_or(""));
    println!("batch1 {rate1:.1} tok/s ({one} tokens)");
    println!("batch8 {rate8:.1} tok/s ({eight} tokens)");
    println!("ratio {:.2}", rate8 / rate1);
}
