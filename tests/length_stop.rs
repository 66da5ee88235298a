//! A reply stopped by the token limit never ends in a partial character. With the tiny
//! random-weight llama of tests/tiny (a byte-level tokenizer: a character outside ASCII is
//! written by several byte tokens), greedy replies of every length from 1 to 40 tokens are
//! generated on popbench's engine, the batched candle model and candle-transformers: each
//! reply cut at the limit is a prefix of the longest reply's text (nothing in it is a
//! replacement standing for bytes that had not all arrived), never ends in U+FFFD, and the
//! case the test is for occurred: a limit that fell inside a character of several bytes.
//! (Regression: 33 of the 34 answers of the core sample with U+FFFD ended in a character cut
//! at the 256-token limit.)

mod tiny;

use popbench::backend::candle::DeviceKind;
use popbench::backend::candle::{gguf, Runner};
use popbench::backend::{Backend, Request};
use popbench::types::{ChatMessage, FinishReason, GenerationParams, ItemKey};
use tiny::*;

#[test]
fn a_length_stop_never_emits_a_partial_character() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.gguf");
    write_tiny_gguf(&path, &Tiny::llama(IM_END, 256));
    let key = ItemKey {
        scenario_id: "s".into(),
        context: "c".into(),
        sample: 0,
    };
    const LONGEST: usize = 40;
    let mut inside = 0;
    for runner in [Runner::Auto, Runner::Batched, Runner::Candle] {
        let mut m = gguf::load_with(&path, DeviceKind::Cpu, runner).unwrap();
        for prompt in [
            "hi",
            "the thin man ran in the rain",
            "an inn",
            "héllo wörld",
        ] {
            let chat = vec![ChatMessage::new("user", prompt)];
            let reply = |m: &mut popbench::backend::candle::CandleBackend, n: usize| {
                let params = GenerationParams {
                    max_tokens: n,
                    temperature: 0.0,
                    ..GenerationParams::default()
                };
                m.generate(&Request {
                    key: &key,
                    messages: &chat,
                    params: &params,
                })
                .unwrap()
            };
            let full = reply(&mut m, LONGEST);
            let mut previous: Option<String> = None;
            for n in 1..LONGEST {
                let r = reply(&mut m, n);
                let what = format!("{runner:?} {prompt:?} at {n} tokens: {:?}", r.text);
                if r.finish_reason != FinishReason::Length {
                    break;
                }
                assert!(!r.text.ends_with(char::REPLACEMENT_CHARACTER), "{what}");
                assert!(
                    full.text.starts_with(&r.text),
                    "{what} is not a prefix of {:?}",
                    full.text
                );
                // The n-th token added no whole character: the limit fell inside one.
                if previous.as_deref() == Some(r.text.as_str())
                    && full.text[r.text.len()..]
                        .chars()
                        .next()
                        .is_some_and(|c| !c.is_ascii())
                {
                    inside += 1;
                }
                previous = Some(r.text);
            }
        }
    }
    assert!(inside > 0, "no token limit fell inside a character");
}
