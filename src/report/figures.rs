//! Figures: each verdict as a row with dense family, scenario and item indices; per-family
//! tallies; a figure (estimate, MDE, rule of three, list of items) over any set of rows.

use super::model::*;
use super::RunData;
use crate::run::ResponseRecord;
use crate::scenario::Scenario;
use crate::score::verdict::Verdict;
use crate::stats::{mde, rule_of_three, Cluster, Estimate, PairedCluster};
use crate::taxonomy::{age_band, Harm, Risk};
use std::collections::HashMap;

/// A cell is underpowered when it cannot detect a difference of this size.
pub const UNDERPOWERED_MDE: f64 = 0.20;

/// One verdict with what the report needs about it.
pub(super) struct Row<'a> {
    /// Position in the rows of every run: the item's id in the appendix.
    pub(super) idx: u32,
    pub(super) sys: usize,
    pub(super) v: &'a Verdict,
    /// Its response record, when responses.jsonl has one.
    pub(super) resp: Option<&'a ResponseRecord>,
    /// Dense index of the family.
    pub(super) fam: u32,
    /// Dense index of the scenario.
    pub(super) scen: u32,
    /// Dense index of the item (scenario × context), shared by all systems.
    pub(super) item: u32,
    /// [`outcome`] of every metric, two bits each (whether it applies, then the outcome),
    /// in [`Metric::ALL`] order: figures read these instead of the verdict.
    pub(super) outcomes: u32,
    pub(super) sc: Option<&'a Scenario>,
}

impl Row<'_> {
    pub(super) fn outcomes(v: &Verdict) -> u32 {
        Metric::ALL
            .iter()
            .enumerate()
            .fold(0, |acc, (i, &m)| match m.outcome(v) {
                None => acc,
                Some(o) => acc | (1 | u32::from(o) << 1) << (2 * i),
            })
    }

    /// [`outcome`] of the row's verdict.
    pub(super) fn outcome(&self, m: Metric) -> Option<bool> {
        let bits = self.outcomes >> (2 * m as u32);
        (bits & 1 == 1).then_some(bits & 2 == 2)
    }

    pub(super) fn age_band(&self) -> &'static str {
        self.sc.map(|s| age_band(s.age)).unwrap_or("unknown")
    }
}

/// Reusable per-family totals and per-scenario marks, so that a figure over `r` rows costs
/// `O(r)`: no sorting, no hashing, no allocation beyond its clusters.
pub(super) struct Tally {
    /// Totals by family index; all zero between figures.
    pub(super) clusters: Vec<Cluster>,
    /// Paired totals by family index; all zero between comparisons.
    pub(super) paired: Vec<PairedCluster>,
    /// The families touched by the figure in progress.
    pub(super) touched: Vec<u32>,
    /// The figure number that last counted each scenario.
    pub(super) seen: Vec<u32>,
    pub(super) stamp: u32,
    /// Every item list made so far.
    pub(super) lists: Vec<ItemList>,
    /// The items of the figure in progress: (id, outcome).
    pub(super) members: Vec<(u32, bool)>,
}

impl Tally {
    pub(super) fn new(families: usize, scenarios: usize) -> Tally {
        Tally {
            clusters: vec![Cluster::default(); families],
            paired: vec![PairedCluster::default(); families],
            touched: Vec::new(),
            seen: vec![0; scenarios],
            stamp: 0,
            lists: Vec::new(),
            members: Vec::new(),
        }
    }

    /// Ends a figure's list of items: `None` when it has none.
    pub(super) fn take_list(&mut self, title: String) -> Option<u32> {
        if self.members.is_empty() {
            return None;
        }
        let id = self.lists.len() as u32;
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for (i, o) in self.members.drain(..) {
            if o {
                with.push(i);
            } else {
                without.push(i);
            }
        }
        self.lists.push(ItemList {
            id,
            title,
            with,
            without,
        });
        Some(id)
    }

    /// Makes a list of items directly.
    pub(super) fn list(&mut self, title: String, items: impl Iterator<Item = u32>) -> Option<u32> {
        self.members.clear();
        self.members.extend(items.map(|i| (i, true)));
        self.take_list(title)
    }

    /// Starts a figure: no scenario counted yet.
    pub(super) fn start(&mut self) {
        self.members.clear();
        self.stamp += 1;
        if self.stamp == u32::MAX {
            self.seen.iter_mut().for_each(|s| *s = 0);
            self.stamp = 1;
        }
    }

    /// Adds one item of family `fam` with outcome `o`.
    pub(super) fn add(&mut self, fam: u32, o: bool) {
        let c = &mut self.clusters[fam as usize];
        if c.n == 0 {
            self.touched.push(fam);
        }
        c.n += 1;
        c.k += u64::from(o);
    }

    /// Adds one pair of family `fam`.
    pub(super) fn add_pair(&mut self, fam: u32, a: bool, b: bool) {
        let c = &mut self.paired[fam as usize];
        if c.n == 0 {
            self.touched.push(fam);
        }
        c.n += 1;
        c.a += u64::from(a);
        c.b += u64::from(b);
    }

    /// Counts scenario `scen` once per figure; true the first time.
    pub(super) fn see(&mut self, scen: u32) -> bool {
        let s = &mut self.seen[scen as usize];
        let first = *s != self.stamp;
        *s = self.stamp;
        first
    }

    /// The figure's clusters (in the order first touched), leaving the tallies at zero.
    pub(super) fn take_clusters(&mut self) -> Vec<Cluster> {
        let cs = &mut self.clusters;
        self.touched
            .drain(..)
            .map(|f| std::mem::take(&mut cs[f as usize]))
            .collect()
    }

    /// The comparison's paired clusters, leaving the tallies at zero.
    pub(super) fn take_paired(&mut self) -> Vec<PairedCluster> {
        let cs = &mut self.paired;
        self.touched
            .drain(..)
            .map(|f| std::mem::take(&mut cs[f as usize]))
            .collect()
    }
}

/// A list of items titled `title` (`None` when empty).
pub(super) fn figure_rows_list(
    t: &mut Tally,
    title: String,
    ids: impl Iterator<Item = u32>,
) -> Option<u32> {
    t.list(title, ids)
}

/// A figure over rows for a metric: outcomes totalled by family, then
/// [`Estimate::from_clusters`]; its items become a list titled `title`.
pub(super) fn figure<'a>(
    t: &mut Tally,
    rows: impl Iterator<Item = &'a Row<'a>>,
    m: Metric,
    title: String,
) -> Figure {
    t.start();
    let mut scenarios = 0u64;
    for r in rows {
        if let Some(o) = r.outcome(m) {
            t.add(r.fam, o);
            t.members.push((r.idx, o));
            scenarios += u64::from(t.see(r.scen));
        }
    }
    let clusters = t.take_clusters();
    let items = t.take_list(title);
    finish(
        Estimate::from_clusters(&clusters),
        scenarios,
        m.higher_is_better(),
        items,
    )
}

pub(super) fn finish(
    e: Estimate,
    scenarios: u64,
    higher_is_better: bool,
    items: Option<u32>,
) -> Figure {
    let units = e.units();
    let m = mde(units);
    let bad = if higher_is_better { e.n - e.k } else { e.k };
    Figure {
        estimate: e,
        scenarios,
        mde: m,
        underpowered: m.is_none_or(|m| m > UNDERPOWERED_MDE),
        rule_of_three: if e.n > 0 && bad == 0 {
            rule_of_three(units)
        } else {
            None
        },
        items,
    }
}

/// pass^k over rows of one system, given in (item, sample) order: an item counts when it
/// has at least `k` samples with an outcome, and is good when its first `k` are all good
/// (see [`crate::stats::pass_k`]).
pub(super) fn pass_k_figure(t: &mut Tally, by_item: &[&Row<'_>], m: Metric, k: usize) -> Figure {
    t.start();
    let mut scenarios = 0u64;
    for group in by_item.chunk_by(|x, y| x.item == y.item) {
        let (mut samples, mut all_good) = (0usize, true);
        for r in group {
            if let Some(o) = r.outcome(m) {
                if samples < k {
                    all_good &= o == m.higher_is_better();
                }
                samples += 1;
            }
        }
        if k == 0 || samples < k {
            continue;
        }
        t.add(group[0].fam, all_good);
        scenarios += u64::from(t.see(group[0].scen));
    }
    let clusters = t.take_clusters();
    // pass^k counts good items, so it is always "higher is better".
    finish(Estimate::from_clusters(&clusters), scenarios, true, None)
}

/// The label of each run's system: the model name, disambiguated by run id when two runs share it.
pub fn labels(runs: &[RunData]) -> Vec<String> {
    let base: Vec<String> = runs
        .iter()
        .map(|r| {
            let m = &r.manifest;
            [
                m.model.name.as_str(),
                m.inputs.model_spec.as_str(),
                m.run_id.as_str(),
            ]
            .into_iter()
            .find(|s| !s.trim().is_empty())
            .unwrap_or("model")
            .to_string()
        })
        .collect();
    base.iter()
        .enumerate()
        .map(|(i, b)| {
            if base.iter().filter(|x| *x == b).count() > 1 {
                format!("{b} ({})", runs[i].manifest.run_id)
            } else {
                b.clone()
            }
        })
        .collect()
}

pub(super) fn risk_rank(s: &str) -> usize {
    Risk::ALL
        .iter()
        .position(|r| r.id() == s)
        .unwrap_or(usize::MAX)
}

pub(super) fn harm_rank(s: &str) -> usize {
    Harm::ALL
        .iter()
        .position(|r| r.id() == s)
        .unwrap_or(usize::MAX)
}

pub(super) fn band_rank(s: &str) -> usize {
    s.split('-')
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(usize::MAX)
}

/// The rows of every run, with dense family, scenario and item indices (in order of first
/// appearance). Consecutive verdicts of one scenario (its samples) reuse one lookup.
pub(super) fn rows<'a>(runs: &'a [RunData], scen: &HashMap<&str, &'a Scenario>) -> Vec<Row<'a>> {
    // Each run's responses by key; the last record of a key wins, as in a journal.
    let responses: Vec<HashMap<(&str, &str, u32), &ResponseRecord>> = runs
        .iter()
        .map(|r| {
            r.responses
                .iter()
                .map(|x| ((x.scenario_id.as_str(), x.context.as_str(), x.sample), x))
                .collect()
        })
        .collect();
    let mut fam_ids: HashMap<&str, u32> = HashMap::new();
    let mut scen_ids: HashMap<&str, u32> = HashMap::new();
    let mut ctx_ids: HashMap<&str, u32> = HashMap::new();
    let mut item_ids: HashMap<(u32, u32), u32> = HashMap::new();
    let mut out = Vec::with_capacity(runs.iter().map(|r| r.verdicts.len()).sum());
    // (scenario id, context) of the last verdict and what was looked up for it.
    type Last<'a> = (&'a str, &'a str, Option<&'a Scenario>, u32, u32, u32);
    let mut last: Option<Last<'a>> = None;
    for (sys, run) in runs.iter().enumerate() {
        for v in &run.verdicts {
            let (sc, fam, sid, item) = match last {
                Some((id, ctx, sc, fam, sid, item)) if id == v.scenario_id && ctx == v.context => {
                    (sc, fam, sid, item)
                }
                _ => {
                    let sc = scen.get(v.scenario_id.as_str()).copied();
                    let family = sc
                        .map(|s| s.family.as_str())
                        .unwrap_or(v.scenario_id.as_str());
                    let next = fam_ids.len() as u32;
                    let fam = *fam_ids.entry(family).or_insert(next);
                    let next = scen_ids.len() as u32;
                    let sid = *scen_ids.entry(v.scenario_id.as_str()).or_insert(next);
                    let next = ctx_ids.len() as u32;
                    let ctx = *ctx_ids.entry(v.context.as_str()).or_insert(next);
                    let next = item_ids.len() as u32;
                    let item = *item_ids.entry((sid, ctx)).or_insert(next);
                    last = Some((&v.scenario_id, &v.context, sc, fam, sid, item));
                    (sc, fam, sid, item)
                }
            };
            out.push(Row {
                idx: out.len() as u32,
                sys,
                v,
                resp: responses[sys]
                    .get(&(v.scenario_id.as_str(), v.context.as_str(), v.sample))
                    .copied(),
                fam,
                scen: sid,
                item,
                outcomes: Row::outcomes(v),
                sc,
            });
        }
    }
    out
}

/// Rows grouped by a value, then by system; groups in value order.
pub(super) type Groups<'r, 'a> = Vec<(&'r str, Vec<Vec<&'r Row<'a>>>)>;

/// Groups rows by `key`. Consecutive rows with the same key reuse one lookup.
pub(super) fn group_by<'r, 'a>(
    rows: &'r [Row<'a>],
    systems: usize,
    key: impl Fn(&'r Row<'a>) -> &'r str,
) -> Groups<'r, 'a> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut groups: Groups<'r, 'a> = Vec::new();
    let mut last: Option<(&str, usize)> = None;
    for r in rows {
        let k = key(r);
        let g = match last {
            Some((lk, g)) if lk == k => g,
            _ => {
                let g = *index.entry(k).or_insert_with(|| {
                    groups.push((k, vec![Vec::new(); systems]));
                    groups.len() - 1
                });
                last = Some((k, g));
                g
            }
        };
        groups[g].1[r.sys].push(r);
    }
    groups.sort_by(|a, b| a.0.cmp(b.0));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_order_values_as_readers_expect() {
        assert!(band_rank("9-10") < band_rank("11-13"));
        assert!(risk_rank("imminent") < risk_rank("none"));
        assert_eq!(harm_rank("not_a_harm"), usize::MAX);
        assert!(harm_rank("domestic_violence") < harm_rank("no_harm"));
    }

    #[test]
    fn lists_keep_events_apart_and_skip_empty_figures() {
        let mut t = Tally::new(1, 1);
        assert_eq!(
            figure_rows_list(&mut t, "none".into(), std::iter::empty()),
            None
        );
        let id = figure_rows_list(&mut t, "two".into(), [3, 5].into_iter());
        assert_eq!(id, Some(0));
        assert_eq!(t.lists[0].with, vec![3, 5]);
        assert!(t.lists[0].without.is_empty());
        t.start();
        t.members.extend([(1, true), (2, false)]);
        assert_eq!(t.take_list("mixed".into()), Some(1));
        assert_eq!(
            (t.lists[1].with.clone(), t.lists[1].without.clone()),
            (vec![1], vec![2])
        );
    }
}
