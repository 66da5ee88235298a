//! From runs, scenarios and the directory to the [`Report`] view model: every figure is
//! computed once, by [`super::figures`] and the sections' builders (`src/report/section/`),
//! in the order their inputs need; the document and its writers only format.

use super::figures::{group_by, rows, Row, Tally};
pub use super::figures::{labels, UNDERPOWERED_MDE};
use super::model::*;
use super::section::comparisons::compare;
use super::section::countries::country_cards;
use super::section::exemplars::{exemplars, EXEMPLAR_MAX_CHARS};
use super::section::headline::headline;
use super::section::limitations::limitations;
use super::section::methodology::{interval_methods, methodology};
use super::ReportInput;
use crate::scenario::Scenario;
use crate::score::conversation::ConversationVerdict;
use crate::score::verdict::Verdict;
use crate::stats::{BOOTSTRAP_RESAMPLES, Z95, Z_POWER80};
use std::collections::{BTreeSet, HashMap};

const P_FLOOR: f64 = 0.0001;

/// Whether the metric's outcome occurs for a verdict; `None` when the metric does not apply
/// (see [`Metric::outcome`], the one definition).
pub fn outcome(m: Metric, v: &Verdict) -> Option<bool> {
    m.outcome(v)
}

/// Builds the report.
pub fn build(input: &ReportInput<'_>) -> Report {
    let runs = input.runs;
    let scen: HashMap<&str, &Scenario> =
        input.scenarios.iter().map(|s| (s.id.as_str(), s)).collect();
    let names = labels(runs);
    let rows = rows(runs, &scen);
    let families = rows.iter().map(|r| r.fam + 1).max().unwrap_or(0) as usize;
    let scenario_count = rows.iter().map(|r| r.scen + 1).max().unwrap_or(0) as usize;
    let mut tally = Tally::new(families, scenario_count);
    let by_sys: Vec<Vec<&Row<'_>>> = (0..runs.len())
        .map(|i| rows.iter().filter(|r| r.sys == i).collect())
        .collect();
    // Each system's rows in (item, sample) order, ties in verdict order: for pass^k and
    // for matching pairs.
    let by_item: Vec<Vec<&Row<'_>>> = by_sys
        .iter()
        .map(|rs| {
            let mut v = rs.clone();
            v.sort_by_key(|r| (r.item, r.v.sample));
            v
        })
        .collect();

    let (leaderboard, order) =
        super::section::leaderboard::build(&mut tally, runs, &names, &by_sys, &by_item);

    // Paired comparisons, every pair in leaderboard order, every metric.
    let mut comparisons = Vec::new();
    for (x, &i) in order.iter().enumerate() {
        for &j in &order[x + 1..] {
            for m in Metric::ALL {
                comparisons.push(compare(
                    &mut tally,
                    (&names[i], &by_item[i]),
                    (&names[j], &by_item[j]),
                    m,
                ));
            }
        }
    }

    let by_country = group_by(&rows, runs.len(), |r| &r.v.country);
    let (breakdowns, languages) = super::section::breakdowns::build(
        &mut tally,
        &rows,
        &by_country,
        runs.len(),
        &order,
        &names,
        input.directory,
    );

    // Each item's place in (scenario id, context) order.
    let mut items: Vec<(&str, &str, u32)> = Vec::new();
    for r in &rows {
        if r.item as usize == items.len() {
            items.push((&r.v.scenario_id, &r.v.context, r.item));
        }
    }
    items.sort_unstable();
    let mut item_rank = vec![0u32; items.len()];
    for (rank, &(_, _, item)) in items.iter().enumerate() {
        item_rank[item as usize] = rank as u32;
    }
    let country_set: BTreeSet<&str> = by_country.iter().map(|(c, _)| *c).collect();
    let countries = country_cards(&mut tally, &by_country, &order, &names, input.directory);
    let exemplars = order
        .iter()
        .map(|&i| exemplars(&names[i], &runs[i], &by_sys[i], &item_rank, &scen))
        .collect();
    let map = super::section::map::build(&countries);
    let reasons: Vec<Option<super::section::anatomy::Reason>> = rows
        .iter()
        .map(super::section::anatomy::primary_reason)
        .collect();
    let anatomy: Vec<Anatomy> = order
        .iter()
        .map(|&i| {
            super::section::anatomy::anatomy(
                &mut tally,
                &names[i],
                runs[i].manifest.inputs.generation.max_tokens,
                &by_sys[i],
                &reasons,
            )
        })
        .collect();
    // Each live conversation by its item's key, to show it as lived.
    let conversations: HashMap<(usize, &str, &str, u32), &ConversationVerdict> = runs
        .iter()
        .enumerate()
        .flat_map(|(sys, run)| {
            run.conversations.iter().map(move |c| {
                (
                    (sys, c.scenario_id.as_str(), c.context.as_str(), c.sample),
                    c,
                )
            })
        })
        .collect();
    let items = rows
        .iter()
        .map(|r| {
            let key = (
                r.sys,
                r.v.scenario_id.as_str(),
                r.v.context.as_str(),
                r.v.sample,
            );
            super::section::items::item_view(
                r,
                &names[r.sys],
                reasons[r.idx as usize],
                conversations.get(&key).copied(),
            )
        })
        .collect();

    let totals = Totals {
        runs: runs.len() as u64,
        verdicts: rows.len() as u64,
        scenarios: scenario_count as u64,
        families: families as u64,
        countries: country_set
            .iter()
            .filter(|c| **c != crate::scenario::UNKNOWN_COUNTRY)
            .count() as u64,
        country_not_stated: rows
            .iter()
            .filter(|r| r.v.country == crate::scenario::UNKNOWN_COUNTRY)
            .count() as u64,
        languages: languages as u64,
        unknown_scenarios: rows.iter().filter(|r| r.sc.is_none()).count() as u64,
        live_conversations: runs.iter().map(|r| r.conversations.len() as u64).sum(),
    };

    let settings = Settings {
        confidence_level: 0.95,
        confidence_percent: 95.0,
        z: Z95,
        bootstrap_resamples: BOOTSTRAP_RESAMPLES,
        alpha: 0.05,
        power: 0.8,
        power_percent: 80.0,
        z_power: Z_POWER80,
        mde_factor: Z95 + Z_POWER80,
        mde_variance: 0.25,
        mde_coefficient: (Z95 + Z_POWER80) * 0.5,
        underpowered_mde: UNDERPOWERED_MDE,
        rule_of_three_numerator: 3,
        p_value_floor: P_FLOOR,
        exemplar_max_chars: EXEMPLAR_MAX_CHARS,
        chart_ticks_percent: vec![0, 25, 50, 75, 100],
    };

    let coverage = super::section::coverage::build(input.directory, &country_set);
    let provenance = super::section::provenance::build(input, &names);

    let floor = super::section::headline::floor(input, &names);
    let headline = headline(&totals, &leaderboard, &comparisons, &anatomy, &floor);
    let mut warnings: Vec<Warning> = input
        .warnings
        .iter()
        .map(|w| Warning {
            id: "load".into(),
            system: None,
            text: w.clone(),
            items: None,
        })
        .collect();
    warnings.extend(super::section::warnings::computed(
        input, &names, &rows, &mut tally,
    ));
    let audiences = super::section::recommendations::recommendations(
        &super::section::recommendations::Findings {
            board: &leaderboard,
            anatomy: &anatomy,
            warnings: &warnings,
            floor: &floor,
        },
        &mut tally,
    );
    let sections = super::section::sections(&mut super::section::Context {
        input,
        rows: &rows,
        names: &names,
        order: &order,
        tally: &mut tally,
    });
    Report {
        results_version: RESULTS_VERSION,
        popbench_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: input.generated_at.map(String::from),
        methodology: methodology()
            .into_iter()
            .chain(
                super::section::recommendations::rule_texts()
                    .into_iter()
                    .map(|r| format!("Recommendation rule {}: {}", r.id, r.definition)),
            )
            .collect(),
        limitations: limitations(&totals),
        metrics: Metric::ALL
            .iter()
            .map(|&m| MetricDefinition {
                metric: m,
                label: m.label().into(),
                definition: m.definition(),
                numerator: m.numerator().into(),
                denominator: m.denominator().into(),
                population: m.population(),
                higher_is_better: m.higher_is_better(),
            })
            .collect(),
        interval_methods: interval_methods(),
        settings,
        totals,
        headline,
        leaderboard,
        comparisons,
        breakdowns,
        countries,
        exemplars,
        coverage,
        provenance,
        audiences,
        floor,
        warnings,
        anatomy,
        failure_reasons: super::section::anatomy::definitions(),
        judges: input.judges.to_vec(),
        sections,
        map,
        item_lists: std::mem::take(&mut tally.lists),
        items,
    }
}
