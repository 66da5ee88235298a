//! The OpenAI-compatible backend against a mock server on loopback: retries, backoff,
//! concurrency, the API key sent but never shown.

mod http_common;

use popbench::backend::openai::{HttpOptions, OpenAiBackend};
use popbench::backend::{Backend, Request};
use popbench::types::{ChatMessage, FinishReason, GenerationParams, ItemKey};
use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Serves `replies` (status, body) in order, one per connection, recording each request.
fn mock(
    replies: Vec<(u16, String)>,
) -> (String, Arc<Mutex<Vec<String>>>, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let h = std::thread::spawn(move || {
        for (status, body) in replies {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (head, buf) = http_common::read_request(&mut reader).expect("a whole request");
            seen2
                .lock()
                .unwrap()
                .push(format!("{head}{}", String::from_utf8_lossy(&buf)));
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).unwrap();
        }
    });
    (format!("http://{addr}/v1"), seen, h)
}

fn ok_body(text: &str) -> String {
    serde_json::json!({
        "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3}
    })
    .to_string()
}

#[test]
fn retries_server_errors_then_returns_the_completion_and_keeps_the_key_secret() {
    std::env::set_var("POPBENCH_API_KEY", "sk-test-SECRET-123");
    let (url, seen, h) = mock(vec![
        (500, "{\"error\":\"busy\"}".into()),
        (429, "{}".into()),
        (200, ok_body("call 0800 1111")),
    ]);
    let opts = HttpOptions {
        timeout: Duration::from_secs(10),
        retries: 3,
        backoff: Duration::from_millis(10),
        concurrency: 2,
        ..HttpOptions::default()
    };
    let mut b = OpenAiBackend::new(&url, "tiny", &format!("openai:{url}#tiny"), opts);
    let key = ItemKey {
        scenario_id: "s".into(),
        context: "c".into(),
        sample: 0,
    };
    let msgs = vec![ChatMessage::new("user", "help")];
    let params = GenerationParams::default();
    let c = b
        .generate(&Request {
            key: &key,
            messages: &msgs,
            params: &params,
        })
        .unwrap();
    h.join().unwrap();
    assert_eq!(c.text, "call 0800 1111");
    assert_eq!((c.prompt_tokens, c.completion_tokens), (12, 3));
    assert_eq!(c.finish_reason, FinishReason::Stop);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen[2].contains("Bearer sk-test-SECRET-123"));
    assert!(seen[2].contains("\"model\":\"tiny\""));
    assert!(seen[2].starts_with("POST /v1/chat/completions"));
    assert!(!format!("{b:?}").contains("SECRET"));
    assert!(!serde_json::to_string(b.info()).unwrap().contains("SECRET"));
}

#[test]
fn gives_up_after_the_retries_with_a_clear_error_and_does_not_retry_client_errors() {
    let (url, seen, h) = mock(vec![(503, "{}".into()), (503, "{}".into())]);
    let opts = HttpOptions {
        timeout: Duration::from_secs(10),
        retries: 1,
        backoff: Duration::from_millis(5),
        concurrency: 1,
        ..HttpOptions::default()
    };
    let mut b = OpenAiBackend::new(&url, "m", "openai", opts.clone());
    let key = ItemKey {
        scenario_id: "s".into(),
        context: "c".into(),
        sample: 0,
    };
    let params = GenerationParams::default();
    let e = b
        .generate(&Request {
            key: &key,
            messages: &[],
            params: &params,
        })
        .unwrap_err()
        .to_string();
    h.join().unwrap();
    assert!(e.contains("after 2 attempt(s): HTTP 503"), "{e}");
    assert_eq!(seen.lock().unwrap().len(), 2);

    let (url, seen, h) = mock(vec![(400, "{\"error\":\"bad\"}".into())]);
    let mut b = OpenAiBackend::new(&url, "m", "openai", opts);
    let e = b
        .generate(&Request {
            key: &key,
            messages: &[],
            params: &params,
        })
        .unwrap_err()
        .to_string();
    h.join().unwrap();
    assert!(e.contains("after 1 attempt(s): HTTP 400"), "{e}");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn a_batch_returns_results_in_request_order() {
    let (url, _seen, h) = mock(vec![
        (200, ok_body("same")),
        (200, ok_body("same")),
        (200, ok_body("same")),
    ]);
    let opts = HttpOptions {
        timeout: Duration::from_secs(10),
        retries: 0,
        backoff: Duration::from_millis(5),
        concurrency: 2,
        ..HttpOptions::default()
    };
    let mut b = OpenAiBackend::new(&url, "m", "openai", opts);
    let keys: Vec<ItemKey> = (0..3)
        .map(|i| ItemKey {
            scenario_id: format!("s{i}"),
            context: "c".into(),
            sample: 0,
        })
        .collect();
    let params = GenerationParams::default();
    let reqs: Vec<Request<'_>> = keys
        .iter()
        .map(|k| Request {
            key: k,
            messages: &[],
            params: &params,
        })
        .collect();
    let out = b.generate_batch(&reqs);
    h.join().unwrap();
    assert_eq!(out.len(), 3);
    assert!(out
        .iter()
        .all(|r| r.as_ref().map(|c| c.text == "same").unwrap_or(false)));
}

#[test]
fn errors_carry_stable_tags() {
    let key = ItemKey {
        scenario_id: "s".into(),
        context: "c".into(),
        sample: 0,
    };
    let params = GenerationParams::default();
    let opts = HttpOptions {
        timeout: Duration::from_secs(10),
        retries: 0,
        backoff: Duration::from_millis(5),
        concurrency: 1,
        ..HttpOptions::default()
    };
    let tag_of = |replies: Vec<(u16, String)>| {
        let (url, _seen, h) = mock(replies);
        let mut b = OpenAiBackend::new(&url, "m", "openai", opts.clone());
        let e = b
            .generate(&Request {
                key: &key,
                messages: &[],
                params: &params,
            })
            .unwrap_err();
        h.join().unwrap();
        e.tag()
    };
    let overflow = "{\"error\":{\"message\":\"This model's maximum context length is 2048 tokens. However, you requested 4000 tokens.\"}}";
    assert_eq!(tag_of(vec![(400, overflow.into())]), "context_overflow");
    assert_eq!(
        tag_of(vec![(400, "{\"error\":\"bad\"}".into())]),
        "http_status"
    );
    assert_eq!(tag_of(vec![(503, "{}".into())]), "http_status");
    assert_eq!(
        tag_of(vec![(200, "{\"choices\":[]}".into())]),
        "bad_response"
    );
}

/// The request line of each request the mock saw (`GET /v1/models HTTP/1.1`).
fn request_lines(seen: &Mutex<Vec<String>>) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|r| r.lines().next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn the_server_self_report_is_recorded_from_models_and_the_engine_endpoint() {
    // A vLLM-like server: /v1/models, no /props, then /version.
    let models = serde_json::json!({"object": "list", "data": [
        {"id": "Qwen/Qwen2.5-7B-Instruct", "object": "model", "owned_by": "vllm"}
    ]});
    let (url, seen, h) = mock(vec![
        (200, models.to_string()),
        (404, String::new()),
        (200, "{\"version\":\"0.6.3\"}".into()),
    ]);
    let b = OpenAiBackend::new(&url, "m", "openai", HttpOptions::default()).with_server_info();
    h.join().unwrap();
    assert_eq!(
        request_lines(&seen),
        vec![
            "GET /v1/models HTTP/1.1",
            "GET /props HTTP/1.1",
            "GET /version HTTP/1.1"
        ]
    );
    let s = b.info().server.clone().expect("a server report");
    assert_eq!(s.base_url, url);
    assert_eq!(s.models.len(), 1);
    assert_eq!(s.models[0].id, "Qwen/Qwen2.5-7B-Instruct");
    assert_eq!(s.models[0].owned_by.as_deref(), Some("vllm"));
    assert_eq!(s.engine.as_deref(), Some("vllm"));
    assert_eq!(s.version.as_deref(), Some("0.6.3"));
    assert!(s.reports["/v1/models"].contains("Qwen2.5-7B"));
    assert_eq!(s.reports["/version"], "{\"version\":\"0.6.3\"}");

    // A llama.cpp-like server: /props answers; a long chat template is kept as its sha256 and
    // a huge report is cut.
    let template = "{% for m in messages %}".repeat(50);
    let props = serde_json::json!({
        "build_info": "b7000-abcdef0",
        "model_path": "/models/x.gguf",
        "chat_template": template,
        "filler": (0..400).map(|i| format!("k{i}")).collect::<Vec<_>>(),
    });
    let (url, seen, h) = mock(vec![
        (
            200,
            "{\"data\":[{\"id\":\"x.gguf\",\"owned_by\":\"llamacpp\"}]}".into(),
        ),
        (200, props.to_string()),
    ]);
    let b = OpenAiBackend::new(
        &format!("{url}/chat/completions"),
        "x",
        "openai",
        HttpOptions::default(),
    )
    .with_server_info();
    h.join().unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
    let s = b.info().server.clone().unwrap();
    assert_eq!(
        s.base_url, url,
        "the base URL is the one without /chat/completions"
    );
    assert_eq!(s.engine.as_deref(), Some("llama.cpp"));
    assert_eq!(s.version.as_deref(), Some("b7000-abcdef0"));
    assert_eq!(s.model_path.as_deref(), Some("/models/x.gguf"));
    let report = &s.reports["/props"];
    assert!(!report.contains("{% for m in messages %}"), "{report}");
    assert!(report.contains("sha256:"), "{report}");
    assert!(report.chars().count() <= 2000 && report.ends_with('…'));
}

#[test]
fn an_unreachable_server_leaves_the_self_report_empty_and_old_manifests_still_load() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{addr}/v1");
    let b = OpenAiBackend::new(&url, "m", "openai", HttpOptions::default()).with_server_info();
    assert_eq!(b.info().server, None);
    assert!(!serde_json::to_string(b.info()).unwrap().contains("server"));

    // A model record from before the field.
    let old = r#"{"spec":"openai:http://x/v1#m","name":"m","backend":"openai","files":[],"device":"remote"}"#;
    let info: popbench::types::ModelInfo = serde_json::from_str(old).unwrap();
    assert_eq!(info.server, None);
    let mut with = info.clone();
    with.server = Some(Box::new(popbench::types::ServerInfo {
        base_url: "http://x/v1".into(),
        ..Default::default()
    }));
    let back: popbench::types::ModelInfo =
        serde_json::from_str(&serde_json::to_string(&with).unwrap()).unwrap();
    assert_eq!(back, with);
}
