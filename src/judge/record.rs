//! The lines of `judgements.jsonl`: a header (who judged, with which rubric and parameters),
//! then one line per judged item, appended as soon as it is judged.
//!
//! ```json
//! {"record":"header","format":1,"judge":{"spec":"openai:http://127.0.0.1:8000/v1#qwen","name":"qwen",…},
//!  "rubric_sha256":"9f2c…","params":{"max_tokens":400,"temperature":0.0,"seed":0,"examples":true,"prompt_version":1},
//!  "model_under_test":"gguf:models/SmolLM2-135M-Instruct.Q4_1.gguf","self_preference":false,"started_at":"2026-12-02T06:00:00Z"}
//! {"record":"item","scenario_id":"dv-locked-room-gb-en","context":"general_assistant","sample":0,
//!  "response_sha256":"5e1c…","judgement":{"decisions":[{"criterion":"secrecy","value":false,"reason":"…"}],
//!  "attempts":1,"output":"secrecy: no - …","prompt_tokens":812,"completion_tokens":140,"ms":2211.9}}
//! ```
//!
//! A judgement with `"error"` (a backend failure, or output still unreadable after the retry)
//! is data: counted, and judged again by the next `popbench judge` on the run. When an item
//! has several lines, the last one wins.

use super::prompt::JudgeParams;
use crate::score::judge::Judgement;
use crate::types::{FileDigest, ItemKey, ModelInfo};
use serde::{Deserialize, Serialize};

/// The format version of `judgements.jsonl`.
pub const FORMAT: u32 = 1;

/// The journal's name in a run directory (`judgements.jsonl`).
pub const FILE: &str = "judgements";

/// Who judged, and how: the identity a resume must match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeHeader {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// What the judge's backend says about its model.
    pub judge: ModelInfo,
    /// sha256 of the rubric file.
    pub rubric_sha256: String,
    /// How the judge was asked.
    pub params: JudgeParams,
    /// The spec of the model whose responses are judged (from the run's manifest).
    pub model_under_test: String,
    /// Whether the judge is the model under test (its grades may favour itself).
    pub self_preference: bool,
    /// When judging started, RFC 3339.
    pub started_at: String,
}

impl JudgeHeader {
    /// The fields in which another header's identity differs from this one, in words.
    pub fn differences(&self, now: &JudgeHeader) -> Vec<String> {
        let mut d = Vec::new();
        let files = |v: &[FileDigest]| {
            v.iter()
                .map(|f| f.sha256.clone())
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut check = |name: &str, a: String, b: String| {
            if a != b {
                d.push(format!("{name}: judged with {a}, now {b}"));
            }
        };
        check("format", self.format.to_string(), now.format.to_string());
        check(
            "judge spec",
            self.judge.spec.clone(),
            now.judge.spec.clone(),
        );
        check(
            "judge model file sha256",
            files(&self.judge.files),
            files(&now.judge.files),
        );
        check(
            "judge chat template sha256",
            format!("{:?}", self.judge.chat_template_sha256),
            format!("{:?}", now.judge.chat_template_sha256),
        );
        check(
            "judge engine",
            format!("{:?}", self.judge.engine.as_deref().map(engine_name)),
            format!("{:?}", now.judge.engine.as_deref().map(engine_name)),
        );
        check(
            "rubric sha256",
            self.rubric_sha256.clone(),
            now.rubric_sha256.clone(),
        );
        check(
            "judge parameters",
            format!("{:?}", self.params),
            format!("{:?}", now.params),
        );
        d
    }
}

/// `popbench-engine (avx2, 2 threads)` → `popbench-engine`: threads change no bit.
fn engine_name(e: &str) -> &str {
    e.split(" (").next().unwrap_or(e)
}

/// One judged item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgementRecord {
    /// The scenario.
    pub scenario_id: String,
    /// The context.
    pub context: String,
    /// The sample.
    pub sample: u32,
    /// sha256 of the response judged (a changed response is judged again).
    pub response_sha256: String,
    /// The judgement.
    pub judgement: Judgement,
}

impl JudgementRecord {
    /// The item key.
    pub fn key(&self) -> ItemKey {
        ItemKey {
            scenario_id: self.scenario_id.clone(),
            context: self.context.clone(),
            sample: self.sample,
        }
    }
}

/// A line of `judgements.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum JudgementLine {
    /// The first line.
    Header(JudgeHeader),
    /// A judged item.
    Item(JudgementRecord),
}

/// Whether a judge is the model under test: the same spec, or a weight file in common.
pub fn is_self_judge(judge: &ModelInfo, model_spec: &str, model_files: &[FileDigest]) -> bool {
    if judge.spec == model_spec {
        return true;
    }
    judge
        .files
        .iter()
        .any(|f| !f.sha256.is_empty() && model_files.iter().any(|m| m.sha256 == f.sha256))
}
