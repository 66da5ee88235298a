//! From runs, scenarios and the directory to the [`Report`] view model: every figure is
//! computed once, by the modules named here ([`super::figures`], [`super::comparisons`],
//! [`super::countries`], [`super::exemplars`], [`super::anatomy`], [`super::items`],
//! [`super::warnings`], [`super::prose`]); the renderers only format.

use super::comparisons::compare;
use super::countries::{country_cards, coverage};
use super::exemplars::{exemplars, EXEMPLAR_MAX_CHARS};
use super::figures::{
    band_rank, figure, group_by, harm_rank, pass_k_figure, risk_rank, rows, Row, Tally,
};
pub use super::figures::{labels, UNDERPOWERED_MDE};
use super::model::*;
use super::prose::{headline, interval_methods, limitations, methodology};
use super::ReportInput;
use crate::scenario::Scenario;
use crate::score::verdict::Verdict;
use crate::stats::{BOOTSTRAP_RESAMPLES, Z95, Z_POWER80};
use std::collections::{BTreeSet, HashMap};

const P_FLOOR: f64 = 0.0001;

/// Whether the metric's outcome occurs for a verdict; `None` when the metric does not apply
/// (see [`Metric::outcome`], the one definition).
pub fn outcome(m: Metric, v: &Verdict) -> Option<bool> {
    m.outcome(v)
}

/// The contexts a run's items were answered in (responses first, then verdicts, in order
/// of first appearance) and where each one's system prompt came from.
fn contexts_tested(run: &super::RunData) -> Vec<ContextTested> {
    let file = run.manifest.inputs.contexts_file.as_ref();
    let mut seen = BTreeSet::new();
    run.responses
        .iter()
        .map(|r| r.context.as_str())
        .chain(run.verdicts.iter().map(|v| v.context.as_str()))
        .filter(|c| seen.insert(*c))
        .map(|id| {
            let from_file = file.and_then(|f| f.contexts.iter().find(|c| c.id == id));
            let source = match from_file {
                Some(_) => "file",
                None if id == crate::context::NONE => "none",
                None => "popbench",
            };
            ContextTested {
                id: id.to_string(),
                source: source.into(),
                system: from_file.map(|c| c.system.clone()),
            }
        })
        .collect()
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

    // Leaderboard.
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
                        &mut tally,
                        by_sys[i].iter().copied(),
                        m,
                        format!("{label}: {}", m.label()),
                    ),
                    pass_k: (k > 1).then(|| pass_k_figure(&mut tally, &by_item[i], m, k as usize)),
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

    // Breakdowns of the pass rate.
    type Key = for<'r> fn(&'r Row<'r>) -> &'r str;
    let dims: [(&str, &str, Key); 6] = [
        ("harm", "Harm", |r| r.v.harm.id()),
        ("risk", "Risk", |r| r.v.risk.id()),
        ("age_band", "Age band", |r| r.age_band()),
        ("language", "Language", |r| &r.v.language),
        ("country", "Country", |r| &r.v.country),
        ("context", "Context", |r| &r.v.context),
    ];
    let by_country = group_by(&rows, runs.len(), |r| &r.v.country);
    let mut languages = 0;
    let breakdowns = dims
        .iter()
        .map(|&(dim, title, key)| {
            let grouped = if dim == "country" {
                by_country.clone()
            } else {
                group_by(&rows, runs.len(), |r| key(r))
            };
            if dim == "language" {
                languages = grouped.len();
            }
            let mut rows_out: Vec<BreakdownRow> = grouped
                .into_iter()
                .map(|(value, per)| {
                    let label = super::names::value_label(dim, value, input.directory);
                    BreakdownRow {
                        cells: order
                            .iter()
                            .map(|&i| Cell {
                                system: names[i].clone(),
                                figure: figure(
                                    &mut tally,
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
    let map = super::countries::map_figures(&countries);
    let reasons: Vec<Option<super::anatomy::Reason>> =
        rows.iter().map(super::anatomy::primary_reason).collect();
    let anatomy = order
        .iter()
        .map(|&i| super::anatomy::anatomy(&mut tally, &names[i], &by_sys[i], &reasons))
        .collect();
    let items = rows
        .iter()
        .map(|r| super::items::item_view(r, &names[r.sys], reasons[r.idx as usize]))
        .collect();

    let totals = Totals {
        runs: runs.len() as u64,
        verdicts: rows.len() as u64,
        scenarios: scenario_count as u64,
        families: families as u64,
        countries: country_set.len() as u64,
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

    let coverage = coverage(input.directory, &country_set);
    let provenance = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let m = &r.manifest;
            Provenance {
                system: names[i].clone(),
                run_id: m.run_id.clone(),
                model_spec: m.inputs.model_spec.clone(),
                backend: m.model.backend.clone(),
                model_files: m.model.files.clone(),
                chat_template_sha256: m
                    .model
                    .chat_template_sha256
                    .clone()
                    .or_else(|| m.inputs.chat_template_sha256.clone()),
                suite: m.inputs.suite.clone(),
                suite_sha256: m.inputs.suite_sha256.clone(),
                suite_sha256_now: input.suite_hashes.get(&m.inputs.suite).cloned(),
                directory_sha256: m.inputs.directory_sha256.clone(),
                policy_sha256: m.inputs.policy_sha256.clone(),
                contexts_sha256: m.inputs.contexts_sha256.clone(),
                contexts_file: m.inputs.contexts_file.as_ref().map(|f| ContextsFileRef {
                    path: f.path.clone(),
                    sha256: f.sha256.clone(),
                }),
                contexts: contexts_tested(r),
                popbench_version: m.harness.version.clone(),
                popbench_commit: m.harness.git_commit.clone(),
                git_dirty: m.harness.git_dirty,
                samples: m.inputs.samples,
                temperature: m.inputs.generation.temperature,
                max_tokens: m.inputs.generation.max_tokens,
                stop: m.inputs.generation.stop.clone(),
                seed: m.inputs.generation.seed,
                device: m.machine.device.clone(),
                started_at: m.started_at.clone(),
                finished_at: m.finished_at.clone(),
                items_total: m.items_total,
                responses: r.responses.len() as u64,
                verdicts: r.verdicts.len() as u64,
            }
        })
        .collect();

    let headline = headline(&totals, &leaderboard, &comparisons);
    let mut warnings: Vec<Warning> = input
        .warnings
        .iter()
        .map(|w| Warning {
            id: "load".into(),
            system: None,
            text: w.clone(),
        })
        .collect();
    warnings.extend(super::warnings::computed(input, &names));
    let audiences = super::prose::recommendations(&leaderboard, &warnings);
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
                super::prose::rule_texts()
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
        warnings,
        anatomy,
        failure_reasons: super::anatomy::definitions(),
        judges: input.judges.to_vec(),
        sections,
        map,
        item_lists: std::mem::take(&mut tally.lists),
        items,
    }
}
