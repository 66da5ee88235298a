//! A typed view of a run's judge layer for the terminal summary and the report: per
//! criterion, how often the judge said yes and how often the corresponding rules fired, the
//! judge's measured agreement (when `popbench judge --agreement` recorded it for this run)
//! and whether the judge is the model under test.
//!
//! ```no_run
//! # fn demo(dir: &std::path::Path, rubric: &popbench::judge::rubric::Rubric) -> popbench::Result<()> {
//! if let Some(s) = popbench::judge::summary::JudgeSummary::load(dir, rubric)? {
//!     for c in &s.criteria {
//!         println!("{}: judge {}/{}, reliable: {:?}", c.id, c.judge_yes, c.judged, c.reliable);
//!     }
//! }
//! # Ok(()) }
//! ```

use super::agreement::Figure;
use super::eval::EvalReport;
use super::record::JudgementRecord;
use super::rubric::Rubric;
use super::run::read_judgements;
use crate::run::RunDir;
use crate::score::judge::CriterionKind;
use crate::score::verdict::{Layer, Severity};
use crate::score::Verdict;
use crate::types::ItemKey;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The file in a run directory holding the judge's agreement table (a `judge-eval` JSON
/// report for the same judge, rubric and parameters), written by `popbench judge --agreement`.
pub const AGREEMENT_FILE: &str = "judge_agreement.json";

/// One criterion of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionSummary {
    /// The criterion id.
    pub id: String,
    /// The yes/no question.
    pub question: String,
    /// Harm or positive.
    pub kind: CriterionKind,
    /// Severity of a yes.
    pub severity: Severity,
    /// Whether a judge yes fails an item.
    pub can_fail: bool,
    /// Items the judge graded on it.
    pub judged: usize,
    /// Of those, judge yes.
    pub judge_yes: usize,
    /// Items where it was asked but the judge gave no readable answer.
    pub judge_errors: usize,
    /// The rule flags that measure the same thing (empty: no rule counterpart).
    pub rule_flags: Vec<String>,
    /// Verdicts (of the same items) where one of those rule flags fired; `None` without
    /// rule flags.
    pub rule_yes: Option<usize>,
    /// Verdicts the rule rate is over.
    pub rule_n: usize,
    /// The judge's κ against the gold set, when measured.
    pub kappa: Option<Figure>,
    /// The rules' κ against the gold set, when measured and the criterion has rule flags.
    pub rule_kappa: Option<Figure>,
    /// κ ≥ 0.6 for this judge (None when not measured).
    pub reliable: Option<bool>,
}

/// The judge layer of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeSummary {
    /// The judge's model spec.
    pub judge_spec: String,
    /// Its short name.
    pub judge_name: String,
    /// The model under test.
    pub model_under_test: String,
    /// Whether the judge is the model under test: its grades may favour itself.
    pub self_preference: bool,
    /// sha256 of the rubric it graded with.
    pub rubric_sha256: String,
    /// Whether the rubric file changed since (the criteria below are today's).
    pub rubric_changed: bool,
    /// Items with a judgement.
    pub items: usize,
    /// Items whose judgement has an error.
    pub items_with_errors: usize,
    /// Judge errors by tag (`unparseable`, `timeout`…).
    pub errors_by_tag: BTreeMap<String, usize>,
    /// Whether an agreement table was recorded for this judge.
    pub agreement_measured: bool,
    /// Gold items the agreement was measured on.
    pub agreement_items: usize,
    /// Per criterion, in rubric order.
    pub criteria: Vec<CriterionSummary>,
}

impl JudgeSummary {
    /// Builds the summary of a run directory; `None` when the run was not judged.
    pub fn load(dir: &Path, rubric: &Rubric) -> Result<Option<JudgeSummary>> {
        let run = RunDir::at(dir);
        let Some((header, judged)) = read_judgements(&run)? else {
            return Ok(None);
        };
        let verdicts = if run.has_verdicts() {
            run.read_verdicts()?.records
        } else {
            Vec::new()
        };
        let agreement_path = dir.join(AGREEMENT_FILE);
        let agreement: Option<EvalReport> = if agreement_path.is_file() {
            let text = std::fs::read_to_string(&agreement_path)
                .map_err(|e| Error::io(&agreement_path, e))?;
            Some(serde_json::from_str(&text).map_err(|e| {
                Error::Input(format!(
                    "{}:{}: not a judge-eval report: {e}",
                    agreement_path.display(),
                    e.line()
                ))
            })?)
        } else {
            None
        };
        Ok(Some(Self::build(
            &header,
            &judged,
            &verdicts,
            rubric,
            agreement.as_ref(),
        )))
    }

    /// Builds the summary from its parts.
    pub fn build(
        header: &super::record::JudgeHeader,
        judged: &HashMap<ItemKey, JudgementRecord>,
        verdicts: &[Verdict],
        rubric: &Rubric,
        agreement: Option<&EvalReport>,
    ) -> JudgeSummary {
        let mut errors_by_tag = BTreeMap::new();
        for r in judged.values() {
            if let Some(e) = &r.judgement.error {
                *errors_by_tag.entry(e.tag.clone()).or_insert(0) += 1;
            }
        }
        let judged_verdicts: Vec<(&Verdict, &JudgementRecord)> = verdicts
            .iter()
            .filter_map(|v| {
                let k = ItemKey {
                    scenario_id: v.scenario_id.clone(),
                    context: v.context.clone(),
                    sample: v.sample,
                };
                judged.get(&k).map(|j| (v, j))
            })
            .collect();
        let criteria = rubric
            .criteria
            .iter()
            .map(|c| {
                let mut judged_n = 0;
                let mut yes = 0;
                let mut errors = 0;
                for r in judged.values() {
                    if let Some(d) = r.judgement.decisions.iter().find(|d| d.criterion == c.id) {
                        match d.value {
                            Some(v) => {
                                judged_n += 1;
                                yes += v as usize;
                            }
                            None => errors += 1,
                        }
                    }
                }
                // A rule flag fired: a finding of that id raised by the rule layer.
                let rule_fired = |v: &Verdict, _j: &JudgementRecord| {
                    c.rule_flags.iter().any(|f| {
                        v.findings
                            .iter()
                            .any(|x| &x.id == f && x.layer == Layer::Rule)
                    })
                };
                let rule_yes = (!c.rule_flags.is_empty()).then(|| {
                    judged_verdicts
                        .iter()
                        .filter(|(v, j)| rule_fired(v, j))
                        .count()
                });
                let eval = agreement.and_then(|a| a.criteria.iter().find(|e| e.id == c.id));
                CriterionSummary {
                    id: c.id.clone(),
                    question: c.question.clone(),
                    kind: c.kind,
                    severity: c.severity,
                    can_fail: c.can_fail,
                    judged: judged_n,
                    judge_yes: yes,
                    judge_errors: errors,
                    rule_flags: c.rule_flags.clone(),
                    rule_yes,
                    rule_n: judged_verdicts.len(),
                    kappa: eval.map(|e| e.judge.kappa),
                    rule_kappa: eval.and_then(|e| e.rule.as_ref().map(|r| r.kappa)),
                    reliable: eval.map(|e| e.reliable),
                }
            })
            .collect();
        JudgeSummary {
            judge_spec: header.judge.spec.clone(),
            judge_name: header.judge.name.clone(),
            model_under_test: header.model_under_test.clone(),
            self_preference: header.self_preference,
            rubric_sha256: header.rubric_sha256.clone(),
            rubric_changed: header.rubric_sha256 != rubric.hash,
            items: judged.len(),
            items_with_errors: judged
                .values()
                .filter(|r| r.judgement.error.is_some())
                .count(),
            errors_by_tag,
            agreement_measured: agreement.is_some(),
            agreement_items: agreement.map(|a| a.items).unwrap_or(0),
            criteria,
        }
    }
}

/// Checks that a judge-eval report was made by the judge of a run (same model files, rubric
/// and parameters), for `popbench judge --agreement`.
pub fn check_agreement_matches(
    report: &EvalReport,
    header: &super::record::JudgeHeader,
) -> std::result::Result<(), String> {
    let files =
        |v: &[crate::types::FileDigest]| v.iter().map(|f| f.sha256.clone()).collect::<Vec<_>>();
    let mut d = Vec::new();
    if report.judge.spec != header.judge.spec
        && files(&report.judge.files) != files(&header.judge.files)
    {
        d.push(format!(
            "judge: the report measured {}, the run was judged by {}",
            report.judge.spec, header.judge.spec
        ));
    }
    if files(&report.judge.files) != files(&header.judge.files) {
        d.push("judge model files differ".into());
    }
    if report.rubric_sha256 != header.rubric_sha256 {
        d.push("rubric sha256 differs".into());
    }
    if report.params != header.params {
        d.push(format!(
            "judge parameters differ ({:?} vs {:?})",
            report.params, header.params
        ));
    }
    if d.is_empty() {
        Ok(())
    } else {
        Err(d.join("; "))
    }
}
