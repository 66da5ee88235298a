//! popbench's batched candle model (`backend::candle::batched`, the GPU path) on the CPU device,
//! with tiny random-weight models (tests/tiny): llama, Qwen2 (q/k/v biases) and Qwen3 (q/k
//! norms) GGUF in f32, Q8_0, Q4_0 and Q4_1, and a llama safetensors checkpoint in f32, f16 and
//! bf16.
//!
//! - Greedy replies decoded as a batch (prompts of different lengths, left-padded and masked;
//!   different token limits; rows dropped as they finish) equal each request decoded alone and
//!   the token-by-token single-sequence path, in request order; a request that cannot run
//!   fails alone.
//! - Logits along a teacher-forced sequence (prompt pass, then one token at a time) agree with
//!   popbench's CPU engine on the same file, relative to the largest logit: within 1e-4 in f32
//!   (measured: ≤ 3e-6); in quantized formats within 0.1 (Q8_0, Q4_0) and 0.12 (Q4_1), the
//!   bounds tests/engine_vs_candle.rs sets for the engine against candle-transformers (the two
//!   round activations to 8 bits differently, and random tiny weights amplify it; measured
//!   ≤ 0.08); f16 / bf16 weights against the engine's f32 within 1e-2 / 5e-2 (measured
//!   0.003 / 0.017). candle-transformers runs the same candle kernels, so against it the
//!   logits agree within 1e-4 in F32, Q8_0 and Q4_0 for llama and Qwen2. Not compared there:
//!   Q4_1 (candle-transformers requantizes it on the CPU) and Qwen3 (candle-transformers'
//!   quantized Qwen3 is ≈1e-3 from both this model and the engine in f32, which agree within
//!   3e-6).

mod tiny;

use candle_core::quantized::GgmlDType;
use candle_core::DType;
use popbench::backend::candle::{gguf, safetensors, CandleBackend, DeviceKind, Runner};
use popbench::backend::{Backend, GenerationParams, ItemKey, Request};
use popbench::prompt::ChatMessage;
use tiny::*;

fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

fn is_batched(m: &CandleBackend) -> bool {
    m.info()
        .engine
        .as_deref()
        .unwrap_or("")
        .starts_with("popbench-candle (batched, cpu")
}

/// Greedy: the batch equals each request alone and the token-by-token path.
fn check_batch_equals_alone(m: &mut CandleBackend, what: &str) {
    assert!(is_batched(m), "{what}: {:?}", m.info().engine);
    assert_eq!(m.preferred_batch(), 8, "{what}");
    let texts = [
        "hi".to_string(),
        "the thin man ran in the rain then sat in the inn".to_string(),
        "an".to_string(),
        // Longer than the tiny model's context: fails alone, the others still run.
        "the ".repeat(400),
        "in the hand, the heat".to_string(),
    ];
    let chats: Vec<Vec<ChatMessage>> = texts
        .iter()
        .map(|t| {
            vec![ChatMessage {
                role: "user".into(),
                content: t.clone(),
            }]
        })
        .collect();
    let keys: Vec<ItemKey> = (0..texts.len())
        .map(|i| ItemKey {
            scenario_id: format!("s{i}"),
            context: "c".into(),
            sample: 0,
        })
        .collect();
    let params: Vec<GenerationParams> = [12usize, 30, 1, 8, 21]
        .iter()
        .map(|&max_tokens| GenerationParams {
            max_tokens,
            ..GenerationParams::default()
        })
        .collect();
    let requests: Vec<Request<'_>> = (0..texts.len())
        .map(|i| Request {
            key: &keys[i],
            messages: &chats[i],
            params: &params[i],
        })
        .collect();
    let batched = m.generate_batch(&requests);
    assert_eq!(batched.len(), requests.len(), "{what}");
    let mut tokens = 0;
    for (i, (r, b)) in requests.iter().zip(batched).enumerate() {
        if i == 3 {
            let e = b.unwrap_err().to_string();
            assert!(e.contains("context"), "{what}: {e}");
            assert!(m.generate(r).is_err(), "{what}");
            continue;
        }
        let b = b.unwrap_or_else(|e| panic!("{what} {}: {e}", r.key));
        let one = m.generate(r).unwrap();
        let streamed = m.generate_streaming(r, &mut |_| {}).unwrap();
        for other in [&one, &streamed] {
            assert_eq!(b.text, other.text, "{what} {}", r.key);
            assert_eq!(b.completion_tokens, other.completion_tokens, "{what}");
            assert_eq!(b.finish_reason, other.finish_reason, "{what}");
            assert_eq!(b.prompt_tokens, other.prompt_tokens, "{what}");
        }
        assert!(b.completion_tokens <= params[i].max_tokens, "{what}");
        tokens += b.completion_tokens;
    }
    // Random weights rarely pick the end-of-turn token; the replies must have run.
    assert!(tokens > 20, "{what}: only {tokens} tokens generated");
}

fn forced(m: &mut CandleBackend) -> Vec<Vec<f32>> {
    let prompt: Vec<u32> = (0..9).map(|i| 3 + (i * 37) % 250).collect();
    let cont: Vec<u32> = (0..6).map(|i| 5 + (i * 53) % 250).collect();
    m.forced_logits(&prompt, &cont).unwrap()
}

fn check_close(a: &[Vec<f32>], b: &[Vec<f32>], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (step, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.len(), y.len(), "{what}: vocab");
        let d = max_rel_diff(x, y);
        assert!(d <= tol, "{what} step {step}: differs by {d} (> {tol})");
    }
}

#[test]
fn gguf_batches_equal_alone_and_logits_match_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    for arch in ["llama", "qwen2", "qwen3"] {
        for (dtype, tol) in [
            (GgmlDType::F32, 1e-4),
            (GgmlDType::Q8_0, 0.1),
            (GgmlDType::Q4_0, 0.1),
            (GgmlDType::Q4_1, 0.12),
        ] {
            for output in [true, false] {
                let what = format!("{arch} {dtype:?} output={output}");
                let path = dir.path().join(format!("{arch}-{dtype:?}-{output}.gguf"));
                write_tiny_gguf(
                    &path,
                    &Tiny {
                        arch,
                        dtype,
                        dim: 64,
                        hidden: 128,
                        eos: IM_END,
                        context: 256,
                        output,
                    },
                );
                let mut ours = gguf::load_with(&path, DeviceKind::Cpu, Runner::Batched).unwrap();
                let mut engine = gguf::load(&path, DeviceKind::Cpu).unwrap();
                assert!(engine
                    .info()
                    .engine
                    .as_deref()
                    .unwrap_or("")
                    .starts_with("popbench-engine"));
                let a = forced(&mut ours);
                check_close(&a, &forced(&mut engine), tol, &what);
                if dtype != GgmlDType::Q4_1 && arch != "qwen3" {
                    let mut theirs =
                        gguf::load_with(&path, DeviceKind::Cpu, Runner::Candle).unwrap();
                    let b = forced(&mut theirs);
                    check_close(&a, &b, 1e-4, &format!("{what} vs candle-transformers"));
                }
                // One architecture per format runs the (slower) generation checks.
                if output && (dtype == GgmlDType::F32 || arch == "qwen2") {
                    check_batch_equals_alone(&mut ours, &what);
                }
            }
        }
    }
}

#[test]
fn safetensors_batches_equal_alone_in_f32_f16_and_bf16() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_safetensors(dir.path());
    let mut engine = safetensors::load(dir.path(), DeviceKind::Cpu, None).unwrap();
    let reference = forced(&mut engine);
    for (dtype, tol) in [(DType::F32, 1e-4), (DType::F16, 1e-2), (DType::BF16, 5e-2)] {
        let what = format!("safetensors {dtype:?}");
        let mut ours =
            safetensors::load_with(dir.path(), DeviceKind::Cpu, Some(dtype), Runner::Batched)
                .unwrap();
        assert_eq!(
            ours.info().dtype.as_deref(),
            Some(format!("{dtype:?}").to_lowercase().as_str())
        );
        check_close(&forced(&mut ours), &reference, tol, &what);
        check_batch_equals_alone(&mut ours, &what);
    }
    // Half precision on the CPU picks the batched model without being asked.
    let auto = safetensors::load(dir.path(), DeviceKind::Cpu, Some(DType::BF16)).unwrap();
    assert!(is_batched(&auto), "{:?}", auto.info().engine);
}

#[test]
fn batched_model_refuses_bad_tokens_and_positions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.gguf");
    write_tiny_gguf(&path, &Tiny::llama(IM_END, 64));
    let mut m = gguf::load_with(&path, DeviceKind::Cpu, Runner::Batched).unwrap();
    let err = m.forced_logits(&[1, 2, 100_000], &[3]).unwrap_err();
    assert!(err.to_string().contains("outside the vocabulary"), "{err}");
    assert!(m.forced_logits(&[1, 2], &[3, 4]).is_ok());
    let err = m.forced_logits(&[1; 60], &[2; 10]).unwrap_err();
    assert!(err.to_string().contains("exceed the context"), "{err}");
    // Candle-transformers stays available for comparisons.
    let t = gguf::load_with(&path, DeviceKind::Cpu, Runner::Candle).unwrap();
    assert_eq!(t.info().engine.as_deref(), Some("candle-transformers"));
    assert_eq!(t.preferred_batch(), 1);
}
