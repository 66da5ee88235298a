//! Exemplars: the worst failures (missed emergency, invented contact, critical flag) and the
//! best answers of each system, over help-seeking items only.

use crate::report::doc::build::{list, meta, name, para, t};
use crate::report::doc::{Block, Inline, Untrusted};
use crate::report::figures::{risk_rank, Row};
use crate::report::model::*;
use crate::report::RunData;
use crate::scenario::{Role, Scenario};
use crate::score::verdict::{ContactStatus, EmergencyOutcome, Severity, Verdict};
use crate::taxonomy::Risk;
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

/// Exemplar responses are cut at this many characters.
pub const EXEMPLAR_MAX_CHARS: usize = 6000;
/// Exemplars per category and system.
const EXEMPLARS_PER_CATEGORY: usize = 2;

pub(in crate::report) fn truncate_chars(s: &str, max: usize) -> (String, bool) {
    match s.char_indices().nth(max) {
        Some((i, _)) => (s[..i].to_string(), true),
        None => (s.to_string(), false),
    }
}

pub(in crate::report) fn exemplar(
    category: &str,
    v: &Verdict,
    sc: Option<&Scenario>,
    resp: Option<&str>,
) -> Exemplar {
    let (response, truncated) = match resp {
        Some(t) => {
            let (r, cut) = truncate_chars(t, EXEMPLAR_MAX_CHARS);
            (Some(r), cut)
        }
        None => (None, false),
    };
    Exemplar {
        category: category.to_string(),
        scenario_id: v.scenario_id.clone(),
        context: v.context.clone(),
        sample: v.sample,
        harm: v.harm.id().to_string(),
        risk: v.risk.id().to_string(),
        country: v.country.clone(),
        language: v.language.clone(),
        age: sc.map(|s| s.age),
        child_turn: sc
            .and_then(|s| s.turns.iter().rev().find(|t| t.role == Role::User))
            .map(|t| t.content.clone()),
        response,
        response_chars: resp.map(|t| t.chars().count()).unwrap_or(0),
        response_truncated: truncated,
        pass: v.pass,
        contacts: super::items::contacts(v),
        flags: v.flags.clone(),
        critical: v
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Critical)
            .map(|f| format!("{}: {}", f.id, f.evidence))
            .collect(),
        reasons: v.reasons.clone(),
    }
}

/// Exemplars of one system. Ties are broken by (scenario id, context, sample), read from
/// `item_rank` (each item's place in (scenario id, context) order) rather than compared as
/// strings.
pub(in crate::report) fn exemplars<'a>(
    label: &str,
    run: &RunData,
    rows: &[&Row<'a>],
    item_rank: &[u32],
    scen: &HashMap<&str, &Scenario>,
) -> SystemExemplars {
    let key = |v: &'a Verdict| (v.scenario_id.as_str(), v.context.as_str(), v.sample);
    let risk_w = |v: &Verdict| Risk::ALL.len() - risk_rank(v.risk.id()).min(Risk::ALL.len());
    let mut used = BTreeSet::new();
    let mut picked: Vec<(&str, &Verdict)> = Vec::new();
    type Pick = fn(&Verdict) -> Option<usize>;
    let categories: [(&str, Pick); 3] = [
        ("missed_emergency", |v| {
            (v.risk == Risk::Imminent
                && matches!(
                    v.referral.emergency,
                    EmergencyOutcome::Missing | EmergencyOutcome::WrongCountry
                ))
            .then_some(1)
        }),
        ("invented_contact", |v| {
            let n = v
                .contacts
                .iter()
                .filter(|c| crate::metric::is_invented(c.status))
                .count();
            (n > 0).then_some(n)
        }),
        ("critical_flag", |v| {
            let n = v
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Critical)
                .count();
            (n > 0).then_some(n)
        }),
    ];
    // Candidates sort by (score, risk) descending, then (scenario id, context, sample), then
    // position: a total order, so that only the head needs sorting.
    type Rank = (Reverse<usize>, Reverse<usize>, u32, u32, usize);
    let rank = |score: usize, weight: usize, pos: usize| -> Rank {
        let r = rows[pos];
        (
            Reverse(score),
            Reverse(weight),
            item_rank[r.item as usize],
            r.v.sample,
            pos,
        )
    };
    // Controls are never exemplars: they show neither a failure to refer nor a good referral.
    let help = |r: &Row<'_>| r.v.harm != crate::taxonomy::Harm::NoHarm;
    for (cat, pick) in categories {
        let mut cands: Vec<Rank> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| help(r))
            .filter_map(|(pos, r)| pick(r.v).map(|s| rank(s, risk_w(r.v), pos)))
            .collect();
        // Picks already used elsewhere are skipped, so the head holds enough unless keys
        // repeat; then the rest is sorted too.
        let head = EXEMPLARS_PER_CATEGORY + used.len();
        sort_head(&mut cands, head);
        let mut taken = 0;
        for i in 0..cands.len() {
            if taken == EXEMPLARS_PER_CATEGORY {
                break;
            }
            if i == head {
                cands[head..].sort_unstable();
            }
            let v = rows[cands[i].4].v;
            if !used.insert(key(v)) {
                continue;
            }
            taken += 1;
            picked.push((cat, v));
        }
    }
    let mut best: Vec<Rank> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.v.pass && help(r))
        .map(|(pos, r)| {
            let v = r.v;
            let verified = v
                .contacts
                .iter()
                .filter(|c| c.status == ContactStatus::Verified)
                .count();
            let positive = v
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Positive)
                .count();
            rank(verified + positive + 2 * risk_w(v), 0, pos)
        })
        .collect();
    sort_head(&mut best, EXEMPLARS_PER_CATEGORY);
    let worst_count = picked.len();
    picked.extend(
        best.iter()
            .take(EXEMPLARS_PER_CATEGORY)
            .map(|b| ("best", rows[b.4].v)),
    );
    // The response of each pick, in one pass over the responses: the last record of a key
    // wins, as in a journal.
    let mut responses: Vec<Option<&str>> = vec![None; picked.len()];
    for r in run.responses.iter().rev() {
        for (slot, (_, v)) in responses.iter_mut().zip(&picked) {
            if slot.is_none()
                && r.sample == v.sample
                && r.scenario_id == v.scenario_id
                && r.context == v.context
            {
                *slot = Some(r.response.as_str());
            }
        }
        if responses.iter().all(Option::is_some) {
            break;
        }
    }
    let mut all: Vec<Exemplar> = picked
        .iter()
        .zip(responses)
        .map(|(&(cat, v), resp)| exemplar(cat, v, scen.get(v.scenario_id.as_str()).copied(), resp))
        .collect();
    let best = all.split_off(worst_count);
    let worst = all;
    SystemExemplars {
        system: label.to_string(),
        worst,
        best,
    }
}

/// Orders `v` far enough to read its first `n` elements in order: `v[..n]` sorted, the rest
/// after it in any order.
pub(in crate::report) fn sort_head<T: Ord>(v: &mut [T], n: usize) {
    if n < v.len() {
        v.select_nth_unstable(n);
    }
    let head = n.min(v.len());
    v[..head].sort_unstable();
}

/// The section: per system, the worst failures, then the best answers.
pub fn write(r: &Report) -> Vec<Block<'_>> {
    let mut o = vec![para("Help-seeking items only (a no-harm control is never an exemplar). Responses are quoted as generated (escaped, never executed). Worst failures first, then the best answers. Every item is in the appendix.")];
    for s in &r.exemplars {
        o.push(Block::Heading {
            level: 3,
            id: None,
            text: vec![name(&s.system)],
        });
        if s.worst.is_empty() && s.best.is_empty() {
            o.push(para("No exemplars."));
        }
        o.extend(s.worst.iter().chain(&s.best).map(exemplar_block));
    }
    o
}

fn exemplar_block(e: &Exemplar) -> Block<'_> {
    let title = match e.category.as_str() {
        "missed_emergency" => "Missed emergency",
        "invented_contact" => "Contact shown wrong (invented)",
        "critical_flag" => "Critical flag",
        "best" => "Best answer (help-seeking)",
        _ => "Exemplar",
    };
    let untrusted =
        |text| Untrusted::new(text, &e.language, crate::report::names::is_rtl(&e.language));
    let mut o = vec![
        Block::Heading {
            level: 4,
            id: None,
            text: vec![t(format!("{title}: ")), name(&e.scenario_id)],
        },
        meta(format!(
            "{} · {} risk · {} · {}{} · context {} · sample {} · {}",
            e.harm,
            e.risk,
            e.country,
            e.language,
            e.age.map(|a| format!(" · age {a}")).unwrap_or_default(),
            crate::report::names::context(&e.context),
            e.sample,
            if e.pass { "passes" } else { "fails" }
        )),
    ];
    match &e.child_turn {
        Some(text) => {
            o.push(para("The child writes:"));
            o.push(Block::Quote(untrusted(text)));
        }
        None => o.push(meta("The scenario is not in the loaded suites.")),
    }
    match &e.response {
        Some(text) => {
            o.push(para("The response:"));
            o.push(Block::Output(untrusted(text)));
            if e.response_truncated {
                o.push(meta(format!(
                    "(cut: {} characters in full)",
                    e.response_chars
                )));
            }
        }
        None => o.push(meta("The response is not in responses.jsonl.")),
    }
    o.extend(super::items::contacts_table(&e.contacts));
    if !e.flags.is_empty() {
        o.push(Block::Para(vec![
            t("Flags: "),
            Inline::Code(e.flags.join(", ").into()),
        ]));
    }
    if !e.critical.is_empty() {
        o.push(para("Critical findings:"));
        o.push(list(&e.critical));
    }
    if !e.reasons.is_empty() {
        o.push(para("Reasons:"));
        o.push(list(&e.reasons));
    }
    Block::Frame(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_sorted_and_cuts_respect_characters() {
        let mut v = vec![5, 3, 9, 1, 7];
        sort_head(&mut v, 2);
        assert_eq!(&v[..2], &[1, 3]);
        let mut short = vec![2, 1];
        sort_head(&mut short, 5);
        assert_eq!(short, vec![1, 2]);
        assert_eq!(truncate_chars("héllo", 2), ("hé".to_string(), true));
        assert_eq!(truncate_chars("hi", 2), ("hi".to_string(), false));
    }
}
