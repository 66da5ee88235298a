//! The drill-down appendix: every item of every run with the child's conversation, the
//! response, the verdict, contacts with status, flags with the layer that raised them and
//! the reasons.

use super::anatomy::Reason;
use super::conversations::live_turns;
use crate::report::doc::build::{fold, list, meta, name, para, t};
use crate::report::doc::{Block, Cell, FoldKind, Inline, Lazy, Table, Tone, Untrusted};
use crate::report::figures::Row;
use crate::report::model::{ContactView, ItemFlag, ItemView, Report, TurnView};
use crate::report::names::{contact_status_good, contact_status_id, humanise, language};
use crate::score::conversation::ConversationVerdict;
use crate::score::verdict::Verdict;
use std::rc::Rc;

/// The serialised id of a verdict enum value.
pub(in crate::report) fn id_of<T: serde::Serialize>(x: T) -> String {
    serde_json::to_value(x)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// The contacts of a verdict, with status.
pub(in crate::report) fn contacts(v: &Verdict) -> Vec<ContactView> {
    v.contacts
        .iter()
        .map(|c| ContactView {
            text: c.text.clone(),
            kind: id_of(c.kind),
            status: id_of(c.status),
            service_id: c.service_id.clone(),
            offered_for: c.offered_for.clone(),
            why: c.why.clone(),
        })
        .collect()
}

/// A table of contacts, each with its status in words (nothing when there are none): the
/// item appendix, the exemplars and the transcripts show contacts the same way.
pub(in crate::report) fn contacts_table(contacts: &[ContactView]) -> Option<Block<'_>> {
    if contacts.is_empty() {
        return None;
    }
    Some(Block::Table(Table {
        caption: Some(vec![t("Contacts")]),
        head: ["Contact", "Kind", "Status", "Service"]
            .iter()
            .map(|h| vec![t(*h)])
            .collect(),
        rows: contacts
            .iter()
            .map(|c| {
                let (label, means) = contact_status_id(&c.status);
                let mut status = vec![Inline::Tone(
                    if contact_status_good(&c.status) {
                        Tone::Good
                    } else {
                        Tone::Bad
                    },
                    vec![t(label)],
                )];
                if let Some(cc) = &c.offered_for {
                    status.push(t(format!(", offered for {cc}")));
                }
                if !means.is_empty() {
                    status.extend([t(" "), Inline::Meta(vec![t(format!("({means})"))])]);
                }
                if let Some(why) = &c.why {
                    status.extend([Inline::Break, Inline::Meta(vec![t(why)])]);
                }
                vec![
                    Cell::new(vec![Inline::Code(c.text.as_str().into())]),
                    Cell::new(vec![t(&c.kind)]),
                    Cell::new(status),
                    Cell::new(vec![t(c.service_id.as_deref().unwrap_or("–"))]),
                ]
            })
            .collect(),
    }))
}

/// The flags of a verdict with the layer that raised them (from its finding; `rule` when
/// the flag has no finding).
pub(in crate::report) fn flags(v: &Verdict) -> Vec<ItemFlag> {
    v.flags
        .iter()
        .map(|f| {
            let finding = v.findings.iter().find(|x| &x.id == f);
            ItemFlag {
                id: f.clone(),
                layer: finding
                    .map(|x| id_of(x.layer))
                    .unwrap_or_else(|| "rule".into()),
                severity: finding.map(|x| id_of(x.severity)),
                evidence: finding.map(|x| x.evidence.clone()),
            }
        })
        .collect()
}

/// The appendix view of one row.
pub(in crate::report) fn item_view(
    r: &Row<'_>,
    system: &str,
    reason: Option<Reason>,
    conversation: Option<&ConversationVerdict>,
) -> ItemView {
    let v = r.v;
    ItemView {
        id: r.idx,
        system: system.to_string(),
        scenario_id: v.scenario_id.clone(),
        context: v.context.clone(),
        sample: v.sample,
        harm: v.harm.id().to_string(),
        risk: v.risk.id().to_string(),
        country: v.country.clone(),
        language: v.language.clone(),
        rtl: crate::report::names::is_rtl(&v.language),
        age: r.sc.map(|s| s.age),
        turns: r
            .sc
            .map(|s| {
                s.turns
                    .iter()
                    .map(|t| TurnView {
                        role: id_of(t.role),
                        content: t.content.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        live: conversation
            .map(|c| live_turns(c, &format!("i{}", r.idx), r.sc, r.resp, usize::MAX))
            .unwrap_or_default(),
        response: r.resp.map(|x| x.response.clone()),
        finish_reason: r.resp.map(|x| id_of(x.finish_reason)),
        error: r.resp.and_then(|x| x.error.as_ref().map(|e| e.to_string())),
        pass: v.pass,
        control: v.harm == crate::taxonomy::Harm::NoHarm,
        primary_reason: reason.map(|x| x.id().to_string()),
        child_helpline: id_of(v.referral.child_helpline),
        emergency: id_of(v.referral.emergency),
        contacts: contacts(v),
        flags: flags(v),
        reasons: v.reasons.clone(),
    }
}

/// The item lists (each a fold, closed; a link to it opens it) and every item (a fold).
pub fn write(r: &Report) -> Vec<Block<'_>> {
    let mut o = vec![
        para("Every figure, cell and bar segment above links to a list below, which opens when you follow the link; each list links to its items, which open the same way. An item shows the child's conversation, the response (escaped; nothing in it can run), the verdict, contacts with status, flags with the layer that raised them, and the reasons. results.csv holds the same, one row per item."),
        Block::Heading {
            level: 3,
            id: Some("lists".into()),
            text: vec![t("Item lists")],
        },
    ];
    // Each item's label (`scenario#sample`), once: the lists share them.
    let labels: Rc<[String]> = r
        .items
        .iter()
        .map(|x| {
            if x.sample > 0 {
                format!("{}#{}", x.scenario_id, x.sample)
            } else {
                x.scenario_id.clone()
            }
        })
        .collect();
    for l in &r.item_lists {
        let mut body = Vec::new();
        for (title, ids) in [("With the outcome:", &l.with), ("Without:", &l.without)] {
            if ids.is_empty() {
                continue;
            }
            body.push(Block::ItemLinks {
                lead: title.into(),
                ids,
                labels: labels.clone(),
            });
        }
        o.push(fold(
            Some(format!("l{}", l.id)),
            FoldKind::Plain,
            vec![
                t(format!("{} ", l.title)),
                Inline::Meta(vec![t(format!(
                    "({} with the outcome, {} without)",
                    l.with.len(),
                    l.without.len()
                ))]),
            ],
            body,
        ));
    }
    o.push(Block::Heading {
        level: 3,
        id: Some("all-items".into()),
        text: vec![t("Items")],
    });
    // Made one at a time as the writer reaches them: 100k items are never held whole.
    let items = &r.items;
    o.push(Block::Lazy(Lazy {
        count: items.len(),
        make: Rc::new(move |i| item(&items[i])),
    }));
    o
}

/// One item of the appendix.
fn item(it: &ItemView) -> Block<'_> {
    let verdict = match (it.control, it.pass) {
        (true, true) => (Tone::Good, "control, passes"),
        (true, false) => (Tone::Bad, "control, fails"),
        (false, true) => (Tone::Good, "passes"),
        (false, false) => (Tone::Bad, "fails"),
    };
    let summary = vec![
        Inline::Tone(verdict.0, vec![t(verdict.1)]),
        t(" "),
        name(&it.scenario_id),
        t(format!(
            " · {} · {} · {}{}",
            it.system,
            humanise(&it.harm),
            it.country,
            it.primary_reason
                .as_deref()
                .and_then(Reason::from_id)
                .map(|x| format!(" · {}", x.label()))
                .unwrap_or_default()
        )),
    ];
    let mut body = vec![meta(format!(
        "{} risk · {} · {}{} · context {} · sample {} · child helpline {} · emergency {}",
        it.risk,
        language(&it.language),
        it.country,
        it.age.map(|a| format!(" · age {a}")).unwrap_or_default(),
        crate::report::names::context_label(&it.context),
        it.sample,
        it.child_helpline,
        it.emergency
    ))];
    let untrusted = |text| Untrusted::new(text, &it.language, it.rtl);
    if !it.live.is_empty() {
        // A live conversation as lived: the model's own answers, each with its verdict.
        body.push(para("The conversation as it was lived: each child turn, the model's own answer to it, and that answer's verdict."));
        for turn in &it.live {
            body.extend(super::conversations::turn_blocks(
                turn,
                &it.language,
                it.rtl,
            ));
        }
        body.push(para(format!(
            "The verdict above counts the answer to the last child turn{}:",
            it.finish_reason
                .as_deref()
                .map(|f| format!(" (finish: {f})"))
                .unwrap_or_default()
        )));
    } else if it.turns.is_empty() {
        body.push(meta("The scenario is not in the loaded suites."));
    }
    if it.live.is_empty() {
        for turn in &it.turns {
            if turn.role == "user" {
                body.push(meta("Child:"));
            } else {
                body.push(meta(
                    "Assistant (scripted by the scenario, not the model under test):",
                ));
            }
            body.push(Block::Quote(untrusted(&turn.content)));
        }
    }
    match (&it.response, &it.error) {
        (_, Some(e)) => body.push(Block::Caveat(vec![para(format!("Generation failed: {e}"))])),
        (Some(_), None) if !it.live.is_empty() => {}
        (Some(text), None) => {
            body.push(meta(format!(
                "Response{}:",
                it.finish_reason
                    .as_deref()
                    .map(|f| format!(" (finish: {f})"))
                    .unwrap_or_default()
            )));
            body.push(Block::Output(untrusted(text)));
        }
        (None, None) => body.push(meta("The response is not in responses.jsonl.")),
    }
    body.extend(contacts_table(&it.contacts));
    if !it.flags.is_empty() {
        body.push(para("Flags:"));
        body.push(Block::List(
            it.flags
                .iter()
                .map(|f| {
                    let mut line = vec![
                        t(format!("{} ", f.id)),
                        Inline::Meta(vec![t(format!(
                            "({} layer{})",
                            f.layer,
                            f.severity
                                .as_deref()
                                .map(|s| format!(", {s}"))
                                .unwrap_or_default()
                        ))]),
                    ];
                    if let Some(e) = &f.evidence {
                        line.extend([t(": "), Inline::Quoted(e.as_str().into())]);
                    }
                    line
                })
                .collect(),
        ));
    }
    if !it.reasons.is_empty() {
        body.push(list(&it.reasons));
    }
    fold(Some(format!("i{}", it.id)), FoldKind::Item, summary, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_carry_layer_and_evidence() {
        let v: Verdict = serde_json::from_value(serde_json::json!({
            "scenario_id": "s", "context": "c", "sample": 0, "harm": "bullying",
            "risk": "moderate", "country": "GB", "language": "en", "pass": false,
            "referral": {"child_helpline": "missing", "emergency": "not_required",
                         "crisis_line": null, "specialised": null},
            "contacts": [{"text": "0800 1", "kind": "phone", "status": "unverified",
                          "service_id": null, "service_country": null, "start": 0, "end": 6}],
            "flags": ["blames_child"],
            "findings": [{"id": "blames_child", "severity": "critical", "evidence": "your fault"}],
            "reasons": ["r"]
        }))
        .unwrap();
        let f = flags(&v);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].layer.as_str(), f[0].severity.as_deref()),
            ("rule", Some("critical"))
        );
        assert_eq!(f[0].evidence.as_deref(), Some("your fault"));
        let c = contacts(&v);
        assert_eq!(
            (c[0].kind.as_str(), c[0].status.as_str()),
            ("phone", "unverified")
        );
    }
}
