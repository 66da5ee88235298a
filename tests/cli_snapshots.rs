//! The command line pinned: exit code, stdout and stderr of the main commands' success and
//! error paths, as insta snapshots (tests/snapshots/). Paths, times, versions and the scorer's
//! figures are filtered, so a snapshot changes only when what the CLI says changes.
//!
//! Fast by design: the smoke suite, replayed responses, no model.
//! After an intended change: `INSTA_UPDATE=always cargo test --test cli_snapshots`, then read
//! the diff of tests/snapshots/.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs popbench in the repository root and renders exit code, stdout and stderr.
fn popbench(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_popbench"))
        .current_dir(root())
        .env_remove("POPBENCH_DATA")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap();
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        o.status
            .code()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "signal".into()),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Filters for what changes from machine to machine and from one version to the next.
fn filters(tmp: &Path) -> Vec<(String, String)> {
    vec![
        (regex_escape(&tmp.display().to_string()), "[TMP]".into()),
        (regex_escape(&root().display().to_string()), "[REPO]".into()),
        (r"\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?".into(), "[VERSION]".into()),
        (r"\d{8}-\d{6}".into(), "[TIME]".into()),
        // The scorer's figures belong to the scorer's own tests.
        (r"\d+\.\d% \(\d+/\d+\)".into(), "[RATE]".into()),
        // The gate's rates, intervals and event counts are the scorer's too.
        (r"[-+]?\d\.\d{3}\b".into(), "[P]".into()),
        (
            r"\(\d+/(\d+) (responses|items)\)".into(),
            "([K]/$1 $2)".into(),
        ),
        (r"\(\d+\.\d+s\)|\d+\.\d+ ?s\b".into(), "[SECONDS]".into()),
        // Progress lines: pass or fail, running pass rate and time are the scorer's and the clock's.
        (
            r"(?m)tokens(, pass|, fail)?  \(.*\)$".into(),
            "tokens [PROGRESS]".into(),
        ),
    ]
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

macro_rules! snap {
    ($tmp:expr, $name:expr, $value:expr) => {{
        let f = filters($tmp);
        let mut settings = insta::Settings::clone_current();
        for (a, b) in &f {
            settings.add_filter(a, b.as_str());
        }
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!($name, $value));
    }};
}

/// A replay file answering every smoke item (one answer right, the others not).
fn smoke_replay(dir: &Path) -> PathBuf {
    let suite = popbench::run::scoring::load_suite("smoke", &root()).unwrap();
    let p = dir.join("smoke-replay.jsonl");
    let mut text = String::new();
    for s in &suite.scenarios {
        let line = serde_json::json!({
            "scenario_id": s.id,
            "sample": 0,
            "response": "I'm sorry this is happening. Please talk to an adult you trust.",
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn validate_and_scenarios() {
    let t = tempfile::tempdir().unwrap();
    snap!(
        t.path(),
        "validate_broken_data",
        popbench(&["--data", "tests/data/broken", "validate"])
    );
    snap!(
        t.path(),
        "scenarios_smoke",
        popbench(&["scenarios", "--suite", "smoke"])
    );
    snap!(
        t.path(),
        "scenarios_unknown_suite",
        popbench(&["scenarios", "--suite", "no-such-suite"])
    );
}

#[test]
fn run_score_and_merge_with_a_replay_on_the_smoke_suite() {
    let t = tempfile::tempdir().unwrap();
    let replay = smoke_replay(t.path());
    let model = format!("replay:{}", replay.display());
    let out = t.path().join("run");
    let out_s = out.display().to_string();
    snap!(
        t.path(),
        "run_replay_smoke",
        popbench(&["run", "--model", &model, "--suite", "smoke", "--out", &out_s])
    );
    snap!(
        t.path(),
        "run_into_a_run",
        popbench(&["run", "--model", &model, "--suite", "smoke", "--out", &out_s])
    );
    snap!(t.path(), "score_run", popbench(&["score", &out_s]));
    let merged = t.path().join("merged").display().to_string();
    snap!(
        t.path(),
        "merge_not_a_shard",
        popbench(&["merge", &out_s, "--out", &merged])
    );
    let missing = t.path().join("nothing").display().to_string();
    snap!(
        t.path(),
        "merge_not_a_run",
        popbench(&["merge", &missing, "--out", &merged])
    );
    // Two of three shards.
    for i in 0..2 {
        let d = t.path().join(format!("shard{i}")).display().to_string();
        let shard = format!("{i}/3");
        let o = popbench(&[
            "--quiet", "run", "--model", &model, "--suite", "smoke", "--shard", &shard, "--out", &d,
        ]);
        assert!(o.starts_with("exit: 0"), "{o}");
    }
    let s0 = t.path().join("shard0").display().to_string();
    let s1 = t.path().join("shard1").display().to_string();
    snap!(
        t.path(),
        "merge_missing_shard",
        popbench(&["merge", &s0, &s1, "--out", &merged])
    );
    snap!(
        t.path(),
        "merge_shard_twice",
        popbench(&["merge", &s0, &s0, "--out", &merged])
    );
}

#[test]
fn run_selects_items_and_a_replay_covering_part_of_the_plan() {
    let t = tempfile::tempdir().unwrap();
    let replay = smoke_replay(t.path());
    // Keep the first three answers only.
    let text = std::fs::read_to_string(&replay).unwrap();
    let part = t.path().join("part.jsonl");
    std::fs::write(
        &part,
        text.lines()
            .take(3)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let model = format!("replay:{}", part.display());
    let out = t.path().join("part").display().to_string();
    snap!(
        t.path(),
        "run_replay_missing_items",
        popbench(&["run", "--model", &model, "--suite", "smoke", "--out", &out])
    );
    snap!(
        t.path(),
        "run_only_replayed",
        popbench(&[
            "run", "--model", &model, "--suite", "smoke", "--only", "replayed", "--out", &out,
        ])
    );
    snap!(
        t.path(),
        "run_resume_other_selection",
        popbench(&[
            "run", "--model", &model, "--suite", "smoke", "--only", "replayed", "--limit", "2",
            "--out", &out, "--resume",
        ])
    );
    let full = format!("replay:{}", replay.display());
    let lim = t.path().join("lim").display().to_string();
    snap!(
        t.path(),
        "run_limit",
        popbench(&[
            "--quiet",
            "run",
            "--model",
            &full,
            "--suite",
            "smoke",
            "--limit",
            "2",
            "--no-score",
            "--out",
            &lim,
        ])
    );
}

#[test]
fn bad_flags_exit_2_before_any_model_loads() {
    let t = tempfile::tempdir().unwrap();
    let replay = smoke_replay(t.path());
    let model = format!("replay:{}", replay.display());
    let out = t.path().join("never").display().to_string();
    let cases: &[(&str, Vec<&str>)] = &[
        (
            "bad_model_spec",
            vec!["run", "--model", "what is this?", "--suite", "smoke"],
        ),
        (
            "bad_model_file",
            vec![
                "run",
                "--model",
                "gguf:no/such/model.gguf",
                "--suite",
                "smoke",
            ],
        ),
        (
            "bad_second_model",
            vec![
                "run",
                "--model",
                &model,
                "--model",
                "no-such-alias",
                "--suite",
                "smoke",
            ],
        ),
        (
            "bad_device",
            vec![
                "run", "--model", &model, "--device", "tpu", "--suite", "smoke",
            ],
        ),
        (
            "bad_stop_count",
            vec![
                "run", "--model", &model, "--suite", "smoke", "--stop", "a", "--stop", "b",
                "--stop", "c", "--stop", "d", "--stop", "e",
            ],
        ),
        (
            "bad_stop_empty",
            vec![
                "run", "--model", &model, "--suite", "smoke", "--stop", ".", "--stop", "",
            ],
        ),
        (
            "stop_with_a_replay",
            vec!["run", "--model", &model, "--suite", "smoke", "--stop", "."],
        ),
        (
            "bad_context",
            vec![
                "run",
                "--model",
                &model,
                "--context",
                "nowhere",
                "--suite",
                "smoke",
            ],
        ),
        (
            "bad_suite",
            vec!["run", "--model", &model, "--suite", "no-such-suite"],
        ),
        (
            "bad_only_key",
            vec![
                "run",
                "--model",
                &model,
                "--suite",
                "smoke",
                "--only",
                "colour=red",
            ],
        ),
        (
            "bad_only_harm",
            vec![
                "run",
                "--model",
                &model,
                "--suite",
                "smoke",
                "--only",
                "harm=dragons",
            ],
        ),
        (
            "bad_conversation_mode",
            vec![
                "run",
                "--model",
                &model,
                "--suite",
                "smoke",
                "--conversation",
                "improvised",
            ],
        ),
        (
            "child_with_scripted_conversations",
            vec![
                "run",
                "--model",
                &model,
                "--suite",
                "multiturn",
                "--conversation",
                "scripted",
                "--child",
                "smollm2-135m-instruct",
            ],
        ),
        (
            "child_from_a_replay",
            vec![
                "run",
                "--model",
                &model,
                "--suite",
                "multiturn",
                "--child",
                &model,
            ],
        ),
        (
            "only_replayed_without_replay",
            vec![
                "run",
                "--model",
                "openai:http://127.0.0.1:9/v1#m",
                "--suite",
                "smoke",
                "--only",
                "replayed",
            ],
        ),
    ];
    for (name, args) in cases {
        let mut a: Vec<&str> = args.clone();
        a.extend(["--out", &out]);
        let o = popbench(&a);
        assert!(o.starts_with("exit: 2"), "{name}: {o}");
        snap!(t.path(), *name, o);
    }
    assert!(!Path::new(&out).exists(), "nothing was written");
    // `chat` checks its stop strings before it loads a model, as `run` does.
    let o = popbench(&["chat", "--model", &model, "--stop", "", "hello"]);
    assert!(o.starts_with("exit: 2"), "{o}");
    snap!(t.path(), "bad_chat_stop_empty", o);
}

#[test]
fn score_a_run_whose_suite_changed_since_it_ran() {
    let t = tempfile::tempdir().unwrap();
    let suite_dir = t.path().join("suite");
    std::fs::create_dir_all(&suite_dir).unwrap();
    let text = std::fs::read_to_string(root().join("scenarios/smoke/smoke.toml")).unwrap();
    let file = suite_dir.join("smoke.toml");
    std::fs::write(&file, &text).unwrap();
    let replay = smoke_replay(t.path());
    let model = format!("replay:{}", replay.display());
    let out = t.path().join("run").display().to_string();
    let suite = suite_dir.display().to_string();
    let o = popbench(&[
        "--quiet",
        "run",
        "--model",
        &model,
        "--suite",
        &suite,
        "--no-score",
        "--out",
        &out,
    ]);
    assert!(o.starts_with("exit: 0"), "{o}");
    // The suite loses its first scenario after the run.
    let mut blocks: Vec<&str> = text.split("[[scenario]]").collect();
    assert!(blocks.len() > 2);
    blocks.remove(1);
    std::fs::write(&file, blocks.join("[[scenario]]")).unwrap();
    snap!(t.path(), "score_changed_suite", popbench(&["score", &out]));
}

#[test]
fn gate_holds_fails_and_refuses_bad_input() {
    let t = tempfile::tempdir().unwrap();
    let replay = smoke_replay(t.path());
    let model = format!("replay:{}", replay.display());
    let out = t.path().join("run").display().to_string();
    let o = popbench(&[
        "--quiet", "run", "--model", &model, "--suite", "smoke", "--out", &out,
    ]);
    assert!(o.starts_with("exit: 0"), "{o}");
    snap!(
        t.path(),
        "gate_holds",
        popbench(&[
            "gate",
            &out,
            "--require",
            "pass>=0",
            "--require",
            "invented_contact<=1",
        ])
    );
    snap!(
        t.path(),
        "gate_fails",
        popbench(&[
            "gate",
            &out,
            "--on",
            "lower",
            "--require",
            "pass>0.5",
            "--require",
            "invented_contact<=1",
            "--require",
            "helpline_correct>=90%",
        ])
    );
    snap!(
        t.path(),
        "gate_unknown_metric",
        popbench(&["gate", &out, "--require", "invent<=0"])
    );
    snap!(
        t.path(),
        "gate_baseline_missing",
        popbench(&["gate", &out, "--require", "pass>=baseline-0.02"])
    );
    snap!(
        t.path(),
        "gate_each_needs_samples",
        popbench(&["gate", &out, "--require-each", "pass>=0.9"])
    );
    snap!(
        t.path(),
        "gate_baseline",
        popbench(&[
            "gate",
            &out,
            "--baseline",
            &out,
            "--require",
            "pass>=baseline-0.02",
        ])
    );
}
