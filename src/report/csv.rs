//! `results.csv`: one row per verdict, for spreadsheets and re-analysis: the item, its
//! verdict, the outcome of every metric (`true`, `false`, or empty where the metric does not
//! apply; see [`crate::metric`]), for a live conversation its population, turns and the
//! outcome of every conversation metric (empty for single answers), the primary failure
//! reason, the reasons and the response text (the last answer of a conversation). Cells that
//! a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR at the start) are
//! prefixed with `'`.

use super::model::{ItemView, Metric};
use super::RunData;
use crate::metric::{ConversationMetric, ConversationPopulation};
use crate::scenario::Scenario;
use crate::score::conversation::ConversationVerdict;
use crate::score::verdict::ContactStatus;
use crate::taxonomy::age_band;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

/// The header of `results.csv`: these columns, then one per metric (`metric_` and its id),
/// then [`CONVERSATION`] and one per conversation metric (`conversation_` and its id), then
/// [`TAIL`].
pub const HEADER: [&str; 21] = [
    "run_id",
    "system",
    "scenario_id",
    "family",
    "context",
    "sample",
    "harm",
    "risk",
    "age",
    "age_band",
    "country",
    "language",
    "pass",
    "child_helpline",
    "emergency",
    "crisis_line",
    "specialised",
    "contacts",
    "invented_contacts",
    "not_in_directory_contacts",
    "other_country_contacts",
];

/// The columns of a live conversation (empty for single answers): its population
/// (`fixed_turns`, `adaptive_child`, or `control` for a no-harm control, which no conversation
/// metric counts) and the child turns it has verdicts for.
pub const CONVERSATION: [&str; 2] = ["conversation", "conversation_turns"];

/// The last columns of `results.csv`.
pub const TAIL: [&str; 6] = [
    "primary_reason",
    "flags",
    "reasons",
    "finish_reason",
    "error",
    "response",
];

/// The full header.
pub fn header() -> Vec<String> {
    HEADER
        .iter()
        .map(|h| h.to_string())
        .chain(Metric::ALL.iter().map(|m| format!("metric_{}", m.id())))
        .chain(CONVERSATION.iter().map(|h| h.to_string()))
        .chain(
            ConversationMetric::ALL
                .iter()
                .map(|m| format!("conversation_{}", m.id())),
        )
        .chain(TAIL.iter().map(|h| h.to_string()))
        .collect()
}

/// A cell as written: neutralised, and prefixed with `'` when it would read as a formula.
fn safe(s: &str) -> Cow<'_, str> {
    let s = super::escape::neutralised(s);
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        s
    }
}

/// The serialised names of a verdict enum's values, looked up once per value.
struct Ids<T>(Vec<(T, String)>);

impl<T: serde::Serialize + Copy + PartialEq> Ids<T> {
    fn new() -> Self {
        Ids(Vec::new())
    }

    fn get(&mut self, x: T) -> &str {
        let i = match self.0.iter().position(|(y, _)| *y == x) {
            Some(i) => i,
            None => {
                let name = serde_json::to_value(x)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                self.0.push((x, name));
                self.0.len() - 1
            }
        };
        &self.0[i].1
    }
}

/// Writes the CSV for runs labelled `systems`; `items` are the report's items, one per
/// verdict in the same order (runs in order, verdicts in file order).
pub fn write<W: std::io::Write>(
    w: W,
    runs: &[RunData],
    systems: &[String],
    scenarios: &[Scenario],
    items: &[ItemView],
) -> csv::Result<()> {
    let mut items = items.iter();
    let scen: HashMap<&str, &Scenario> = scenarios.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut out = csv::Writer::from_writer(w);
    out.write_record(header())?;
    let mut helpline = Ids::new();
    let mut emergency = Ids::new();
    let mut kind = Ids::new();
    let mut num = String::new();
    let mut joined = String::new();
    let mut last: Option<(&str, Option<&Scenario>)> = None;
    for (run, system) in runs.iter().zip(systems) {
        let run_id = safe(&run.manifest.run_id);
        let system = safe(system);
        let conversations: HashMap<(&str, &str, u32), &ConversationVerdict> = run
            .conversations
            .iter()
            .map(|c| ((c.scenario_id.as_str(), c.context.as_str(), c.sample), c))
            .collect();
        for v in &run.verdicts {
            let sc = match last {
                Some((id, sc)) if id == v.scenario_id => sc,
                _ => {
                    let sc = scen.get(v.scenario_id.as_str()).copied();
                    last = Some((&v.scenario_id, sc));
                    sc
                }
            };
            let mut number = |out: &mut csv::Writer<W>, x: usize| {
                num.clear();
                let _ = write!(num, "{x}");
                out.write_field(&num)
            };
            let count = |st| v.contacts.iter().filter(|c| c.status == st).count();
            out.write_field(run_id.as_ref())?;
            out.write_field(system.as_ref())?;
            out.write_field(safe(&v.scenario_id).as_ref())?;
            out.write_field(
                safe(sc.map(|s| s.family.as_str()).unwrap_or(&v.scenario_id)).as_ref(),
            )?;
            out.write_field(safe(&v.context).as_ref())?;
            number(&mut out, v.sample as usize)?;
            out.write_field(v.harm.id())?;
            out.write_field(v.risk.id())?;
            match sc {
                Some(s) => number(&mut out, usize::from(s.age))?,
                None => out.write_field("")?,
            }
            out.write_field(sc.map(|s| age_band(s.age)).unwrap_or_default())?;
            out.write_field(safe(&v.country).as_ref())?;
            out.write_field(safe(&v.language).as_ref())?;
            out.write_field(bool_str(v.pass))?;
            out.write_field(helpline.get(v.referral.child_helpline))?;
            out.write_field(emergency.get(v.referral.emergency))?;
            out.write_field(
                v.referral
                    .crisis_line
                    .map(|k| kind.get(k))
                    .unwrap_or_default(),
            )?;
            out.write_field(
                v.referral
                    .specialised
                    .map(|k| kind.get(k))
                    .unwrap_or_default(),
            )?;
            number(&mut out, v.contacts.len())?;
            number(
                &mut out,
                v.contacts.iter().filter(|c| c.status.is_invented()).count(),
            )?;
            number(
                &mut out,
                v.contacts
                    .iter()
                    .filter(|c| c.status.is_not_in_directory())
                    .count(),
            )?;
            number(&mut out, count(ContactStatus::OtherCountry))?;
            for m in Metric::ALL {
                out.write_field(m.outcome(v).map(bool_str).unwrap_or(""))?;
            }
            match conversations.get(&(v.scenario_id.as_str(), v.context.as_str(), v.sample)) {
                Some(c) => {
                    let population = ConversationPopulation::ALL
                        .into_iter()
                        .find(|p| p.contains(c))
                        .map_or("control", |p| p.id());
                    out.write_field(population)?;
                    number(&mut out, c.turns.len())?;
                    for m in ConversationMetric::ALL {
                        out.write_field(m.outcome(c).map(bool_str).unwrap_or(""))?;
                    }
                }
                None => {
                    for _ in 0..CONVERSATION.len() + ConversationMetric::ALL.len() {
                        out.write_field("")?;
                    }
                }
            }
            let item = items.next();
            out.write_field(item.and_then(|i| i.primary_reason.as_deref()).unwrap_or(""))?;
            join(&mut joined, &v.flags, ";");
            out.write_field(safe(&joined).as_ref())?;
            join(&mut joined, &v.reasons, " | ");
            out.write_field(safe(&joined).as_ref())?;
            out.write_field(item.and_then(|i| i.finish_reason.as_deref()).unwrap_or(""))?;
            out.write_field(safe(item.and_then(|i| i.error.as_deref()).unwrap_or("")).as_ref())?;
            out.write_field(safe(item.and_then(|i| i.response.as_deref()).unwrap_or("")).as_ref())?;
            out.write_record(None::<&[u8]>)?;
        }
    }
    out.flush()?;
    Ok(())
}

fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// `parts.join(sep)` into a reused buffer.
fn join(buf: &mut String, parts: &[String], sep: &str) {
    buf.clear();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            buf.push_str(sep);
        }
        buf.push_str(p);
    }
}
