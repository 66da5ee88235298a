//! The engine alone, on random weights shaped like SmolLM2-135M (Q4_1 layers, a tied Q8_0
//! embedding): tokens per second of a 128-token prompt, 64 single-token steps, and 8
//! sequences decoded together, at every instruction-set level this CPU runs. For kernel work
//! without building popbench; `benches/vs-llamacpp` measures the real model end to end.
//!
//! `cargo run --release -p popbench-engine --example speed -- [THREADS] [REPS] [LEVELS]`
//! (LEVELS: comma-separated `generic,avx2,avx512`; default all but generic). `POPBENCH_SPLIT`
//! picks how batches share the threads.

use popbench_engine::kernels::Isa;
use popbench_engine::quant::{quantize_q8_0, QType, QK};
use popbench_engine::{Config, Engine, Layer, QMatrix, Rope, Step, Weights};
use std::time::Instant;

fn rng(seed: u64) -> impl FnMut() -> f32 {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn q4_1(rows: usize, cols: usize, seed: u64) -> QMatrix {
    let mut r = rng(seed);
    let mut out = Vec::with_capacity(rows * cols / QK * 20);
    for _ in 0..rows * cols / QK {
        out.extend_from_slice(&popbench_engine::f16::from_f32(r() * 0.01).to_le_bytes());
        out.extend_from_slice(&popbench_engine::f16::from_f32(r() * 0.05).to_le_bytes());
        out.extend((0..16).map(|_| ((r() + 1.0) * 127.9) as u8));
    }
    QMatrix::from_blocks(QType::Q4_1, rows, cols, out).expect("shape")
}

fn weights() -> Weights {
    let (e, ff, vocab) = (576, 1536, 49152);
    let config = Config {
        layers: 30,
        embd: e,
        heads: 9,
        kv_heads: 3,
        head_dim: 64,
        rope_dims: 64,
        ff,
        vocab,
        rope_base: 100000.0,
        rms_eps: 1e-5,
        rope: Rope::Interleaved,
        context_length: 2048,
    };
    let layers = (0..30u64)
        .map(|l| Layer {
            attn_norm: vec![1.0; e],
            wq: q4_1(e, e, 10 * l + 1),
            wk: q4_1(192, e, 10 * l + 2),
            wv: q4_1(192, e, 10 * l + 3),
            bias: None,
            qk_norm: None,
            wo: q4_1(e, e, 10 * l + 4),
            ffn_norm: vec![1.0; e],
            w_gate: q4_1(ff, e, 10 * l + 5),
            w_up: q4_1(ff, e, 10 * l + 6),
            w_down: q4_1(e, ff, 10 * l + 7),
        })
        .collect();
    let mut r = rng(99);
    let emb: Vec<f32> = (0..vocab * e).map(|_| r() * 0.1).collect();
    Weights {
        config,
        token_embd: QMatrix::from_blocks(QType::Q8_0, vocab, e, quantize_q8_0(&emb))
            .expect("shape"),
        layers,
        output_norm: vec![1.0; e],
        output: None,
    }
}

fn ids(seed: usize, n: usize) -> Vec<u32> {
    (0..n)
        .map(|i| (100 + (seed * 7919 + i * 104_729) % 20_000) as u32)
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let reps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let levels: Vec<Isa> = match args.next() {
        Some(l) => l.split(',').filter_map(Isa::from_name).collect(),
        None => Isa::supported()
            .into_iter()
            .filter(|&i| i != Isa::Generic)
            .collect(),
    };
    let w = weights();
    for isa in levels {
        let mut e = Engine::with_isa(w.clone(), threads, isa).expect("engine");
        let mut best = [0f64; 3];
        for _ in 0..reps {
            let mut s = e.sequence(256);
            let p = ids(1, 128);
            let t = Instant::now();
            e.forward(&mut [Step {
                seq: &mut s,
                tokens: &p,
                logits: true,
            }])
            .expect("prompt");
            best[0] = best[0].max(128.0 / t.elapsed().as_secs_f64());
            let mut s = e.sequence(256);
            let g = ids(0, 65);
            let t = Instant::now();
            for tok in &g[..64] {
                e.forward(&mut [Step {
                    seq: &mut s,
                    tokens: std::slice::from_ref(tok),
                    logits: true,
                }])
                .expect("step");
            }
            best[1] = best[1].max(64.0 / t.elapsed().as_secs_f64());
            let mut seqs: Vec<_> = (0..8).map(|_| e.sequence(64)).collect();
            let toks: Vec<Vec<u32>> = (0..8).map(|i| ids(10 + i, 48)).collect();
            let t = Instant::now();
            {
                let mut steps: Vec<Step> = seqs
                    .iter_mut()
                    .zip(&toks)
                    .map(|(s, v)| Step {
                        seq: s,
                        tokens: &v[..16],
                        logits: true,
                    })
                    .collect();
                e.forward(&mut steps).expect("batch prompt");
            }
            for k in 16..48 {
                let mut steps: Vec<Step> = seqs
                    .iter_mut()
                    .zip(&toks)
                    .map(|(s, v)| Step {
                        seq: s,
                        tokens: &v[k..k + 1],
                        logits: true,
                    })
                    .collect();
                e.forward(&mut steps).expect("batch step");
            }
            best[2] = best[2].max(8.0 * 32.0 / t.elapsed().as_secs_f64());
        }
        println!(
            "{} threads {threads} split {}: pp128 {:.1}  tg64 {:.1}  batch8 {:.1} tok/s",
            isa.name(),
            e.split().name(),
            best[0],
            best[1],
            best[2]
        );
    }
}
