//! Failures are data: a run against a local HTTP server that answers some items with 500 and
//! hangs on one finishes, journals the failed items with their tags, and a resume against the
//! healthy server retries those and nothing else. A run stops at `--max-failures`, and stops
//! early when the server is gone, leaving the resume command.

mod cli_common;

use cli_common::reply;
use popbench::backend::openai::{HttpOptions, OpenAiBackend};
use popbench::dataset::Dataset;
use popbench::run::plan::item_seed;
use popbench::run::runner::{self, full_plan, RunOptions, Silent, Stopped};
use popbench::run::scoring::load_suite;
use popbench::run::{RunDir, Selection};
use popbench::types::{GenerationParams, ItemKey};
use std::collections::{BTreeMap, HashSet};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// How the mock server treats one item (found by the request's seed).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Ok,
    Status500,
    Hang,
}

struct Server {
    url: String,
    /// item seed → mode while unhealthy.
    modes: Arc<Mutex<BTreeMap<u64, Mode>>>,
    healthy: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
}

/// The JSON body of one request.
fn read_request(stream: &mut TcpStream) -> Option<serde_json::Value> {
    let (_, body) = cli_common::read_request(stream)?;
    serde_json::from_slice(&body).ok()
}

/// A server on loopback; each connection is handled on its own thread (so a hang holds only
/// its own item). Threads end with the test process; a hang lasts at most 5 s.
fn server() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let modes: Arc<Mutex<BTreeMap<u64, Mode>>> = Arc::default();
    let healthy = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicUsize::new(0));
    let (m, h, n) = (modes.clone(), healthy.clone(), requests.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (m, h, n) = (m.clone(), h.clone(), n.clone());
            std::thread::spawn(move || {
                let Some(body) = read_request(&mut stream) else {
                    return;
                };
                n.fetch_add(1, Ordering::SeqCst);
                let seed = body["seed"].as_u64().unwrap_or(0);
                let mode = if h.load(Ordering::SeqCst) {
                    Mode::Ok
                } else {
                    m.lock().unwrap().get(&seed).copied().unwrap_or(Mode::Ok)
                };
                match mode {
                    Mode::Ok => {
                        let text = format!(
                            "Item {seed}: please call 116 111 or talk to an adult you trust."
                        );
                        let body = serde_json::json!({
                            "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": 20, "completion_tokens": 9}
                        });
                        reply(&mut stream, 200, &body.to_string());
                    }
                    Mode::Status500 => reply(&mut stream, 500, "{\"error\":\"overloaded\"}"),
                    Mode::Hang => {
                        let until = Instant::now() + Duration::from_secs(5);
                        while Instant::now() < until && !h.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            });
        }
    });
    Server {
        url,
        modes,
        healthy,
        requests,
    }
}

fn backend(url: &str, gone_after: u32) -> OpenAiBackend {
    OpenAiBackend::new(
        url,
        "mock",
        &format!("openai:{url}#mock"),
        HttpOptions {
            timeout: Duration::from_millis(700),
            retries: 1,
            backoff: Duration::from_millis(10),
            concurrency: 2,
            gone_after,
        },
    )
}

fn options(out: &Path, resume: bool, max_failures: Option<usize>) -> RunOptions {
    RunOptions {
        suite: "smoke".into(),
        contexts: Vec::new(),
        samples: 1,
        params: GenerationParams {
            max_tokens: 32,
            ..GenerationParams::default()
        },
        shard: None,
        selection: Selection::default(),
        out: out.to_path_buf(),
        resume,
        score: true,
        batch: 2,
        threads: 1,
        max_failures,
        conversation: popbench::types::ConversationMode::Live,
    }
}

fn plan() -> (Dataset, popbench::scenario::Suite, Vec<ItemKey>) {
    let data = Dataset::load_strict(&root()).unwrap();
    let suite = load_suite("smoke", &root()).unwrap();
    let (items, _) = full_plan(&suite, &data, &[], 1).unwrap();
    (data, suite, items)
}

#[test]
fn a_run_against_a_failing_server_finishes_counts_failures_by_tag_and_a_resume_completes_it() {
    let (data, suite, items) = plan();
    assert!(
        items.len() >= 6,
        "the smoke suite has {} items",
        items.len()
    );
    let s = server();
    let failing: Vec<&ItemKey> = vec![&items[1], &items[4]];
    let hanging = &items[3];
    {
        let mut m = s.modes.lock().unwrap();
        for k in &failing {
            m.insert(item_seed(0, k), Mode::Status500);
        }
        m.insert(item_seed(0, hanging), Mode::Hang);
    }
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    let stop = AtomicBool::new(false);
    let mut b = backend(&s.url, 8);
    let o = runner::run(
        &mut b,
        &data,
        &suite,
        &options(&out, false, Some(5)),
        &mut Silent,
        &stop,
    )
    .unwrap();
    assert_eq!(o.stopped, None);
    assert_eq!(o.total, items.len());
    assert_eq!(o.done, items.len() - 3);
    let want: BTreeMap<String, usize> =
        [("http_status".to_string(), 2), ("timeout".to_string(), 1)].into();
    assert_eq!(o.failures_by_tag, want);
    let failed: HashSet<ItemKey> = o.failed.iter().map(|(k, _)| k.clone()).collect();
    let want_failed: HashSet<ItemKey> = [&items[1], &items[3], &items[4]]
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(failed, want_failed);
    assert_eq!(
        o.verdicts.len(),
        items.len() - 3,
        "failed items are not scored"
    );

    let dir = RunDir::at(&out);
    let recs = dir.read_responses().unwrap().records;
    assert_eq!(recs.len(), items.len(), "failed items are journaled too");
    let tags: Vec<Option<&str>> = recs
        .iter()
        .map(|r| r.error.as_ref().map(|e| e.tag.as_str()))
        .collect();
    assert_eq!(tags[1], Some("http_status"));
    assert_eq!(tags[3], Some("timeout"));
    assert!(recs[1].response.is_empty());
    assert!(recs[3]
        .error
        .as_ref()
        .unwrap()
        .message
        .contains("timed out"));
    assert_eq!(dir.read_verdicts().unwrap().records.len(), items.len() - 3);
    let m = dir.read_manifest().unwrap();
    assert_eq!(m.items_done, items.len() - 3);
    assert_eq!(m.finished_at, None);

    // The server is healthy again: a resume retries the three failed items and nothing else.
    s.healthy.store(true, Ordering::SeqCst);
    let before = s.requests.load(Ordering::SeqCst);
    let mut b = backend(&s.url, 8);
    let o = runner::run(
        &mut b,
        &data,
        &suite,
        &options(&out, true, None),
        &mut Silent,
        &stop,
    )
    .unwrap();
    assert_eq!(s.requests.load(Ordering::SeqCst) - before, 3);
    assert_eq!(o.done, items.len());
    assert!(o.failures_by_tag.is_empty());
    assert!(o.stopped.is_none());
    let recs = dir.read_responses().unwrap().records;
    let keys: Vec<ItemKey> = recs.iter().map(|r| r.key()).collect();
    assert_eq!(keys, items, "one line per item, in plan order");
    assert!(recs.iter().all(|r| r.error.is_none()));
    assert_eq!(dir.read_verdicts().unwrap().records.len(), items.len());
    assert!(dir.read_manifest().unwrap().finished_at.is_some());
}

#[test]
fn a_run_stops_past_max_failures_and_when_the_server_is_gone() {
    let (data, suite, items) = plan();
    let s = server();
    {
        let mut m = s.modes.lock().unwrap();
        for k in &items {
            m.insert(item_seed(0, k), Mode::Status500);
        }
    }
    let t = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    let mut b = backend(&s.url, 8);
    let mut opts = options(&t.path().join("a"), false, Some(1));
    opts.batch = 1;
    let o = runner::run(&mut b, &data, &suite, &opts, &mut Silent, &stop).unwrap();
    assert_eq!(
        o.stopped,
        Some(Stopped::TooManyFailures {
            failures: 2,
            max: 1
        })
    );
    assert_eq!(o.done, 0);
    assert_eq!(
        RunDir::at(t.path().join("a"))
            .read_responses()
            .unwrap()
            .records
            .len(),
        2
    );

    // Nothing listens on this port any more: the server is gone.
    let url = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", l.local_addr().unwrap())
    };
    let mut b = backend(&url, 3);
    let mut opts = options(&t.path().join("b"), false, Some(100));
    opts.batch = 1;
    let o = runner::run(&mut b, &data, &suite, &opts, &mut Silent, &stop).unwrap();
    match &o.stopped {
        Some(Stopped::BackendGone(why)) => assert!(why.contains("looks gone"), "{why}"),
        other => panic!("expected a stop for a gone server, got {other:?}"),
    }
    assert!(o.failed.len() <= 2, "{:?}", o.failed);
    assert!(o.failed.iter().all(|(_, f)| f.tag == "connection"));
}

#[test]
fn the_cli_stops_when_the_server_is_gone_and_prints_the_resume_command() {
    let url = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", l.local_addr().unwrap())
    };
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("gone");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_popbench"))
        .current_dir(root())
        .args(["run", "--suite", "smoke", "--batch", "1", "--model"])
        .arg(format!("openai:{url}#m"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the server looks gone"), "{stderr}");
    assert!(
        stderr.contains(&format!("--out {} --resume", out.display())),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("failed generations"), "{stdout}");
    assert!(stdout.contains("connection"), "{stdout}");
}
