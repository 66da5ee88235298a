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
//!   the figure is generated tokens (8 × 32) over the whole time, prompts included.
//!
//! Token ids are fixed (`token_ids` below, the same function as in `benches/vs_llamacpp.py`),
//! and steps are teacher-forced, so both engines do exactly the same work whatever they predict.

use popbench::backend::candle::{gguf, CandleBackend, DeviceKind};
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
        popbench::backend::Backend::info(&m)
            .dtype
            .clone()
            .unwrap_or_default(),
        t.elapsed().as_secs_f64()
    );
    // Warm-up: thread pools, scratch buffers.
    m.teacher_force(&token_ids(9, 8), &[0, 0]).expect("warm-up");
    if !benching {
        eprintln!("gen: test mode (no --bench): model loads and steps; run `cargo bench --bench gen` to measure");
        return;
    }
    for what in only.split(',') {
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
