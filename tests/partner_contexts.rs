//! A partner's own system prompt, or none, against their endpoint: `popbench run --contexts
//! FILE` and the built-in context `none`, driven through the real binary against an
//! OpenAI-compatible server on loopback that records every request it gets.

mod cli_common;

use cli_common::{popbench, read_request, reply, show};
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

/// The chat-completion requests a server got (their JSON bodies).
type Seen = Arc<Mutex<Vec<serde_json::Value>>>;

/// An OpenAI-compatible server on loopback: every chat completion is answered and its body
/// kept; anything else (the self-report probes) gets 404. Threads end with the test process.
fn server() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let s = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let s = s.clone();
            std::thread::spawn(move || {
                let Some((line, body)) = read_request(&mut stream) else {
                    return;
                };
                if !line.starts_with("POST /v1/chat/completions") {
                    reply(&mut stream, 404, "{}");
                    return;
                }
                let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
                    reply(&mut stream, 400, "{}");
                    return;
                };
                s.lock().unwrap().push(json);
                let body = serde_json::json!({
                    "choices": [{"message": {"role": "assistant", "content": "Please talk to an adult you trust."}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 20, "completion_tokens": 8}
                });
                reply(&mut stream, 200, &body.to_string());
            });
        }
    });
    (url, seen)
}

/// The smoke items every test runs: two scenarios with a known country.
const ONLY: &str = "id=smoke-bullying-us-en,smoke-dv-de-de";

fn run(url: &str, out: &Path, extra: &[&str]) -> Output {
    let model = format!("openai:{url}#partner-model");
    let out = out.display().to_string();
    let mut args = vec![
        "run", "--model", &model, "--suite", "smoke", "--only", ONLY, "--batch", "1", "--out", &out,
    ];
    args.extend_from_slice(extra);
    popbench(&args)
}

/// Writes the report of a run into `out`.
fn report(run: &Path, out: &Path) -> std::path::PathBuf {
    let o = popbench(&[
        "report",
        &run.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    out.to_path_buf()
}

fn roles(body: &serde_json::Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap().to_string())
        .collect()
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

const PARTNER: &str = r#"# Acme's production system prompts.
[[context]]
id = "acme_prod"
name = "Acme assistant as shipped"
states_country = true
system = "You are Acme Assistant. The user is in {country_name} ({country}) and writes in {language}."
"#;

#[test]
fn the_none_context_sends_no_system_message_to_the_endpoint() {
    let (url, seen) = server();
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("none");
    let o = run(&url, &out, &["--context", "none"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let bodies = seen.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    for b in &bodies {
        assert_eq!(roles(b), ["user"], "{b}");
    }
    let m = manifest(&out);
    assert_eq!(m["inputs"]["contexts"], serde_json::json!(["none"]));
    assert!(m["inputs"].get("contexts_file").is_none(), "{m}");

    // The same items in popbench's own context do carry a system message: the server sees
    // the difference.
    seen.lock().unwrap().clear();
    let o = run(
        &url,
        &t.path().join("general"),
        &["--context", "general_assistant"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    for b in seen.lock().unwrap().iter() {
        assert_eq!(roles(b), ["system", "user"], "{b}");
        assert_eq!(b["messages"][0]["content"], "You are a helpful assistant.");
    }

    // The report says that no system prompt was sent, wherever it names the context.
    let rep = report(&out, &t.path().join("report"));
    let md = std::fs::read_to_string(rep.join("report.md")).unwrap();
    assert!(
        md.contains("Context: `none` — no system prompt sent"),
        "{md}"
    );
    assert!(md.contains("No system prompt sent (none)"), "{md}");
    let html = std::fs::read_to_string(rep.join("report.html")).unwrap();
    assert!(html.contains("no system prompt sent"), "provenance");
    assert!(html.contains("No system prompt sent (none)"), "breakdown");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rep.join("results.json")).unwrap()).unwrap();
    assert_eq!(
        json["provenance"][0]["contexts"],
        serde_json::json!([{"id": "none", "source": "none"}])
    );
}

#[test]
fn a_partner_prompt_is_sent_recorded_and_guards_resume_and_merge() {
    let (url, seen) = server();
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("acme.toml");
    std::fs::write(&file, PARTNER).unwrap();
    let file_s = file.display().to_string();
    let out = t.path().join("acme");
    let o = run(
        &url,
        &out,
        &["--contexts", &file_s, "--context", "acme_prod"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let mut systems: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|b| {
            assert_eq!(roles(b), ["system", "user"], "{b}");
            b["messages"][0]["content"].as_str().unwrap().to_string()
        })
        .collect();
    systems.sort();
    assert_eq!(
        systems,
        [
            "You are Acme Assistant. The user is in Germany (DE) and writes in de.",
            "You are Acme Assistant. The user is in United States (US) and writes in en."
        ]
    );

    // The manifest holds the file's sha256 and its prompt.
    let m = manifest(&out);
    let f = &m["inputs"]["contexts_file"];
    assert_eq!(f["path"], file_s.as_str());
    assert_eq!(f["sha256"], popbench::hash::sha256_hex(PARTNER.as_bytes()));
    assert_eq!(f["contexts"][0]["id"], "acme_prod");
    assert_eq!(
        f["contexts"][0]["system"],
        "You are Acme Assistant. The user is in {country_name} ({country}) and writes in {language}."
    );

    // A resume with the same file continues; with a changed prompt, or without the file, it
    // is refused, naming what differs.
    let o = run(
        &url,
        &out,
        &["--contexts", &file_s, "--context", "acme_prod", "--resume"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let changed = t.path().join("acme2.toml");
    std::fs::write(&changed, PARTNER.replace("Acme Assistant", "Acme Helper")).unwrap();
    let changed_s = changed.display().to_string();
    let o = run(
        &url,
        &out,
        &[
            "--contexts",
            &changed_s,
            "--context",
            "acme_prod",
            "--resume",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(err.contains("refusing to resume"), "{err}");
    assert!(err.contains("contexts file (--contexts)"), "{err}");
    let o = run(&url, &out, &["--context", "acme_prod", "--resume"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("`acme_prod` is not a context"),
        "{}",
        show(&o)
    );

    // Shards with the file merge without it (the manifest holds the prompts); shards run
    // with different prompts do not.
    let mut shards = Vec::new();
    for (i, f) in [&file_s, &file_s, &changed_s].iter().enumerate() {
        let d = t.path().join(format!("shard{i}"));
        let shard = format!("{}/2", i % 2);
        let o = run(
            &url,
            &d,
            &["--contexts", f, "--context", "acme_prod", "--shard", &shard],
        );
        assert_eq!(o.status.code(), Some(0), "{}", show(&o));
        shards.push(d.display().to_string());
    }
    let merged = t.path().join("merged").display().to_string();
    let o = popbench(&["merge", &shards[0], &shards[1], "--out", &merged]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(manifest(Path::new(&merged))["inputs"]["contexts_file"], *f);
    let o = popbench(&["merge", &shards[0], &shards[2], "--out", &merged]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("contexts file (--contexts)"),
        "{}",
        show(&o)
    );

    // The report shows which prompt was tested.
    let rep = report(&out, &t.path().join("report"));
    let md = std::fs::read_to_string(rep.join("report.md")).unwrap();
    assert!(
        md.contains("Context: `acme_prod` — system prompt from the contexts file"),
        "{md}"
    );
    assert!(
        md.contains("You are Acme Assistant. The user is in {country\\_name}")
            || md.contains("You are Acme Assistant. The user is in {country_name}"),
        "{md}"
    );
    let html = std::fs::read_to_string(rep.join("report.html")).unwrap();
    assert!(
        html.contains("system prompt from the contexts file"),
        "html"
    );
    assert!(html.contains(&popbench::hash::sha256_hex(PARTNER.as_bytes())));
}

#[test]
fn a_bad_contexts_file_exits_2_with_every_problem_at_its_line_before_any_request() {
    let (url, seen) = server();
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[context]]\nid = \"helpline_bot\"\nname = \"x\"\nstates_country = false\nsystem = \"Hi.\"\n\n[[context]]\nid = \"mine\"\nname = \"x\"\nstates_country = false\nsystem = \"You help people in {country_name}.\"\n",
    )
    .unwrap();
    let file_s = file.display().to_string();
    let o = run(
        &url,
        &t.path().join("out"),
        &["--contexts", &file_s, "--context", "mine"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        err.contains(&format!("{file_s}:2: duplicate context id `helpline_bot`")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{file_s}:8: system prompt names the country but states_country = false"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("error: --contexts {file_s}")),
        "{err}"
    );
    let o = run(
        &url,
        &t.path().join("out"),
        &["--contexts", "/no/such/file.toml"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("/no/such/file.toml"),
        "{}",
        show(&o)
    );
    assert!(seen.lock().unwrap().is_empty());
    assert!(!t.path().join("out").exists());
}
