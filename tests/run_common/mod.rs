//! Shared helpers of the tests that run the real `popbench` binary on the default SmolLM2 GGUF
//! and kill it (tests/run_resume.rs, tests/run_live_resume.rs).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

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
    let p = std::env::var("POPBENCH_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("models/SmolLM2-135M-Instruct.Q4_1.gguf"));
    assert!(
        p.is_file(),
        "the default model is missing at {}: run scripts/fetch-model",
        p.display()
    );
    format!("gguf:{}", p.display())
}
