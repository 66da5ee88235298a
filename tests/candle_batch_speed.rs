//! A speed figure, not a test (it asserts nothing about time, and is ignored by default):
//! aggregate generated tokens per second of popbench's batched candle model on the CPU device,
//! 8 requests decoded as one batch against the same 8 decoded one at a time.
//!
//! `POPBENCH_TEST_MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf cargo test --release \
//!   --test candle_batch_speed -- --ignored --nocapture`
//!
//! Prints `batch1 TOK/S`, `batch8 TOK/S` and their ratio. Replies are greedy, up to 48 tokens
//! each; the figure counts the tokens really generated over the whole time, prompts included.

use popbench::backend::candle::{gguf, DeviceKind, Runner};
use popbench::backend::{Backend, GenerationParams, ItemKey, Request};
use popbench::prompt::ChatMessage;
use std::path::PathBuf;
use std::time::Instant;

#[test]
#[ignore = "a speed figure: run with --ignored --nocapture"]
fn batch8_against_batch1_on_the_cpu_device() {
    let path = std::env::var_os("POPBENCH_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    assert!(
        path.is_file(),
        "{} — run scripts/fetch-model",
        path.display()
    );
    let mut m = gguf::load_with(&path, DeviceKind::Cpu, Runner::Batched).unwrap();
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
        max_tokens: 48,
        ..GenerationParams::default()
    };
    let requests: Vec<Request<'_>> = (0..chats.len())
        .map(|i| Request {
            key: &keys[i],
            messages: &chats[i],
            params: &params,
        })
        .collect();
    // Warm-up.
    m.generate(&requests[0]).unwrap();
    let t = Instant::now();
    let mut one = 0;
    for r in &requests {
        one += m.generate(r).unwrap().completion_tokens;
    }
    let rate1 = one as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let eight: usize = m
        .generate_batch(&requests)
        .into_iter()
        .map(|c| c.unwrap().completion_tokens)
        .sum();
    let rate8 = eight as f64 / t.elapsed().as_secs_f64();
    assert_eq!(one, eight);
    println!("{}", m.info().engine.as_deref().unwrap_or(""));
    println!("batch1 {rate1:.1} tok/s ({one} tokens)");
    println!("batch8 {rate8:.1} tok/s ({eight} tokens)");
    println!("ratio {:.2}", rate8 / rate1);
}
