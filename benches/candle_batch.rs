//! Batched decoding on a candle device, measured on the CPU device: aggregate generated tokens
//! per second of popbench's batched candle model (src/backend/candle/batched/), 8 requests
//! decoded as one batch against the same 8 decoded one at a time (issue 17's target: batch 8
//! at least 3x its own batch-1 aggregate).
//!
//! `POPBENCH_TEST_MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf cargo bench --bench candle_batch`
//!
//! Prints, for the batched model with its CPU default (popbench's engine kernels for the
//! matrices) and with candle's own quantized kernels (the path GPUs run), the engine string,
//! `batch1 TOK/S`, `batch8 TOK/S` and their ratio, measured in the same alternating rounds;
//! `POPBENCH_SPEED_RUNNER=batched` or `=candle-kernels` measures one of the two,
//! `=candle-transformers` candle-transformers instead, for comparison. Replies are greedy, up
//! to 32 tokens each (`POPBENCH_SPEED_TOKENS=N`: up to N); two alternating rounds, the best of
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
    // As `popbench run` does (a value already in the environment wins).
    set_cpu_threads(std::thread::available_parallelism().map_or(1, |n| n.get()));
    // The batched model twice: its CPU default (popbench's engine kernels for the matrices)
    // and candle's own kernels (what GPUs run). POPBENCH_SPEED_RUNNER=candle-transformers: the
    // same figures for candle-transformers (one sequence at a time) instead.
    let runners = match std::env::var("POPBENCH_SPEED_RUNNER").as_deref() {
        Ok("candle-transformers") => vec![Runner::Candle],
        Ok("batched") => vec![Runner::Batched],
        Ok("candle-kernels") => vec![Runner::BatchedCandleKernels],
        _ => vec![Runner::Batched, Runner::BatchedCandleKernels],
    };
    let mut models: Vec<_> = runners
        .iter()
        .map(|&r| {
            let mut m = gguf::load_with(&path, DeviceKind::Cpu, r).unwrap();
            if let Some(model) = batched::model_of(&mut m) {
                model.prefix_cache().set_enabled(false);
            }
            m
        })
        .collect();
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
    // Reply length: 32 by default (POPBENCH_SPEED_TOKENS to change it).
    let max_tokens = std::env::var("POPBENCH_SPEED_TOKENS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let params = GenerationParams {
        max_tokens,
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
    for m in &mut models {
        m.generate(&requests[0]).unwrap();
    }
    // Per model and batch size, every round: (seconds, prompt seconds, tokens, prompt tokens);
    // batch 1's prompt time is the sum over its requests, batch 8's the one shared prefill.
    let mut rounds: Vec<[Vec<Round>; 2]> = vec![Default::default(); models.len()];
    for _ in 0..2 {
        for (m, r) in models.iter_mut().zip(rounds.iter_mut()) {
            let t = Instant::now();
            let done: Vec<_> = requests.iter().map(|q| m.generate(q).unwrap()).collect();
            let sum = |v: &mut dyn Iterator<Item = f64>| v.sum();
            r[0].push(Round::of(t.elapsed().as_secs_f64(), &done, sum));
            let t = Instant::now();
            let done: Vec<_> = m
                .generate_batch(&requests)
                .into_iter()
                .map(|c| c.unwrap())
                .collect();
            let shared = |v: &mut dyn Iterator<Item = f64>| v.fold(0f64, f64::max);
            r[1].push(Round::of(t.elapsed().as_secs_f64(), &done, shared));
        }
    }
    for (m, [one, eight]) in models.iter().zip(rounds) {
        println!("{}", m.info().engine.as_deref().unwrap_or(""));
        let best = |rs: &[Round]| {
            let overall = rs.iter().map(Round::overall).fold(0f64, f64::max);
            let decoding = rs.iter().map(Round::decoding).fold(0f64, f64::max);
            let prompt = rs.iter().map(|r| r.prompt_s).fold(f64::INFINITY, f64::min);
            (overall, decoding, prompt, rs[0].tokens, rs[0].prompt_tokens)
        };
        let (o1, d1, p1, n1, pt1) = best(&one);
        let (o8, d8, p8, n8, pt8) = best(&eight);
        assert_eq!(n1, n8);
        for (name, o, d, p, n, pt) in [
            ("batch1", o1, d1, p1, n1, pt1),
            ("batch8", o8, d8, p8, n8, pt8),
        ] {
            println!(
                "  {name} {o:.1} tok/s overall, {d:.1} tok/s decoding ({n} tokens; {pt} prompt \
                 tokens in {:.0} ms)",
                p * 1e3
            );
        }
        println!("  ratio {:.2} overall, {:.2} decoding", o8 / o1, d8 / d1);
    }
}

/// One round of one batch size.
#[derive(Clone)]
struct Round {
    seconds: f64,
    prompt_s: f64,
    tokens: usize,
    prompt_tokens: usize,
}

impl Round {
    /// The round's figures from its completions; `prompt` combines their prompt times.
    fn of(
        seconds: f64,
        done: &[popbench::backend::Completion],
        prompt: impl Fn(&mut dyn Iterator<Item = f64>) -> f64,
    ) -> Round {
        Round {
            seconds,
            prompt_s: prompt(&mut done.iter().map(|c| c.prompt_ms / 1e3)),
            tokens: done.iter().map(|c| c.completion_tokens).sum(),
            prompt_tokens: done.iter().map(|c| c.prompt_tokens).sum(),
        }
    }

    /// Generated tokens over the whole time, prompts included.
    fn overall(&self) -> f64 {
        self.tokens as f64 / self.seconds
    }

    /// Generated tokens over the time after the prompts.
    fn decoding(&self) -> f64 {
        self.tokens as f64 / (self.seconds - self.prompt_s).max(1e-9)
    }
}
