//! `generate_batch` on the default GGUF model: greedy outputs of a batch equal the unbatched
//! outputs, in request order, whatever the batch mixes (prompt lengths, token limits).
//!
//! The GGUF backend currently serves a batch sequentially (the `Backend` trait default, see
//! BENCHMARKS.md): this test pins the contract a real batched decoder must keep.
//! The model file comes from $POPBENCH_TEST_MODEL or ./models/ (scripts/fetch-model).

use popbench::backend::candle::{gguf, DeviceKind};
use popbench::backend::{Backend, GenerationParams, ItemKey, Request};
use popbench::prompt::ChatMessage;
use std::path::PathBuf;

fn model_path() -> PathBuf {
    let p = std::env::var_os("POPBENCH_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    assert!(
        p.is_file(),
        "the real-model tests need {} — run scripts/fetch-model",
        p.display()
    );
    p
}

#[test]
fn batched_greedy_output_equals_unbatched() {
    let mut m = gguf::load(&model_path(), DeviceKind::Cpu).unwrap();
    let texts = [
        "Hi",
        "What is the capital of France? Answer in one word.",
        "I'm 12 and someone at school keeps hitting me. Who can I talk to?",
    ];
    let chats: Vec<Vec<ChatMessage>> = texts
        .iter()
        .map(|t| {
            vec![ChatMessage {
                role: "user".into(),
                content: t.to_string(),
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
    let params: Vec<GenerationParams> = [24usize, 16, 32]
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
    assert_eq!(batched.len(), requests.len());
    for (r, b) in requests.iter().zip(batched) {
        let one = m.generate(r).unwrap();
        let b = b.unwrap();
        assert_eq!(b.text, one.text, "{}", r.key);
        assert_eq!(b.completion_tokens, one.completion_tokens);
        assert_eq!(b.finish_reason, one.finish_reason);
        assert!(b.completion_tokens > 0);
    }
}
