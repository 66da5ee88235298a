//! The judge section: for each judged run, the judge layer's findings beside the rule
//! layer's, per rubric criterion, with the agreement of each with the gold labels (Cohen's κ)
//! and the criteria that are not reliable for that judge (κ < 0.6).
//!
//! The figures come from [`JudgeSummary`] (built by `judge::summary` from judgements.jsonl,
//! the verdicts and the recorded judge-eval report); this file only renders them.

use crate::judge::agreement::Figure;
use crate::judge::summary::{CriterionSummary, JudgeSummary};
use crate::report::doc::build::{list, para, t};
use crate::report::doc::{Block, Cell, Table};
use crate::score::judge::CriterionKind;

/// "k/n (p%)", or "–" when nothing was counted.
fn share(k: Option<usize>, n: usize) -> String {
    match k {
        Some(k) if n > 0 => format!("{k}/{n} ({:.1}%)", 100.0 * k as f64 / n as f64),
        _ => "–".into(),
    }
}

/// "0.71 (0.55–0.84)", or "not measured".
fn kappa(f: &Option<Figure>) -> String {
    match f {
        Some(Figure {
            value: Some(v),
            lo,
            hi,
        }) => match (lo, hi) {
            (Some(lo), Some(hi)) => format!("{v:.2} ({lo:.2}–{hi:.2})"),
            _ => format!("{v:.2}"),
        },
        Some(_) => "undefined".into(),
        None => "not measured".into(),
    }
}

fn reliability(c: &CriterionSummary) -> &'static str {
    match c.reliable {
        Some(true) => "reliable (κ ≥ 0.6)",
        Some(false) => "NOT reliable for this judge (κ < 0.6)",
        None => "agreement not measured",
    }
}

fn kind(c: &CriterionSummary) -> &'static str {
    match c.kind {
        CriterionKind::Harm if c.can_fail => "harm (fails the item)",
        CriterionKind::Harm => "harm",
        CriterionKind::Positive => "positive",
    }
}

/// Sentences about one judge: who judged, self-preference, errors, agreement.
fn about(j: &JudgeSummary) -> Vec<String> {
    let mut out = vec![format!(
        "{} judged {} of the responses of {} ({} with a judge error).",
        j.judge_name, j.items, j.model_under_test, j.items_with_errors
    )];
    if j.self_preference {
        out.push("The judge is the model under test: its grades of its own answers may be biased in its favour (self-preference). Read them with a second judge.".into());
    }
    if !j.errors_by_tag.is_empty() {
        let tags: Vec<String> = j
            .errors_by_tag
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        out.push(format!("Judge errors by tag: {}. An error is never read as \"no\": a criterion the judge did not grade readably carries no judge finding (the item is counted as having an error even when other criteria were graded).", tags.join(", ")));
    }
    if j.agreement_measured {
        out.push(format!("Agreement with the gold labels was measured on {} labelled responses (`popbench judge-eval`); a criterion with κ below 0.6 is marked not reliable for this judge.", j.agreement_items));
    } else {
        out.push("No agreement table was recorded for this judge (`popbench judge … --agreement FILE`): its findings cannot be weighed against human labels.".into());
    }
    if j.rubric_changed {
        out.push(
            "The rubric changed since this run was judged; the criteria shown are today's.".into(),
        );
    }
    out
}

/// The section's body, below its heading (empty when no run was judged).
pub fn write(judges: &[JudgeSummary]) -> Vec<Block<'_>> {
    let mut o = Vec::new();
    if judges.is_empty() {
        return o;
    }
    o.push(para(r#"Rules (phrase lists) and a judge model grade the same rubric criteria. Each row gives how often each layer said "yes" on this run's help-seeking and control responses, and each layer's agreement with the gold labels (Cohen's κ, 95% bootstrap interval)."#));
    for j in judges {
        o.push(Block::Heading {
            level: 3,
            id: None,
            text: vec![t(&j.judge_name)],
        });
        o.push(list(about(j)));
        o.push(Block::Table(Table {
            caption: Some(vec![t(format!(
                "Rubric criteria: judge and rules on the responses of {}",
                j.model_under_test
            ))]),
            head: [
                "Criterion",
                "Kind",
                "Judge: yes",
                "Rules: yes",
                "Judge κ",
                "Rules κ",
                "Reliability",
            ]
            .iter()
            .map(|h| vec![t(*h)])
            .collect(),
            rows: j
                .criteria
                .iter()
                .map(|c| {
                    vec![
                        Cell::head(vec![t(&c.id)]),
                        Cell::new(vec![t(kind(c))]),
                        Cell::new(vec![t(share(Some(c.judge_yes), c.judged))]),
                        Cell::new(vec![t(share(c.rule_yes, c.rule_n))]),
                        Cell::new(vec![t(kappa(&c.kappa))]),
                        Cell::new(vec![t(kappa(&c.rule_kappa))]),
                        Cell::new(vec![t(reliability(c))]),
                    ]
                })
                .collect(),
        }));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kappa_and_share_read_plainly() {
        assert_eq!(share(Some(3), 12), "3/12 (25.0%)");
        assert_eq!(share(None, 12), "–");
        assert_eq!(share(Some(0), 0), "–");
        let f = Some(Figure {
            value: Some(0.5),
            lo: Some(0.25),
            hi: Some(0.75),
        });
        assert_eq!(kappa(&f), "0.50 (0.25–0.75)");
        assert_eq!(kappa(&None), "not measured");
    }

    #[test]
    fn no_judged_run_no_section() {
        assert!(write(&[]).is_empty());
    }
}
