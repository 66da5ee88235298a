//! A real live `popbench run` of multi-turn conversations on the default SmolLM2 GGUF, killed
//! with SIGKILL at several moments (before the first conversation, mid-conversation, and with a
//! torn write), resumed, and compared with an uninterrupted run: a conversation in flight when
//! the run died has no journal line and restarts from its first turn, and per-turn seeds make
//! the redo give the same answers. Shards merged equal the unsharded run; a shard run in the
//! other conversation mode is refused by merge.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod real_model;
mod run_common;
use run_common::{bin, data_root, kill_when_journaled, lines, model, repo, without_timings};

/// Four conversations of three child turns each.
const FAMILY: &str = "family=mt-dv-cant-call";
const ITEMS: usize = 4;

fn run_cmd(out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(repo())
        .env("POPBENCH_DATA", data_root())
        .args([
            "--quiet",
            "run",
            "--model",
            &model(),
            "--suite",
            "multiturn",
            "--only",
            FAMILY,
            "--max-tokens",
            "6",
            "--threads",
            "1",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .stdin(Stdio::null());
    c
}

fn run_ok(out: &Path, extra: &[&str]) {
    let o = run_cmd(out, extra).output().unwrap();
    assert!(
        o.status.success(),
        "run failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Starts a run and kills it with SIGKILL once its journal has `after` whole lines.
fn run_and_kill(out: &Path, after: usize, extra: &[&str]) {
    let child = run_cmd(out, extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_when_journaled(
        child,
        out,
        after,
        Duration::from_secs(300),
        Duration::from_millis(10),
    );
}

fn merge(shards: &[&Path], out: &Path) -> std::process::Output {
    Command::new(bin())
        .current_dir(repo())
        .env("POPBENCH_DATA", data_root())
        .arg("merge")
        .args(shards)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn killed_live_runs_restart_the_conversation_in_flight_and_resume_to_the_uninterrupted_result() {
    let t = tempfile::tempdir().unwrap();
    let full = t.path().join("full");
    run_ok(&full, &[]);
    let want = without_timings(&full.join("responses.jsonl"));
    assert_eq!(want.len(), ITEMS, "one line per conversation");
    for l in &want {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(
            v["turns"].as_array().map(Vec::len),
            Some(2),
            "the model answered the two earlier child turns: {l}"
        );
    }
    let want_verdicts = std::fs::read_to_string(full.join("verdicts.jsonl")).unwrap();
    let want_conversations = std::fs::read_to_string(full.join("conversations.jsonl")).unwrap();
    assert_eq!(want_conversations.lines().count(), ITEMS);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(full.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["inputs"]["conversation"], "live", "live is the default");

    // Killed before the first conversation; one at a time, killed once the first is journaled
    // (the second is in flight); two at a time, killed mid-chunk; a torn write; then finished
    // with the default batch.
    let b = t.path().join("killed");
    run_and_kill(&b, 0, &[]);
    assert!(b.join("manifest.json").exists());
    run_and_kill(&b, 1, &["--resume", "--batch", "1"]);
    run_and_kill(&b, 2, &["--resume", "--batch", "2"]);
    let journal = b.join("responses.jsonl");
    let before = lines(&journal);
    assert!(before < ITEMS, "the run was killed before it finished");
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&journal)
            .unwrap();
        f.write_all(br#"{"scenario_id":"mt-dv-cant-call-gb-en","context":"general_as"#)
            .unwrap();
    }
    run_ok(&b, &["--resume"]);
    let got = without_timings(&journal);
    assert_eq!(got, want, "resumed run differs from the uninterrupted one");
    assert_eq!(
        std::fs::read_to_string(b.join("verdicts.jsonl")).unwrap(),
        want_verdicts
    );
    assert_eq!(
        std::fs::read_to_string(b.join("conversations.jsonl")).unwrap(),
        want_conversations
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["items_done"], ITEMS);
    assert!(m["finished_at"].is_string());

    // A resume in the other mode is refused, naming it.
    let o = run_cmd(&b, &["--resume", "--conversation", "scripted"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("refusing to resume") && err.contains("conversation mode"),
        "{err}"
    );

    // Shards, merged, equal the unsharded run.
    let s0 = t.path().join("s0");
    let s1 = t.path().join("s1");
    run_ok(&s0, &["--shard", "0/2"]);
    run_ok(&s1, &["--shard", "1/2"]);
    let merged = t.path().join("merged");
    let o = merge(&[&s1, &s0], &merged);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(without_timings(&merged.join("responses.jsonl")), want);
    assert_eq!(
        std::fs::read_to_string(merged.join("verdicts.jsonl")).unwrap(),
        want_verdicts
    );
    assert_eq!(
        std::fs::read_to_string(merged.join("conversations.jsonl")).unwrap(),
        want_conversations
    );

    // A shard run in scripted mode is not a shard of the live run.
    let s1_scripted = t.path().join("s1-scripted");
    run_ok(
        &s1_scripted,
        &["--shard", "1/2", "--conversation", "scripted"],
    );
    let o = merge(&[&s0, &s1_scripted], &t.path().join("mixed"));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("shards of different runs") && err.contains("conversation mode"),
        "{err}"
    );
}
