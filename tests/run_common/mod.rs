//! Shared helpers of the tests that run the real `popbench` binary on the default SmolLM2 GGUF
//! and kill it (tests/run_resume.rs, tests/run_live_resume.rs).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_popbench"))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the curated data taken when the test starts, so that edits to datasets/ or
/// scenarios/ while it runs cannot change a run's inputs between a run and its resume.
pub fn data_root() -> &'static Path {
    static DATA: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        fn copy(from: &Path, to: &Path) {
            std::fs::create_dir_all(to).unwrap();
            for e in std::fs::read_dir(from).unwrap() {
                let e = e.unwrap();
                let target = to.join(e.file_name());
                if e.file_type().unwrap().is_dir() {
                    copy(&e.path(), &target);
                } else {
                    std::fs::copy(e.path(), &target).unwrap();
                }
            }
        }
        let t = tempfile::tempdir().unwrap();
        for d in ["datasets", "scenarios"] {
            copy(&repo().join(d), &t.path().join(d));
        }
        t
    })
    .path()
}

pub fn model() -> String {
    format!("gguf:{}", crate::real_model::path().display())
}

/// Whole lines in a file (0 when it does not exist).
pub fn lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Kills a started run with SIGKILL once its journal (`out/responses.jsonl`) has `after` whole
/// lines (`after` = 0: once its manifest exists), once it exits, or after `timeout`, polling
/// every `poll`.
pub fn kill_when_journaled(
    mut child: Child,
    out: &Path,
    after: usize,
    timeout: Duration,
    poll: Duration,
) {
    let journal = out.join("responses.jsonl");
    let deadline = Instant::now() + timeout;
    loop {
        let ready = if after == 0 {
            out.join("manifest.json").exists()
        } else {
            lines(&journal) >= after
        };
        if ready || Instant::now() > deadline {
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(poll);
    }
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
}

/// A JSONL file with the timing fields removed (also inside `turns`): the only fields allowed
/// to differ.
pub fn without_timings(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("prompt_ms");
            o.remove("generation_ms");
            if let Some(turns) = o.get_mut("turns").and_then(|t| t.as_array_mut()) {
                for t in turns {
                    let t = t.as_object_mut().unwrap();
                    t.remove("prompt_ms");
                    t.remove("generation_ms");
                }
            }
            serde_json::to_string(&v).unwrap()
        })
        .collect()
}
