//! Runs: one model × one suite × k samples, stored as a run directory
//! (`manifest.json`, `responses.jsonl`, `verdicts.jsonl`).

pub mod dir;
pub mod manifest;
pub mod record;
pub mod scoring;
pub mod select;

pub use dir::RunDir;
pub use manifest::Manifest;
pub use record::ResponseRecord;
pub use scoring::{score_records, Scored};
pub use select::Selection;

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
pub mod lock;
pub mod merge;
pub mod plan;
pub mod runner;
pub mod spec;
