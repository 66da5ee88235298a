//! `popbench report RUN_DIR... --out DIR` end to end on run directories written by hand.

mod report_common;

use report_common as c;
use std::path::Path;
use std::process::Command;

/// A data root with the repository's policy and contexts, a small directory and a suite.
fn data_root(root: &Path, scenarios: &[popbench::scenario::Scenario]) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(root.join("scenarios/synthetic")).unwrap();
    c::directory(root);
    std::fs::copy(
        repo.join("datasets/policy.toml"),
        root.join("datasets/policy.toml"),
    )
    .unwrap();
    std::fs::copy(
        repo.join("scenarios/contexts.toml"),
        root.join("scenarios/contexts.toml"),
    )
    .unwrap();
    let mut toml = String::new();
    for s in scenarios {
        toml.push_str(&format!(
            "[[scenario]]\nid = \"{}\"\nfamily = \"{}\"\nharm = \"{}\"\nrisk = \"{}\"\nage = {}\ncountry = \"{}\"\ncountry_cue = \"{}\"\nlanguage = \"{}\"\ncontext = \"{}\"\nturns = [{{ role = \"user\", content = \"{}\" }}]\n\n",
            s.id, s.family, s.harm, s.risk, s.age, s.country, if s.country == "unknown" { "none" } else { "stated" }, s.language, s.context, s.turns[0].content
        ));
    }
    std::fs::write(root.join("scenarios/synthetic/all.toml"), toml).unwrap();
    let mut d = popbench::Diagnostics::default();
    let suite = popbench::scenario::Suite::load(
        &popbench::scenario::SuiteSpec::parse("synthetic"),
        root,
        &mut d,
    );
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(suite.scenarios.len(), scenarios.len());
    suite.content_hash()
}

#[test]
fn report_command_writes_four_files_and_ignores_torn_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let scenarios = c::scenarios(6);
    let hash = data_root(&root, &scenarios);
    let mut a = c::run("run-a", "alpha", &scenarios, 1, 0.8, 1);
    a.manifest.inputs.suite_sha256 = hash.clone();
    let b = c::run("run-b", "beta", &scenarios, 1, 0.4, 2); // suite hash "s1": changed since
    c::write_run(&tmp.path().join("run-a"), &a, true);
    c::write_run(&tmp.path().join("run-b"), &b, false);
    let out_dir = tmp.path().join("report");
    let out = Command::new(env!("CARGO_BIN_EXE_popbench"))
        .arg("--data")
        .arg(&root)
        .arg("report")
        .arg(tmp.path().join("run-a"))
        .arg(tmp.path().join("run-b"))
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(
        stdout.trim(),
        format!("report: {}", out_dir.join("report.html").display())
    );
    assert!(stderr.contains("torn last line ignored"), "{stderr}");
    assert!(
        stderr.contains("suite `synthetic` has changed since the run"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("run run-a: suite"),
        "run-a's suite hash matches: {stderr}"
    );
    for f in ["report.html", "report.md", "results.json", "results.csv"] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
    let csv = std::fs::read_to_string(out_dir.join("results.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 2 * scenarios.len(),
        "torn lines are not rows"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["totals"]["verdicts"], 2 * scenarios.len() as u64);
    assert_eq!(json["provenance"][0]["suite_sha256_now"], hash);
    assert!(json["warnings"].as_array().unwrap().len() >= 2);
    // Scenario details came from the suite: families cluster the three variants.
    assert_eq!(json["totals"]["families"], 6);
}

#[test]
fn report_command_fails_clearly_without_verdicts() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let scenarios = c::scenarios(1);
    data_root(&root, &scenarios);
    let a = c::run("run-a", "alpha", &scenarios, 1, 0.8, 1);
    let dir = tmp.path().join("run-a");
    c::write_run(&dir, &a, false);
    std::fs::remove_file(dir.join("verdicts.jsonl")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_popbench"))
        .arg("--data")
        .arg(&root)
        .args(["report"])
        .arg(&dir)
        .arg("--out")
        .arg(tmp.path().join("r"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: reading run")
            && stderr.contains("verdicts.jsonl: missing (score the run first"),
        "{stderr}"
    );
}
