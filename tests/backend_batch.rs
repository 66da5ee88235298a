//! `generate_batch` on the default GGUF model (popbench's engine): greedy outputs of a batch
//! equal the unbatched outputs, in request order, whatever the batch mixes (prompt lengths,
//! token limits, a shared prompt prefix reused from the cache or not). The reference is the
//! token-by-token streaming path, which runs one sequence with no prefix reuse.
//! The model file comes from $POPBENCH_TEST_MODEL or ./models/ (scripts/fetch-model).

mod real_model;

use popbench::backend::candle::{gguf, DeviceKind};
use popbench::backend::{Backend, Request};
use popbench::types::{ChatMessage, GenerationParams, ItemKey};

#[test]
fn batched_greedy_output_equals_unbatched() {
    let mut m = gguf::load(&real_model::path(), DeviceKind::Cpu).unwrap();
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
    assert!(m
        .info()
        .engine
        .as_deref()
        .unwrap_or("")
        .starts_with("popbench-engine"));
    assert_eq!(m.preferred_batch(), 8);
    let batched = m.generate_batch(&requests);
    assert_eq!(batched.len(), requests.len());
    for (r, b) in requests.iter().zip(batched) {
        let b = b.unwrap();
        // Alone, after the batch left its prompt prefix in the cache.
        let one = m.generate(r).unwrap();
        // Token by token, one sequence, no prefix reuse.
        let streamed = m.generate_streaming(r, &mut |_| {}).unwrap();
        for other in [&one, &streamed] {
            assert_eq!(b.text, other.text, "{}", r.key);
            assert_eq!(b.completion_tokens, other.completion_tokens);
            assert_eq!(b.finish_reason, other.finish_reason);
        }
        assert!(b.completion_tokens > 0);
    }
}

#[test]
fn batched_teacher_forcing_gives_the_same_bits_as_one_sequence() {
    let mut m = gguf::load(&real_model::path(), DeviceKind::Cpu).unwrap();
    let ids: Vec<Vec<u32>> = (0..5u32)
        .map(|s| {
            (0..20 + 7 * s)
                .map(|i| 100 + (s * 7919 + i * 104_729) % 20_000)
                .collect()
        })
        .collect();
    let items: Vec<(&[u32], &[u32])> = ids
        .iter()
        .enumerate()
        .map(|(k, v)| (&v[..3 + 2 * k], &v[3 + 2 * k..]))
        .collect();
    let batched = m.teacher_force_batch(&items).unwrap();
    for ((p, c), b) in items.iter().zip(&batched) {
        let one = m.teacher_force(p, c).unwrap();
        assert_eq!(b.len(), c.len());
        for (x, y) in b.iter().zip(&one) {
            assert_eq!(x.0, y.0);
            assert_eq!(x.1.to_bits(), y.1.to_bits());
        }
    }
}
