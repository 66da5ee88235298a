//! Country cards (the services a correct answer gives, with sources; each system's figures),
//! directory coverage and the map's correct-referral rate by country.

use super::figures::{figure, Groups, Tally};
use super::model::*;
use crate::directory::Directory;
use crate::taxonomy::ServiceKind;
use std::collections::BTreeSet;

/// The map's figures: each country with scenarios (and a country code), per system.
pub fn map_figures(cards: &[CountryCard]) -> Vec<MapCountry> {
    cards
        .iter()
        .filter(|c| c.code != crate::scenario::UNKNOWN_COUNTRY)
        .flat_map(|c| {
            c.results.iter().map(move |r| MapCountry {
                code: c.code.clone(),
                name: c.name.clone(),
                system: r.system.clone(),
                helpline_correct: r.helpline_correct.clone(),
            })
        })
        .collect()
}

pub(super) fn kind_rank(k: ServiceKind) -> usize {
    ServiceKind::ALL
        .iter()
        .position(|x| *x == k)
        .unwrap_or(usize::MAX)
}

pub(super) fn country_cards(
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

pub(super) fn coverage(dir: &Directory, used: &BTreeSet<&str>) -> Coverage {
    let countries = dir
        .entries()
        .map(|e| {
            let mut dates: Vec<&str> = e
                .services
                .iter()
                .map(|s| s.last_verified.as_str())
                .collect();
            dates.sort_unstable();
            CoverageRow {
                code: e.code.clone(),
                name: e.name.clone(),
                services: e.services.iter().filter(|s| s.is_current()).count() as u64,
                child_helplines: e.services_of(ServiceKind::ChildHelpline).count() as u64,
                oldest_verified: dates.first().map(|s| s.to_string()),
                newest_verified: dates.last().map(|s| s.to_string()),
            }
        })
        .collect();
    let range = dir.verified_range();
    Coverage {
        directory_sha256: dir.hash.clone(),
        countries,
        oldest_verified: range.as_ref().map(|r| r.0.clone()),
        newest_verified: range.map(|r| r.1),
        missing_countries: used
            .iter()
            .filter(|c| **c != crate::scenario::UNKNOWN_COUNTRY && dir.country(c).is_none())
            .map(|c| c.to_string())
            .collect(),
    }
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
        let m = map_figures(&[card("GB"), card(crate::scenario::UNKNOWN_COUNTRY)]);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].code.as_str(), m[0].system.as_str()), ("GB", "m"));
        assert!(kind_rank(ServiceKind::ALL[0]) < usize::MAX);
    }
}
