//! The real test model (SmolLM2-135M-Instruct, Q4_1 GGUF): `POPBENCH_TEST_MODEL`, else
//! models/ in the repository (scripts/fetch-model puts it there).

use std::path::PathBuf;

/// Its path; a missing file fails the test with how to get it.
pub fn path() -> PathBuf {
    let p = std::env::var_os("POPBENCH_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    assert!(
        p.is_file(),
        "the real-model tests need {} — run scripts/fetch-model (or set POPBENCH_TEST_MODEL to the SmolLM2-135M-Instruct.Q4_1.gguf file)",
        p.display()
    );
    p
}
