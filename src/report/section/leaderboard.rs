//! The leaderboard: every help-seeking metric of each system, best pass rate first, with the
//! pass rates drawn as intervals; the metric table is shared with the no-harm controls.

use crate::report::doc::build::{fig, name, para, t};
use crate::report::doc::{Block, Cell, Chart, Inline, IntervalRow, Table};
use crate::report::figures::{figure, pass_k_figure, Row, Tally};
use crate::report::model::*;
use crate::report::RunData;

/// The leaderboard in rank order, and the run indices in that order.
pub(in crate::report) fn build(
    tally: &mut Tally,
    runs: &[RunData],
    names: &[String],
    by_sys: &[Vec<&Row<'_>>],
    by_item: &[Vec<&Row<'_>>],
) -> (Vec<SystemSummary>, Vec<usize>) {
    let mut leaderboard: Vec<SystemSummary> = runs
        .iter()
        .enumerate()
        .map(|(i, run)| {
            let k = run.manifest.inputs.samples.max(1);
            let label = &names[i];
            let metrics = Metric::ALL
                .iter()
                .map(|&m| MetricFigure {
                    metric: m,
                    figure: figure(
                        tally,
                        by_sys[i].iter().copied(),
                        m,
                        format!("{label}: {}", m.label()),
                    ),
                    pass_k: (k > 1).then(|| pass_k_figure(tally, &by_item[i], m, k as usize)),
                })
                .collect();
            SystemSummary {
                system: label.clone(),
                run_id: run.manifest.run_id.clone(),
                model_spec: run.manifest.inputs.model_spec.clone(),
                samples: k,
                verdicts: by_sys[i].len() as u64,
                generation_errors: run.responses.iter().filter(|r| r.failed()).count() as u64,
                rank: 0,
                metrics,
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..runs.len()).collect();
    let pass_of = |s: &SystemSummary| s.metrics[0].figure.estimate.p.unwrap_or(-1.0);
    order.sort_by(|&a, &b| {
        pass_of(&leaderboard[b])
            .total_cmp(&pass_of(&leaderboard[a]))
            .then(names[a].cmp(&names[b]))
    });
    for (rank, &i) in order.iter().enumerate() {
        leaderboard[i].rank = rank + 1;
    }
    leaderboard.sort_by_key(|s| s.rank);
    (leaderboard, order)
}

/// How to read a figure cell, in visible text.
pub(super) const MARKS: &str = "Each cell: the rate (a link to the list of its items), its 95% interval in brackets, then events/denominator (responses with the outcome / responses it applies to). An interval marked † is a Wilson interval over the effective number of independent scenario families, n_eff = (Σ nᵢ)² / Σ nᵢ², used when families contribute several responses; unmarked intervals are Wilson intervals over responses. A cell too small to detect a 20-point difference is marked underpowered (⚠ in the Markdown).";

/// A table of metrics, one row per system.
pub(super) fn metric_table<'r>(r: &'r Report, metrics: &[Metric], caption: &'r str) -> Block<'r> {
    let mut head = vec![vec![t("#")], vec![t("System")]];
    head.extend(metrics.iter().map(|m| vec![t(m.label())]));
    let rows = r
        .leaderboard
        .iter()
        .map(|s| {
            let mut row = vec![
                Cell::new(vec![t(s.rank.to_string())]),
                Cell::head(vec![
                    name(&s.system),
                    Inline::Break,
                    Inline::Meta(vec![t(format!(
                        "{} sample{} per item, {} verdicts",
                        s.samples,
                        if s.samples == 1 { "" } else { "s" },
                        s.verdicts
                    ))]),
                ]),
            ];
            for m in metrics {
                row.push(match s.metrics.iter().find(|x| x.metric == *m) {
                    None => Cell::new(vec![t("–")]),
                    Some(mf) => {
                        let mut c = vec![fig(&mf.figure)];
                        if let Some(pk) = &mf.pass_k {
                            c.extend([Inline::Break, t("pass^k: "), fig(pk)]);
                        }
                        Cell::new(c)
                    }
                });
            }
            row
        })
        .collect();
    Block::Table(Table {
        caption: Some(vec![t(caption)]),
        head,
        rows,
    })
}

/// The definitions of the metrics of a population.
pub(super) fn definitions(r: &Report, pop: Population) -> Block<'_> {
    crate::report::doc::build::defs(
        r.metrics
            .iter()
            .filter(|d| d.population == pop)
            .map(|d| (d.label.as_str(), d.definition.as_str())),
    )
}

/// The metrics a table of this population shows: every metric of it, in [`Metric::ALL`]
/// order (a metric added there appears here).
pub(super) fn metrics_of(pop: Population) -> Vec<Metric> {
    Metric::ALL
        .into_iter()
        .filter(|m| m.population() == pop)
        .collect()
}

/// The section.
pub fn write(r: &Report) -> Vec<Block<'_>> {
    let pass = r
        .leaderboard
        .iter()
        .filter_map(|s| {
            s.metrics
                .iter()
                .find(|m| m.metric == Metric::Pass)
                .map(|m| IntervalRow {
                    label: s.system.clone(),
                    figure: m.figure.clone(),
                })
        })
        .collect();
    vec![
        para(MARKS),
        Block::HtmlOnly(vec![
            Block::Para(vec![t("Pass rate of each system with its 95% interval:")]),
            Block::Chart(Chart::Intervals(pass)),
        ]),
        metric_table(
            r,
            &metrics_of(Population::HelpSeeking),
            "Help-seeking items: every metric per system (no-harm controls excluded)",
        ),
        definitions(r, Population::HelpSeeking),
    ]
}
