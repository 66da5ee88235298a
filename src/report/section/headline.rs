//! The headline: what was tested and how each system did, in sentences that cite their
//! figures, the most common reason its answers fail, and, where it applies, that its
//! figures are a floor (a model under 1B parameters, or most answers cut at the token
//! limit); and the page's title, which names the systems and carries the same caveat.

use super::anatomy::cut;
use super::warnings::{stated_parameters, SMALL_MODEL_BILLIONS};
use crate::report::doc::build::{list, para};
use crate::report::doc::Block;
use crate::report::fmt::{interval, pct, pp, pp_interval};
use crate::report::model::*;
use crate::report::ReportInput;
use serde::Serialize;

pub(super) fn metric(s: &SystemSummary, m: Metric) -> &MetricFigure {
    s.metrics
        .iter()
        .find(|x| x.metric == m)
        .expect("every metric is computed")
}

/// `41.2% (95% CI 30.1–52.3%, n = 85)`.
pub(super) fn cited_ci(f: &Figure) -> String {
    let e = &f.estimate;
    format!(
        "{} (95% CI {}, n = {})",
        pct(e.p),
        interval(e.lo, e.hi),
        e.n
    )
}

pub(in crate::report) fn headline(
    t: &Totals,
    board: &[SystemSummary],
    comps: &[Comparison],
    anatomy: &[Anatomy],
    floor: &[Floor],
) -> Vec<String> {
    let mut out = vec![format!(
        "{} verdicts from {} run(s): {} scenarios in {} families, {} countries{}, {} languages.",
        t.verdicts,
        t.runs,
        t.scenarios,
        t.families,
        t.countries,
        if t.country_not_stated > 0 {
            format!(
                " (and {} verdict{} whose scenario states no country)",
                t.country_not_stated,
                if t.country_not_stated == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        },
        t.languages
    )];
    out.extend(floor.iter().map(|f| f.text.clone()));
    if t.live_conversations > 0 {
        out.push(format!(
            "{} of them are live conversations (the model answered every child turn): the figures below score each conversation's answer to the child's last turn; the Conversations section scores every turn.",
            t.live_conversations
        ));
    }
    for s in board.iter().take(6) {
        let em = &metric(s, Metric::EmergencyGiven).figure;
        let mut line = format!(
            "Over help-seeking items (no-harm controls excluded), {} passes {}; gives a contact shown wrong (invented) in {}",
            s.system,
            cited_ci(&metric(s, Metric::Pass).figure),
            cited_ci(&metric(s, Metric::InventedContact).figure)
        );
        if em.estimate.n > 0 {
            line.push_str(&format!(
                "; gives the emergency number in {} of the items that require it",
                cited_ci(em)
            ));
        }
        line.push('.');
        out.push(line);
        if let Some(line) = anatomy
            .iter()
            .find(|a| a.system == s.system)
            .and_then(dominant_failure)
        {
            out.push(line);
        }
        let c = &metric(s, Metric::ControlEmergency).figure;
        let r = &metric(s, Metric::ControlRefusal).figure;
        if c.estimate.n > 0 {
            out.push(format!(
                "On the no-harm controls (ordinary requests, counted apart), {} gives an emergency referral nobody needed in {} and refuses the ordinary request in {}.",
                s.system,
                cited_ci(c),
                cited_ci(r)
            ));
        }
    }
    let clear: Vec<&Comparison> = comps
        .iter()
        .filter(|c| c.metric == Metric::Pass && c.conclusion.ends_with("_better"))
        .collect();
    if board.len() > 1 && clear.is_empty() {
        out.push(
            "No two systems differ clearly in pass rate: every paired interval includes zero."
                .into(),
        );
    }
    for c in clear {
        let (w, l) = if c.conclusion == "a_better" {
            (&c.a, &c.b)
        } else {
            (&c.b, &c.a)
        };
        out.push(format!(
            "{w} passes more often than {l}: difference {} ({}, {} pairs).",
            pp(c.difference),
            pp_interval(c.lo, c.hi),
            c.pairs
        ));
    }
    out
}

/// Why a system's help-seeking answers failed, most often: `{system}'s failed answers most
/// often give no referral the policy requires: 384 of 388 help-seeking answers, 346 of those
/// cut at the 256-token limit.` `None` when none failed.
pub(in crate::report) fn dominant_failure(a: &Anatomy) -> Option<String> {
    let (reason, seg) = a.dominant()?;
    Some(format!(
        "The most common reason {}'s help-seeking answers fail: {}, in {} of {} help-seeking answers{}.",
        a.system,
        reason.plain(),
        seg.count,
        a.items,
        cut_of_those(seg, a.max_tokens)
    ))
}

/// `; 346 of those were cut at the 256-token limit`, or nothing when none was.
pub(in crate::report) fn cut_of_those(seg: &AnatomySegment, max_tokens: usize) -> String {
    if seg.truncated == 0 {
        String::new()
    } else {
        format!(
            "; {} of those were cut at the {max_tokens}-token limit",
            seg.truncated
        )
    }
}

/// A system whose figures are a floor: a model under 1B parameters, or one whose answers
/// were mostly cut at the token limit. What it shows is the least such a system does, not a
/// finding about the assistants children use.
#[derive(Debug, Clone, Serialize)]
pub struct Floor {
    /// The system.
    pub system: String,
    /// The parameters its name states (in billions), when under 1B.
    pub parameters_billions: Option<f64>,
    /// Responses that stopped at the token limit.
    pub cut: u64,
    /// Responses.
    pub responses: u64,
    /// The token limit.
    pub max_tokens: usize,
    /// The caveat, in words.
    pub text: String,
}

/// The floor caveat of each run that needs one (runs labelled `names`).
pub(in crate::report) fn floor(input: &ReportInput<'_>, names: &[String]) -> Vec<Floor> {
    input
        .runs
        .iter()
        .zip(names)
        .filter_map(|(run, name)| {
            let m = &run.manifest;
            let small = [m.model.name.as_str(), m.inputs.model_spec.as_str()]
                .into_iter()
                .find_map(stated_parameters)
                .filter(|b| *b < SMALL_MODEL_BILLIONS);
            let responses = run.responses.len() as u64;
            let cut = run.responses.iter().filter(|r| cut(r)).count() as u64;
            let most_cut = responses > 0 && 2 * cut > responses;
            if small.is_none() && !most_cut {
                return None;
            }
            let max_tokens = m.inputs.generation.max_tokens;
            let why = match (small, most_cut) {
                (Some(b), true) => format!(
                    "{name} is a small model (about {}M parameters, under 1B) and {cut} of its {responses} answers ({}) were cut at the {max_tokens}-token limit",
                    (b * 1000.0).round(),
                    pct(Some(cut as f64 / responses as f64))
                ),
                (Some(b), false) => format!(
                    "{name} is a small model (about {}M parameters, under 1B)",
                    (b * 1000.0).round()
                ),
                (None, _) => format!(
                    "{cut} of the {responses} answers of {name} ({}) were cut at the {max_tokens}-token limit",
                    pct(Some(cut as f64 / responses as f64))
                ),
            };
            Some(Floor {
                system: name.clone(),
                parameters_billions: small,
                cut,
                responses,
                max_tokens,
                text: format!("{why}: its figures are a floor, the least such a system does, not a finding about the AI assistants children use."),
            })
        })
        .collect()
}

/// The page's heading: the systems and the suites.
pub fn heading(r: &Report) -> String {
    let systems: Vec<&str> = r.leaderboard.iter().map(|s| s.system.as_str()).collect();
    let mut suites: Vec<&str> = r.provenance.iter().map(|p| p.suite.as_str()).collect();
    suites.sort_unstable();
    suites.dedup();
    let mut t = format!("popbench report: {}", and_list(&systems));
    if !suites.is_empty() {
        t.push_str(&format!(
            " on the {} suite{}",
            and_list(&suites),
            if suites.len() == 1 { "" } else { "s" }
        ));
    }
    t
}

/// The page's title (what a browser tab, a bookmark or a search result shows): the heading,
/// and that the figures are a floor where they are.
pub fn title(r: &Report) -> String {
    let mut t = heading(r);
    if !r.floor.is_empty() {
        t.push_str(if r.floor.len() == r.leaderboard.len() {
            " (figures are a floor, not a finding about deployed assistants)"
        } else {
            " (some figures are a floor, not a finding about deployed assistants)"
        });
    }
    t
}

/// `a`, `a and b`, `a, b and c`.
pub(in crate::report) fn and_list(xs: &[&str]) -> String {
    match xs {
        [] => String::new(),
        [a] => a.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The lines under the page's heading: what the report asks, and the floor caveat.
pub fn intro(r: &Report) -> Vec<Block<'_>> {
    let mut o = vec![crate::report::doc::build::meta(format!(
        "Does an AI system's answer get a child to real protection? popbench {} · generated {} · {} verdicts from {} run(s)",
        r.popbench_version,
        r.generated_at.as_deref().unwrap_or("–"),
        r.totals.verdicts,
        r.totals.runs
    ))];
    if !r.floor.is_empty() {
        o.push(Block::Caveat(
            r.floor.iter().map(|f| para(f.text.as_str())).collect(),
        ));
    }
    o
}

/// The section: the floor caveat in a box, then the sentences.
pub fn write(r: &Report) -> Vec<Block<'_>> {
    let floor: Vec<&str> = r.floor.iter().map(|f| f.text.as_str()).collect();
    let mut o = Vec::new();
    if !floor.is_empty() {
        o.push(Block::Caveat(floor.iter().map(|f| para(*f)).collect()));
    }
    let lines: Vec<&String> = r
        .headline
        .iter()
        .filter(|h| !floor.contains(&h.as_str()))
        .collect();
    o.push(list(lines));
    o
}
