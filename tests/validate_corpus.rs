//! `popbench validate` on the shipped data and on a corpus of broken files: every broken file
//! gives exit 2 and its `path:line: message`, and nothing panics.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_popbench"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[allow(dead_code)]
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// A data root with the shipped policy and contexts, the shipped GB directory entry (the
/// corpus scenarios are set in GB), and no scenarios.
fn base_root() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("datasets/directory")).unwrap();
    std::fs::copy(
        repo().join("datasets/directory/GB.toml"),
        t.path().join("datasets/directory/GB.toml"),
    )
    .unwrap();
    std::fs::copy(
        repo().join("datasets/policy.toml"),
        t.path().join("datasets/policy.toml"),
    )
    .unwrap();
    std::fs::create_dir_all(t.path().join("scenarios/mini")).unwrap();
    std::fs::copy(
        repo().join("scenarios/contexts.toml"),
        t.path().join("scenarios/contexts.toml"),
    )
    .unwrap();
    t
}

fn validate(root: &Path) -> (i32, String, String) {
    let out = Command::new(bin())
        .arg("--data")
        .arg(root)
        .arg("validate")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `# expect: LINE: MESSAGE` header of a corpus file.
fn expectation(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let first = text.lines().next().unwrap_or("");
    first
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{} has no `# expect:` header", path.display()))
        .to_string()
}

#[test]
fn shipped_data_validates_clean() {
    let out = Command::new(bin())
        .arg("--data")
        .arg(repo())
        .arg("validate")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "validate found problems in the shipped data:\n{stdout}"
    );
    assert!(stdout.is_empty());
}

#[test]
fn every_broken_file_gives_exit_2_and_its_path_line_message() {
    let corpus = repo().join("tests/data/broken");
    let mut checked = 0;
    let mut problems = Vec::new();
    for (kind, place) in [
        ("scenarios", "scenarios/mini"),
        ("directory", "datasets/directory"),
        ("policy", "datasets/policy.toml"),
        ("contexts", "scenarios/contexts.toml"),
    ] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join(kind))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let root = base_root();
            let dest = if place.ends_with(".toml") {
                root.path().join(place)
            } else {
                root.path().join(place).join(f.file_name().unwrap())
            };
            std::fs::copy(&f, &dest).unwrap();
            let want = expectation(&f);
            let (code, stdout, stderr) = validate(root.path());
            assert_eq!(
                code,
                2,
                "{}: expected exit 2, got {code}\nstdout:\n{stdout}\nstderr:\n{stderr}",
                f.display()
            );
            assert!(
                !stderr.contains("panicked"),
                "{}: panic\n{stderr}",
                f.display()
            );
            let (line, message) = want.split_once(": ").unwrap_or((want.as_str(), ""));
            let prefix = format!("{}:{line}: ", dest.display());
            if !stdout
                .lines()
                .any(|l| l.starts_with(&prefix) && l.contains(message.trim()))
            {
                problems.push(format!(
                    "{}: no line `{prefix}…{message}…` in:\n{stdout}",
                    f.display()
                ));
            }
            for line in stdout.lines() {
                assert!(
                    line.starts_with(&root.path().display().to_string()),
                    "not a path:line: message: {line}"
                );
            }
            checked += 1;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 25, "only {checked} corpus files");
}
