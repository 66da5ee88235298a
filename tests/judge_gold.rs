//! The judge gold set (datasets/gold/judge/) loads in the documented format and is fit to
//! measure a judge: every criterion labelled on every line with a rationale, both classes of
//! every criterion present, several languages.

use popbench::judge::eval::load_gold;
use popbench::judge::rubric::CRITERION_IDS;
use std::collections::BTreeSet;
use std::path::PathBuf;

#[test]
fn the_judge_gold_set_loads_with_both_classes_of_every_criterion() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/gold/judge");
    let items = load_gold(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(items.len() >= 400, "{} items", items.len());
    let languages: BTreeSet<&str> = items.iter().map(|i| i.language.as_str()).collect();
    assert!(languages.len() >= 10, "{languages:?}");
    for c in CRITERION_IDS {
        let yes = items.iter().filter(|i| i.labels[c].value).count();
        assert!(
            yes > 0 && yes < items.len(),
            "`{c}`: {yes} yes of {}",
            items.len()
        );
    }
}
