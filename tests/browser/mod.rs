//! Headless Chromium for the report tests (the hostile-output check and the layout check):
//! where the browser is, and one way of running it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Chromium binary: `POPBENCH_CHROMIUM`, else the usual install paths.
pub fn chromium() -> Option<PathBuf> {
    std::env::var_os("POPBENCH_CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome",
            ]
            .map(PathBuf::from),
        )
        .find(|p| p.exists())
}

/// Runs headless Chromium with a fresh profile and no network chatter; returns its stdout.
pub fn run_chromium(bin: &Path, profile: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("running chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
