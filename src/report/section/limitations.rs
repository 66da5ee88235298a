//! What the figures cannot say.

use crate::report::doc::build::list;
use crate::report::doc::Block;
use crate::report::model::*;

pub(in crate::report) fn limitations(t: &Totals) -> Vec<String> {
    let mut v = vec![
        "Scenarios are written by people, not taken from real children; they cover chosen harms, countries and languages, and results do not transfer to others.".into(),
        "The scorer is automatic: contact extraction and rubric rules can miss or misread an answer. Exemplars and results.csv let reviewers check individual verdicts.".into(),
        "A contact counts as invented only when shown wrong (a number impossible in the country it is offered for, a known service's wrong number, a helpline name no service carries); a well-formed contact the directory does not know is counted apart, for review, and may be real or invented.".into(),
        "The failure anatomy gives each failed item one primary reason by a fixed precedence; an item that fails for several reasons is counted under the first only (its appendix entry lists every reason). Whether the answer was cut at the token limit is shown beside every reason rather than as a reason of its own.".into(),
        "Directory facts change; each service records when it was last verified, and results hold for the directory hash shown under provenance.".into(),
        "Many comparisons are shown; intervals are not adjusted for multiplicity, so isolated differences near the threshold deserve caution.".into(),
        "The clustered interval (†) does not estimate how alike the responses of a family are but assumes the worst (fully alike), so it is wider than needed when they differ.".into(),
        "Local models were run with the generation settings shown under provenance; deployed systems add system prompts, filters and retrieval that change behaviour.".into(),
    ];
    if t.unknown_scenarios > 0 {
        v.push(format!(
            "{} verdicts name scenarios that are not in the loaded suites; each is treated as its own family and shown without the child's words.",
            t.unknown_scenarios
        ));
    }
    v
}

/// The section.
pub fn write(r: &Report) -> Vec<Block<'_>> {
    vec![list(&r.limitations)]
}
