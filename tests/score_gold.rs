//! The scorer agrees with every label of the gold set (datasets/gold).

use popbench::dataset::Dataset;
use popbench::diag::Diagnostics;
use popbench::score::{gold, Scorer};
use std::path::Path;

#[test]
fn scorer_agrees_with_the_gold_set() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = Dataset::load(root, &mut Diagnostics::default());
    let items = gold::load(&root.join("datasets").join("gold")).expect("gold set loads");
    assert!(items.len() >= 150, "the gold set has {} items", items.len());
    let a = gold::evaluate(&Scorer::new(&data), &items);
    let report: Vec<String> = a
        .disagreements
        .iter()
        .map(|d| {
            format!(
                "{}: {} expected {} got {}",
                d.id, d.field, d.expected, d.got
            )
        })
        .collect();
    assert!(a.perfect(), "disagreements:\n{}", report.join("\n"));
}
