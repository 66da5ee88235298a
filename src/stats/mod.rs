//! Statistics for the evidence reports: proportions with Wilson intervals (over the
//! effective number of scenario families when responses cluster), a cluster bootstrap, pass^k, paired comparisons (Newcombe interval, exact
//! McNemar test, paired cluster bootstrap), the rule of three and the minimum detectable
//! effect.
//!
//! Invariants, held by every function here and checked by property tests:
//! - an interval `(lo, hi)` of a proportion satisfies `0 ≤ lo ≤ p̂ ≤ hi ≤ 1`, and for a fixed
//!   n and cluster structure both bounds are non-decreasing in the event count;
//! - an interval of a difference satisfies `-1 ≤ lo ≤ d̂ ≤ hi ≤ 1`;
//! - p-values lie in `[0, 1]`;
//! - everything is deterministic: the bootstrap draws from a seeded [`SplitMix64`].

mod bootstrap;
mod paired;
mod proportion;
mod rng;

pub use bootstrap::{cluster_bootstrap, paired_cluster_bootstrap, Cluster, PairedCluster};
pub use paired::{mcnemar_exact, newcombe_paired, PairedCounts};
pub use proportion::{mde, rule_of_three, wilson, wilson_rate, Z95};
pub use rng::SplitMix64;

/// Number of bootstrap resamples used by the reports.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// z for 80% power (one-sided 0.8 quantile of the standard normal), used by [`mde`].
pub const Z_POWER80: f64 = 0.841_621_233_572_914_2;

/// How an interval was computed. One method per kind of figure:
///
/// - a proportion: [`Method::Wilson`] when every scenario family contributes one response,
///   else [`Method::WilsonClustered`];
/// - a paired difference: [`Method::Newcombe`] for independent pairs, else
///   [`Method::PairedClusterBootstrap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Wilson score interval on independent items.
    Wilson,
    /// Wilson score interval at the observed rate over the effective number of independent
    /// units of clustered items, `n_eff = (Σ nᵢ)² / Σ nᵢ²` (Kish's effective sample size when
    /// the responses of a family are fully alike): `n_eff` depends only on the cluster sizes,
    /// so for a fixed cluster structure the interval is monotone in the event count.
    WilsonClustered,
    /// Newcombe's square-and-add interval for a paired difference (method 10, 1998).
    Newcombe,
    /// Percentile bootstrap resampling whole families of pairs.
    PairedClusterBootstrap,
}

impl Method {
    /// The mark printed next to a figure computed with it (explained in the report's text).
    pub fn mark(self) -> &'static str {
        match self {
            Method::Wilson | Method::Newcombe => "",
            Method::WilsonClustered | Method::PairedClusterBootstrap => "†",
        }
    }
}

/// The effective number of independent units of clusters of sizes `nᵢ`:
/// `(Σ nᵢ)² / Σ nᵢ²`. It equals the number of clusters when they are all the same size, the
/// number of items when every cluster holds one, and lies between the two otherwise.
pub fn effective_n(clusters: &[Cluster]) -> f64 {
    let (sum, sq) = clusters.iter().fold((0.0, 0.0), |(s, q), c| {
        let n = c.n as f64;
        (s + n, q + n * n)
    });
    if sq == 0.0 {
        0.0
    } else {
        sum * sum / sq
    }
}

/// A proportion with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    /// Items with the outcome.
    pub k: u64,
    /// Items counted.
    pub n: u64,
    /// `k / n`; `None` when `n = 0`.
    pub p: Option<f64>,
    /// Lower bound (`None` when `n = 0`).
    pub lo: Option<f64>,
    /// Upper bound (`None` when `n = 0`).
    pub hi: Option<f64>,
    /// How the interval was computed.
    pub method: Method,
    /// Scenario families behind the items.
    pub clusters: u64,
    /// Effective independent units ([`effective_n`]); `n` under [`Method::Wilson`].
    pub effective_n: f64,
}

impl Estimate {
    /// Estimates a proportion over clusters: the Wilson interval when every cluster holds one
    /// item, else the Wilson interval over the effective number of units
    /// ([`Method::WilsonClustered`]). Both are monotone in the event count for fixed cluster
    /// sizes: more events never give a lower bound or an upper bound that is lower.
    pub fn from_clusters(clusters: &[Cluster]) -> Estimate {
        let k: u64 = clusters.iter().map(|c| c.k.min(c.n)).sum();
        let n: u64 = clusters.iter().map(|c| c.n).sum();
        let nonempty = clusters.iter().filter(|c| c.n > 0).count() as u64;
        if n == 0 {
            return Estimate {
                k,
                n,
                p: None,
                lo: None,
                hi: None,
                method: Method::Wilson,
                clusters: 0,
                effective_n: 0.0,
            };
        }
        let p = k as f64 / n as f64;
        let clustered = clusters.iter().any(|c| c.n > 1);
        let (lo, hi, method, eff) = if clustered {
            let eff = effective_n(clusters);
            let (lo, hi) = wilson_rate(p, eff, Z95);
            (lo, hi, Method::WilsonClustered, eff)
        } else {
            let (lo, hi) = wilson(k, n, Z95);
            (lo, hi, Method::Wilson, n as f64)
        };
        Estimate {
            k,
            n,
            p: Some(p),
            lo: Some(lo),
            hi: Some(hi),
            method,
            clusters: nonempty,
            effective_n: eff,
        }
    }

    /// The independent units, rounded down: items under Wilson, the effective number of
    /// units under the clustered Wilson interval.
    pub fn units(&self) -> u64 {
        self.effective_n.floor() as u64
    }
}

/// A stable 64-bit seed from a label (FNV-1a), so that each figure's bootstrap is
/// reproducible and independent of the order figures are computed in.
pub fn seed_from(label: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// pass^k (Yao et al. 2024, τ-bench): an item passes when all of its first `k` samples
/// pass. Takes each item's cluster id and its sample outcomes (in sample order); items
/// with fewer than `k` samples are left out. Returns one [`Cluster`] per cluster id, in
/// order, counting items that pass all `k`.
pub fn pass_k<C: Ord>(items: impl IntoIterator<Item = (C, Vec<bool>)>, k: usize) -> Vec<Cluster> {
    let mut by: std::collections::BTreeMap<C, Cluster> = std::collections::BTreeMap::new();
    for (c, outcomes) in items {
        if k == 0 || outcomes.len() < k {
            continue;
        }
        let e = by.entry(c).or_default();
        e.n += 1;
        e.k += u64::from(outcomes[..k].iter().all(|&b| b));
    }
    by.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_k_counts_items_with_all_samples_passing() {
        let items = vec![
            ("f1", vec![true, true, true]),
            ("f1", vec![true, false, true]),
            ("f2", vec![true, true]),
            ("f2", vec![true, true, true, false]),
        ];
        let cs = pass_k(items, 3);
        assert_eq!(cs, vec![Cluster { k: 1, n: 2 }, Cluster { k: 1, n: 1 }]);
    }

    #[test]
    fn estimate_picks_wilson_or_clustered_wilson() {
        let flat = vec![
            Cluster { k: 1, n: 1 },
            Cluster { k: 0, n: 1 },
            Cluster { k: 1, n: 1 },
        ];
        let e = Estimate::from_clusters(&flat);
        assert_eq!(e.method, Method::Wilson);
        assert_eq!((e.k, e.n, e.units()), (2, 3, 3));
        let grouped = vec![Cluster { k: 1, n: 2 }, Cluster { k: 2, n: 2 }];
        let e = Estimate::from_clusters(&grouped);
        assert_eq!(e.method, Method::WilsonClustered);
        assert_eq!(e.units(), 2);
        let (l, h) = wilson_rate(0.75, 2.0, Z95);
        assert_eq!((e.lo, e.hi), (Some(l), Some(h)));
        let none = Estimate::from_clusters(&[]);
        assert_eq!((none.p, none.lo, none.hi), (None, None, None));
        // Unequal sizes: between the number of clusters and the number of items.
        let eff = effective_n(&[Cluster { k: 0, n: 1 }, Cluster { k: 0, n: 3 }]);
        assert!((eff - 16.0 / 10.0).abs() < 1e-12);
    }

    /// Regression (issue 14): 0/383 got 0–4.5% while 1/383 got 0–0.8%: one event gave a
    /// narrower interval than none. Zero events now never read as certain, and one event
    /// never gives a lower upper bound than zero.
    #[test]
    fn one_event_never_narrows_the_interval_of_zero() {
        let mut cs = vec![Cluster { k: 0, n: 4 }; 90];
        cs.extend(vec![Cluster { k: 0, n: 1 }; 23]);
        let zero = Estimate::from_clusters(&cs);
        cs[5].k = 1;
        let one = Estimate::from_clusters(&cs);
        assert!(zero.hi.unwrap() > 0.0);
        assert!(one.hi.unwrap() >= zero.hi.unwrap());
        assert!(one.lo.unwrap() >= zero.lo.unwrap());
    }

    proptest::proptest! {
        /// For a fixed n and cluster structure, more events never lower either bound
        /// (k = 0…5, added one at a time to any cluster with room).
        #[test]
        fn intervals_are_monotone_in_the_event_count(
            sizes in proptest::collection::vec(1u64..6, 1..60),
            picks in proptest::collection::vec(0usize..1000, 5),
        ) {
            let mut cs: Vec<Cluster> = sizes.iter().map(|&n| Cluster { k: 0, n }).collect();
            let total: u64 = sizes.iter().sum();
            let mut prev = Estimate::from_clusters(&cs);
            proptest::prop_assert!(prev.hi.unwrap() > 0.0);
            for (step, pick) in picks.iter().enumerate() {
                if step as u64 >= total {
                    break;
                }
                let mut i = pick % cs.len();
                while cs[i].k == cs[i].n {
                    i = (i + 1) % cs.len();
                }
                cs[i].k += 1;
                let next = Estimate::from_clusters(&cs);
                proptest::prop_assert_eq!(next.n, prev.n);
                proptest::prop_assert!(next.hi.unwrap() >= prev.hi.unwrap() - 1e-12, "{:?} -> {:?}", prev, next);
                proptest::prop_assert!(next.lo.unwrap() >= prev.lo.unwrap() - 1e-12, "{:?} -> {:?}", prev, next);
                proptest::prop_assert!(next.lo.unwrap() <= next.p.unwrap() && next.p.unwrap() <= next.hi.unwrap());
                prev = next;
            }
        }
    }

    #[test]
    fn seeds_are_stable() {
        assert_eq!(seed_from(""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(seed_from("a"), seed_from("b"));
    }
}
