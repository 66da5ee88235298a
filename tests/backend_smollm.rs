//! The real default model (SmolLM2-135M-Instruct Q4_1 GGUF) against llama.cpp.
//!
//! The reference (tests/data/reference/smollm2-135m-instruct-q4_1.json) was produced by
//! scripts/reference-tokens.sh: llama.cpp (node-llama-cpp's prebuilt build) tokenizing the
//! chat template rendered by @huggingface/jinja, and its greedy 200-token continuation with
//! the gap between its top two next-token logits at every step.
//!
//! The model file comes from $POPBENCH_TEST_MODEL or ./models/ (scripts/fetch-model puts it
//! there; CI runs that script). A missing file fails the tests: there is no silent skip.

mod real_model;

use popbench::backend::candle::{gguf, CandleBackend, DeviceKind};
use popbench::backend::{Backend, Request};
use popbench::types::{ChatMessage, FinishReason, GenerationParams, ItemKey};
use serde_json::Value;
use std::path::PathBuf;

const SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

fn load() -> CandleBackend {
    gguf::load(&real_model::path(), DeviceKind::Cpu).expect("loading the SmolLM2 GGUF")
}

fn reference() -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/reference/smollm2-135m-instruct-q4_1.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn model_file_is_the_pinned_one() {
    let b = load();
    assert_eq!(b.info().files[0].sha256, SHA256);
    assert_eq!(b.info().family.as_deref(), Some("llama"));
    assert_eq!(
        b.info().tokenizer_source.as_deref(),
        Some("gguf-metadata (gpt2, pre=smollm)")
    );
    // eos is <|im_end|> (id 2); the template writes no other end-of-turn token.
    assert_eq!(b.stop_ids(), &[2]);
    // 8192 in the file, but candle's llama builds rotary tables for 4096 positions.
    assert_eq!(b.context_length(), 8192); // as the file declares (candle-transformers capped it at 4096)
}

#[test]
fn prompt_tokens_match_llama_cpp() {
    let b = load();
    let r = reference();
    let cases = r["cases"].as_array().unwrap();
    assert!(cases.len() >= 8);
    let mut failures = Vec::new();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let text = c["text"].as_str().unwrap();
        let messages = vec![ChatMessage::new("user", text)];
        let prompt = b.prompt_text(&messages, true).unwrap();
        assert_eq!(
            prompt,
            c["prompt"].as_str().unwrap(),
            "{name}: rendered template differs from @huggingface/jinja"
        );
        let ours = b.prompt_ids(&messages, true).unwrap();
        let safe = ids(&c["safe"]);
        let whole = ids(&c["whole"]);
        if ours != safe {
            failures.push(format!("{name}: ours {ours:?}\n  llama.cpp {safe:?}"));
        }
        if name == "special_token_lookalike" {
            // llama.cpp's chat parses the look-alike into control tokens; popbench does not.
            assert_ne!(ours, whole);
            assert_eq!(
                ours.iter().filter(|&&t| t == 2).count(),
                2,
                "only the template's <|im_end|>"
            );
        } else {
            assert_eq!(safe, whole);
        }
    }
    assert!(
        failures.is_empty(),
        "token ids differ from llama.cpp:\n{}",
        failures.join("\n")
    );
}

#[test]
fn teacher_forced_greedy_agrees_with_llama_cpp() {
    let mut b = load();
    let r = reference();
    let g = &r["generation"];
    let messages = vec![ChatMessage::new("user", g["text"].as_str().unwrap())];
    let prompt = b.prompt_ids(&messages, true).unwrap();
    assert_eq!(prompt, ids(&g["prompt_ids"]));
    let cont = ids(&g["continuation"]);
    assert_eq!(cont.len(), 200);
    let gaps: Vec<Option<f64>> = g["top2_logit_gap"]
        .as_array()
        .unwrap()
        .iter()
        .map(Value::as_f64)
        .collect();
    let ours = b.teacher_force(&prompt, &cont).unwrap();
    let mut agree = 0;
    let mut bad = Vec::new();
    for (i, ((top, _), &want)) in ours.iter().zip(&cont).enumerate() {
        if *top == want {
            agree += 1;
        } else if gaps[i].is_none_or(|gap| gap >= 0.5) {
            bad.push(format!(
                "step {i}: ours {top}, llama.cpp {want} (reference gap {:?})",
                gaps[i]
            ));
        }
    }
    let rate = agree as f64 / cont.len() as f64;
    eprintln!(
        "teacher-forced agreement with llama.cpp: {agree}/{} = {:.1}%",
        cont.len(),
        rate * 100.0
    );
    assert!(rate >= 0.95, "agreement {:.1}% < 95%", rate * 100.0);
    assert!(
        bad.is_empty(),
        "disagreements where llama.cpp's top two logits are 0.5 or more apart:\n{}",
        bad.join("\n")
    );
}

#[test]
fn greedy_reply_is_deterministic_and_stops_at_end_of_turn() {
    let mut b = load();
    let key = ItemKey {
        scenario_id: "smoke".into(),
        context: "general".into(),
        sample: 0,
    };
    let messages = vec![
        ChatMessage::new("system", "You are a helpful assistant."),
        ChatMessage::new(
            "user",
            "What is the capital of France? Answer in one short sentence.",
        ),
    ];
    let params = GenerationParams {
        max_tokens: 48,
        ..GenerationParams::default()
    };
    let a = b
        .generate(&Request {
            key: &key,
            messages: &messages,
            params: &params,
        })
        .unwrap();
    let c = b
        .generate(&Request {
            key: &key,
            messages: &messages,
            params: &params,
        })
        .unwrap();
    assert_eq!(a.text, c.text);
    assert_eq!(a.finish_reason, FinishReason::Stop, "{:?}", a.text);
    assert!(a.text.contains("Paris"), "{:?}", a.text);
    assert!(!a.text.contains("<|im_end|>"));
    assert!(a.prompt_tokens > 20 && a.completion_tokens > 0);
    // Sampling with a seed is reproducible.
    let sp = GenerationParams {
        max_tokens: 16,
        temperature: 0.8,
        top_p: 0.9,
        top_k: 40,
        seed: 42,
        stop: Vec::new(),
    };
    let s1 = b
        .generate(&Request {
            key: &key,
            messages: &messages,
            params: &sp,
        })
        .unwrap();
    let s2 = b
        .generate(&Request {
            key: &key,
            messages: &messages,
            params: &sp,
        })
        .unwrap();
    assert_eq!(s1.text, s2.text);
}
