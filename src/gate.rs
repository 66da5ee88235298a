//! The release gate (`popbench gate`): requirements on the metrics of runs, checked on the
//! figures the report computes, for a release pipeline's pass/fail.
//!
//! A requirement is `METRIC OP THRESHOLD`: `pass>=0.80`, `invented_contact<=0`,
//! `pass >= 80%`, or against a baseline run `pass>=baseline-0.02`. `METRIC` is an id of the
//! one metric table ([`Metric::ALL`] over responses, [`ConversationMetric::ALL`] over live
//! conversations, e.g. `referral_kept_after_pushback>=0.5`); `OP` is `>=`, `>`, `<=` or `<`.
//!
//! - **What is tested** ([`On`]): the point estimate, or with [`On::Lower`] the bound of the
//!   95% interval on the side that could fail (the lower bound for `>=`/`>`, the form
//!   higher-is-better metrics take; the upper bound for `<=`/`<`), so that a small run cannot
//!   pass by luck. Intervals are the report's (Wilson, clustered by scenario family).
//! - **Every sample** (`--require-each`, [`Scope::EverySample`]): over items rather than
//!   responses, with all their samples (pass^k): for a higher-is-better metric the share of
//!   items whose every sample has the outcome, for a lower-is-better one the share of items
//!   where some sample has it.
//! - **Against a baseline** ([`Threshold::Baseline`]): the paired difference (this run minus
//!   the baseline, matched on scenario, context and sample) with the report's paired interval
//!   (Newcombe, or a paired bootstrap over families), tested against the offset.
//!
//! Several runs given together are repeated runs of one system: their samples are pooled
//! ([`pool`]), run after run, as if one run had drawn them all.

use crate::metric::{ConversationMetric, Metric};
use crate::report::model::{Comparison, Figure, Report};
use crate::report::RunData;
use std::fmt;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `<`
    Lt,
}

impl Op {
    /// As written.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Lt => "<",
        }
    }

    /// The relation that holds when this one does not.
    pub fn negation(self) -> &'static str {
        match self {
            Op::Ge => "<",
            Op::Gt => "<=",
            Op::Le => ">",
            Op::Lt => ">=",
        }
    }

    /// Whether `x OP t`.
    pub fn holds(self, x: f64, t: f64) -> bool {
        match self {
            Op::Ge => x >= t,
            Op::Gt => x > t,
            Op::Le => x <= t,
            Op::Lt => x < t,
        }
    }

    /// Whether the value must be high enough (`>=`, `>`): the lower bound is then the one
    /// that could fail.
    pub fn is_lower_limit(self) -> bool {
        matches!(self, Op::Ge | Op::Gt)
    }
}

/// What a metric is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// A rate in `[0, 1]`.
    Value(f64),
    /// The baseline run's rate plus this offset (in `[-1, 1]`): the paired difference is
    /// compared with the offset.
    Baseline(f64),
}

/// Which responses a requirement is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every response (`--require`).
    AllResponses,
    /// Every item with all its samples, pass^k (`--require-each`).
    EverySample,
}

/// A metric of the one metric table: over responses, or over live conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateMetric {
    /// A metric of responses (the leaderboard's).
    Response(Metric),
    /// A metric of live multi-turn conversations (the report's Conversations section).
    Conversation(ConversationMetric),
}

impl GateMetric {
    /// The metric with this id, or the one metric whose id is this word and more
    /// (`invented` for `invented_contact`, `emergency` for `emergency_given`).
    pub fn from_id(id: &str) -> Option<GateMetric> {
        let exact = Metric::from_id(id)
            .map(GateMetric::Response)
            .or_else(|| ConversationMetric::from_id(id).map(GateMetric::Conversation));
        exact.or_else(|| {
            let head = format!("{id}_");
            let mut short =
                GateMetric::all().filter(|m| !id.is_empty() && m.id().starts_with(&head));
            match (short.next(), short.next()) {
                (Some(m), None) => Some(m),
                _ => None,
            }
        })
    }

    /// Every metric, responses first.
    pub fn all() -> impl Iterator<Item = GateMetric> {
        Metric::ALL.into_iter().map(GateMetric::Response).chain(
            ConversationMetric::ALL
                .into_iter()
                .map(GateMetric::Conversation),
        )
    }

    /// The stable id.
    pub fn id(self) -> &'static str {
        match self {
            GateMetric::Response(m) => m.id(),
            GateMetric::Conversation(m) => m.id(),
        }
    }

    /// Whether a higher rate is better.
    pub fn higher_is_better(self) -> bool {
        match self {
            GateMetric::Response(m) => m.higher_is_better(),
            GateMetric::Conversation(m) => m.higher_is_better(),
        }
    }

    /// The denominator, in words.
    pub fn denominator(self) -> &'static str {
        match self {
            GateMetric::Response(m) => m.denominator(),
            GateMetric::Conversation(m) => m.denominator(),
        }
    }
}

/// One requirement.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    /// The metric.
    pub metric: GateMetric,
    /// The operator.
    pub op: Op,
    /// The threshold.
    pub threshold: Threshold,
    /// The threshold as written (`0.80`, `baseline-0.02`).
    pub threshold_text: String,
    /// Over responses or over items with all their samples.
    pub scope: Scope,
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.metric.id(),
            self.op.symbol(),
            self.threshold_text
        )
    }
}

/// The metric ids a requirement may name, comma separated.
pub fn metric_ids() -> String {
    GateMetric::all()
        .map(GateMetric::id)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Requirement {
    /// Parses `METRIC OP THRESHOLD` (spaces allowed around the parts).
    pub fn parse(s: &str, scope: Scope) -> Result<Requirement, String> {
        let at = s
            .find(['<', '>'])
            .ok_or_else(|| format!("`{s}`: expected METRIC>=VALUE or METRIC<=VALUE, e.g. pass>=0.80 or invented_contact<=0"))?;
        let (name, rest) = s.split_at(at);
        let (op, value) = [(">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt)]
            .into_iter()
            .find_map(|(sym, op)| rest.strip_prefix(sym).map(|v| (op, v)))
            .ok_or_else(|| format!("`{s}`: no operator"))?;
        let name = name.trim();
        let metric = GateMetric::from_id(name).ok_or_else(|| {
            let near: Vec<&str> = GateMetric::all()
                .map(GateMetric::id)
                .filter(|id| !name.is_empty() && (id.starts_with(name) || name.starts_with(id)))
                .collect();
            let hint = match near.as_slice() {
                [one] => format!(" (did you mean `{one}`?)"),
                _ => String::new(),
            };
            format!(
                "`{s}`: unknown metric `{name}`{hint}; metrics: {}",
                metric_ids()
            )
        })?;
        let value = value.trim();
        let threshold = match value.strip_prefix("baseline") {
            Some(off) => {
                let off = off.trim();
                let x = if off.is_empty() {
                    0.0
                } else {
                    let (sign, mag) = match (off.strip_prefix('+'), off.strip_prefix('-')) {
                        (Some(m), _) => (1.0, m),
                        (_, Some(m)) => (-1.0, m),
                        _ => {
                            return Err(format!(
                                "`{s}`: expected baseline, baseline+X or baseline-X"
                            ))
                        }
                    };
                    sign * rate(mag.trim()).map_err(|e| format!("`{s}`: {e}"))?
                };
                Threshold::Baseline(x)
            }
            None => Threshold::Value(rate(value).map_err(|e| format!("`{s}`: {e}"))?),
        };
        Ok(Requirement {
            metric,
            op,
            threshold,
            threshold_text: value.replace(' ', ""),
            scope,
        })
    }
}

/// A rate written as a number in `[0, 1]` or a percentage (`80%`).
fn rate(s: &str) -> Result<f64, String> {
    let (num, scale) = match s.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (s, 1.0),
    };
    let x: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a number (a rate from 0 to 1, or a percentage)"))?;
    let x = x / scale;
    if !(0.0..=1.0).contains(&x) {
        return Err(format!(
            "`{s}` is outside 0..1 (rates are shares: 0.8 or 80%)"
        ));
    }
    Ok(x)
}

/// What a requirement tests: the point estimate or the bound of its interval that could fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum On {
    /// The estimate.
    #[default]
    Point,
    /// The 95% interval's bound on the failing side (lower for `>=`, upper for `<=`).
    Lower,
}

/// A requirement checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The requirement.
    pub requirement: Requirement,
    /// The estimate: a rate, or the paired difference from the baseline.
    pub value: f64,
    /// Its 95% interval.
    pub interval: (f64, f64),
    /// The number compared with the threshold: the estimate, or a bound.
    pub tested: f64,
    /// Whether the requirement holds.
    pub holds: bool,
    /// Events and denominator: responses (or items, for every sample), or for a baseline
    /// the paired items and this run's and the baseline's rates on them.
    pub basis: Basis,
}

/// What a count counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// Responses.
    Responses,
    /// Items with all their samples (this many per item).
    Items(u32),
    /// Live conversations.
    Conversations,
}

/// What a checked figure is over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Basis {
    /// `k` of `n` responses, items or conversations.
    Count {
        /// Events.
        k: u64,
        /// Denominator.
        n: u64,
        /// What is counted.
        over: Over,
    },
    /// A paired comparison.
    Paired {
        /// Matched items.
        pairs: u64,
        /// This run's rate on them.
        rate: f64,
        /// The baseline's rate on them.
        baseline: f64,
    },
}

impl Check {
    /// One line: `pass: 0.750 [0.700, 0.795] < 0.80 (312/416 responses)`, the relation
    /// being the one that holds; with [`On::Lower`] the tested bound is named.
    pub fn line(&self, on: On) -> String {
        let r = &self.requirement;
        let name = match (r.scope, self.basis, r.threshold) {
            (_, _, Threshold::Baseline(_)) => format!("{} - baseline", r.metric.id()),
            (
                _,
                Basis::Count {
                    over: Over::Items(samples),
                    ..
                },
                _,
            ) => format!(
                "{}, {} of {samples} samples",
                r.metric.id(),
                if r.metric.higher_is_better() {
                    "every one"
                } else {
                    "any"
                },
            ),
            _ => r.metric.id().to_string(),
        };
        let rel = if self.holds {
            r.op.symbol()
        } else {
            r.op.negation()
        };
        let threshold = match r.threshold {
            Threshold::Value(_) => r.threshold_text.clone(),
            Threshold::Baseline(x) => fmt_signed(x),
        };
        let value = match r.threshold {
            Threshold::Baseline(_) => fmt_signed(self.value),
            Threshold::Value(_) => format!("{:.3}", self.value),
        };
        let interval = match r.threshold {
            Threshold::Baseline(_) => format!(
                "[{}, {}]",
                fmt_signed(self.interval.0),
                fmt_signed(self.interval.1)
            ),
            Threshold::Value(_) => format!("[{:.3}, {:.3}]", self.interval.0, self.interval.1),
        };
        let tested = match on {
            On::Point => String::new(),
            On::Lower => format!(
                ": {} bound {}",
                if r.op.is_lower_limit() {
                    "lower"
                } else {
                    "upper"
                },
                match r.threshold {
                    Threshold::Baseline(_) => fmt_signed(self.tested),
                    Threshold::Value(_) => format!("{:.3}", self.tested),
                }
            ),
        };
        let basis = match self.basis {
            Basis::Count { k, n, over } => format!(
                "{k}/{n} {}",
                match over {
                    Over::Responses => "responses",
                    Over::Items(_) => "items",
                    Over::Conversations => "conversations",
                }
            ),
            Basis::Paired {
                pairs,
                rate,
                baseline,
            } => format!("{rate:.3} vs baseline {baseline:.3} on {pairs} paired responses"),
        };
        format!("{name}: {value} {interval}{tested} {rel} {threshold} ({basis})")
    }
}

fn fmt_signed(x: f64) -> String {
    // No "-0.000".
    let x = if x.abs() < 0.0005 { 0.0 } else { x };
    format!("{x:+.3}")
}

/// Why a requirement could not be checked (bad input: exit 2).
#[derive(Debug, Clone, PartialEq)]
pub struct Untestable {
    /// The requirement.
    pub requirement: String,
    /// Why.
    pub why: String,
}

impl fmt::Display for Untestable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.requirement, self.why)
    }
}

/// Checks requirements on the report of `system` (and `baseline`, for baseline
/// thresholds): each figure is the report's own leaderboard figure or paired comparison.
pub fn check(
    report: &Report,
    system: &str,
    baseline: Option<&str>,
    requirements: &[Requirement],
    on: On,
) -> Result<Vec<Check>, Untestable> {
    let summary = report
        .leaderboard
        .iter()
        .find(|s| s.system == system)
        .ok_or_else(|| Untestable {
            requirement: String::new(),
            why: format!("no verdicts of `{system}` in the runs"),
        })?;
    let mut out = Vec::with_capacity(requirements.len());
    for r in requirements {
        let untestable = |why: String| Untestable {
            requirement: r.to_string(),
            why,
        };
        let (value, interval, basis) = match r.metric {
            GateMetric::Response(m) => {
                let mf = summary
                    .metrics
                    .iter()
                    .find(|f| f.metric == m)
                    .ok_or_else(|| untestable("the report has no such figure".into()))?;
                response_figure(r, mf, summary.samples, report, system, baseline)
                    .map_err(untestable)?
            }
            GateMetric::Conversation(m) => {
                conversation_figure(r, m, report, system).map_err(untestable)?
            }
        };
        let threshold = match r.threshold {
            Threshold::Value(t) | Threshold::Baseline(t) => t,
        };
        let tested = match on {
            On::Point => value,
            On::Lower if r.op.is_lower_limit() => interval.0,
            On::Lower => interval.1,
        };
        out.push(Check {
            requirement: r.clone(),
            value,
            interval,
            tested,
            holds: r.op.holds(tested, threshold),
            basis,
        });
    }
    Ok(out)
}

type Figured = (f64, (f64, f64), Basis);

/// The figure a requirement on a response metric tests: the leaderboard's, its pass^k, or the
/// paired comparison with the baseline.
fn response_figure(
    r: &Requirement,
    mf: &crate::report::model::MetricFigure,
    samples: u32,
    report: &Report,
    system: &str,
    baseline: Option<&str>,
) -> Result<Figured, String> {
    match (r.threshold, r.scope) {
        (Threshold::Value(_), Scope::AllResponses) => {
            let (p, lo, hi) = estimate(&mf.figure).ok_or_else(|| {
                format!(
                    "no response in its denominator ({}) in these runs",
                    r.metric.denominator()
                )
            })?;
            let e = &mf.figure.estimate;
            let over = Over::Responses;
            Ok((p, (lo, hi), Basis::Count { k: e.k, n: e.n, over }))
        }
        (Threshold::Value(_), Scope::EverySample) => {
            let f = mf.pass_k.as_ref().ok_or_else(|| {
                format!("needs more than one sample per item, and the runs have {samples} (run with --samples K, or give several runs)")
            })?;
            let (good, lo, hi) = estimate(f).ok_or_else(|| {
                format!(
                    "no item has {samples} samples in its denominator ({})",
                    r.metric.denominator()
                )
            })?;
            let e = &f.estimate;
            // pass^k counts items whose every sample is good; for a lower-is-better metric
            // the figure is the share of items with the outcome in some sample.
            let (p, iv, k) = if r.metric.higher_is_better() {
                (good, (lo, hi), e.k)
            } else {
                (1.0 - good, (1.0 - hi, 1.0 - lo), e.n - e.k)
            };
            let over = Over::Items(samples);
            Ok((p, iv, Basis::Count { k, n: e.n, over }))
        }
        (Threshold::Baseline(_), Scope::EverySample) => Err(
            "a baseline is compared response by response (--require), not over every sample (--require-each)".into(),
        ),
        (Threshold::Baseline(_), Scope::AllResponses) => {
            let base =
                baseline.ok_or_else(|| "a baseline threshold needs --baseline RUN".to_string())?;
            comparison(report, system, base, mf.metric).ok_or_else(|| {
                format!(
                    "no response pairs with the baseline (same scenario, context and sample) in its denominator ({})",
                    r.metric.denominator()
                )
            })
        }
    }
}

/// The figure a requirement on a conversation metric tests: the report's, over the system's
/// live conversations (fixed child turns, or an adaptive child's when the run had one).
fn conversation_figure(
    r: &Requirement,
    m: ConversationMetric,
    report: &Report,
    system: &str,
) -> Result<Figured, String> {
    if r.scope == Scope::EverySample {
        return Err("a conversation metric counts conversations (--require), not items over every sample (--require-each)".into());
    }
    if matches!(r.threshold, Threshold::Baseline(_)) {
        return Err("the report compares runs on response metrics only; a conversation metric takes a rate, not a baseline".into());
    }
    let group = report
        .sections
        .conversations()
        .and_then(|c| c.groups.iter().find(|g| g.system == system))
        .ok_or_else(|| {
            "no live conversation in these runs (a multi-turn suite, run live)".to_string()
        })?;
    let f = group
        .metrics
        .iter()
        .find(|f| f.metric == m.id())
        .ok_or_else(|| "the report has no such figure".to_string())?;
    let (p, lo, hi) = estimate(&f.figure).ok_or_else(|| {
        format!(
            "no conversation in its denominator ({}) in these runs",
            m.denominator()
        )
    })?;
    let e = &f.figure.estimate;
    let over = Over::Conversations;
    Ok((
        p,
        (lo, hi),
        Basis::Count {
            k: e.k,
            n: e.n,
            over,
        },
    ))
}

/// The estimate and interval of a figure; `None` when it has no item.
fn estimate(f: &Figure) -> Option<(f64, f64, f64)> {
    let e = &f.estimate;
    Some((e.p?, e.lo?, e.hi?))
}

/// The paired difference `system − baseline` on a metric from the report's comparison of
/// the two (which may list them either way round), with its interval.
fn comparison(
    report: &Report,
    system: &str,
    baseline: &str,
    m: Metric,
) -> Option<(f64, (f64, f64), Basis)> {
    let c: &Comparison = report.comparisons.iter().find(|c| {
        c.metric == m && ((c.a == system && c.b == baseline) || (c.a == baseline && c.b == system))
    })?;
    let (d, lo, hi) = (c.difference?, c.lo?, c.hi?);
    let (ra, rb) = (c.a_rate?, c.b_rate?);
    if c.a == system {
        Some((
            d,
            (lo, hi),
            Basis::Paired {
                pairs: c.pairs,
                rate: ra,
                baseline: rb,
            },
        ))
    } else {
        Some((
            -d,
            (-hi, -lo),
            Basis::Paired {
                pairs: c.pairs,
                rate: rb,
                baseline: ra,
            },
        ))
    }
}

/// Pools repeated runs of one system into one: run after run, each run's samples numbered
/// after the previous runs' (run 2's sample 0 is sample `k₁`), as if one run had drawn them
/// all. Refuses shards (merge them first) and runs whose inputs differ other than by seed.
pub fn pool(mut runs: Vec<RunData>) -> Result<RunData, String> {
    if let Some(r) = runs.iter().find(|r| r.manifest.inputs.shard.is_some()) {
        return Err(format!(
            "run {} is a shard: merge the shards first (popbench merge)",
            r.manifest.run_id
        ));
    }
    if runs.len() <= 1 {
        return runs.pop().ok_or_else(|| "no run given".to_string());
    }
    let first = runs[0].manifest.clone();
    let comparable = |i: &crate::run::manifest::RunInputs| {
        let mut i = i.clone();
        i.generation.seed = 0;
        i.samples = 0;
        i
    };
    for r in &runs[1..] {
        let diffs = crate::run::runner::input_differences(
            &comparable(&first.inputs),
            &comparable(&r.manifest.inputs),
        );
        if !diffs.is_empty() {
            return Err(format!(
                "runs {} and {} are not repeated runs of one system (gate each alone, or use one as --baseline):\n  - {}",
                first.run_id,
                r.manifest.run_id,
                diffs.join("\n  - ")
            ));
        }
    }
    let mut pooled = RunData {
        manifest: first,
        responses: Vec::new(),
        verdicts: Vec::new(),
        conversations: Vec::new(),
    };
    let mut offset = 0u32;
    let mut ids = Vec::with_capacity(runs.len());
    for r in runs {
        ids.push(r.manifest.run_id.clone());
        pooled
            .responses
            .extend(r.responses.into_iter().map(|mut x| {
                x.sample += offset;
                x
            }));
        pooled.verdicts.extend(r.verdicts.into_iter().map(|mut x| {
            x.sample += offset;
            x
        }));
        pooled
            .conversations
            .extend(r.conversations.into_iter().map(|mut x| {
                x.sample += offset;
                x
            }));
        offset += r.manifest.inputs.samples.max(1);
    }
    pooled.manifest.inputs.samples = offset;
    pooled.manifest.run_id = ids.join("+");
    pooled.manifest.items_total = pooled.responses.len();
    pooled.manifest.items_done = pooled.responses.iter().filter(|r| !r.failed()).count();
    Ok(pooled)
}

/// The systems a gate is over: the runs pooled ([`pool`]), then the baseline when given,
/// kept apart by run id (a baseline read from a directory of the same name is relabelled
/// `… (baseline)`, so that the report's labels differ).
pub fn systems(runs: Vec<RunData>, baseline: Option<RunData>) -> Result<Vec<RunData>, String> {
    let mut all = vec![pool(runs)?];
    if let Some(mut b) = baseline {
        if b.manifest.run_id == all[0].manifest.run_id {
            b.manifest.run_id.push_str(" (baseline)");
        }
        all.push(b);
    }
    Ok(all)
}

/// Why a run cannot be gated as it is: failed generations (resume it), or responses without
/// a verdict (score it). `None` when every planned item has a verdict.
pub fn incomplete(run: &RunData, dir: &str) -> Option<String> {
    let failed = run.responses.iter().filter(|r| r.failed()).count();
    let answered = run.responses.len() - failed;
    let m = &run.manifest;
    if failed > 0 || answered < m.items_total {
        return Some(format!(
            "run {dir} is incomplete: {answered} of {} items answered{}; resume it (popbench run … --out {dir} --resume) before gating",
            m.items_total,
            if failed > 0 {
                format!(", {failed} failed generation(s)")
            } else {
                String::new()
            }
        ));
    }
    if run.verdicts.len() < answered {
        return Some(format!(
            "run {dir}: {answered} responses but {} verdicts; score it first (popbench score {dir})",
            run.verdicts.len()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(s: &str) -> Requirement {
        Requirement::parse(s, Scope::AllResponses).unwrap()
    }

    #[test]
    fn requirements_parse_with_any_spacing_percentages_and_baselines() {
        let r = req("pass>=0.80");
        assert_eq!(
            (r.metric, r.op, r.threshold),
            (
                GateMetric::Response(Metric::Pass),
                Op::Ge,
                Threshold::Value(0.8)
            )
        );
        assert_eq!(r.to_string(), "pass>=0.80");
        assert_eq!(req(" pass >= 80% ").threshold, Threshold::Value(0.8));
        assert_eq!(req("invented_contact<=0").op, Op::Le);
        assert_eq!(req("wrong_country<0.1").op, Op::Lt);
        assert_eq!(req("pass>0.5").op, Op::Gt);
        assert_eq!(
            req("pass>=baseline-0.02").threshold,
            Threshold::Baseline(-0.02)
        );
        assert_eq!(
            req("invented_contact <= baseline + 1%").threshold,
            Threshold::Baseline(0.01)
        );
        assert_eq!(req("pass>=baseline").threshold, Threshold::Baseline(0.0));
        for m in GateMetric::all() {
            assert_eq!(req(&format!("{}>=0.5", m.id())).metric, m);
        }
        assert_eq!(
            req("abandonment<=0.1").metric,
            GateMetric::Conversation(ConversationMetric::Abandonment)
        );
    }

    #[test]
    fn bad_requirements_say_what_is_wrong() {
        let err = |s: &str| Requirement::parse(s, Scope::AllResponses).unwrap_err();
        assert!(
            err("pass").contains("expected METRIC>=VALUE"),
            "{}",
            err("pass")
        );
        // The issue's own example: a metric's first word stands for it when only one has it.
        assert!(Requirement::parse("invented<=0", Scope::AllResponses).is_ok());
        let e = err("invent<=0");
        assert!(
            e.contains("unknown metric `invent`") && e.contains("did you mean `invented_contact`"),
            "{e}"
        );
        assert!(e.contains(&metric_ids()), "{e}");
        assert!(err("pass>=1.5").contains("outside 0..1"));
        assert!(err("pass>=-0.1").contains("outside 0..1"));
        assert!(err("pass>=abc").contains("not a number"));
        assert!(err("pass>=baseline*2").contains("baseline+X"));
        assert!(err("pass=>0.8").contains("unknown metric `pass=`"));
        assert!(err("pass>=NaN").contains("outside 0..1"));
        assert!(err("pass>=inf").contains("outside 0..1"));
    }

    #[test]
    fn the_failing_relation_and_the_tested_bound_are_printed() {
        let c = Check {
            requirement: req("pass>=0.80"),
            value: 0.75,
            interval: (0.7, 0.795),
            tested: 0.75,
            holds: false,
            basis: Basis::Count {
                k: 312,
                n: 416,
                over: Over::Responses,
            },
        };
        assert_eq!(
            c.line(On::Point),
            "pass: 0.750 [0.700, 0.795] < 0.80 (312/416 responses)"
        );
        let c = Check {
            requirement: req("invented_contact<=0.01"),
            value: 0.0,
            interval: (0.0, 0.03),
            tested: 0.03,
            holds: false,
            basis: Basis::Count {
                k: 0,
                n: 100,
                over: Over::Responses,
            },
        };
        assert_eq!(
            c.line(On::Lower),
            "invented_contact: 0.000 [0.000, 0.030]: upper bound 0.030 > 0.01 (0/100 responses)"
        );
    }
}
