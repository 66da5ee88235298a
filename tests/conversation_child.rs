//! The adaptive child (`--child SPEC`): its persona card, the chat its model sees, the
//! cleaning of its (untrusted) output, seeds, and a real batched run on the SmolLM2 GGUF.
//!
//! The model file comes from $POPBENCH_TEST_MODEL or ./models/ (scripts/fetch-model puts it
//! there). A missing file fails the real-model test: there is no silent skip.

mod real_model;

use popbench::backend::{Backend, BackendError, Completion, OpenOptions, Request};
use popbench::conversation::child::{
    child_messages, child_seed, clean_turn, persona_card, persona_instructions_sha256,
    pushback_sentence, AdaptiveChild, ChildInfo, ChildRequest, CHILD_SEED_DERIVATION,
    MAX_TURN_CHARS, PERSONA_CARD_VERSION,
};
use popbench::scenario::{load_file, Role, Scenario};
use popbench::types::FinishReason;
use popbench::types::{ChatMessage, GenerationParams, ItemKey, ModelInfo};
use popbench::Diagnostics;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pushback() -> Vec<Scenario> {
    let mut diags = Diagnostics::default();
    let s = load_file(
        &root().join("scenarios/multiturn/pushback.toml"),
        &mut diags,
    );
    assert!(diags.is_empty(), "{diags:?}");
    s
}

fn scenario(id: &str) -> Scenario {
    pushback()
        .into_iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no scenario {id} in pushback.toml"))
}

/// The child's country as the directory names it (what the runner passes).
fn country(s: &Scenario) -> &'static str {
    static DATA: std::sync::OnceLock<popbench::dataset::Dataset> = std::sync::OnceLock::new();
    let data = DATA.get_or_init(|| popbench::dataset::Dataset::load_strict(&root()).unwrap());
    data.directory
        .country(&s.country)
        .map(|e| e.name.as_str())
        .unwrap_or("")
}

fn child_turns(s: &Scenario) -> Vec<usize> {
    s.turns
        .iter()
        .enumerate()
        .filter(|(_, t)| t.role == Role::User)
        .map(|(i, _)| i)
        .collect()
}

fn key(s: &Scenario, sample: u32) -> ItemKey {
    ItemKey {
        scenario_id: s.id.clone(),
        context: s.context.clone(),
        sample,
    }
}

// ── the persona card ─────────────────────────────────────────────────────────────────

#[test]
fn card_for_a_cannot_speak_scenario_states_the_persona_and_the_rules() {
    let s = scenario("mt-dv-cant-call-co-es");
    let turns = child_turns(&s);
    let last = *turns.last().unwrap();
    let card = persona_card(&s, country(&s), last);
    // Age and language (named, with the tag), and how a child of that age writes.
    assert!(card.contains("12 years old"), "{card}");
    assert!(card.contains("Spanish (es)"), "{card}");
    assert!(card.contains("12-year-old types"), "{card}");
    assert!(card.contains("lower-case"), "{card}");
    assert!(card.contains("misspellings"), "{card}");
    assert!(card.contains("Colombia"), "{card}");
    // The push-back sentence of the scenario's kind, and none of the other kinds.
    let cannot = pushback_sentence("cannot-speak").unwrap();
    assert!(card.contains(cannot), "{card}");
    for other in [
        "fear-of-police",
        "protects-abuser",
        "no-credit",
        "monitored-phone",
    ] {
        assert!(
            !card.contains(pushback_sentence(other).unwrap()),
            "{other} in {card}"
        );
    }
    // What is never disclosed, and the hard rules.
    for needle in [
        "full name",
        "address",
        "school",
        "photos",
        "Never write sexual details",
        "Never make up phone numbers",
        "Stay the child",
        "one message only",
        "No role labels",
    ] {
        assert!(card.contains(needle), "`{needle}` missing from {card}");
    }
    // The disclosure plan: every scripted child turn, in order, and this is the last step.
    let mut at = 0;
    for &i in &turns {
        let text = &s.turns[i].content;
        let found = card[at..]
            .find(text.as_str())
            .unwrap_or_else(|| panic!("plan step `{text}` missing or out of order"));
        at += found + text.len();
    }
    assert!(card.contains("Now write step 3"), "{card}");
    assert!(card.contains("This is your last step."), "{card}");
    assert!(!card.contains("later steps"), "{card}");
    // No scripted assistant turn leaks into the card, nor the reviewers' notes.
    for t in s.turns.iter().filter(|t| t.role == Role::Assistant) {
        assert!(
            !card.contains(&t.content),
            "assistant turn leaked: {}",
            t.content
        );
    }
    assert!(!card.contains(&s.notes));
}

#[test]
fn card_is_deterministic_and_depends_on_the_step() {
    let s = scenario("mt-dv-monitored-phone-gb-en");
    let turns = child_turns(&s);
    let first = persona_card(&s, country(&s), turns[0]);
    assert_eq!(first, persona_card(&s, country(&s), turns[0]));
    assert_eq!(
        first,
        persona_card(
            &scenario("mt-dv-monitored-phone-gb-en"),
            "United Kingdom",
            turns[0]
        )
    );
    assert!(first.contains("Now write step 1"), "{first}");
    assert!(!first.contains("This is your last step."));
    assert!(first.contains("Do not reveal anything from later steps yet."));
    assert!(first.contains(pushback_sentence("monitored-phone").unwrap()));
    assert!(first.contains("English (en)"));
    let last = persona_card(&s, country(&s), *turns.last().unwrap());
    assert_ne!(first, last);
    // An assistant index counts as the next child turn.
    assert_eq!(
        persona_card(&s, country(&s), turns[1] - 1),
        persona_card(&s, country(&s), turns[1])
    );
    // Past the end: the last step, no panic.
    assert_eq!(persona_card(&s, country(&s), 999), last);
}

#[test]
fn every_pushback_kind_has_a_sentence_and_every_pushback_scenario_gets_one() {
    let kinds = [
        "cannot-speak",
        "fear-of-police",
        "protects-abuser",
        "no-credit",
        "monitored-phone",
    ];
    for k in kinds {
        let s = pushback_sentence(k).unwrap_or_else(|| panic!("no sentence for {k}"));
        assert!(s.ends_with('.') && s.len() > 20, "{k}: {s}");
    }
    assert_eq!(pushback_sentence("gradual"), None);
    for s in pushback() {
        let card = persona_card(&s, country(&s), *child_turns(&s).last().unwrap());
        let kind = kinds
            .iter()
            .find(|k| s.tags.iter().any(|t| t == *k))
            .unwrap_or_else(|| panic!("{} has no push-back kind", s.id));
        assert!(
            card.contains(pushback_sentence(kind).unwrap()),
            "{}: {card}",
            s.id
        );
    }
}

#[test]
fn card_keeps_an_unstated_country_unnamed_and_a_young_child_simple() {
    let mut s = scenario("mt-neglect-no-balance-in-hi-latn");
    assert_eq!(s.age, 11);
    let card = persona_card(&s, country(&s), 0);
    assert!(card.contains("Hindi (Latin script) (hi-Latn)"), "{card}");
    assert!(card.contains("India"));
    assert!(card.contains("Do not name your country or your city"));
    assert!(!card.contains("very short, very simple"));
    s.age = 9;
    s.country = "unknown".into();
    let card = persona_card(&s, country(&s), 0);
    assert!(card.contains("very short, very simple"), "{card}");
    assert!(!card.contains("India"), "{card}");
    assert!(card.contains("a country you do not name"), "{card}");
    // A language the table does not know is shown by its tag.
    s.language = "xx-Test".into();
    assert!(persona_card(&s, country(&s), 0).contains("xx-Test"));
}

#[test]
fn instructions_hash_is_stable_hex() {
    let h = persona_instructions_sha256();
    assert_eq!(h.len(), 64);
    assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(h, persona_instructions_sha256());
}

// ── the chat the child model sees ────────────────────────────────────────────────────

#[test]
fn child_sees_the_conversation_with_roles_swapped() {
    let s = scenario("mt-dv-cant-call-co-es");
    let turns = child_turns(&s);
    let history = vec![
        ChatMessage::new(
            "system",
            "You are a helpful assistant (the model under test's prompt).",
        ),
        ChatMessage::new("user", "child one"),
        ChatMessage::new("assistant", "model one"),
        ChatMessage::new("user", "child two"),
        ChatMessage::new("assistant", "model two"),
    ];
    let m = child_messages(&s, country(&s), turns[2], &history);
    let roles: Vec<&str> = m.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "user", "assistant", "user"]
    );
    assert_eq!(m[0].content, persona_card(&s, country(&s), turns[2]));
    assert_eq!(m[2].content, "child one");
    assert_eq!(m[3].content, "model one");
    assert_eq!(m[5].content, "model two");
    // The model-under-test's system prompt is not shown to the child.
    assert!(m
        .iter()
        .all(|x| !x.content.contains("model under test's prompt")));
    // The first turn: the card and the opening stage direction only.
    let m0 = child_messages(&s, country(&s), turns[0], &[]);
    assert_eq!(m0.len(), 2);
    assert_eq!(m0[1].role, "user");
}

// ── cleaning untrusted output ────────────────────────────────────────────────────────

#[test]
fn cleaning_strips_labels_quotes_and_second_speakers() {
    let cases: &[(&str, &str)] = &[
        (
            "  no puedo llamar, me escucha  ",
            "no puedo llamar, me escucha",
        ),
        ("child: i cant call him", "i cant call him"),
        ("User: i cant call him", "i cant call him"),
        ("**Child:** i cant call him", "i cant call him"),
        ("[child]: i cant call him", "i cant call him"),
        ("Child: user: i cant", "i cant"),
        ("\"i cant call him\"", "i cant call him"),
        ("“i cant call him”", "i cant call him"),
        ("«je peux pas»", "je peux pas"),
        ("\"i cant call him", "i cant call him"),
        (
            "i cant call him\nAssistant: I understand, here is what you can do",
            "i cant call him",
        ),
        (
            "i cant call\nhe will hear me\n\n**AI:** please call 999",
            "i cant call\nhe will hear me",
        ),
        ("ok\nUser: more\nchild: even more", "ok"),
        (
            "he'll hear me<|im_end|>\n<|im_start|>user\nhi",
            "he'll hear me",
        ),
        ("i'm scared</s>assistant: ok", "i'm scared"),
        (
            "mi mamá no se levanta\u{0007}\u{001b}[31m",
            "mi mamá no se levanta[31m",
        ),
        (
            "   \n\n\n\nline one\n\n\n\n\nline two",
            "line one\n\nline two",
        ),
        // A colon later in a line is not a speaker label; nor is a word that is not a role.
        (
            "my teacher said: call someone",
            "my teacher said: call someone",
        ),
        ("Mum: she is crying", "Mum: she is crying"),
        ("ベッドの下にいる", "ベッドの下にいる"),
    ];
    for (raw, want) in cases {
        assert_eq!(clean_turn(raw).unwrap(), *want, "raw: {raw:?}");
    }
}

#[test]
fn cleaning_refuses_empty_output_with_the_generate_tag() {
    for raw in [
        "",
        "   \n\t ",
        "child:",
        "\"\"",
        "<|im_end|>anything after",
        "...!!",
        "**User:**   ",
    ] {
        match clean_turn(raw) {
            Err(e @ BackendError::Generate(_)) => assert_eq!(e.tag(), "generate"),
            other => panic!("{raw:?} gave {other:?}"),
        }
    }
}

#[test]
fn cleaning_bounds_very_long_output() {
    let long = "i dont know what to do ".repeat(200);
    let t = clean_turn(&long).unwrap();
    assert!(t.chars().count() <= MAX_TURN_CHARS, "{}", t.chars().count());
    assert!(t.chars().count() > MAX_TURN_CHARS * 4 / 5);
    // Cut at a word boundary of the original.
    let long = long.trim();
    assert!(long.starts_with(&t), "{t:?}");
    assert!(long[t.len()..].starts_with(' '), "cut mid-word: {t:?}");
    // No whitespace to cut at (CJK): cut at the bound on a character boundary.
    let cjk = "怖い".repeat(1000);
    let t = clean_turn(&cjk).unwrap();
    assert_eq!(t.chars().count(), MAX_TURN_CHARS);
}

// ── seeds ────────────────────────────────────────────────────────────────────────────

#[test]
fn child_seeds_depend_on_item_seed_and_turn() {
    let a = child_seed(42, 2);
    assert_eq!(a, child_seed(42, 2));
    assert_ne!(a, child_seed(43, 2));
    assert_ne!(a, child_seed(42, 4));
    assert_ne!(a, 42);
    assert!(CHILD_SEED_DERIVATION.contains("sha256"));
}

// ── next_turns with a scripted backend (checks wiring, order, failures) ──────────────

type Seen = Arc<Mutex<Vec<(Vec<ChatMessage>, u64)>>>;

/// A backend that answers each chat with a fixed text per call and records what it saw.
struct Echo {
    info: ModelInfo,
    outputs: Vec<String>,
    seen: Seen,
}

impl Backend for Echo {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn generate(&mut self, r: &Request<'_>) -> Result<Completion, BackendError> {
        let mut seen = self.seen.lock().unwrap();
        let n = seen.len();
        seen.push((r.messages.to_vec(), r.params.seed));
        let text = self.outputs.get(n).cloned().unwrap_or_default();
        Ok(Completion {
            text,
            prompt_tokens: 0,
            completion_tokens: 0,
            prompt_ms: 0.0,
            generation_ms: 0.0,
            finish_reason: FinishReason::Stop,
        })
    }
}

#[test]
fn next_turns_keeps_order_seeds_and_reports_bad_requests() {
    let s = scenario("mt-dv-cant-call-co-es");
    let turns = child_turns(&s);
    let k0 = key(&s, 0);
    let k1 = key(&s, 1);
    let hist = vec![
        ChatMessage::new("user", &s.turns[0].content),
        ChatMessage::new("assistant", "¿Estás bien?"),
    ];
    let bad_hist = vec![ChatMessage::new("user", "only the child")];
    let seen = Seen::default();
    let echo = Echo {
        info: ModelInfo {
            spec: "echo".into(),
            ..ModelInfo::default()
        },
        outputs: vec!["child: sí estoy escondida".into(), "".into()],
        seen: seen.clone(),
    };
    let params = GenerationParams {
        max_tokens: 10,
        temperature: 0.0,
        ..GenerationParams::default()
    };
    let mut child = AdaptiveChild::new(Box::new(echo), params.clone());
    let requests = [
        ChildRequest {
            key: &k0,
            scenario: &s,
            country_name: country(&s),
            turn: turns[1],
            history: &hist,
            seed: 7,
        },
        // An assistant index: refused without being sent.
        ChildRequest {
            key: &k1,
            scenario: &s,
            country_name: country(&s),
            turn: turns[1] - 1,
            history: &hist,
            seed: 8,
        },
        // A history that ends with the child: refused without being sent.
        ChildRequest {
            key: &k1,
            scenario: &s,
            country_name: country(&s),
            turn: turns[1],
            history: &bad_hist,
            seed: 9,
        },
        // Sent; the backend answers nothing: a generate failure.
        ChildRequest {
            key: &k1,
            scenario: &s,
            country_name: country(&s),
            turn: turns[1],
            history: &hist,
            seed: 10,
        },
        // Out of range: refused.
        ChildRequest {
            key: &k1,
            scenario: &s,
            country_name: country(&s),
            turn: 99,
            history: &hist,
            seed: 11,
        },
    ];
    let out = child.next_turns(&requests);
    assert_eq!(out.len(), 5);
    assert_eq!(out[0].as_ref().unwrap(), "sí estoy escondida");
    for (i, r) in out.iter().enumerate().skip(1) {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.tag(), "generate", "{i}: {e}");
    }
    // Only the two valid requests were sent, with their own seeds and the swapped chat.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].1, 7);
    assert_eq!(seen[1].1, 10);
    assert_eq!(seen[0].0, child_messages(&s, country(&s), turns[1], &hist));
    drop(seen);
    let info: ChildInfo = child.info();
    assert_eq!(info.model.spec, "echo");
    assert_eq!(info.params, params);
    assert_eq!(info.persona_card_version, PERSONA_CARD_VERSION);
    assert_eq!(info.persona_sha256, persona_instructions_sha256());
    assert_eq!(info.seed_derivation, CHILD_SEED_DERIVATION);
    assert_eq!(info.max_turn_chars, MAX_TURN_CHARS);
    let json = serde_json::to_string(&info).unwrap();
    assert_eq!(serde_json::from_str::<ChildInfo>(&json).unwrap(), info);
}

#[test]
fn a_replay_spec_cannot_be_a_child() {
    let e = AdaptiveChild::open("replay:/nonexistent.jsonl", &OpenOptions::default()).unwrap_err();
    assert_eq!(e.tag(), "input");
    let e = AdaptiveChild::open("", &OpenOptions::default()).unwrap_err();
    assert_eq!(e.tag(), "input");
    let e =
        AdaptiveChild::open("gguf:/nonexistent/model.gguf", &OpenOptions::default()).unwrap_err();
    assert_eq!(e.tag(), "model");
}

// ── the real model ───────────────────────────────────────────────────────────────────

#[test]
fn smollm2_child_writes_two_turns_in_one_batch_deterministically() {
    let spec = format!("gguf:{}", real_model::path().display());
    let mut child = AdaptiveChild::open(&spec, &OpenOptions::default())
        .expect("opening the SmolLM2 GGUF as a child")
        .with_params(GenerationParams {
            max_tokens: 40,
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            seed: 0,
            stop: Vec::new(),
        });
    assert_eq!(child.info().model.family.as_deref(), Some("llama"));

    let a = scenario("mt-dv-monitored-phone-gb-en");
    let b = scenario("mt-exploit-no-airtime-ng-en");
    let (ta, tb) = (child_turns(&a), child_turns(&b));
    let ha = vec![
        ChatMessage::new("user", &a.turns[0].content),
        ChatMessage::new("assistant", "Of course! What's the poem called?"),
    ];
    let hb = vec![
        ChatMessage::new("user", &b.turns[0].content),
        ChatMessage::new("assistant", "That sounds hard. Are you safe right now?"),
    ];
    let (ka, kb) = (key(&a, 0), key(&b, 0));
    let requests = [
        ChildRequest {
            key: &ka,
            scenario: &a,
            country_name: country(&a),
            turn: ta[1],
            history: &ha,
            seed: child_seed(1, ta[1]),
        },
        ChildRequest {
            key: &kb,
            scenario: &b,
            country_name: country(&b),
            turn: tb[1],
            history: &hb,
            seed: child_seed(2, tb[1]),
        },
    ];
    let first = child.next_turns(&requests);
    let second = child.next_turns(&requests);
    assert_eq!(first.len(), 2);
    for (i, r) in first.iter().enumerate() {
        let t = r.as_ref().unwrap_or_else(|e| panic!("request {i}: {e}"));
        eprintln!("child turn {i}: {t:?}");
        assert!(!t.trim().is_empty());
        assert!(t.chars().count() <= MAX_TURN_CHARS);
        // Cleaned: no role label left at the start, no special token.
        assert_eq!(
            clean_turn(t).unwrap(),
            *t,
            "cleaning is idempotent on {t:?}"
        );
        assert!(!t.contains("<|"));
    }
    let texts = |v: &[Result<String, BackendError>]| -> Vec<String> {
        v.iter().map(|r| r.as_ref().unwrap().clone()).collect()
    };
    assert_eq!(
        texts(&first),
        texts(&second),
        "greedy child turns differ between calls"
    );
}
