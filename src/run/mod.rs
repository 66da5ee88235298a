//! Runs: one model × one suite × k samples, stored as a run directory
//! (`manifest.json`, `responses.jsonl`, `verdicts.jsonl`).

pub mod manifest;
pub mod record;

pub use manifest::Manifest;
pub use record::ResponseRecord;

/// File names inside a run directory.
pub mod files {
    /// The manifest.
    pub const MANIFEST: &str = "manifest.json";
    /// The response journal.
    pub const RESPONSES: &str = "responses.jsonl";
    /// The verdicts.
    pub const VERDICTS: &str = "verdicts.jsonl";
}
pub mod journal;
pub mod merge;
pub mod plan;
pub mod runner;
