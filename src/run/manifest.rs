//! `manifest.json`: everything needed to know what a run was and to redo it.

use super::select::Selection;
use crate::context::ContextsFile;
use crate::conversation::child::ChildInfo;
use crate::types::{ConversationMode, FileDigest, GenerationParams, ModelInfo};
use serde::{Deserialize, Serialize};

/// The manifest format version.
pub const MANIFEST_VERSION: u32 = 1;

/// How the run's inputs were fixed; a resume must match these exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInputs {
    /// The model spec as given.
    pub model_spec: String,
    /// sha256 of every weight/config file (empty for remote models).
    pub model_files: Vec<FileDigest>,
    /// sha256 of the chat template, when rendered locally.
    pub chat_template_sha256: Option<String>,
    /// What computes a local model's replies (`popbench-engine`, `candle-transformers`): the
    /// two differ in the last bits, so a resume or merge must not mix them. (The thread count
    /// and batch size change no bit and are not part of it.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The suite name.
    pub suite: String,
    /// sha256 of the suite's scenarios.
    pub suite_sha256: String,
    /// Number of scenarios.
    pub scenarios: usize,
    /// Contexts the suite was crossed with (empty: each scenario's own).
    pub contexts: Vec<String>,
    /// sha256 of contexts.toml.
    pub contexts_sha256: String,
    /// The partner's contexts file (`--contexts FILE`): its path, sha256 and every context
    /// with its system prompt, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contexts_file: Option<ContextsFile>,
    /// sha256 over the directory files.
    pub directory_sha256: String,
    /// sha256 of policy.toml.
    pub policy_sha256: String,
    /// Samples per item.
    pub samples: u32,
    /// Generation parameters (the seed field is the run seed).
    pub generation: GenerationParams,
    /// How per-item seeds are derived from the run seed.
    pub seed_derivation: String,
    /// This shard (`I/N`), when sharded.
    pub shard: Option<(u32, u32)>,
    /// Which items of the suite run (`--only`, `--limit`); empty: all of them.
    #[serde(default, skip_serializing_if = "Selection::is_all")]
    pub selection: Selection,
    /// How multi-turn scenarios ran: `live` (the model answered every child turn, its own
    /// answers in the history) or `scripted` (the scenario's assistant turns were sent and the
    /// model answered the last child turn). Manifests from before live mode read as scripted.
    #[serde(default)]
    pub conversation: ConversationMode,
    /// The adaptive child (`--child`) that wrote the child's turns after the first, when one
    /// did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<ChildInfo>,
}

/// The machine a run ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Machine {
    /// `cpu`, `cuda:0`…
    pub device: String,
    /// Threads used for generation.
    pub threads: usize,
    /// Logical CPUs of the machine.
    pub cpus: usize,
    /// OS and architecture.
    pub os: String,
    /// Host name, when known.
    pub hostname: Option<String>,
}

/// The harness that produced a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Harness {
    /// popbench version.
    pub version: String,
    /// git commit of the source tree, when known.
    pub git_commit: Option<String>,
    /// Whether the tree had uncommitted changes.
    pub git_dirty: Option<bool>,
    /// candle version.
    pub candle_version: String,
}

/// The manifest of a run directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version.
    pub manifest_version: u32,
    /// The run id (the directory name).
    pub run_id: String,
    /// The harness.
    pub harness: Harness,
    /// What the backend says about the model.
    pub model: ModelInfo,
    /// The inputs.
    pub inputs: RunInputs,
    /// The machine.
    pub machine: Machine,
    /// Start time, RFC 3339.
    pub started_at: String,
    /// End time, RFC 3339 (none while running or when interrupted).
    pub finished_at: Option<String>,
    /// Items planned for this run (or shard).
    pub items_total: usize,
    /// Items in responses.jsonl when the manifest was last written.
    pub items_done: usize,
}
