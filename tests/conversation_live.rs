//! Live and scripted conversations through the runner, with a scripted test backend that
//! records every batch it is sent: in live mode the model's own earlier answer (not the
//! scenario's scripted assistant turn) is in the history of the next turn; scripted mode sends
//! the scripted history; eight conversations advance together, turn t in one batch; a failure
//! at any turn fails the whole conversation; a replay file serves live conversations turn by
//! turn (and one without per-turn answers is refused); an adaptive child's words replace the
//! scripted ones; and on single-turn suites live and scripted runs reproduce the committed
//! sample runs (same prompts, seeds and responses).

use popbench::backend::replay::ReplayBackend;
use popbench::backend::{Backend, BackendError, Completion, Request};
use popbench::conversation::child::AdaptiveChild;
use popbench::conversation::{answered_turns, turn_seed};
use popbench::dataset::Dataset;
use popbench::prompt::{build_chat, chat_hash};
use popbench::run::plan::item_seed;
use popbench::run::runner::{self, RunOptions, RunOutcome, Silent};
use popbench::run::scoring::load_suite;
use popbench::run::{ResponseRecord, RunDir, Selection};
use popbench::scenario::{Role, Suite};
use popbench::types::{
    ChatMessage, ConversationMode, FinishReason, GenerationParams, ItemKey, ModelInfo,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One request as the backend saw it.
#[derive(Debug, Clone)]
struct Seen {
    key: ItemKey,
    messages: Vec<ChatMessage>,
    seed: u64,
}

/// A backend that answers every request with a text naming the item, the number of child
/// messages in the chat and the seed, and records each batch.
struct Scripted {
    info: ModelInfo,
    batches: Arc<Mutex<Vec<Vec<Seen>>>>,
    /// Fail the request of this item whose chat holds this many child messages.
    fail: Option<(String, usize)>,
}

fn answer_text(key: &ItemKey, child_messages: usize, seed: u64) -> String {
    format!(
        "answer {child_messages} to {} (seed {seed}): call 116 111",
        key.scenario_id
    )
}

impl Scripted {
    fn new() -> (Scripted, Arc<Mutex<Vec<Vec<Seen>>>>) {
        let batches: Arc<Mutex<Vec<Vec<Seen>>>> = Arc::default();
        (
            Scripted {
                info: ModelInfo {
                    spec: "test:scripted".into(),
                    name: "scripted".into(),
                    backend: "test".into(),
                    device: "none".into(),
                    ..ModelInfo::default()
                },
                batches: batches.clone(),
                fail: None,
            },
            batches,
        )
    }
}

impl Backend for Scripted {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn preferred_batch(&self) -> usize {
        8
    }

    fn generate(&mut self, request: &Request<'_>) -> Result<Completion, BackendError> {
        self.generate_batch(std::slice::from_ref(request))
            .pop()
            .unwrap()
    }

    fn generate_batch(
        &mut self,
        requests: &[Request<'_>],
    ) -> Vec<Result<Completion, BackendError>> {
        let seen: Vec<Seen> = requests
            .iter()
            .map(|r| Seen {
                key: r.key.clone(),
                messages: r.messages.to_vec(),
                seed: r.params.seed,
            })
            .collect();
        self.batches.lock().unwrap().push(seen);
        requests
            .iter()
            .map(|r| {
                let n = r.messages.iter().filter(|m| m.role == "user").count();
                if self.fail.as_ref() == Some(&(r.key.scenario_id.clone(), n)) {
                    return Err(BackendError::Timeout("the test server timed out".into()));
                }
                Ok(Completion {
                    text: answer_text(r.key, n, r.params.seed),
                    prompt_tokens: 10 * n,
                    completion_tokens: 5,
                    prompt_ms: 1.0,
                    generation_ms: 2.0,
                    finish_reason: FinishReason::Stop,
                })
            })
            .collect()
    }
}

fn options(out: &Path, mode: ConversationMode, only: &[&str], limit: Option<usize>) -> RunOptions {
    let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
    RunOptions {
        suite: "multiturn".into(),
        contexts: Vec::new(),
        samples: 1,
        params: GenerationParams {
            max_tokens: 16,
            ..GenerationParams::default()
        },
        shard: None,
        selection: Selection::parse(&only, limit).unwrap(),
        out: out.to_path_buf(),
        resume: false,
        score: true,
        batch: 0,
        threads: 1,
        max_failures: Some(100),
        conversation: mode,
    }
}

fn data_and_suite(suite: &str) -> (Dataset, Suite) {
    let data = Dataset::load_strict(&root()).unwrap();
    let suite = load_suite(suite, &root()).unwrap();
    (data, suite)
}

fn run(
    backend: &mut dyn Backend,
    child: Option<&mut AdaptiveChild>,
    data: &Dataset,
    suite: &Suite,
    opts: &RunOptions,
) -> RunOutcome {
    let stop = AtomicBool::new(false);
    runner::run_with_child(backend, child, data, suite, opts, &mut Silent, &stop).unwrap()
}

fn records(dir: &Path) -> Vec<ResponseRecord> {
    RunDir::open(dir)
        .unwrap()
        .0
        .read_responses()
        .unwrap()
        .records
}

fn child_turns(suite: &Suite, id: &str) -> Vec<usize> {
    answered_turns(suite.get(id).unwrap(), ConversationMode::Live)
}

#[test]
fn live_conversations_carry_the_models_own_answers_and_advance_eight_together() {
    let (data, suite) = data_and_suite("multiturn");
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("live");
    let (mut backend, batches) = Scripted::new();
    let opts = options(&out, ConversationMode::Live, &[], Some(8));
    let o = run(&mut backend, None, &data, &suite, &opts);
    assert_eq!((o.done, o.total), (8, 8));
    assert_eq!(o.conversation, ConversationMode::Live);
    let recs = records(&out);
    assert_eq!(recs.len(), 8, "one journal line per conversation");
    let keys: Vec<ItemKey> = recs.iter().map(ResponseRecord::key).collect();
    let longest = keys
        .iter()
        .map(|k| child_turns(&suite, &k.scenario_id).len())
        .max()
        .unwrap();
    assert!(
        longest >= 3,
        "the first 8 multi-turn items have 3+ child turns"
    );

    // Step s of the chunk: one batch with the s-th child turn of every conversation that has one.
    let batches = batches.lock().unwrap().clone();
    assert_eq!(batches.len(), longest, "one backend call per step");
    for (s, batch) in batches.iter().enumerate() {
        let want: Vec<&ItemKey> = keys
            .iter()
            .filter(|k| child_turns(&suite, &k.scenario_id).len() > s)
            .collect();
        let got: Vec<&ItemKey> = batch.iter().map(|r| &r.key).collect();
        assert_eq!(
            got, want,
            "step {s} sends turn {s} of every conversation together"
        );
        for r in batch {
            let users: Vec<&ChatMessage> = r.messages.iter().filter(|m| m.role == "user").collect();
            assert_eq!(users.len(), s + 1, "step {s} holds {} child turns", s + 1);
        }
    }

    for rec in &recs {
        let sc = suite.get(&rec.scenario_id).unwrap();
        let ctx = data.contexts.get(&rec.context).unwrap();
        let turns = child_turns(&suite, &rec.scenario_id);
        let seed = item_seed(0, &rec.key());
        // The journal line: the earlier answers in `turns`, the last one as the response.
        assert_eq!(rec.seed, seed);
        assert_eq!(
            rec.turns.iter().map(|t| t.turn).collect::<Vec<_>>(),
            turns[..turns.len() - 1]
        );
        assert_eq!(
            rec.response,
            answer_text(&rec.key(), turns.len(), seed),
            "the last turn uses the item seed"
        );
        for (k, ta) in rec.turns.iter().enumerate() {
            assert_eq!(
                ta.response,
                answer_text(&rec.key(), k + 1, turn_seed(seed, sc, ta.turn))
            );
            assert_eq!(ta.prompt_tokens, 10 * (k + 1));
            assert_ne!(turn_seed(seed, sc, ta.turn), seed);
        }
        // The last request of this conversation: system, then child turns each followed by the
        // model's own answer; never a scripted assistant turn.
        let last = batches
            .iter()
            .flatten()
            .rfind(|r| r.key == rec.key())
            .unwrap();
        assert_eq!(rec.prompt_sha256, chat_hash(&last.messages));
        let scripted: Vec<&str> = sc
            .turns
            .iter()
            .filter(|t| t.role == Role::Assistant)
            .map(|t| t.content.as_str())
            .collect();
        let assistant: Vec<&str> = last
            .messages
            .iter()
            .filter(|m| m.role == "assistant")
            .map(|m| m.content.as_str())
            .collect();
        assert_eq!(assistant.len(), turns.len() - 1);
        assert_eq!(
            assistant[0], rec.turns[0].response,
            "turn 2 sees the model's own answer to turn 1"
        );
        for a in &assistant {
            assert!(
                !scripted.contains(a),
                "a scripted assistant turn was sent: {a}"
            );
        }
        let users: Vec<&str> = last
            .messages
            .iter()
            .filter(|m| m.role == "user")
            .map(|m| m.content.as_str())
            .collect();
        let want_users: Vec<&str> = turns
            .iter()
            .map(|&i| sc.turns[i].content.as_str())
            .collect();
        assert_eq!(users, want_users, "the child's turns are the scenario's");
        let full = build_chat(sc, ctx, &data.country_name(&sc.country));
        assert_eq!(
            last.messages[0], full[0],
            "the same system prompt as scripted mode"
        );
        // Roles alternate after the system prompt, ending with the child.
        let roles: Vec<&str> = last.messages[1..].iter().map(|m| m.role.as_str()).collect();
        assert!(roles
            .chunks(2)
            .all(|p| p[0] == "user" && p.get(1).is_none_or(|r| *r == "assistant")));
        assert_eq!(*roles.last().unwrap(), "user");
    }
    // Conversations are scored turn by turn next to the verdicts.
    let dir = RunDir::open(&out).unwrap().0;
    assert_eq!(dir.read_conversations().unwrap().records.len(), 8);
    let m = dir.read_manifest().unwrap();
    assert_eq!(m.inputs.conversation, ConversationMode::Live);
    assert!(m.inputs.seed_derivation.contains("turn_seed"));

    // A resume in the other mode is refused, naming the mode.
    let mut scripted_opts = options(&out, ConversationMode::Scripted, &[], Some(8));
    scripted_opts.resume = true;
    let (mut b2, _) = Scripted::new();
    let stop = AtomicBool::new(false);
    let e = runner::run(&mut b2, &data, &suite, &scripted_opts, &mut Silent, &stop)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("conversation mode (--conversation): run has live, now scripted"),
        "{e}"
    );
}

#[test]
fn scripted_mode_sends_the_scripted_history_and_answers_the_last_turn_only() {
    let (data, suite) = data_and_suite("multiturn");
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("scripted");
    let (mut backend, batches) = Scripted::new();
    let opts = options(&out, ConversationMode::Scripted, &[], Some(8));
    let o = run(&mut backend, None, &data, &suite, &opts);
    assert_eq!(o.done, 8);
    let batches = batches.lock().unwrap().clone();
    assert_eq!(batches.len(), 1, "scripted: one step");
    assert_eq!(batches[0].len(), 8);
    for (seen, rec) in batches[0].iter().zip(records(&out)) {
        let sc = suite.get(&seen.key.scenario_id).unwrap();
        let ctx = data.contexts.get(&seen.key.context).unwrap();
        assert_eq!(
            seen.messages,
            build_chat(sc, ctx, &data.country_name(&sc.country))
        );
        assert_eq!(seen.seed, item_seed(0, &seen.key));
        assert!(rec.turns.is_empty());
        assert_eq!(rec.prompt_sha256, chat_hash(&seen.messages));
    }
    let m = RunDir::open(&out).unwrap().1;
    assert_eq!(m.inputs.conversation, ConversationMode::Scripted);
    assert!(
        !RunDir::open(&out).unwrap().0.has_conversations(),
        "scripted runs have no turn-by-turn scores"
    );
}

#[test]
fn a_failure_at_any_turn_fails_the_whole_conversation_and_a_resume_restarts_it() {
    let (data, suite) = data_and_suite("multiturn");
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("fail");
    let (mut backend, _) = Scripted::new();
    let opts = options(&out, ConversationMode::Live, &[], Some(3));
    let plan = runner::plan_for(&backend, &suite, &data, &opts).unwrap().1;
    let victim = plan[1].scenario_id.clone();
    backend.fail = Some((victim.clone(), 2));
    let o = run(&mut backend, None, &data, &suite, &opts);
    assert_eq!((o.done, o.total), (2, 3));
    assert_eq!(o.failures_by_tag.get("timeout"), Some(&1));
    let recs = records(&out);
    let bad = recs.iter().find(|r| r.scenario_id == victim).unwrap();
    assert!(bad.failed());
    assert!(bad.turns.is_empty() && bad.response.is_empty());
    let err = bad.error.as_ref().unwrap();
    assert_eq!(err.tag, "timeout");
    assert!(err.message.starts_with("at turn 3:"), "{}", err.message);

    // The resume redoes the failed conversation from its first turn, and only it.
    let (mut healthy, batches) = Scripted::new();
    let mut again = opts.clone();
    again.resume = true;
    let o = run(&mut healthy, None, &data, &suite, &again);
    assert_eq!((o.done, o.total), (3, 3));
    let batches = batches.lock().unwrap().clone();
    assert!(batches
        .iter()
        .flatten()
        .all(|r| r.key.scenario_id == victim));
    assert_eq!(batches.len(), child_turns(&suite, &victim).len());
    let recs = records(&out);
    assert_eq!(recs.len(), 3);
    assert!(recs.iter().all(|r| !r.failed()));
}

#[test]
fn a_replay_file_serves_live_conversations_turn_by_turn_and_one_without_turns_is_refused() {
    let (data, suite) = data_and_suite("multiturn");
    let t = tempfile::tempdir().unwrap();
    // A live run, turned into a replay file (its journal lines less the run's own fields).
    let live = t.path().join("live");
    let (mut backend, _) = Scripted::new();
    run(
        &mut backend,
        None,
        &data,
        &suite,
        &options(&live, ConversationMode::Live, &[], Some(4)),
    );
    let recs = records(&live);
    let mut with_turns = String::new();
    let mut without = String::new();
    for r in &recs {
        let mut v = serde_json::to_value(r).unwrap();
        let o = v.as_object_mut().unwrap();
        o.retain(|k, _| {
            ["scenario_id", "context", "sample", "response", "turns"].contains(&k.as_str())
        });
        with_turns.push_str(&serde_json::to_string(&v).unwrap());
        with_turns.push('\n');
        v.as_object_mut().unwrap().remove("turns");
        without.push_str(&serde_json::to_string(&v).unwrap());
        without.push('\n');
    }
    let rp = t.path().join("replay.jsonl");
    std::fs::write(&rp, &with_turns).unwrap();
    let mut replay = ReplayBackend::open(&rp, "replay:replay.jsonl").unwrap();
    let out = t.path().join("replayed");
    run(
        &mut replay,
        None,
        &data,
        &suite,
        &options(&out, ConversationMode::Live, &["replayed"], None),
    );
    let got = records(&out);
    assert_eq!(got.len(), recs.len());
    for (g, w) in got.iter().zip(&recs) {
        assert_eq!(g.response, w.response);
        assert_eq!(g.prompt_sha256, w.prompt_sha256, "the same live chats");
        assert_eq!(
            g.turns
                .iter()
                .map(|t| (&t.response, t.turn))
                .collect::<Vec<_>>(),
            w.turns
                .iter()
                .map(|t| (&t.response, t.turn))
                .collect::<Vec<_>>()
        );
        assert_eq!(g.finish_reason, FinishReason::Replayed);
    }

    // Without per-turn answers: refused before any item runs, with the way out.
    let rp2 = t.path().join("flat.jsonl");
    std::fs::write(&rp2, &without).unwrap();
    let mut flat = ReplayBackend::open(&rp2, "replay:flat.jsonl").unwrap();
    let out2 = t.path().join("flat-live");
    let stop = AtomicBool::new(false);
    let e = runner::run(
        &mut flat,
        &data,
        &suite,
        &options(&out2, ConversationMode::Live, &["replayed"], None),
        &mut Silent,
        &stop,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("no per-turn answers (`turns`) for 4 multi-turn item(s)"),
        "{e}"
    );
    assert!(e.contains("--conversation scripted"), "{e}");
    assert!(!out2.join("responses.jsonl").exists());
    // The same file replays in scripted mode.
    let out3 = t.path().join("flat-scripted");
    let o = run(
        &mut flat,
        None,
        &data,
        &suite,
        &options(&out3, ConversationMode::Scripted, &["replayed"], None),
    );
    assert_eq!(o.done, 4);
}

/// A child model that writes a recognisable turn naming the step it was asked for.
struct ChildModel {
    info: ModelInfo,
}

impl Backend for ChildModel {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn generate(&mut self, request: &Request<'_>) -> Result<Completion, BackendError> {
        // The child model sees the conversation with roles swapped: the model under test's
        // answers are its `user` messages.
        let answers = request.messages.iter().filter(|m| m.role == "user").count();
        Ok(Completion {
            text: format!(
                "child: i cant do that ({answers}, seed {})",
                request.params.seed
            ),
            prompt_tokens: 0,
            completion_tokens: 0,
            prompt_ms: 0.0,
            generation_ms: 0.0,
            finish_reason: FinishReason::Stop,
        })
    }
}

#[test]
fn an_adaptive_child_writes_the_turns_after_the_first() {
    let (data, suite) = data_and_suite("multiturn");
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("child");
    let (mut backend, batches) = Scripted::new();
    let mut child = AdaptiveChild::new(
        Box::new(ChildModel {
            info: ModelInfo {
                spec: "test:child".into(),
                backend: "test".into(),
                ..ModelInfo::default()
            },
        }),
        AdaptiveChild::default_params(),
    );
    let opts = options(&out, ConversationMode::Live, &[], Some(2));
    let o = run(&mut backend, Some(&mut child), &data, &suite, &opts);
    assert_eq!(o.done, 2);
    let batches = batches.lock().unwrap().clone();
    for rec in records(&out) {
        let sc = suite.get(&rec.scenario_id).unwrap();
        // The first child turn is the scenario's; later ones the child model's, recorded.
        assert_eq!(rec.turns[0].child, None);
        for t in &rec.turns[1..] {
            let words = t.child.as_deref().unwrap();
            assert!(words.starts_with("i cant do that"), "{words}");
        }
        let last_words = rec.child.as_deref().unwrap();
        assert!(last_words.starts_with("i cant do that"), "{last_words}");
        let last = batches
            .iter()
            .flatten()
            .rfind(|r| r.key == rec.key())
            .unwrap();
        let users: Vec<&str> = last
            .messages
            .iter()
            .filter(|m| m.role == "user")
            .map(|m| m.content.as_str())
            .collect();
        assert_eq!(users[0], sc.turns[0].content);
        assert_eq!(
            *users.last().unwrap(),
            last_words,
            "the model answered the child's words"
        );
    }
    let m = RunDir::open(&out).unwrap().1;
    assert_eq!(m.inputs.child.unwrap().model.spec, "test:child");
    // An adaptive child needs live mode.
    let (mut b2, _) = Scripted::new();
    let stop = AtomicBool::new(false);
    let e = runner::run_with_child(
        &mut b2,
        Some(&mut child),
        &data,
        &suite,
        &options(
            &t.path().join("x"),
            ConversationMode::Scripted,
            &[],
            Some(2),
        ),
        &mut Silent,
        &stop,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("needs live conversations"), "{e}");
}

/// The committed sample runs (single-turn suites) replayed in both modes give the committed
/// journal back: the same prompts (when the suite and contexts are those of the sample), seeds
/// and responses, and live and scripted runs the same verdicts.
#[test]
fn single_turn_runs_reproduce_the_committed_samples_in_both_modes() {
    for sample in ["sample-smoke", "sample-core"] {
        let dir = root().join("reports").join(sample).join("run");
        let (run_dir, manifest) = RunDir::open(&dir).unwrap();
        let want = run_dir.read_responses().unwrap().records;
        let (data, suite) = data_and_suite(&manifest.inputs.suite);
        assert!(suite.scenarios.iter().all(|s| !s.is_multiturn()));
        let same_prompts = suite.content_hash() == manifest.inputs.suite_sha256
            && data.contexts.hash == manifest.inputs.contexts_sha256;
        eprintln!("{sample}: prompt hashes compared: {same_prompts}");
        let t = tempfile::tempdir().unwrap();
        let rp = t.path().join("replay.jsonl");
        let mut lines = String::new();
        for r in &want {
            lines.push_str(
                &serde_json::json!({"scenario_id": r.scenario_id, "context": r.context,
                    "sample": r.sample, "response": r.response})
                .to_string(),
            );
            lines.push('\n');
        }
        std::fs::write(&rp, lines).unwrap();
        let mut verdicts = Vec::new();
        for mode in [ConversationMode::Live, ConversationMode::Scripted] {
            let mut replay = ReplayBackend::open(&rp, "replay:r").unwrap();
            let out = t.path().join(mode.id());
            let mut opts = options(&out, mode, &[], None);
            opts.suite = manifest.inputs.suite.clone();
            opts.params = manifest.inputs.generation.clone();
            let o = run(&mut replay, None, &data, &suite, &opts);
            assert_eq!(o.done, want.len(), "{sample} {}", mode.id());
            let got = records(&out);
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.key(), w.key());
                assert_eq!(g.seed, w.seed, "{sample} {} {}", mode.id(), w.key());
                assert_eq!(g.response, w.response);
                assert!(g.turns.is_empty());
                if same_prompts {
                    assert_eq!(
                        g.prompt_sha256,
                        w.prompt_sha256,
                        "{sample} {} {}",
                        mode.id(),
                        w.key()
                    );
                }
            }
            verdicts.push(std::fs::read_to_string(out.join("verdicts.jsonl")).unwrap());
        }
        assert_eq!(
            verdicts[0], verdicts[1],
            "{sample}: live and scripted verdicts differ"
        );
    }
}
