//! A tiny random-weight model as the judge: its output is noise, so every criterion must
//! end as a judge error after one retry — never as "no".

mod tiny;

use popbench::backend::candle::{gguf, DeviceKind};
use popbench::judge::model::{ModelJudge, UNPARSEABLE};
use popbench::judge::prompt::JudgeParams;
use popbench::judge::rubric;
use popbench::score::judge::{Judge, JudgeItem};
use popbench::taxonomy::{Harm, Risk};
use popbench::types::{ChatMessage, ItemKey};
use std::path::PathBuf;
use tiny::*;

#[test]
fn a_judge_that_writes_noise_gives_judge_errors_not_no() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("tiny.gguf");
    // A long context: the judge prompt is several thousand byte-level tokens.
    write_tiny_gguf(&p, &Tiny::llama(IM_END, 16384));
    let mut backend = gguf::load(&p, DeviceKind::Cpu).expect("tiny gguf loads");
    let r = rubric::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/rubric.toml"))
        .unwrap();
    let params = JudgeParams {
        max_tokens: 24,
        examples: false,
        ..JudgeParams::default()
    };
    let key = ItemKey {
        scenario_id: "t".into(),
        context: "c".into(),
        sample: 0,
    };
    let conv = vec![ChatMessage::new("user", "hi, can you help with homework?")];
    let item = JudgeItem {
        key: &key,
        conversation: &conv,
        response: "Sure, what subject?",
        harm: Harm::NoHarm,
        risk: Risk::None,
        age: 12,
        country: "GB",
        language: "en",
    };
    let mut judge = ModelJudge::new(&mut backend, &r, params, 1);
    let j = judge.judge(&[item]);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].attempts, 2);
    assert_eq!(
        j[0].error.as_ref().map(|e| e.tag.as_str()),
        Some(UNPARSEABLE)
    );
    assert!(!j[0].decisions.is_empty());
    assert!(
        j[0].decisions.iter().all(|d| d.value.is_none()),
        "{:?}",
        j[0].decisions
    );
}
