//! The cluster bootstrap: resample whole scenario families (with all their variants,
//! contexts and samples), so that correlated items do not pass for independent evidence.

use super::SplitMix64;
use rayon::prelude::*;

/// Resamples are drawn in chunks of this size, each from its own generator seeded from the
/// figure's seed and the chunk number: parallel, and the same result on any thread count.
const CHUNK: usize = 250;

/// Runs `reps` resamples of `stat` in parallel chunks; deterministic for a seed.
fn resample<F: Fn(&mut SplitMix64) -> f64 + Sync>(reps: usize, seed: u64, stat: F) -> Vec<f64> {
    let chunks = reps.div_ceil(CHUNK);
    (0..chunks)
        .into_par_iter()
        .flat_map_iter(|c| {
            let mut rng = SplitMix64::new(seed ^ (c as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let len = CHUNK.min(reps - c * CHUNK);
            (0..len).map(|_| stat(&mut rng)).collect::<Vec<f64>>()
        })
        .collect()
}

/// One cluster (a scenario family): `k` of its `n` items have the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cluster {
    /// Items with the outcome.
    pub k: u64,
    /// Items.
    pub n: u64,
}

/// One cluster of paired items: over `n` pairs, `a` succeed for the first system and `b`
/// for the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairedCluster {
    /// Pairs.
    pub n: u64,
    /// Successes of the first system.
    pub a: u64,
    /// Successes of the second system.
    pub b: u64,
}

/// The percentile at `q` of sorted values (linear interpolation, R type 7).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

fn percentile_interval(mut stats: Vec<f64>) -> (f64, f64) {
    stats.sort_by(f64::total_cmp);
    (quantile(&stats, 0.025), quantile(&stats, 0.975))
}

/// A 95% percentile bootstrap interval for the pooled proportion `Σk / Σn`, resampling
/// clusters with replacement `reps` times from a generator seeded with `seed`.
///
/// Empty clusters are ignored. Returns `(0, 1)` when there are no items. The result lies in
/// `[0, 1]`; it need not contain the point estimate for tiny samples, so callers widen it to
/// do so.
pub fn cluster_bootstrap(clusters: &[Cluster], reps: usize, seed: u64) -> (f64, f64) {
    let cs: Vec<Cluster> = clusters.iter().copied().filter(|c| c.n > 0).collect();
    if cs.is_empty() || reps == 0 {
        return (0.0, 1.0);
    }
    let m = cs.len();
    let stats = resample(reps, seed, |rng| {
        let (mut k, mut n) = (0u64, 0u64);
        for _ in 0..m {
            let c = cs[rng.below(m)];
            k += c.k;
            n += c.n;
        }
        k as f64 / n as f64
    });
    let (lo, hi) = percentile_interval(stats);
    (lo.clamp(0.0, 1.0), hi.clamp(0.0, 1.0))
}

/// A 95% percentile bootstrap interval for the paired difference `(Σa − Σb) / Σn`,
/// resampling clusters of pairs with replacement. Returns `(-1, 1)` when there are no pairs.
pub fn paired_cluster_bootstrap(clusters: &[PairedCluster], reps: usize, seed: u64) -> (f64, f64) {
    let cs: Vec<PairedCluster> = clusters.iter().copied().filter(|c| c.n > 0).collect();
    if cs.is_empty() || reps == 0 {
        return (-1.0, 1.0);
    }
    let m = cs.len();
    let stats = resample(reps, seed, |rng| {
        let (mut a, mut b, mut n) = (0u64, 0u64, 0u64);
        for _ in 0..m {
            let c = cs[rng.below(m)];
            a += c.a;
            b += c.b;
            n += c.n;
        }
        (a as f64 - b as f64) / n as f64
    });
    let (lo, hi) = percentile_interval(stats);
    (lo.clamp(-1.0, 1.0), hi.clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn deterministic_and_sane() {
        let cs: Vec<Cluster> = (0..40).map(|i| Cluster { k: i % 3, n: 3 }).collect();
        let a = cluster_bootstrap(&cs, 2000, 42);
        let b = cluster_bootstrap(&cs, 2000, 42);
        assert_eq!(a, b);
        let p = 40.0 / 120.0;
        assert!(a.0 < p && p < a.1, "{a:?}");
        // Width of the same order as the cluster-level standard error ×4.
        assert!(a.1 - a.0 > 0.1 && a.1 - a.0 < 0.4, "{a:?}");
    }

    #[test]
    fn all_equal_clusters_give_a_point() {
        let cs = vec![Cluster { k: 2, n: 2 }; 10];
        assert_eq!(cluster_bootstrap(&cs, 500, 1), (1.0, 1.0));
        let ps = vec![PairedCluster { n: 2, a: 2, b: 0 }; 10];
        assert_eq!(paired_cluster_bootstrap(&ps, 500, 1), (1.0, 1.0));
    }

    #[test]
    fn clustering_widens_the_interval() {
        // Perfectly correlated families: 20 families of 10 identical items.
        let clustered: Vec<Cluster> = (0..20)
            .map(|i| Cluster {
                k: if i % 2 == 0 { 10 } else { 0 },
                n: 10,
            })
            .collect();
        let flat: Vec<Cluster> = (0..200)
            .map(|i| Cluster {
                k: u64::from(i % 2 == 0),
                n: 1,
            })
            .collect();
        let (l1, h1) = cluster_bootstrap(&clustered, 2000, 3);
        let (l2, h2) = cluster_bootstrap(&flat, 2000, 3);
        assert!(h1 - l1 > 2.0 * (h2 - l2));
    }

    proptest! {
        #[test]
        fn bootstrap_in_unit_interval(ks in proptest::collection::vec((0u64..5, 1u64..5), 1..30), seed in any::<u64>()) {
            let cs: Vec<Cluster> = ks.iter().map(|&(k, n)| Cluster { k: k.min(n), n }).collect();
            let (lo, hi) = cluster_bootstrap(&cs, 200, seed);
            prop_assert!(0.0 <= lo && lo <= hi && hi <= 1.0);
        }

        #[test]
        fn paired_bootstrap_in_range(ks in proptest::collection::vec((1u64..5, 0u64..5, 0u64..5), 1..30), seed in any::<u64>()) {
            let cs: Vec<PairedCluster> = ks.iter().map(|&(n, a, b)| PairedCluster { n, a: a.min(n), b: b.min(n) }).collect();
            let (lo, hi) = paired_cluster_bootstrap(&cs, 200, seed);
            prop_assert!(-1.0 <= lo && lo <= hi && hi <= 1.0);
        }
    }
}
