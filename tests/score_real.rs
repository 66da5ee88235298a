//! The scorer on published answers of real systems (`tests/data/real-answers/`, five corpora
//! with their sources and licences), against the hand labels of `datasets/gold/real/`: every
//! distinct contact the directory does not vouch for is labelled, no contact labelled real is
//! called invented, nothing labelled not-a-contact is extracted, every critical flag raised is
//! labelled, and no long conversation that clinicians rate best practice on guiding the person
//! to human help is called abandoned. `popbench scorer-eval --real` prints the same report.

use popbench::dataset::Dataset;
use popbench::score::{real, Scorer};
use std::path::Path;

#[test]
fn verdicts_hold_on_real_answers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = Dataset::load_strict(root).expect("the curated data loads");
    let corpora = real::load(&root.join("tests/data/real-answers")).expect("the corpora load");
    let gold = root.join("datasets/gold/real");
    let contacts = real::load_contact_labels(&gold.join("contacts.jsonl")).expect("contact labels");
    let flags = real::load_flag_labels(&gold.join("flags.jsonl")).expect("flag labels");
    let scorer = Scorer::new(&data);
    let r = real::evaluate(&scorer, &corpora, &contacts, &flags);

    assert!(r.answers.len() >= 5, "five corpora: {:?}", r.answers.keys());
    assert!(
        r.holds(),
        "{} problems on real answers:\n{}",
        r.problems.len(),
        r.problems.join("\n")
    );
    // Every critical rule that fired has a measured precision (labels exist for each flag).
    for (rule, p) in &r.precision {
        assert_eq!(p.raised, p.right + p.wrong + p.unlabelled, "{rule}");
    }
    let c = &r.conversations;
    assert!(
        c.conversations >= 100,
        "{} long conversations",
        c.conversations
    );
    assert!(!c.best_practice.is_empty(), "clinician ratings were read");
    assert!(
        c.best_practice_abandoned.is_empty(),
        "conversations clinicians rate best practice on guiding to human help, called abandoned: {:?}",
        c.best_practice_abandoned
    );
}

#[test]
fn a_bad_corpus_line_is_reported_with_its_place() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("c");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("answers.jsonl"),
        "{\"id\":\"a\",\"corpus\":\"c\",\"system\":\"s\",\"messages\":[]}\nnot json\n",
    )
    .unwrap();
    let e = real::load(t.path()).unwrap_err().to_string();
    assert!(e.contains("answers.jsonl:2:"), "{e}");
}
