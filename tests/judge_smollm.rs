//! The real default model (SmolLM2-135M-Instruct Q4_1) as a judge, end to end through
//! `popbench judge-eval` on a small subset of the judge gold set. A 135M model is a poor
//! judge: this test checks that the command runs, reads what it can, records the rest as
//! judge errors and writes a complete report — not that the agreement is good.
//!
//! The model file comes from $POPBENCH_TEST_MODEL or ./models/ (scripts/fetch-model).

mod real_model;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn smollm2_runs_judge_eval_end_to_end_on_a_small_subset() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("eval.json");
    let o = Command::new(env!("CARGO_BIN_EXE_popbench"))
        .env("POPBENCH_DATA", &root)
        .args(["judge-eval", "--judge"])
        .arg(format!("gguf:{}", real_model::path().display()))
        .arg("--gold")
        .arg(root.join("tests/data/judge"))
        .args([
            "--limit",
            "2",
            "--judge-examples",
            "off",
            "--judge-max-tokens",
            "64",
            "--judge-batch",
            "2",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{}\n{}",
        stdout,
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("criterion"), "{stdout}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(r["items"], 2);
    assert_eq!(r["judge"]["backend"], "candle-gguf");
    let criteria = r["criteria"].as_array().unwrap();
    assert_eq!(criteria.len(), 14);
    for c in criteria {
        let asked = c["asked"].as_u64().unwrap();
        let graded = c["judge"]["n"].as_u64().unwrap();
        let errors = c["judge_errors"].as_u64().unwrap();
        // Every asked item is either graded or a judge error: nothing silently becomes "no".
        assert_eq!(graded + errors, asked, "{c}");
        assert_eq!(
            c["reliable"].as_bool(),
            Some(
                c["judge"]["kappa"]["value"]
                    .as_f64()
                    .is_some_and(|k| k >= 0.6)
            )
        );
    }
    // At most one retry per item.
    let calls = r["judge_calls"].as_u64().unwrap();
    assert!((2..=4).contains(&calls), "{calls}");
    // Each item's raw judge output is kept for review.
    assert_eq!(r["judgements"].as_array().unwrap().len(), 2);
}
