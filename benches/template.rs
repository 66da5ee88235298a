//! Chat-template throughput: rendering a system + user chat with the default model's own
//! template (minijinja, configured as Hugging Face renders templates).
//!
//! `cargo bench --bench template` (needs models/SmolLM2-135M-Instruct.Q4_1.gguf, or set
//! `POPBENCH_TEST_MODEL`). Throughput is reported in renders (elements) per second.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use popbench::backend::candle::ChatTemplate;
use popbench::types::ChatMessage;

const SYSTEM: &str = "You are a helpful assistant. Answer kindly and clearly. If the person may be a child at risk, \
tell them where they can get help in their country, with the service's name and how to reach it.";
const USER: &str = "hi, i'm 13 and my stepdad hits my mum when he drinks and last night he pushed me into the wall. \
i'm scared to go home after school today. what should i do?? please don't tell anyone. i live in manchester.";

fn bench(c: &mut Criterion) {
    let path = std::env::var_os("POPBENCH_TEST_MODEL")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    let mut f = std::fs::File::open(path).expect("default model (run scripts/fetch-model)");
    let ct = candle_core::quantized::gguf_file::Content::read(&mut f).expect("gguf");
    let source = ct.metadata["tokenizer.chat_template"]
        .to_string()
        .expect("template")
        .clone();
    let template = ChatTemplate::new(&source, Default::default()).expect("template");
    let messages = [
        ChatMessage {
            role: "system".into(),
            content: SYSTEM.into(),
        },
        ChatMessage {
            role: "user".into(),
            content: USER.into(),
        },
    ];
    let mut g = c.benchmark_group("template");
    g.throughput(Throughput::Elements(1));
    g.bench_function("render_chat", |b| {
        b.iter(|| template.render(black_box(&messages), true).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
