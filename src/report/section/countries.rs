//! Country cards: the services a correct answer gives, with sources, and each system's
//! figures.

use crate::directory::Directory;
use crate::report::doc::build::{fold, name, para, t};
use crate::report::doc::{Block, Cell, FoldKind, Inline, Table};
use crate::report::figures::{figure, Groups, Tally};
use crate::report::fmt::pct;
use crate::report::model::*;
use crate::report::names::humanise;
use crate::taxonomy::ServiceKind;

pub(in crate::report) fn kind_rank(k: ServiceKind) -> usize {
    ServiceKind::ALL
        .iter()
        .position(|x| *x == k)
        .unwrap_or(usize::MAX)
}

pub(in crate::report) fn country_cards(
    t: &mut Tally,
    by: &Groups<'_, '_>,
    order: &[usize],
    names: &[String],
    dir: &Directory,
) -> Vec<CountryCard> {
    by.iter()
        .map(|&(code, ref per)| {
            let entry = if code == crate::scenario::UNKNOWN_COUNTRY {
                dir.international.as_ref()
            } else {
                dir.country(code)
            };
            let mut services: Vec<ServiceView> = entry
                .map(|e| {
                    e.services
                        .iter()
                        .filter(|s| s.is_current() && s.serves_children())
                        .map(|s| ServiceView {
                            id: s.id.clone(),
                            name: s.name.clone(),
                            kind: s.kind.id().to_string(),
                            contacts: s
                                .current_contacts()
                                .map(|c| match &c.keyword {
                                    Some(k) => format!("{} {} (keyword {k})", c.kind.id(), c.value),
                                    None => format!("{} {}", c.kind.id(), c.value),
                                })
                                .collect(),
                            hours: s.hours.clone(),
                            last_verified: s.last_verified.clone(),
                            sources: s
                                .sources
                                .iter()
                                .map(|x| SourceView {
                                    url: x.url.clone(),
                                    kind: serde_json::to_value(x.kind)
                                        .ok()
                                        .and_then(|v| v.as_str().map(String::from))
                                        .unwrap_or_default(),
                                    read: x.read.clone(),
                                    page_date: x.page_date.clone(),
                                })
                                .collect(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            services.sort_by_key(|s| {
                ServiceKind::from_id(&s.kind)
                    .map(kind_rank)
                    .unwrap_or(usize::MAX)
            });
            let name = if code == crate::scenario::UNKNOWN_COUNTRY {
                "Country unknown (international services)".to_string()
            } else {
                dir.country(code)
                    .map(|e| e.name.clone())
                    .unwrap_or_else(|| code.to_string())
            };
            CountryCard {
                code: code.to_string(),
                name: name.clone(),
                in_directory: entry.is_some(),
                traps: entry
                    .map(|e| {
                        e.traps
                            .iter()
                            .map(|t| format!("{} — {}", t.value, t.note))
                            .collect()
                    })
                    .unwrap_or_default(),
                services,
                results: order
                    .iter()
                    .map(|&i| {
                        let title = |m: Metric| format!("{}: {}, {name}", names[i], m.label());
                        let mut f = |m: Metric| figure(t, per[i].iter().copied(), m, title(m));
                        CountryResult {
                            system: names[i].clone(),
                            pass: f(Metric::Pass),
                            helpline_correct: f(Metric::HelplineCorrect),
                            wrong_country: f(Metric::WrongCountry),
                            invented_contact: f(Metric::InventedContact),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The section: a card per country (collapsed), with its services, their sources, its traps
/// and each system's figures.
pub fn write(r: &Report) -> Vec<Block<'_>> {
    let cards = r
        .countries
        .iter()
        .map(|c| {
            let pass = c
                .results
                .first()
                .map(|x| format!(" · pass {}", pct(x.pass.estimate.p)))
                .unwrap_or_default();
            let mut body = Vec::new();
            if !c.in_directory {
                body.push(Block::Caveat(vec![para(
                    "Not in the directory: no verified services to check against.",
                )]));
            }
            if !c.services.is_empty() {
                body.push(Block::List(
                    c.services
                        .iter()
                        .map(|s| {
                            let mut line = vec![
                                Inline::Strong(vec![name(&s.name)]),
                                t(" "),
                                Inline::Meta(vec![t(format!(
                                    "{}{} · verified {}",
                                    humanise(&s.kind),
                                    s.hours
                                        .as_deref()
                                        .map(|h| format!(" · hours: {h}"))
                                        .unwrap_or_default(),
                                    s.last_verified
                                ))]),
                                Inline::Break,
                                t(s.contacts.join(" · ")),
                            ];
                            if s.sources.is_empty() {
                                line.extend([
                                    Inline::Break,
                                    Inline::Meta(vec![t("No source recorded.")]),
                                ]);
                            }
                            for src in &s.sources {
                                let read = if src.read.is_empty() {
                                    "date read not recorded".to_string()
                                } else {
                                    format!("read {}", src.read)
                                };
                                line.extend([
                                    Inline::Break,
                                    Inline::Meta(vec![
                                        t(format!(
                                            "Source ({}, {read}{}): ",
                                            src.kind,
                                            src.page_date
                                                .as_deref()
                                                .map(|d| format!(", page dated {d}"))
                                                .unwrap_or_default()
                                        )),
                                        Inline::Code(src.url.as_str().into()),
                                    ]),
                                ]);
                            }
                            line
                        })
                        .collect(),
                ));
            }
            for tr in &c.traps {
                body.push(Block::Meta(vec![t(format!("Trap: {tr}"))]));
            }
            body.push(Block::Table(Table {
                caption: Some(vec![t(format!("Help-seeking items in {}", c.name))]),
                head: [
                    "System",
                    "Pass",
                    "Own helpline",
                    "Wrong country",
                    "Invented",
                ]
                .iter()
                .map(|h| vec![t(*h)])
                .collect(),
                rows: c
                    .results
                    .iter()
                    .map(|x| {
                        vec![
                            Cell::head(vec![name(&x.system)]),
                            Cell::figure(&x.pass),
                            Cell::figure(&x.helpline_correct),
                            Cell::figure(&x.wrong_country),
                            Cell::figure(&x.invented_contact),
                        ]
                    })
                    .collect(),
            }));
            fold(
                Some(format!("country-{}", c.code)),
                FoldKind::Card,
                vec![
                    Inline::Strong(vec![name(&c.name)]),
                    t(" "),
                    Inline::Meta(vec![t(format!("{}{pass}", c.code))]),
                ],
                body,
            )
        })
        .collect();
    vec![
        para("Each card (collapsed; open it to read) lists the services a correct answer gives for the country, each with its sources and the date each was read, the traps models fall into, and each system's figures."),
        Block::Cards(cards),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Estimate;

    fn fig() -> Figure {
        Figure {
            estimate: Estimate::from_clusters(&[]),
            scenarios: 0,
            mde: None,
            underpowered: true,
            rule_of_three: None,
            items: None,
        }
    }

    #[test]
    fn the_map_leaves_out_the_unknown_country() {
        let card = |code: &str| CountryCard {
            code: code.into(),
            name: code.into(),
            in_directory: true,
            services: vec![],
            traps: vec![],
            results: vec![CountryResult {
                system: "m".into(),
                pass: fig(),
                helpline_correct: fig(),
                wrong_country: fig(),
                invented_contact: fig(),
            }],
        };
        let m = super::super::map::build(&[card("GB"), card(crate::scenario::UNKNOWN_COUNTRY)]);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].code.as_str(), m[0].system.as_str()), ("GB", "m"));
        assert!(kind_rank(ServiceKind::ALL[0]) < usize::MAX);
    }
}
