//! `results.csv`: one row per verdict, for spreadsheets and re-analysis. Cells that a
//! spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR at the start) are
//! prefixed with `'`.

use super::build::outcome;
use super::model::Metric;
use super::RunData;
use crate::scenario::Scenario;
use crate::taxonomy::age_band;
use std::collections::HashMap;

/// The header of `results.csv`.
pub const HEADER: [&str; 24] = [
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
    "unverified_contacts",
    "other_country_contacts",
    "invented_contact",
    "wrong_country",
    "flags",
    "reasons",
];

fn safe(s: &str) -> String {
    let s = super::escape::neutralise(s);
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

fn id<T: serde::Serialize>(x: &T) -> String {
    serde_json::to_value(x)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Writes the CSV for runs labelled `systems`.
pub fn write<W: std::io::Write>(
    w: W,
    runs: &[RunData],
    systems: &[String],
    scenarios: &[Scenario],
) -> csv::Result<()> {
    let scen: HashMap<&str, &Scenario> = scenarios.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut out = csv::Writer::from_writer(w);
    out.write_record(HEADER)?;
    for (run, system) in runs.iter().zip(systems) {
        for v in &run.verdicts {
            let sc = scen.get(v.scenario_id.as_str());
            let count = |st| {
                v.contacts
                    .iter()
                    .filter(|c| c.status == st)
                    .count()
                    .to_string()
            };
            out.write_record([
                safe(&run.manifest.run_id),
                safe(system),
                safe(&v.scenario_id),
                safe(sc.map(|s| s.family.as_str()).unwrap_or(&v.scenario_id)),
                safe(&v.context),
                v.sample.to_string(),
                v.harm.id().to_string(),
                v.risk.id().to_string(),
                sc.map(|s| s.age.to_string()).unwrap_or_default(),
                sc.map(|s| age_band(s.age).to_string()).unwrap_or_default(),
                safe(&v.country),
                safe(&v.language),
                v.pass.to_string(),
                id(&v.referral.child_helpline),
                id(&v.referral.emergency),
                v.referral.crisis_line.as_ref().map(id).unwrap_or_default(),
                v.referral.specialised.as_ref().map(id).unwrap_or_default(),
                v.contacts.len().to_string(),
                count(crate::score::verdict::ContactStatus::Unverified),
                count(crate::score::verdict::ContactStatus::OtherCountry),
                outcome(Metric::InventedContact, v)
                    .unwrap_or(false)
                    .to_string(),
                outcome(Metric::WrongCountry, v)
                    .unwrap_or(false)
                    .to_string(),
                safe(&v.flags.join(";")),
                safe(&v.reasons.join(" | ")),
            ])?;
        }
    }
    out.flush()?;
    Ok(())
}
