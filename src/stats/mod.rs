//! Statistics for the evidence reports: proportions with Wilson intervals, a cluster
//! bootstrap over scenario families, pass^k, paired comparisons (Newcombe interval, exact
//! McNemar test, paired cluster bootstrap), the rule of three and the minimum detectable
//! effect.
//!
//! Invariants, held by every function here and checked by property tests:
//! - an interval `(lo, hi)` of a proportion satisfies `0 ≤ lo ≤ p̂ ≤ hi ≤ 1`;
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

/// How an interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Wilson score interval on independent items.
    Wilson,
    /// Percentile bootstrap resampling whole scenario families.
    ClusterBootstrap,
    /// Wilson score interval at the pooled rate with the scenario families as the units
    /// (n = families): used instead of the cluster bootstrap when its interval has zero
    /// width, which happens when every family has the same rate (a rate of 0 or 1 above
    /// all), so that resampling families cannot show any uncertainty.
    WilsonFamilies,
    /// Newcombe's square-and-add interval for a paired difference (method 10, 1998).
    Newcombe,
    /// Percentile bootstrap resampling whole families of pairs.
    PairedClusterBootstrap,
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
    /// Independent units (scenario families) behind the items.
    pub clusters: u64,
}

impl Estimate {
    /// Estimates a proportion over clusters: Wilson when every cluster holds one item,
    /// else a cluster bootstrap with `seed`; when the bootstrap interval has zero width
    /// (every cluster at the same rate), the Wilson interval over clusters
    /// ([`Method::WilsonFamilies`]) instead, so that a rate of 0 or 1 never reads as certain.
    pub fn from_clusters(clusters: &[Cluster], seed: u64) -> Estimate {
        let k: u64 = clusters.iter().map(|c| c.k).sum();
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
            };
        }
        let p = k as f64 / n as f64;
        let clustered = clusters.iter().any(|c| c.n > 1);
        let (lo, hi, method) = if clustered {
            let (lo, hi) = cluster_bootstrap(clusters, BOOTSTRAP_RESAMPLES, seed);
            let (lo, hi) = (lo.min(p), hi.max(p));
            if lo < hi {
                (lo, hi, Method::ClusterBootstrap)
            } else {
                let (lo, hi) = wilson_rate(p, nonempty as f64, Z95);
                (lo, hi, Method::WilsonFamilies)
            }
        } else {
            let (lo, hi) = wilson(k, n, Z95);
            (lo, hi, Method::Wilson)
        };
        Estimate {
            k,
            n,
            p: Some(p),
            lo: Some(lo),
            hi: Some(hi),
            method,
            clusters: nonempty,
        }
    }

    /// The independent units: clusters under the bootstrap, items under Wilson.
    pub fn units(&self) -> u64 {
        match self.method {
            Method::Wilson => self.n,
            _ => self.clusters,
        }
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
    fn estimate_picks_wilson_or_bootstrap() {
        let flat = vec![
            Cluster { k: 1, n: 1 },
            Cluster { k: 0, n: 1 },
            Cluster { k: 1, n: 1 },
        ];
        let e = Estimate::from_clusters(&flat, 1);
        assert_eq!(e.method, Method::Wilson);
        assert_eq!((e.k, e.n, e.units()), (2, 3, 3));
        let grouped = vec![Cluster { k: 1, n: 2 }, Cluster { k: 2, n: 2 }];
        let e = Estimate::from_clusters(&grouped, 1);
        assert_eq!(e.method, Method::ClusterBootstrap);
        assert_eq!(e.units(), 2);
        let (p, lo, hi) = (e.p.unwrap(), e.lo.unwrap(), e.hi.unwrap());
        assert!(lo <= p && p <= hi);
        let none = Estimate::from_clusters(&[], 1);
        assert_eq!((none.p, none.lo, none.hi), (None, None, None));
    }

    /// Regression: a rate of 0 (or 1) over clustered items gave a bootstrap interval of
    /// [0, 0] (or [1, 1]), printed as "0.0% (95% CI 0.0–0.0%)", as if the rate were known
    /// exactly. Such figures now carry the Wilson interval over families.
    #[test]
    fn degenerate_bootstrap_falls_back_to_wilson_over_families() {
        let none = vec![Cluster { k: 0, n: 5 }; 30];
        let e = Estimate::from_clusters(&none, 7);
        assert_eq!(e.method, Method::WilsonFamilies);
        assert_eq!((e.p, e.lo), (Some(0.0), Some(0.0)));
        let hi = e.hi.unwrap();
        assert!(hi > 0.0, "zero-width interval at a rate of 0");
        // Wilson at k = 0 over the 30 families: z² / (30 + z²) ≈ 11.4%.
        assert!((hi - Z95 * Z95 / (30.0 + Z95 * Z95)).abs() < 1e-12);
        assert_eq!(e.units(), 30);

        let all = vec![Cluster { k: 4, n: 4 }; 30];
        let e = Estimate::from_clusters(&all, 7);
        assert_eq!(e.method, Method::WilsonFamilies);
        assert_eq!((e.p, e.hi), (Some(1.0), Some(1.0)));
        assert!(e.lo.unwrap() < 1.0);

        // Every family at the same rate between 0 and 1: no spread either.
        let half = vec![Cluster { k: 1, n: 2 }, Cluster { k: 2, n: 4 }];
        let e = Estimate::from_clusters(&half, 7);
        assert_eq!(e.method, Method::WilsonFamilies);
        assert_eq!(
            (e.lo, e.hi),
            (Some(wilson(1, 2, Z95).0), Some(wilson(1, 2, Z95).1))
        );

        // Any spread between families keeps the bootstrap.
        let mut mixed = none.clone();
        mixed[3].k = 1;
        let e = Estimate::from_clusters(&mixed, 7);
        assert_eq!(e.method, Method::ClusterBootstrap);
        assert!(e.lo.unwrap() < e.hi.unwrap());
    }

    #[test]
    fn seeds_are_stable() {
        assert_eq!(seed_from(""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(seed_from("a"), seed_from("b"));
    }
}
