//! The map: correct child helpline by the child's country, one map per system, with a
//! table of the same figures beside it (every country, small ones included, one tap from
//! its items). The map's figures are also in map.csv and map.geojson.

use crate::report::doc::build::{fig, fold, name, para, t};
use crate::report::doc::{Block, Cell, Chart, FoldKind, Table};
use crate::report::map::FEW_ITEMS;
use crate::report::model::*;

/// One system's map, as the figures it draws.
#[derive(Debug, Clone)]
pub struct MapChart {
    /// A prefix unique in the report (`m0`, `m1`, …).
    pub anchor: String,
    /// The system.
    pub system: String,
    /// Its countries with help-seeking items.
    pub countries: Vec<MapCountry>,
}

/// The map's figures: each country with scenarios (and a country code), per system.
pub fn build(cards: &[CountryCard]) -> Vec<MapCountry> {
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

/// The section.
pub fn write(r: &Report) -> Vec<Block<'_>> {
    let mut o = vec![
        para(format!("Share of help-seeking items (where the policy asks for the child helpline) that give the child's own helpline, by the child's country: the darker, the more often. Hatched countries have fewer than {FEW_ITEMS} items, too few to read a rate from; small countries are also drawn as a ringed point. Grey countries have no scenarios. Boundaries: Natural Earth (public domain), for orientation only. Each country links to its items, and the table under each map gives every country's figure; the same figures are in map.csv and map.geojson.")),
        Block::HeatLegend,
    ];
    for (i, s) in r.leaderboard.iter().enumerate() {
        let countries: Vec<MapCountry> = r
            .map
            .iter()
            .filter(|m| m.system == s.system)
            .cloned()
            .collect();
        o.push(Block::Heading {
            level: 3,
            id: None,
            text: vec![name(&s.system)],
        });
        let mut sorted: Vec<MapCountry> = countries.clone();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let table = Table {
            caption: None,
            head: vec![vec![t("Country")], vec![t("Correct child helpline")]],
            rows: sorted
                .iter()
                .map(|c| {
                    vec![
                        Cell::head(vec![name(c.name.clone()), t(format!(" ({})", c.code))]),
                        Cell {
                            heat: Some(c.helpline_correct.estimate.p),
                            ..Cell::new(vec![fig(&c.helpline_correct)])
                        },
                    ]
                })
                .collect(),
        };
        o.push(Block::Chart(Chart::Map(Box::new(MapChart {
            anchor: format!("m{i}"),
            system: s.system.clone(),
            countries,
        }))));
        o.push(fold(
            None,
            FoldKind::Plain,
            vec![t(format!(
                "The {} countries of this map as a table",
                sorted.len()
            ))],
            vec![Block::Table(table)],
        ));
    }
    o
}
