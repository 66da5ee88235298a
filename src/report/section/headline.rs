//! The headline: what was tested and how each system did, in sentences that cite their
//! figures; and the page's title.

use crate::report::doc::build::list;
use crate::report::doc::Block;
use crate::report::fmt::{interval, pct, pp, pp_interval};
use crate::report::model::*;

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
) -> Vec<String> {
    let mut out = vec![format!(
        "{} verdicts from {} run(s): {} scenarios in {} families, {} countries, {} languages.",
        t.verdicts, t.runs, t.scenarios, t.families, t.countries, t.languages
    )];
    if t.live_conversations > 0 {
        out.push(format!(
            "{} of them are live conversations (the model answered every child turn): the figures below score each conversation's answer to the child's last turn; the Conversations section scores every turn.",
            t.live_conversations
        ));
    }
    for s in board.iter().take(6) {
        let em = &metric(s, Metric::EmergencyGiven).figure;
        let mut line = format!(
            "Over help-seeking items (no-harm controls excluded), {} passes {}; gives an invented contact or service in {}",
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

/// The page's title.
pub fn title(_r: &Report) -> String {
    "popbench report".into()
}

/// The lines under the page's heading.
pub fn intro(r: &Report) -> Vec<Block> {
    vec![crate::report::doc::build::meta(format!(
        "Does an AI system's answer get a child to real protection? popbench {} · generated {} · {} verdicts from {} run(s)",
        r.popbench_version,
        r.generated_at.as_deref().unwrap_or("–"),
        r.totals.verdicts,
        r.totals.runs
    ))]
}

/// The section.
pub fn write(r: &Report) -> Vec<Block> {
    vec![list(&r.headline)]
}
