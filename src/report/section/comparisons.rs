//! Paired comparisons of two systems on one metric: the paired table, Newcombe's interval or
//! a paired cluster bootstrap, the exact McNemar test and the conclusion.

use crate::report::doc::build::{name, para, t};
use crate::report::doc::{Block, Cell, Table, Tone};
use crate::report::figures::{Row, Tally};
use crate::report::fmt::{p_value, pct, pp, pp_interval};
use crate::report::model::*;
use crate::stats::{
    mcnemar_exact, newcombe_paired, paired_cluster_bootstrap, seed_from, Method, PairedCounts,
    BOOTSTRAP_RESAMPLES,
};

/// Compares systems `a` and `b` on metric `m`, pairing their rows (each given in (item,
/// sample) order) on the same scenario, context and sample. When `a` has several rows of
/// one key, its last one with an outcome counts.
pub(in crate::report) fn compare(
    t: &mut Tally,
    (a, ra): (&str, &[&Row<'_>]),
    (b, rb): (&str, &[&Row<'_>]),
    m: Metric,
) -> Comparison {
    let key = |r: &Row<'_>| (r.item, r.v.sample);
    let mut table = PairedCounts::default();
    let mut i = 0;
    for group in rb.chunk_by(|x, y| key(x) == key(y)) {
        let k = key(group[0]);
        while i < ra.len() && key(ra[i]) < k {
            i += 1;
        }
        let mut left = None;
        while i < ra.len() && key(ra[i]) == k {
            left = ra[i].outcome(m).or(left);
            i += 1;
        }
        let Some(oa) = left else { continue };
        for r in group {
            if let Some(ob) = r.outcome(m) {
                table.add(oa, ob);
                t.add_pair(r.fam, oa, ob);
            }
        }
    }
    let clusters = t.take_paired();
    let rates = table.rates();
    let newcombe = rates.map(|_| newcombe_paired(&table));
    let clustered = clusters.iter().any(|c| c.n > 1);
    let bootstrap = rates.map(|(_, _, d)| {
        let (lo, hi) = paired_cluster_bootstrap(
            &clusters,
            BOOTSTRAP_RESAMPLES,
            seed_from(&format!("{a}|{b}|{}", m.id())),
        );
        (lo.min(d), hi.max(d))
    });
    let primary = if clustered {
        Method::PairedClusterBootstrap
    } else {
        Method::Newcombe
    };
    let chosen = if clustered { bootstrap } else { newcombe };
    let conclusion = match chosen {
        None => "no_pairs",
        Some((lo, _)) if lo > 0.0 => {
            if m.higher_is_better() {
                "a_better"
            } else {
                "b_better"
            }
        }
        Some((_, hi)) if hi < 0.0 => {
            if m.higher_is_better() {
                "b_better"
            } else {
                "a_better"
            }
        }
        Some(_) => "no_clear_difference",
    };
    Comparison {
        a: a.to_string(),
        b: b.to_string(),
        metric: m,
        pairs: table.n(),
        table,
        a_rate: rates.map(|r| r.0),
        b_rate: rates.map(|r| r.1),
        difference: rates.map(|r| r.2),
        newcombe,
        bootstrap,
        primary,
        lo: chosen.map(|c| c.0),
        hi: chosen.map(|c| c.1),
        mcnemar_p: mcnemar_exact(table.a_only, table.b_only),
        clusters: clusters.iter().filter(|c| c.n > 0).count() as u64,
        conclusion: conclusion.to_string(),
    }
}

/// The section: per pair of systems, one row per metric.
pub fn write(r: &Report) -> Vec<Block<'_>> {
    if r.comparisons.is_empty() {
        return vec![para("One system only: nothing to compare.")];
    }
    let mut o = vec![para("Each row pairs the two systems on the same items. An interval marked † is a paired bootstrap over scenario families (used when families contribute several pairs); unmarked intervals are Newcombe's interval for independent pairs.")];
    for pair in r.comparisons.chunk_by(|x, y| x.a == y.a && x.b == y.b) {
        let (a, b) = (&pair[0].a, &pair[0].b);
        o.push(Block::Heading {
            level: 3,
            id: None,
            text: vec![name(a), t(" vs "), name(b)],
        });
        let rows = pair
            .iter()
            .map(|c| {
                let (tone, text) = match c.conclusion.as_str() {
                    "a_better" => (Some(Tone::Good), format!("A better ({})", c.a)),
                    "b_better" => (Some(Tone::Good), format!("B better ({})", c.b)),
                    "no_pairs" => (None, "no matched items".into()),
                    _ => (None, "no clear difference".into()),
                };
                let num = |s: String| Cell::num(vec![t(s)]);
                vec![
                    Cell::new(vec![t(c.metric.label())]),
                    num(c.pairs.to_string()),
                    num(pct(c.a_rate)),
                    num(pct(c.b_rate)),
                    num(pp(c.difference)),
                    num(format!("{}{}", pp_interval(c.lo, c.hi), c.primary.mark())),
                    num(format!("{} / {}", c.table.a_only, c.table.b_only)),
                    num(p_value(c.mcnemar_p, r.settings.p_value_floor)),
                    Cell {
                        tone,
                        ..Cell::new(vec![t(text)])
                    },
                ]
            })
            .collect();
        o.push(Block::Table(Table {
            caption: None,
            head: [
                "Metric",
                "Pairs",
                "A",
                "B",
                "A − B",
                "95% interval",
                "Discordant (A only / B only)",
                "McNemar exact p",
                "Conclusion",
            ]
            .iter()
            .map(|h| vec![t(*h)])
            .collect(),
            rows,
        }));
    }
    o
}
