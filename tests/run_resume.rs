//! A real `popbench run` on the default SmolLM2 GGUF, killed with SIGKILL at several moments
//! (before the first item, between items, and with a torn write), resumed, and compared with an
//! uninterrupted run; shards merged and compared; a changed-input resume refused.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod real_model;
mod run_common;
use run_common::{bin, data_root, kill_when_journaled, lines, model, repo, without_timings};

const MAX_TOKENS: &str = "6";

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
            "smoke",
            "--max-tokens",
            MAX_TOKENS,
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
fn run_and_kill(out: &Path, after: usize, resume: bool) {
    let extra: &[&str] = if resume { &["--resume"] } else { &[] };
    let child = run_cmd(out, extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_when_journaled(
        child,
        out,
        after,
        Duration::from_secs(600),
        Duration::from_millis(20),
    );
}

#[test]
fn killed_runs_resume_to_the_uninterrupted_result_and_shards_merge_to_it() {
    let t = tempfile::tempdir().unwrap();
    let full = t.path().join("full");
    run_ok(&full, &[]);
    let want = without_timings(&full.join("responses.jsonl"));
    assert_eq!(want.len(), 10, "the smoke suite has 10 items");
    let want_verdicts = std::fs::read_to_string(full.join("verdicts.jsonl")).unwrap();

    // Killed before the first item, then after 2 and 5 items, then a torn write, then finished.
    let b = t.path().join("killed");
    run_and_kill(&b, 0, false);
    assert!(b.join("manifest.json").exists());
    run_and_kill(&b, 2, true);
    run_and_kill(&b, 5, true);
    let journal = b.join("responses.jsonl");
    let before = lines(&journal);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&journal)
            .unwrap();
        f.write_all(br#"{"scenario_id":"smoke-torn","context":"general_as"#)
            .unwrap();
    }
    run_ok(&b, &["--resume"]);
    assert!(lines(&journal) >= before);
    let got = without_timings(&journal);
    assert_eq!(got, want, "resumed run differs from the uninterrupted one");
    let mut ids: Vec<&String> = got.iter().collect();
    ids.dedup();
    assert_eq!(ids.len(), 10, "an item appears twice");
    assert_eq!(
        std::fs::read_to_string(b.join("verdicts.jsonl")).unwrap(),
        want_verdicts
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["items_done"], 10);
    assert!(m["finished_at"].is_string());

    // A resume with other inputs is refused, naming what differs.
    let o = Command::new(bin())
        .current_dir(repo())
        .env("POPBENCH_DATA", data_root())
        .args([
            "run",
            "--model",
            &model(),
            "--suite",
            "smoke",
            "--max-tokens",
            "7",
            "--out",
        ])
        .arg(&b)
        .arg("--resume")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("refusing to resume") && err.contains("generation parameters"),
        "{err}"
    );

    // Shards, merged, equal the unsharded run.
    let s0 = t.path().join("s0");
    let s1 = t.path().join("s1");
    run_ok(&s0, &["--shard", "0/2"]);
    // Merging with a shard missing is refused.
    let m = t.path().join("merged");
    let o = Command::new(bin())
        .current_dir(repo())
        .env("POPBENCH_DATA", data_root())
        .arg("merge")
        .arg(&s0)
        .arg("--out")
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing shard(s): 1/2"));
    run_ok(&s1, &["--shard", "1/2"]);
    // The same shard twice is refused.
    let o = Command::new(bin())
        .current_dir(repo())
        .env("POPBENCH_DATA", data_root())
        .arg("merge")
        .arg(&s0)
        .arg(&s0)
        .arg("--out")
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("given twice"));
    let o = Command::new(bin())
        .current_dir(repo())
        .env("POPBENCH_DATA", data_root())
        .arg("merge")
        .arg(&s1)
        .arg(&s0)
        .arg("--out")
        .arg(&m)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(without_timings(&m.join("responses.jsonl")), want);
    assert_eq!(
        std::fs::read_to_string(m.join("verdicts.jsonl")).unwrap(),
        want_verdicts
    );
}

#[test]
fn a_run_directory_is_never_overwritten() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("r");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("responses.jsonl"), "").unwrap();
    let o = run_cmd(&out, &[]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already holds a run; use --resume"));
}
