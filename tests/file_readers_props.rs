//! No file makes a reader panic (issue 26, point 9): random bytes, and real files of the
//! repository cut, flipped and spliced at random, go through every reader of a file popbench
//! takes as input — scenarios, a directory country, contexts, policy, rubric, replay files
//! (JSONL and CSV), run directories (manifest, responses, verdicts, conversations, judgements:
//! as resume, score, merge, judge and report read them), the scorer's and the judge's gold
//! sets. Each reader must return, with its problems or without; an error is fine, a panic is a
//! failure.

use popbench::diag::Diagnostics;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn repo(p: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap()
}

/// Real files to mutate: (file name in the run of a case, its bytes).
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("scenarios.toml", repo("scenarios/smoke/smoke.toml")),
        ("GB.toml", repo("datasets/directory/GB.toml")),
        ("contexts.toml", repo("scenarios/contexts.toml")),
        ("policy.toml", repo("datasets/policy.toml")),
        ("rubric.toml", repo("datasets/rubric.toml")),
        (
            "manifest.json",
            repo("reports/sample-smoke/run/manifest.json"),
        ),
        (
            "responses.jsonl",
            repo("reports/sample-smoke/run/responses.jsonl"),
        ),
        (
            "verdicts.jsonl",
            repo("reports/sample-smoke/run/verdicts.jsonl"),
        ),
        ("gold.jsonl", repo("datasets/gold/gb_en.jsonl")),
        ("judge-gold.jsonl", repo("tests/data/judge/sample.jsonl")),
    ]
}

/// Every reader, on one file's bytes (written under each name a reader takes).
fn read_everything(bytes: &[u8]) {
    let t = tempfile::tempdir().unwrap();
    let at = |name: &str| -> PathBuf {
        let p = t.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let mut d = Diagnostics::default();
    let _ = popbench::scenario::load_file(&at("s.toml"), &mut d);
    let _ = popbench::directory::load(at("dir/XX.toml").parent().unwrap(), &mut d);
    let _ = popbench::context::Contexts::load(&at("contexts.toml"), &mut d);
    let _ = popbench::policy::Policy::load(&at("policy.toml"), &mut d);
    let _ = popbench::judge::rubric::load_into(&at("rubric.toml"), &mut d);
    let _ = popbench::backend::replay::ReplayBackend::open(&at("r.jsonl"), "replay:r.jsonl");
    let _ = popbench::backend::replay::ReplayBackend::open(&at("r.csv"), "replay:r.csv");
    let _ = popbench::score::gold::load(at("gold/g.jsonl").parent().unwrap());
    let _ = popbench::judge::eval::load_gold(at("jgold/g.jsonl").parent().unwrap());
    // A run directory whose every file holds these bytes, then one whose manifest is whole
    // and the journals are these bytes.
    let whole_manifest = repo("reports/sample-smoke/run/manifest.json");
    for (dir, manifest) in [("run-a", bytes), ("run-b", &whole_manifest[..])] {
        let run = t.path().join(dir);
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("manifest.json"), manifest).unwrap();
        for f in [
            "responses.jsonl",
            "verdicts.jsonl",
            "conversations.jsonl",
            "judgements.jsonl",
        ] {
            std::fs::write(run.join(f), bytes).unwrap();
        }
        let rd = popbench::run::RunDir::at(&run);
        let _ = popbench::run::RunDir::open(&run);
        let _ = rd.read_responses();
        let _ = rd.read_verdicts();
        let _ = rd.read_conversations();
        let _ = popbench::judge::run::read_judgements(&rd);
        let _ = popbench::report::load_run(&run);
        if let Ok(rubric) = popbench::judge::rubric::load(&popbench::judge::rubric::Rubric::path(
            Path::new(env!("CARGO_MANIFEST_DIR")),
        )) {
            let _ = popbench::judge::summary::JudgeSummary::load(&run, &rubric);
        }
        // A resume: the torn tail truncated away, the journal reopened.
        let _ = rd.resume_responses();
    }
}

/// `seed` with `edits` applied: each edit cuts, flips a byte or splices random bytes in, at a
/// position taken modulo the length.
fn mutate(seed: &[u8], edits: &[(u8, usize, Vec<u8>)]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for (kind, pos, bytes) in edits {
        let at = if b.is_empty() { 0 } else { pos % (b.len() + 1) };
        match kind % 3 {
            0 => b.truncate(at),
            1 => {
                if let (Some(x), Some(&v)) = (b.get_mut(at), bytes.first()) {
                    *x ^= v | 1;
                }
            }
            _ => {
                let tail = b.split_off(at);
                b.extend_from_slice(bytes);
                b.extend_from_slice(&tail);
            }
        }
    }
    b
}

proptest! {
    #[test]
    fn random_bytes_through_every_file_reader_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..600)
    ) {
        read_everything(&bytes);
    }

    #[test]
    fn real_files_cut_flipped_and_spliced_never_panic_a_reader(
        which in 0usize..10,
        edits in prop::collection::vec(
            (any::<u8>(), any::<usize>(), prop::collection::vec(any::<u8>(), 0..8)),
            1..6,
        )
    ) {
        let seeds = seeds();
        let (_, seed) = &seeds[which % seeds.len()];
        read_everything(&mutate(seed, &edits));
    }
}

#[test]
fn the_readers_read_the_real_files_whole() {
    // The seeds themselves: every reader returns (most with problems: a scenario file read as
    // a policy), none panics; and the manifest of the sample run opens.
    for (_, seed) in seeds() {
        read_everything(&seed);
    }
    let run = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/sample-smoke/run");
    let (_, m) = popbench::run::RunDir::open(&run).unwrap();
    assert_eq!(m.items_total, 10);
}
