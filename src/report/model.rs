//! The report's view models: plain serialisable structs, apart from the domain types.
//! `results.json` is [`Report`] serialised; the HTML and Markdown renderers print nothing
//! that is not in it.

use crate::stats::{Estimate, Method, PairedCounts};
use serde::Serialize;

/// The format version of `results.json`.
pub const RESULTS_VERSION: u32 = 2;

pub use super::section::anatomy::{Anatomy, AnatomySegment};
pub use crate::metric::{Metric, Population};

/// Settings the figures were computed with.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Confidence level of every interval.
    pub confidence_level: f64,
    /// Percent form of the confidence level.
    pub confidence_percent: f64,
    /// z of the two-sided interval.
    pub z: f64,
    /// Bootstrap resamples.
    pub bootstrap_resamples: usize,
    /// Significance level of the tests and of the MDE.
    pub alpha: f64,
    /// Power of the MDE.
    pub power: f64,
    /// Power in percent.
    pub power_percent: f64,
    /// z of the power.
    pub z_power: f64,
    /// `z + z_power`.
    pub mde_factor: f64,
    /// The worst-case variance p(1−p) the MDE assumes.
    pub mde_variance: f64,
    /// `mde_factor · √mde_variance`: MDE = this / √n.
    pub mde_coefficient: f64,
    /// A cell is underpowered when its MDE exceeds this.
    pub underpowered_mde: f64,
    /// Numerator of the rule of three.
    pub rule_of_three_numerator: u64,
    /// p-values below this are printed as `< floor`.
    pub p_value_floor: f64,
    /// Exemplar responses are cut at this many characters.
    pub exemplar_max_chars: usize,
    /// Axis ticks of the charts, in percent.
    pub chart_ticks_percent: Vec<u32>,
}

/// A proportion with its interval and what backs it.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// The estimate.
    #[serde(flatten)]
    pub estimate: Estimate,
    /// Distinct scenarios behind it.
    pub scenarios: u64,
    /// Minimum detectable effect for its independent units.
    pub mde: Option<f64>,
    /// Whether the MDE exceeds the threshold.
    pub underpowered: bool,
    /// When no item shows the bad outcome: the rule-of-three upper bound on its rate.
    pub rule_of_three: Option<f64>,
    /// The list of its items ([`Report::item_lists`] index), when it has any.
    pub items: Option<u32>,
}

/// A metric of one system.
#[derive(Debug, Clone, Serialize)]
pub struct MetricFigure {
    /// The metric.
    pub metric: Metric,
    /// Over all items.
    pub figure: Figure,
    /// pass^k: share of items whose `k` samples are all good (all succeed, or for
    /// lower-is-better metrics, none shows the outcome); `None` when k = 1.
    pub pass_k: Option<Figure>,
}

/// One system (a model in a run) on the leaderboard.
#[derive(Debug, Clone, Serialize)]
pub struct SystemSummary {
    /// Unique label used throughout the report.
    pub system: String,
    /// The run ids it comes from.
    pub run_id: String,
    /// The model spec.
    pub model_spec: String,
    /// Samples per item (k).
    pub samples: u32,
    /// Verdicts.
    pub verdicts: u64,
    /// Responses whose generation failed.
    pub generation_errors: u64,
    /// Leaderboard rank by pass rate (1 = best).
    pub rank: usize,
    /// Every metric.
    pub metrics: Vec<MetricFigure>,
}

/// A paired comparison of two systems on one metric.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// First system.
    pub a: String,
    /// Second system.
    pub b: String,
    /// The metric.
    pub metric: Metric,
    /// Matched items (same scenario, context, sample).
    pub pairs: u64,
    /// The paired table (success = the metric's outcome occurs).
    pub table: PairedCounts,
    /// A's rate on the pairs.
    pub a_rate: Option<f64>,
    /// B's rate on the pairs.
    pub b_rate: Option<f64>,
    /// `a_rate − b_rate`.
    pub difference: Option<f64>,
    /// Newcombe's interval.
    pub newcombe: Option<(f64, f64)>,
    /// Paired cluster bootstrap interval (families resampled).
    pub bootstrap: Option<(f64, f64)>,
    /// The interval the conclusion uses.
    pub primary: Method,
    /// Lower bound of the primary interval.
    pub lo: Option<f64>,
    /// Upper bound of the primary interval.
    pub hi: Option<f64>,
    /// Exact McNemar p-value on the discordant pairs.
    pub mcnemar_p: f64,
    /// Families behind the pairs.
    pub clusters: u64,
    /// `a_better`, `b_better` or `no_clear_difference`.
    pub conclusion: String,
}

/// One cell of a breakdown: a value of a dimension for one system.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// The system.
    pub system: String,
    /// The pass rate in the cell.
    pub figure: Figure,
}

/// One row of a breakdown.
#[derive(Debug, Clone, Serialize)]
pub struct BreakdownRow {
    /// The dimension's value (`bullying`, `GB`, `11-13`).
    pub value: String,
    /// Its name (`Bullying`, `United Kingdom`, `Age 11-13`).
    pub label: String,
    /// One cell per system, in leaderboard order.
    pub cells: Vec<Cell>,
}

/// Pass rate broken down by one dimension.
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    /// `harm`, `risk`, `age_band`, `language`, `country`, `context`.
    pub dimension: String,
    /// Heading.
    pub title: String,
    /// The metric (always pass for now).
    pub metric: Metric,
    /// Rows.
    pub rows: Vec<BreakdownRow>,
}

/// A service shown on a country card.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceView {
    /// Service id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind id.
    pub kind: String,
    /// Current contacts (`phone 0800 1111`).
    pub contacts: Vec<String>,
    /// Hours.
    pub hours: Option<String>,
    /// Last verified.
    pub last_verified: String,
    /// Where its facts come from, each with the date it was read.
    pub sources: Vec<SourceView>,
}

/// A source of a directory entry.
#[derive(Debug, Clone, Serialize)]
pub struct SourceView {
    /// The page.
    pub url: String,
    /// Kind of page (`official`, `registry`, …).
    pub kind: String,
    /// When it was read (`YYYY-MM-DD`), empty when not recorded.
    pub read: String,
    /// The date the page itself shows.
    pub page_date: Option<String>,
}

/// How one system did in one country.
#[derive(Debug, Clone, Serialize)]
pub struct CountryResult {
    /// The system.
    pub system: String,
    /// Pass rate.
    pub pass: Figure,
    /// Correct child helpline.
    pub helpline_correct: Figure,
    /// Wrong-country contact.
    pub wrong_country: Figure,
    /// Invented contact.
    pub invented_contact: Figure,
}

/// A card per country.
#[derive(Debug, Clone, Serialize)]
pub struct CountryCard {
    /// Country code (or `unknown`).
    pub code: String,
    /// Name.
    pub name: String,
    /// Whether the directory has an entry.
    pub in_directory: bool,
    /// Its correct local services (current, for children).
    pub services: Vec<ServiceView>,
    /// Documented traps (`value — note`).
    pub traps: Vec<String>,
    /// Results per system.
    pub results: Vec<CountryResult>,
}

/// A contact in an exemplar.
#[derive(Debug, Clone, Serialize)]
pub struct ContactView {
    /// As written in the response.
    pub text: String,
    /// Kind id.
    pub kind: String,
    /// Status id.
    pub status: String,
    /// Matched service.
    pub service_id: Option<String>,
    /// The country the answer offers it for, when it labels it for another country than
    /// the child's (an alternative, not a wrong-country contact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offered_for: Option<String>,
    /// For a contact shown wrong: what shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// One response shown as evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Exemplar {
    /// `invented_contact`, `missed_emergency`, `critical_flag` or `best`.
    pub category: String,
    /// Scenario.
    pub scenario_id: String,
    /// Context.
    pub context: String,
    /// Sample.
    pub sample: u32,
    /// Harm id.
    pub harm: String,
    /// Risk id.
    pub risk: String,
    /// Country.
    pub country: String,
    /// Language.
    pub language: String,
    /// Age, when the scenario is known.
    pub age: Option<u8>,
    /// The child's last turn.
    pub child_turn: Option<String>,
    /// The response (cut at the exemplar limit).
    pub response: Option<String>,
    /// Characters in the full response.
    pub response_chars: usize,
    /// Whether the response was cut.
    pub response_truncated: bool,
    /// Whether the verdict passes.
    pub pass: bool,
    /// Contacts with status.
    pub contacts: Vec<ContactView>,
    /// Flags.
    pub flags: Vec<String>,
    /// Critical findings (`id: evidence`).
    pub critical: Vec<String>,
    /// Reasons.
    pub reasons: Vec<String>,
}

/// Exemplars of one system.
#[derive(Debug, Clone, Serialize)]
pub struct SystemExemplars {
    /// The system.
    pub system: String,
    /// Worst failures.
    pub worst: Vec<Exemplar>,
    /// Best answers.
    pub best: Vec<Exemplar>,
}

/// Provenance of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// The system label.
    pub system: String,
    /// Run id.
    pub run_id: String,
    /// Model spec.
    pub model_spec: String,
    /// Backend.
    pub backend: String,
    /// Model files (`path sha256`).
    pub model_files: Vec<crate::types::FileDigest>,
    /// Chat template digest.
    pub chat_template_sha256: Option<String>,
    /// Suite.
    pub suite: String,
    /// Suite content hash recorded in the run.
    pub suite_sha256: String,
    /// Suite content hash of the scenarios loaded for this report.
    pub suite_sha256_now: Option<String>,
    /// Directory hash recorded in the run.
    pub directory_sha256: String,
    /// Policy hash recorded in the run.
    pub policy_sha256: String,
    /// sha256 of popbench's contexts file (`scenarios/contexts.toml`) recorded in the run.
    pub contexts_sha256: String,
    /// The contexts file given with `run --contexts`, when one was: its path and sha256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contexts_file: Option<ContextsFileRef>,
    /// The contexts the run's items were answered in, in order of first appearance, each
    /// with the system prompt it sent.
    pub contexts: Vec<ContextTested>,
    /// popbench version.
    pub popbench_version: String,
    /// popbench commit.
    pub popbench_commit: Option<String>,
    /// Whether that tree was dirty.
    pub git_dirty: Option<bool>,
    /// Samples per item.
    pub samples: u32,
    /// Temperature.
    pub temperature: f64,
    /// Max new tokens.
    pub max_tokens: usize,
    /// Stop strings (`popbench run --stop`), none for most runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Run seed.
    pub seed: u64,
    /// Device.
    pub device: String,
    /// Start.
    pub started_at: String,
    /// End.
    pub finished_at: Option<String>,
    /// Items planned.
    pub items_total: usize,
    /// Responses read.
    pub responses: u64,
    /// Verdicts read.
    pub verdicts: u64,
}

/// A partner's contexts file (`run --contexts FILE`) as the run recorded it.
#[derive(Debug, Clone, Serialize)]
pub struct ContextsFileRef {
    /// The path given.
    pub path: String,
    /// sha256 of its bytes.
    pub sha256: String,
}

/// A context a run's items were answered in, and which system prompt that was.
#[derive(Debug, Clone, Serialize)]
pub struct ContextTested {
    /// The context id.
    pub id: String,
    /// Where its system prompt comes from: `popbench` (scenarios/contexts.toml, whose sha256
    /// the run recorded), `file` (the run's `--contexts` file: the prompt is in `system`) or
    /// `none` (the built-in context: no system prompt was sent).
    pub source: String,
    /// The system prompt template (placeholders unfilled) of a context of the run's
    /// `--contexts` file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

/// One country of the directory.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageRow {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Current services.
    pub services: u64,
    /// Current child helplines.
    pub child_helplines: u64,
    /// Oldest `last_verified`.
    pub oldest_verified: Option<String>,
    /// Newest `last_verified`.
    pub newest_verified: Option<String>,
}

/// What the directory covers.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Directory hash used for this report.
    pub directory_sha256: String,
    /// Countries.
    pub countries: Vec<CoverageRow>,
    /// Oldest `last_verified` overall.
    pub oldest_verified: Option<String>,
    /// Newest `last_verified` overall.
    pub newest_verified: Option<String>,
    /// Countries of scenarios with no directory entry.
    pub missing_countries: Vec<String>,
}

/// Findings for one audience of the recommendations.
#[derive(Debug, Clone, Serialize)]
pub struct AudienceFindings {
    /// `child_helplines`, `private_sector`, `children_and_young_people`, `policy_makers`.
    pub audience: String,
    /// Heading.
    pub title: String,
    /// What a reader of this block must know first: the figures are a floor (a small
    /// model, most answers cut), in words for this audience.
    pub caveat: Option<String>,
    /// Written for children: plain words, no model ids, no intervals.
    pub plain: bool,
    /// Recommendations, each triggered by a measured finding.
    pub findings: Vec<Recommendation>,
    /// When no finding calls for this audience to act: why, from what failed.
    pub none: Option<String>,
}

/// A recommendation, with the finding and threshold that triggered it.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// What to do, in words (the figure cited).
    pub text: String,
    /// The rule that fired (`helpline_correct_below_50`), documented in the methodology.
    pub rule: String,
    /// The system whose figure triggered it.
    pub system: String,
    /// The metric it rests on.
    pub metric: String,
    /// The figure's list of items.
    pub items: Option<u32>,
}

/// A warning computed from the runs (or met while loading them).
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    /// Stable id: `truncated`, `replacement_characters`, `generation_errors`, `small_model`,
    /// `dirty_tree`, `stale_directory`, `scorer_gold`, `load`.
    pub id: String,
    /// The system it concerns, when one.
    pub system: Option<String>,
    /// In words.
    pub text: String,
    /// The list of the items it concerns (answers cut at the token limit, answers with broken
    /// text), when it concerns items.
    pub items: Option<u32>,
}

/// A named list of items: what a figure, a cell or a bar segment counts.
#[derive(Debug, Clone, Serialize)]
pub struct ItemList {
    /// Its index (the anchor is `l{id}`).
    pub id: u32,
    /// What it lists.
    pub title: String,
    /// The items with the outcome ([`ItemView::id`]).
    pub with: Vec<u32>,
    /// The other items of the denominator.
    pub without: Vec<u32>,
}

/// A contact of an item.
#[derive(Debug, Clone, Serialize)]
pub struct ItemFlag {
    /// The flag id.
    pub id: String,
    /// The layer that raised it: `rule` or `judge`.
    pub layer: String,
    /// Severity, when the rubric gives one.
    pub severity: Option<String>,
    /// The words that triggered it.
    pub evidence: Option<String>,
}

/// One turn of the child's conversation.
#[derive(Debug, Clone, Serialize)]
pub struct TurnView {
    /// `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// Every item of every run, for the drill-down appendix.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    /// Its index (the anchor is `i{id}`).
    pub id: u32,
    /// The system.
    pub system: String,
    /// Scenario.
    pub scenario_id: String,
    /// Context id.
    pub context: String,
    /// Sample.
    pub sample: u32,
    /// Harm id.
    pub harm: String,
    /// Risk id.
    pub risk: String,
    /// Country code.
    pub country: String,
    /// Language (BCP 47).
    pub language: String,
    /// Whether the language is written right to left.
    pub rtl: bool,
    /// Age, when the scenario is known.
    pub age: Option<u8>,
    /// The conversation as the scenario writes it; empty when the scenario is unknown.
    pub turns: Vec<TurnView>,
    /// A live conversation as lived: each child turn with the model's own answer and that
    /// answer's verdict (empty for a single answer, or a conversation the model answered
    /// only at its last turn).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub live: Vec<super::section::conversations::TranscriptTurn>,
    /// The response; `None` when not in responses.jsonl.
    pub response: Option<String>,
    /// Why generation stopped (`stop`, `length`, …).
    pub finish_reason: Option<String>,
    /// The generation error, when generation failed.
    pub error: Option<String>,
    /// Whether the verdict passes.
    pub pass: bool,
    /// Whether it is a no-harm control.
    pub control: bool,
    /// The primary failure reason of a failed help-seeking item.
    pub primary_reason: Option<String>,
    /// Child-helpline outcome.
    pub child_helpline: String,
    /// Emergency outcome.
    pub emergency: String,
    /// Contacts with status.
    pub contacts: Vec<ContactView>,
    /// Flags, with the layer that raised them.
    pub flags: Vec<ItemFlag>,
    /// Reasons.
    pub reasons: Vec<String>,
}

/// A country on the map.
#[derive(Debug, Clone, Serialize)]
pub struct MapCountry {
    /// ISO 3166-1 alpha-2.
    pub code: String,
    /// Name.
    pub name: String,
    /// System.
    pub system: String,
    /// Correct child helpline among help-seeking items of the country.
    pub helpline_correct: Figure,
}

/// Totals.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    /// Runs.
    pub runs: u64,
    /// Verdicts.
    pub verdicts: u64,
    /// Distinct scenarios.
    pub scenarios: u64,
    /// Distinct families.
    pub families: u64,
    /// Distinct countries stated by the scenarios ("country not stated" is not one).
    pub countries: u64,
    /// Distinct languages.
    pub languages: u64,
    /// Verdicts whose scenario is not in the loaded suites.
    pub unknown_scenarios: u64,
    /// Verdicts whose scenario states no country (not counted in `countries`).
    #[serde(default)]
    pub country_not_stated: u64,
    /// Live multi-turn conversations scored turn by turn (`conversations.jsonl`); their
    /// verdicts above score the answer to the child's last turn.
    #[serde(default)]
    pub live_conversations: u64,
}

/// Definition of a metric, for the methodology.
#[derive(Debug, Clone, Serialize)]
pub struct MetricDefinition {
    /// The metric.
    pub metric: Metric,
    /// Label.
    pub label: String,
    /// Definition.
    pub definition: String,
    /// The numerator, in words.
    pub numerator: String,
    /// The denominator, in words.
    pub denominator: String,
    /// Which items it is over.
    pub population: Population,
    /// Whether higher is better.
    pub higher_is_better: bool,
}

/// What an interval method id in `results.json` means, for the methodology.
#[derive(Debug, Clone, Serialize)]
pub struct MethodDefinition {
    /// The id, as each figure's `method` (or a comparison's `primary`) gives it.
    pub method: Method,
    /// What was computed.
    pub definition: String,
}

/// The whole report (`results.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Format version.
    pub results_version: u32,
    /// popbench version that wrote it.
    pub popbench_version: String,
    /// When it was generated (RFC 3339), when known.
    pub generated_at: Option<String>,
    /// Settings.
    pub settings: Settings,
    /// Totals.
    pub totals: Totals,
    /// Headline sentences.
    pub headline: Vec<String>,
    /// Metric definitions.
    pub metrics: Vec<MetricDefinition>,
    /// The interval methods a figure's `method` names.
    pub interval_methods: Vec<MethodDefinition>,
    /// Leaderboard, best pass rate first.
    pub leaderboard: Vec<SystemSummary>,
    /// Paired comparisons.
    pub comparisons: Vec<Comparison>,
    /// Breakdowns.
    pub breakdowns: Vec<Breakdown>,
    /// Country cards.
    pub countries: Vec<CountryCard>,
    /// Exemplars.
    pub exemplars: Vec<SystemExemplars>,
    /// Methodology paragraphs.
    pub methodology: Vec<String>,
    /// Directory coverage.
    pub coverage: Coverage,
    /// Provenance per run.
    pub provenance: Vec<Provenance>,
    /// Limitations.
    pub limitations: Vec<String>,
    /// Findings per audience.
    pub audiences: Vec<AudienceFindings>,
    /// The systems whose figures are a floor (under 1B parameters, or most answers cut at the
    /// token limit), with the caveat in words; the title, the headline and every audience
    /// block carry it.
    pub floor: Vec<super::section::headline::Floor>,
    /// Warnings computed from the runs and met while loading them.
    pub warnings: Vec<Warning>,
    /// Why failed help-seeking items failed, per system.
    pub anatomy: Vec<Anatomy>,
    /// The failure reasons in precedence order, with their definitions.
    pub failure_reasons: Vec<MethodText>,
    /// The judge layer of each judged run, beside the rule layer, with agreement.
    pub judges: Vec<crate::judge::summary::JudgeSummary>,
    /// The sections in reading order; in `results.json`, the view models of the sections
    /// that carry one, each under its section's id (`conversations`).
    #[serde(flatten)]
    pub sections: super::section::Sections,
    /// Correct-referral rate per country (the map), per system.
    pub map: Vec<MapCountry>,
    /// Every item list a figure links to.
    pub item_lists: Vec<ItemList>,
    /// Every item of every run.
    pub items: Vec<ItemView>,
}

/// An id with its definition.
#[derive(Debug, Clone, Serialize)]
pub struct MethodText {
    /// The id.
    pub id: String,
    /// A short label.
    pub label: String,
    /// The definition.
    pub definition: String,
}
