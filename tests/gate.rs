//! `popbench gate`: every outcome of the release gate, on real run directories made by
//! `popbench run` from replay files on the smoke suite. The gate's figures are checked
//! against the report's own (`popbench report` → results.json), never against numbers
//! written here.

mod cli_common;

use cli_common::{popbench, root, show};
use popbench::dataset::Dataset;
use popbench::scenario::Scenario;
use popbench::taxonomy::ContactKind;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn stdout_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// An answer giving every current phone contact of the scenario's country: it meets what
/// the policy asks for where the directory has it.
fn full_answer(data: &Dataset, sc: &Scenario) -> Option<String> {
    let e = data.directory.country(&sc.country)?;
    let contacts: Vec<String> = e
        .services
        .iter()
        .flat_map(|s| {
            s.contacts
                .iter()
                .filter(|c| {
                    c.kind == ContactKind::Phone && c.status == popbench::directory::Status::Current
                })
                .map(move |c| format!("{} on {}", s.name, c.value))
        })
        .collect();
    Some(format!(
        "I'm so sorry this is happening, and it is not your fault. You can get help right now: {}. If you are in danger, call the emergency number now.",
        contacts.join(", ")
    ))
}

const WEAK: &str = "I'm sorry this is happening. Please talk to an adult you trust.";

/// A replay file over the smoke suite: `good(index, sample)` says which items get the full
/// answer.
fn replay(dir: &Path, name: &str, samples: u32, good: impl Fn(usize, u32) -> bool) -> String {
    let data = Dataset::load_strict(&root()).unwrap();
    let suite = popbench::run::scoring::load_suite("smoke", &root()).unwrap();
    let mut text = String::new();
    for (i, sc) in suite.scenarios.iter().enumerate() {
        for sample in 0..samples {
            let response = if good(i, sample) {
                full_answer(&data, sc).unwrap_or_else(|| WEAK.into())
            } else {
                WEAK.into()
            };
            let line =
                serde_json::json!({"scenario_id": sc.id, "sample": sample, "response": response});
            text.push_str(&line.to_string());
            text.push('\n');
        }
    }
    let p = dir.join(format!("{name}.jsonl"));
    std::fs::write(&p, text).unwrap();
    format!("replay:{}", p.display())
}

/// Runs a replay on the smoke suite into `dir/name`.
fn run_replay(dir: &Path, name: &str, model: &str, extra: &[&str]) -> String {
    let out = dir.join(name).display().to_string();
    let mut args = vec![
        "--quiet", "run", "--model", model, "--suite", "smoke", "--out", &out,
    ];
    args.extend_from_slice(extra);
    let o = popbench(&args);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    out
}

/// results.json of the report over `runs`.
fn results(dir: &Path, runs: &[&str]) -> Value {
    let out = dir.join(format!("report-{}", runs.len()));
    let out_s = out.display().to_string();
    let mut args = vec!["--quiet", "report"];
    args.extend_from_slice(runs);
    args.extend_from_slice(&["--out", &out_s]);
    let o = popbench(&args);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

/// A metric's figure of the report's first leaderboard system (or its pass^k figure).
fn figure(results: &Value, system: usize, metric: &str, pass_k: bool) -> (f64, f64, f64, u64, u64) {
    let m = results["leaderboard"][system]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == metric)
        .unwrap();
    let f = if pass_k { &m["pass_k"] } else { &m["figure"] };
    (
        f["p"].as_f64().unwrap(),
        f["lo"].as_f64().unwrap(),
        f["hi"].as_f64().unwrap(),
        f["k"].as_u64().unwrap(),
        f["n"].as_u64().unwrap(),
    )
}

fn gate(args: &[&str]) -> Output {
    let mut all = vec!["gate"];
    all.extend_from_slice(args);
    popbench(&all)
}

/// A threshold just below (`-1`) or above (`+1`) `x`, written with 4 decimals.
fn near(x: f64, side: i32) -> String {
    let t = (x * 10_000.0).floor() / 10_000.0 + f64::from(side) * 0.0001;
    format!("{:.4}", t.clamp(0.0, 1.0))
}

#[test]
fn the_gate_holds_fails_and_tests_the_bound_on_the_report_figures() {
    let t = tempfile::tempdir().unwrap();
    let model = replay(t.path(), "half", 1, |i, _| i % 2 == 0);
    let a = run_replay(t.path(), "half", &model, &[]);
    let res = results(t.path(), &[&a]);
    let (p, lo, hi, k, n) = figure(&res, 0, "pass", false);
    assert!(
        0.0 < lo && lo < p && p < 1.0,
        "the run must pass some items: {p} [{lo}, {hi}]"
    );

    // At the estimate: holds just below it, fails just above it with one line on stdout.
    let o = gate(&[&a, "--require", &format!("pass>={}", near(p, -1))]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(o.stdout.is_empty(), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("gate passed: all 1 requirement(s) hold"));
    let above = near(p, 1);
    let o = gate(&[&a, "--require", &format!("pass>={above}")]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert_eq!(
        stdout_lines(&o),
        [format!(
            "pass: {p:.3} [{lo:.3}, {hi:.3}] < {above} ({k}/{n} responses)"
        )]
    );

    // --on lower: the same threshold below the estimate fails on the lower bound; one below
    // the lower bound holds.
    let o = gate(&[
        &a,
        "--on",
        "lower",
        "--require",
        &format!("pass>={}", near(p, -1)),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert_eq!(
        stdout_lines(&o),
        [format!(
            "pass: {p:.3} [{lo:.3}, {hi:.3}]: lower bound {lo:.3} < {} ({k}/{n} responses)",
            near(p, -1)
        )]
    );
    let o = gate(&[
        &a,
        "--on",
        "lower",
        "--require",
        &format!("pass>={}", near(lo, -1)),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));

    // A lower-is-better metric tests its upper bound; several requirements, one line per
    // failure, in the order given.
    let (_, _, ihi, ..) = figure(&res, 0, "invented_contact", false);
    let o = gate(&[
        &a,
        "--on",
        "lower",
        "--require",
        &format!("invented_contact<={}", near(ihi, 1)),
        "--require",
        &format!("pass>={above}"),
        "--require",
        "pass>0",
        "--require",
        "pass>=1",
    ]);
    let lines = stdout_lines(&o);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert_eq!(lines.len(), 2, "{}", show(&o));
    assert!(
        lines[0].starts_with("pass: ") && lines[0].contains(&format!("< {above} (")),
        "{lines:?}"
    );
    assert!(
        lines[1].contains(": lower bound ") && lines[1].contains("< 1 ("),
        "{lines:?}"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("ok: invented_contact: ")
            && stderr.contains(&format!(": upper bound {ihi:.3} <= ")),
        "{stderr}"
    );
    assert!(stderr.contains("ok: pass: "), "{stderr}");
    assert!(
        stderr.contains("gate failed: 2 of 4 requirement(s) do not hold"),
        "{stderr}"
    );
}

#[test]
fn every_sample_pooled_runs_and_a_baseline_use_the_report_figures() {
    let t = tempfile::tempdir().unwrap();
    // Two samples per item: the first is good on even items, the second on none.
    let model = replay(t.path(), "two", 2, |i, s| s == 0 && i % 2 == 0);
    let two = run_replay(t.path(), "two", &model, &["--samples", "2"]);
    let res = results(t.path(), &[&two]);
    let (p, ..) = figure(&res, 0, "pass", false);
    let (pk, lo, hi, k, n) = figure(&res, 0, "pass", true);
    assert!(pk < p, "pass^2 {pk} must be below pass {p}");
    let o = gate(&[&two, "--require-each", "pass>=0.5"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert_eq!(
        stdout_lines(&o),
        [format!(
            "pass, every one of 2 samples: {pk:.3} [{lo:.3}, {hi:.3}] < 0.5 ({k}/{n} items)"
        )]
    );
    // For a lower-is-better metric, the share of items where some sample has the outcome.
    let (ik, ilo, ihi, ikk, in_) = figure(&res, 0, "refusal_without_help", true);
    let o = gate(&[&two, "--require-each", "refusal_without_help<=1"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!(
            "ok: refusal_without_help, any of 2 samples: {:.3} [{:.3}, {:.3}] <= 1 ({}/{in_} items)",
            1.0 - ik,
            1.0 - ihi,
            1.0 - ilo,
            in_ - ikk
        )),
        "{}",
        show(&o)
    );

    // Repeated runs pool as samples: two runs of one sample each are one run of two.
    let one = replay(t.path(), "one", 1, |i, _| i % 2 == 0);
    let r1 = run_replay(t.path(), "r1", &one, &[]);
    let r2 = run_replay(t.path(), "r2", &one, &["--seed", "7"]);
    let (p1, ..) = figure(&results(t.path(), &[&r1]), 0, "pass", false);
    let o = gate(&[&r1, &r2, "--require-each", "pass>=1"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let line = &stdout_lines(&o)[0];
    assert!(
        line.starts_with(&format!("pass, every one of 2 samples: {p1:.3} [")),
        "{line}"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("2 runs pooled"),
        "{}",
        show(&o)
    );
    // Runs of different systems are not pooled.
    let o = gate(&[&r1, &two, "--require", "pass>=0"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not repeated runs of one system"),
        "{}",
        show(&o)
    );

    // A baseline: the paired difference and its interval are the report's comparison.
    let weak = replay(t.path(), "weak", 1, |_, _| false);
    let base = run_replay(t.path(), "weak", &weak, &[]);
    let res = results(t.path(), &[&r1, &base]);
    let c = res["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == "pass")
        .unwrap()
        .clone();
    let r1_label = res["leaderboard"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["run_id"] == "r1")
        .unwrap()["system"]
        .clone();
    let sign = if c["a"] == r1_label { 1.0 } else { -1.0 };
    let (d, dlo, dhi) = (
        c["difference"].as_f64().unwrap(),
        c["lo"].as_f64().unwrap(),
        c["hi"].as_f64().unwrap(),
    );
    // r1 is better than the weak baseline: d(r1 − weak) > 0 either way the report lists them.
    let (d, dlo, dhi) = if sign > 0.0 {
        (d, dlo, dhi)
    } else {
        (-d, -dhi, -dlo)
    };
    assert!(d > 0.0, "{c}");
    let o = gate(&[&r1, "--baseline", &base, "--require", "pass>=baseline"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let o = gate(&[&base, "--baseline", &r1, "--require", "pass>=baseline-0.02"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let pairs = c["pairs"].as_u64().unwrap();
    let line = &stdout_lines(&o)[0];
    assert!(
        line.starts_with(&format!(
            "pass - baseline: {:+.3} [{:+.3}, {:+.3}] < -0.020 (",
            -d, -dhi, -dlo
        )) && line.ends_with(&format!("on {pairs} paired responses)")),
        "{line}"
    );
}

#[test]
fn bad_input_exits_2_and_names_the_problem() {
    let t = tempfile::tempdir().unwrap();
    let model = replay(t.path(), "half", 1, |i, _| i % 2 == 0);
    let a = run_replay(t.path(), "half", &model, &[]);
    let err = |o: &Output| String::from_utf8_lossy(&o.stderr).to_string();
    for (args, what) in [
        (vec!["--require", "invent<=0"], "unknown metric `invent`"),
        (vec!["--require", "pass>=1.2"], "outside 0..1"),
        (vec!["--require", "pass"], "expected METRIC>=VALUE"),
        (
            vec!["--on", "upper", "--require", "pass>=0"],
            "expected point or lower",
        ),
        (vec![], "--require"),
        (vec!["--require", "pass>=baseline"], "no --baseline RUN_DIR"),
        (
            vec!["--require-each", "pass>=0.5"],
            "needs more than one sample per item",
        ),
    ] {
        let mut all = vec![a.as_str()];
        all.extend(args.iter().copied());
        let o = gate(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", show(&o));
        assert!(err(&o).contains(what), "{args:?}: {}", show(&o));
        assert!(o.stdout.is_empty(), "{args:?}: {}", show(&o));
    }
    // A metric with nothing to count in these runs.
    let only = run_replay(
        t.path(),
        "only",
        &model,
        &["--only", "id=smoke-bullying-us-en"],
    );
    let o = gate(&[&only, "--require", "emergency_given>=0.5"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        err(&o).contains("no response in its denominator"),
        "{}",
        show(&o)
    );
    // An unscored run, a missing run.
    let unscored = run_replay(t.path(), "unscored", &model, &["--no-score"]);
    let o = gate(&[&unscored, "--require", "pass>=0"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(err(&o).contains("popbench score"), "{}", show(&o));
    let o = gate(&["/no/such/run", "--require", "pass>=0"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(err(&o).contains("/no/such/run"), "{}", show(&o));
    // An incomplete run: one item's generation failed.
    let journal = Path::new(&a).join("responses.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines[0]["response"] = "".into();
    lines[0]["finish_reason"] = "error".into();
    lines[0]["error"] = serde_json::json!({"tag": "timeout", "message": "no answer in 120 s"});
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&journal, text).unwrap();
    let o = gate(&[&a, "--require", "pass>=0"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        err(&o).contains("is incomplete") && err(&o).contains("--resume"),
        "{}",
        show(&o)
    );
}

#[test]
fn conversation_metrics_are_gated_on_the_report_figures_of_live_conversations() {
    // The committed live run of the multiturn suite (real SmolLM2 answers).
    let run = root().join("reports/sample-multiturn/run");
    let run = run.display().to_string();
    let t = tempfile::tempdir().unwrap();
    let res = results(t.path(), &[&run]);
    let group = &res["conversations"]["groups"][0];
    assert_eq!(group["adaptive_child"], false, "{group}");
    let fig = |id: &str| {
        let f = &group["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == id)
            .unwrap()["figure"];
        (
            f["p"].as_f64().unwrap(),
            f["lo"].as_f64().unwrap(),
            f["hi"].as_f64().unwrap(),
            f["k"].as_u64().unwrap(),
            f["n"].as_u64().unwrap(),
        )
    };
    let (p, lo, hi, k, n) = fig("abandonment");
    assert!(n > 0);
    let o = gate(&[&run, "--require", &format!("abandonment<{}", near(p, -1))]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert_eq!(
        stdout_lines(&o),
        [format!(
            "abandonment: {p:.3} [{lo:.3}, {hi:.3}] >= {} ({k}/{n} conversations)",
            near(p, -1)
        )]
    );
    let o = gate(&[
        &run,
        "--on",
        "lower",
        "--require",
        &format!("abandonment<={}", near(hi, 1)),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    // Counted over conversations only: not per sample, not against a baseline, and not on a
    // run without live conversations.
    let o = gate(&[&run, "--require-each", "abandonment<=0.2"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    let o = gate(&[
        &run,
        "--baseline",
        &run,
        "--require",
        "abandonment<=baseline",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    let model = replay(t.path(), "half", 1, |i, _| i % 2 == 0);
    let single = run_replay(t.path(), "half", &model, &[]);
    let o = gate(&[&single, "--require", "abandonment<=0.2"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no live conversation in these runs"),
        "{}",
        show(&o)
    );
}
