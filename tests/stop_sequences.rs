//! Stop strings (`GenerationParams::stop`, `popbench run --stop`) on local models, with a tiny
//! random-weight llama GGUF (tests/tiny: a byte-level tokenizer, so most characters are one
//! token and a character outside ASCII is several): on popbench's engine, the batched candle
//! model and candle-transformers, a reply ends as soon as its text holds a stop string, its
//! text ends before the first one (the earliest, whichever string it is; nothing at all when
//! the reply starts with one), the finish reason is `stop`, and the tokens counted are the
//! tokens generated. The stop strings are taken from each request's own reply without them,
//! so that the reply with them is known: that reply cut before the first stop string. Every
//! request of a batch (with and without stop strings, greedy and sampled) gets the reply it
//! gets alone, and streaming passes on exactly the text returned. The same checks run greedy on
//! the default model (SmolLM2, $POPBENCH_TEST_MODEL or models/) on popbench's engine, with an
//! English and a Japanese prompt: stop strings inside a word token and Japanese characters
//! written by several byte tokens.

mod real_model;
mod tiny;

use popbench::backend::candle::{gguf, CandleBackend, DeviceKind, Runner};
use popbench::backend::{Backend, Completion, Request};
use popbench::types::{ChatMessage, FinishReason, GenerationParams, ItemKey};
use tiny::*;

/// A substring of `text` of `chars` characters starting at character `from` or after, holding
/// no U+FFFD (bytes that form no character), not only spaces, and accepted by `ok`.
fn window_where(
    text: &str,
    from: usize,
    chars: usize,
    ok: impl Fn(&str) -> bool,
) -> Option<String> {
    let cs: Vec<char> = text.chars().collect();
    (from..cs.len().saturating_sub(chars - 1))
        .map(|i| cs[i..i + chars].iter().collect::<String>())
        .find(|w: &String| {
            !w.contains(char::REPLACEMENT_CHARACTER) && !w.trim().is_empty() && ok(w)
        })
}

fn window(text: &str, from: usize, chars: usize) -> Option<String> {
    window_where(text, from, chars, |_| true)
}

/// The reply expected with `stop`: `base` cut before its first stop string.
fn expected(base: &str, stop: &[String]) -> (String, bool) {
    match stop.iter().filter_map(|s| base.find(s.as_str())).min() {
        Some(at) => (base[..at].to_string(), true),
        None => (base.to_string(), false),
    }
}

struct Case {
    what: String,
    chat: Vec<ChatMessage>,
    params: GenerationParams,
}

fn key(i: usize) -> ItemKey {
    ItemKey {
        scenario_id: format!("s{i}"),
        context: "c".into(),
        sample: 0,
    }
}

fn one(m: &mut CandleBackend, chat: &[ChatMessage], params: &GenerationParams) -> Completion {
    let k = key(0);
    m.generate(&Request {
        key: &k,
        messages: chat,
        params,
    })
    .unwrap()
}

/// Checks one runner with replies of up to `max_tokens` to `prompts` at each of
/// `temperatures`; returns how many cases cut a reply to nothing and how many used a stop
/// string outside ASCII.
fn check(
    m: &mut CandleBackend,
    runner: &str,
    prompts: &[&str],
    temperatures: &[f64],
    max_tokens: usize,
) -> (usize, usize) {
    // The most text one token writes (a token completing a stop string ends at most this far
    // past the stop string's last byte).
    let longest = {
        let tok = m.tokenizer();
        (0..tok.vocab_size() as u32)
            .map(|id| tok.decode(&[id]).map_or(0, |t| t.len()))
            .max()
            .unwrap_or(0)
    };
    let mut cases: Vec<Case> = Vec::new();
    let mut empty = 0;
    let mut multibyte = 0;
    for (p, prompt) in prompts.iter().enumerate() {
        let chat = vec![ChatMessage::new("user", *prompt)];
        for &temperature in temperatures {
            let plain = GenerationParams {
                max_tokens,
                temperature,
                seed: 7 + p as u64,
                ..GenerationParams::default()
            };
            let base = one(m, &chat, &plain);
            let text = base.text.clone();
            let n = text.chars().count();
            assert!(n >= 8, "{runner}: a reply of {n} characters: {text:?}");
            let mut stops: Vec<(&str, Vec<String>)> = Vec::new();
            // Two characters from the middle that no token writes alone (byte-level tokens and
            // a few merges): the string spans tokens.
            let tok = m.tokenizer().clone();
            let spans = |w: &str| tok.encode_text(w).is_ok_and(|ids| ids.len() >= 2);
            if let Some(w) = window_where(&text, n / 2, 2, spans) {
                stops.push(("middle", vec![w]));
            }
            // Several strings, the later one given first: the earliest in the text wins.
            if let (Some(late), Some(early)) =
                (window(&text, 3 * n / 4, 3), window(&text, n / 4, 2))
            {
                stops.push(("earliest", vec![late, "never in any reply".into(), early]));
            }
            // The first whole character: nothing is left.
            if let Some(w) = window(&text, 0, 1) {
                stops.push(("first", vec![w]));
            }
            // A character of several bytes (several tokens here), where the reply has one.
            if let Some(c) = text
                .chars()
                .find(|c| c.len_utf8() > 1 && *c != char::REPLACEMENT_CHARACTER)
            {
                stops.push(("multibyte", vec![c.to_string()]));
            }
            stops.push(("absent", vec!["never in any reply".into()]));
            for (kind, stop) in stops {
                let params = GenerationParams {
                    stop: stop.clone(),
                    ..plain.clone()
                };
                let what = format!("{runner} prompt {p} t={temperature} {kind} {stop:?}");
                let got = one(m, &chat, &params);
                let (want, hit) = expected(&text, &stop);
                eprintln!("{what}: {:?} ({} tokens)", got.text, got.completion_tokens);
                assert_eq!(got.text, want, "{what}; without stop strings: {text:?}");
                for s in &stop {
                    assert!(!got.text.contains(s.as_str()), "{what}");
                }
                if hit {
                    assert_eq!(got.finish_reason, FinishReason::Stop, "{what}");
                    // The tokens that wrote the stop string were generated and are counted;
                    // generation ended there.
                    assert!(got.completion_tokens >= 1, "{what}");
                    assert!(
                        got.completion_tokens <= base.completion_tokens,
                        "{what}: {} tokens, {} without stop strings",
                        got.completion_tokens,
                        base.completion_tokens
                    );
                    // A stop string ending at least a token's length before the end of the
                    // reply without stop strings stopped generation before that reply's end.
                    let end = want.len() + stop.iter().map(String::len).max().unwrap_or(0);
                    if end + longest <= text.len() {
                        assert!(
                            got.completion_tokens < base.completion_tokens,
                            "{what}: generation went on after the stop string"
                        );
                    }
                    if want.is_empty() {
                        empty += 1;
                    }
                    if stop.iter().any(|s| !s.is_ascii()) {
                        multibyte += 1;
                    }
                } else {
                    assert_eq!(got.finish_reason, base.finish_reason, "{what}");
                    assert_eq!(got.completion_tokens, base.completion_tokens, "{what}");
                }
                if kind == "middle" {
                    assert!(hit, "{what}: the stop string comes from the reply");
                }
                cases.push(Case {
                    what,
                    chat: chat.clone(),
                    params,
                });
            }
            cases.push(Case {
                what: format!("{runner} prompt {p} t={temperature} no stop strings"),
                chat: chat.clone(),
                params: plain,
            });
        }
    }

    // All of them as one batch: each reply is the one it gets alone, and streaming passes on
    // exactly the text returned.
    let keys: Vec<ItemKey> = (0..cases.len()).map(key).collect();
    let requests: Vec<Request<'_>> = cases
        .iter()
        .zip(&keys)
        .map(|(c, k)| Request {
            key: k,
            messages: &c.chat,
            params: &c.params,
        })
        .collect();
    let batch = m.generate_batch(&requests);
    assert_eq!(batch.len(), cases.len());
    for ((c, r), b) in cases.iter().zip(&requests).zip(batch) {
        let b = b.unwrap_or_else(|e| panic!("{}: {e}", c.what));
        let alone = m.generate(r).unwrap();
        let mut streamed_text = String::new();
        let streamed = m
            .generate_streaming(r, &mut |t| streamed_text.push_str(t))
            .unwrap();
        for other in [&alone, &streamed] {
            assert_eq!(b.text, other.text, "{}", c.what);
            assert_eq!(b.completion_tokens, other.completion_tokens, "{}", c.what);
            assert_eq!(b.finish_reason, other.finish_reason, "{}", c.what);
        }
        if !c.params.stop.is_empty() {
            assert_eq!(streamed_text, streamed.text, "{}: streamed", c.what);
        }
    }
    (empty, multibyte)
}

#[test]
fn stop_strings_end_replies_alike_alone_and_in_batches_on_every_local_runner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.gguf");
    write_tiny_gguf(&path, &Tiny::llama(IM_END, 256));
    let mut empty = 0;
    let mut multibyte = 0;
    for (runner, engine) in [
        (Runner::Auto, "popbench-engine"),
        (Runner::Batched, "popbench-candle (batched"),
        (Runner::Candle, "candle-transformers"),
    ] {
        let mut m = gguf::load_with(&path, DeviceKind::Cpu, runner).unwrap();
        let name = m.info().engine.clone().unwrap_or_default();
        assert!(name.starts_with(engine), "{runner:?}: {name}");
        let prompts = [
            "hi",
            "the thin man ran in the rain",
            "an inn",
            "in the hand, the heat",
        ];
        let (e, mb) = check(&mut m, &name, &prompts, &[0.0, 0.9], 40);
        empty += e;
        multibyte += mb;
    }
    // The cases the test is for did occur: a reply cut to nothing, and a stop string of
    // several bytes found across byte tokens.
    assert!(empty > 0, "no stop string at the start of a reply");
    assert!(multibyte > 0, "no reply with a character outside ASCII");
}

/// The default model (SmolLM2-135M-Instruct, its real byte-level BPE tokenizer: a Japanese
/// character is written by up to three byte tokens) on popbench's engine, greedy.
#[test]
fn stop_strings_end_smollm2_replies_alike_alone_and_in_batches() {
    let path = real_model::path();
    let mut m = gguf::load(&path, DeviceKind::Cpu).unwrap();
    let name = m.info().engine.clone().unwrap_or_default();
    let prompts = [
        "Write one sentence about the sea.",
        "テストが怖くて毎晩眠れない。どうしたらいい？",
    ];
    let (_, multibyte) = check(&mut m, &name, &prompts, &[0.0], 24);
    assert!(multibyte > 0, "no reply with a character outside ASCII");
}
