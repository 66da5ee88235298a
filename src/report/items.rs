//! The drill-down appendix: every item of every run with the child's conversation, the
//! response, the verdict, contacts with status, flags with the layer that raised them and
//! the reasons.

use super::anatomy::Reason;
use super::figures::Row;
use super::model::{ContactView, ItemFlag, ItemView, TurnView};
use crate::score::verdict::Verdict;

/// The serialised id of a verdict enum value.
pub(super) fn id_of<T: serde::Serialize>(x: T) -> String {
    serde_json::to_value(x)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// The contacts of a verdict, with status.
pub(super) fn contacts(v: &Verdict) -> Vec<ContactView> {
    v.contacts
        .iter()
        .map(|c| ContactView {
            text: c.text.clone(),
            kind: id_of(c.kind),
            status: id_of(c.status),
            service_id: c.service_id.clone(),
        })
        .collect()
}

/// A table of contacts with their status (nothing when there are none): the item appendix and
/// the exemplars show contacts the same way.
pub(super) fn contacts_table(o: &mut String, contacts: &[ContactView]) {
    use super::escape::esc;
    use std::fmt::Write as _;
    if contacts.is_empty() {
        return;
    }
    o.push_str(r#"<div class="scroll"><table><caption>Contacts</caption><thead><tr><th scope="col">Contact</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Service</th></tr></thead><tbody>"#);
    for c in contacts {
        let cls = if c.status == "verified" {
            "better"
        } else {
            "worse"
        };
        let _ = write!(
            o,
            r#"<tr><td class="u"><bdi>{}</bdi></td><td>{}</td><td class="{cls}">{}</td><td>{}</td></tr>"#,
            esc(&c.text),
            esc(&c.kind),
            esc(&c.status),
            c.service_id
                .as_deref()
                .map(esc)
                .unwrap_or_else(|| "–".into())
        );
    }
    o.push_str("</tbody></table></div>");
}

/// The flags of a verdict with the layer that raised them (from its finding; `rule` when
/// the flag has no finding).
pub(super) fn flags(v: &Verdict) -> Vec<ItemFlag> {
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
pub(super) fn item_view(r: &Row<'_>, system: &str, reason: Option<Reason>) -> ItemView {
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
        rtl: super::names::is_rtl(&v.language),
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

/// The appendix in HTML: every item list a figure links to, then every item (collapsed).
pub fn render_html(o: &mut String, r: &super::model::Report) {
    use super::escape::esc;
    use std::fmt::Write as _;
    o.push_str("<p>Every figure, cell and bar segment above links to a list below; each list links to its items. Items are collapsed: open one to read the child's conversation, the response (escaped; nothing in it can run), the verdict, contacts with status, flags with the layer that raised them, and the reasons. results.csv holds the same, one row per item.</p>");
    o.push_str("<h3 id=\"lists\">Item lists</h3>");
    let label = |i: u32| -> String {
        r.items
            .get(i as usize)
            .map(|x| {
                if x.sample > 0 {
                    format!("{}#{}", x.scenario_id, x.sample)
                } else {
                    x.scenario_id.clone()
                }
            })
            .unwrap_or_default()
    };
    for l in &r.item_lists {
        let _ = write!(
            o,
            r#"<details id="l{}"><summary>{} <span class="n">({} with the outcome, {} without)</span></summary>"#,
            l.id,
            esc(&l.title),
            l.with.len(),
            l.without.len()
        );
        for (name, ids) in [("With the outcome", &l.with), ("Without", &l.without)] {
            if ids.is_empty() {
                continue;
            }
            let _ = write!(o, r#"<p class="ids"><span class="meta">{name}:</span> "#);
            for &i in ids {
                let _ = write!(o, r##"<a href="#i{i}">{}</a> "##, esc(&label(i)));
            }
            o.push_str("</p>");
        }
        o.push_str("</details>");
    }
    o.push_str("<h3 id=\"all-items\">Items</h3>");
    for it in &r.items {
        let dir = if it.rtl { "rtl" } else { "ltr" };
        let lang = esc(&it.language);
        let verdict = if it.control {
            if it.pass {
                r#"<span class="pass">control, passes</span>"#
            } else {
                r#"<span class="fail">control, fails</span>"#
            }
        } else if it.pass {
            r#"<span class="pass">passes</span>"#
        } else {
            r#"<span class="fail">fails</span>"#
        };
        let _ = write!(
            o,
            r#"<details class="item" id="i{}"><summary>{} <bdi>{}</bdi> · {} · {} · {}{}</summary>"#,
            it.id,
            verdict,
            esc(&it.scenario_id),
            esc(&it.system),
            esc(&super::names::humanise(&it.harm)),
            esc(&it.country),
            it.primary_reason
                .as_deref()
                .and_then(super::anatomy::Reason::from_id)
                .map(|x| format!(" · {}", x.label()))
                .unwrap_or_default()
        );
        let _ = write!(
            o,
            r#"<p class="meta">{} risk · {} · {}{} · context {} · sample {} · child helpline {} · emergency {}</p>"#,
            esc(&it.risk),
            esc(&super::names::language(&it.language)),
            esc(&it.country),
            it.age.map(|a| format!(" · age {a}")).unwrap_or_default(),
            esc(&super::names::context_label(&it.context)),
            it.sample,
            esc(&it.child_helpline),
            esc(&it.emergency)
        );
        if it.turns.is_empty() {
            o.push_str(r#"<p class="meta">The scenario is not in the loaded suites.</p>"#);
        }
        for t in &it.turns {
            let who = if t.role == "user" {
                "Child"
            } else {
                "Assistant (scripted)"
            };
            let _ = write!(
                o,
                r#"<p class="meta">{who}:</p><blockquote class="u" lang="{lang}" dir="{dir}">{}</blockquote>"#,
                esc(&t.content)
            );
        }
        match (&it.response, &it.error) {
            (_, Some(e)) => {
                let _ = write!(o, r#"<p class="warn">Generation failed: {}</p>"#, esc(e));
            }
            (Some(text), None) => {
                let _ = write!(
                    o,
                    r#"<p class="meta">Response{}:</p><pre class="u" lang="{lang}" dir="{dir}">{}</pre>"#,
                    it.finish_reason
                        .as_deref()
                        .map(|f| format!(" (finish: {})", esc(f)))
                        .unwrap_or_default(),
                    esc(text)
                );
            }
            (None, None) => {
                o.push_str(r#"<p class="meta">The response is not in responses.jsonl.</p>"#)
            }
        }
        contacts_table(o, &it.contacts);
        if !it.flags.is_empty() {
            o.push_str("<p>Flags:</p><ul>");
            for f in &it.flags {
                let _ = write!(
                    o,
                    r#"<li>{} <span class="meta">({} layer{})</span>{}</li>"#,
                    esc(&f.id),
                    esc(&f.layer),
                    f.severity
                        .as_deref()
                        .map(|s| format!(", {}", esc(s)))
                        .unwrap_or_default(),
                    f.evidence
                        .as_deref()
                        .map(|e| format!(r#": <q class="u">{}</q>"#, esc(e)))
                        .unwrap_or_default()
                );
            }
            o.push_str("</ul>");
        }
        if !it.reasons.is_empty() {
            o.push_str("<ul>");
            for x in &it.reasons {
                let _ = write!(o, "<li>{}</li>", esc(x));
            }
            o.push_str("</ul>");
        }
        o.push_str("</details>");
    }
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
