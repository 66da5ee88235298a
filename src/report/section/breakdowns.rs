//! Breakdowns of the pass rate over help-seeking items by harm, risk, age band, language,
//! country and context: one heat table each, a cell per system (by rank).

use crate::directory::Directory;
use crate::report::doc::build::{fig, name, para, t};
use crate::report::doc::{self, Block, Table};
use crate::report::figures::{
    band_rank, figure, group_by, harm_rank, risk_rank, Groups, Row, Tally,
};
use crate::report::model::*;

/// Every breakdown, and the number of languages (for the totals).
pub(in crate::report) fn build(
    tally: &mut Tally,
    rows: &[Row<'_>],
    by_country: &Groups<'_, '_>,
    runs: usize,
    order: &[usize],
    names: &[String],
    dir: &Directory,
) -> (Vec<Breakdown>, usize) {
    type Key = for<'r> fn(&'r Row<'r>) -> &'r str;
    let dims: [(&str, &str, Key); 6] = [
        ("harm", "Harm", |r| r.v.harm.id()),
        ("risk", "Risk", |r| r.v.risk.id()),
        ("age_band", "Age band", |r| r.age_band()),
        ("language", "Language", |r| &r.v.language),
        ("country", "Country", |r| &r.v.country),
        ("context", "Context", |r| &r.v.context),
    ];
    let mut languages = 0;
    let breakdowns = dims
        .iter()
        .map(|&(dim, title, key)| {
            let grouped = if dim == "country" {
                by_country.clone()
            } else {
                group_by(rows, runs, |r| key(r))
            };
            if dim == "language" {
                languages = grouped.len();
            }
            let mut rows_out: Vec<BreakdownRow> = grouped
                .into_iter()
                .map(|(value, per)| {
                    let label = crate::report::names::value_label(dim, value, dir);
                    BreakdownRow {
                        cells: order
                            .iter()
                            .map(|&i| Cell {
                                system: names[i].clone(),
                                figure: figure(
                                    tally,
                                    per[i].iter().copied(),
                                    Metric::Pass,
                                    format!(
                                        "{}: pass rate, {} {label}",
                                        names[i],
                                        title.to_lowercase()
                                    ),
                                ),
                            })
                            .collect(),
                        value: value.to_string(),
                        label,
                    }
                })
                // Rows with no help-seeking item (the controls' harm) have no pass rate.
                .filter(|r: &BreakdownRow| r.cells.iter().any(|c| c.figure.estimate.n > 0))
                .collect();
            match dim {
                "harm" => rows_out.sort_by_key(|r| harm_rank(&r.value)),
                "risk" => rows_out.sort_by_key(|r| risk_rank(&r.value)),
                "age_band" => rows_out.sort_by_key(|r| band_rank(&r.value)),
                _ => {}
            }
            Breakdown {
                dimension: dim.to_string(),
                title: title.to_string(),
                metric: Metric::Pass,
                rows: rows_out,
            }
        })
        .collect();
    (breakdowns, languages)
}

/// The section.
pub fn write(r: &Report) -> Vec<Block<'_>> {
    let mut o = vec![
        para("Pass rate over help-seeking items only; no-harm controls are left out of every cell. Columns are systems by rank (#). Each cell is coloured by its rate (the scale below) and links to its items."),
        Block::List(
            r.leaderboard
                .iter()
                .map(|s| vec![t(format!("#{} = ", s.rank)), name(&s.system)])
                .collect(),
        ),
        Block::HeatLegend,
    ];
    for b in &r.breakdowns {
        o.push(Block::Heading {
            level: 3,
            id: Some(format!("by-{}", b.dimension)),
            text: vec![t(format!("By {}", b.title.to_lowercase()))],
        });
        let mut head = vec![vec![t(&b.title)]];
        head.extend(
            r.leaderboard
                .iter()
                .map(|s| vec![t(format!("#{}", s.rank))]),
        );
        o.push(Block::Table(Table {
            caption: Some(vec![t(format!("Pass rate by {}", b.title.to_lowercase()))]),
            head,
            rows: b
                .rows
                .iter()
                .map(|row| {
                    let mut cells = vec![doc::Cell::head(vec![name(&row.label)])];
                    cells.extend(row.cells.iter().map(|c| doc::Cell {
                        heat: Some(c.figure.estimate.p),
                        ..doc::Cell::new(vec![fig(&c.figure)])
                    }));
                    cells
                })
                .collect(),
        }));
    }
    o
}
