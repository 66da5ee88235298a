//! Directory coverage: every country of the directory with its services and the dates they
//! were verified, and the scenario countries it lacks.

use crate::directory::Directory;
use crate::report::doc::build::{name, para, t};
use crate::report::doc::{Block, Cell, Inline, Table};
use crate::report::model::*;
use crate::taxonomy::ServiceKind;
use std::collections::BTreeSet;

pub(in crate::report) fn build(dir: &Directory, used: &BTreeSet<&str>) -> Coverage {
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

/// The section.
pub fn write(r: &Report) -> Vec<Block<'_>> {
    let c = &r.coverage;
    let mut o = vec![Block::Para(vec![
        t("Directory hash "),
        Inline::Code(c.directory_sha256.as_str().into()),
        t(format!(
            "; services last verified between {} and {}.",
            c.oldest_verified.as_deref().unwrap_or("–"),
            c.newest_verified.as_deref().unwrap_or("–")
        )),
    ])];
    if !c.missing_countries.is_empty() {
        o.push(Block::Caveat(vec![para(format!(
            "Scenario countries missing from the directory: {}",
            c.missing_countries.join(", ")
        ))]));
    }
    o.push(Block::Table(Table {
        caption: None,
        head: [
            "Code",
            "Country",
            "Current services",
            "Child helplines",
            "Verified",
        ]
        .iter()
        .map(|h| vec![t(*h)])
        .collect(),
        rows: c
            .countries
            .iter()
            .map(|x| {
                vec![
                    Cell::new(vec![t(&x.code)]),
                    Cell::new(vec![name(&x.name)]),
                    Cell::num(vec![t(x.services.to_string())]),
                    Cell::num(vec![t(x.child_helplines.to_string())]),
                    Cell::new(vec![t(format!(
                        "{} – {}",
                        x.oldest_verified.as_deref().unwrap_or("–"),
                        x.newest_verified.as_deref().unwrap_or("–")
                    ))]),
                ]
            })
            .collect(),
    }));
    o
}
