//! The cluster bootstrap: resample whole scenario families (with all their variants,
//! contexts and samples), so that correlated items do not pass for independent evidence.
//!
//! A resample draws `m` of the `m` families with replacement, and the statistic depends on
//! the families drawn only through their totals. Families with the same totals are
//! interchangeable, so a resample is fully described by how many times each distinct total
//! ("pattern") is drawn: a multinomial over the `G` patterns with probabilities
//! `count_g / m`. Drawing those counts (as `G − 1` conditional binomials) gives exactly the
//! distribution of the classical family-by-family bootstrap at `O(G)` cost per resample
//! instead of `O(m)`; with a few thousand families `G` is typically a few dozen.

use super::rng::{Binomial, LnFactorials};
use super::SplitMix64;
use rayon::prelude::*;

/// Resamples are drawn in chunks of this size, each from its own generator seeded from the
/// figure's seed and the chunk number: parallel, and the same result on any thread count.
const CHUNK: usize = 250;

/// Runs `reps` resamples of `stat` in parallel chunks; deterministic for a seed. `stat`
/// gets a scratch buffer of `scratch` counts, reused within a chunk.
fn resample<F: Fn(&mut SplitMix64, &mut [u64]) -> f64 + Sync>(
    reps: usize,
    seed: u64,
    scratch: usize,
    stat: F,
) -> Vec<f64> {
    let chunks = reps.div_ceil(CHUNK);
    (0..chunks)
        .into_par_iter()
        .flat_map_iter(|c| {
            let mut rng = SplitMix64::new(seed ^ (c as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut buf = vec![0u64; scratch];
            let len = CHUNK.min(reps - c * CHUNK);
            (0..len)
                .map(|_| stat(&mut rng, &mut buf))
                .collect::<Vec<f64>>()
        })
        .collect()
}

/// The distinct values of `items` with how often each occurs, most frequent first (ties in
/// value order), so that the multinomial draw is the same on every platform.
fn patterns<T: Ord + Copy>(mut items: Vec<T>) -> (Vec<T>, Vec<u64>) {
    items.sort_unstable();
    let mut grouped: Vec<(u64, T)> = Vec::new();
    for x in items {
        match grouped.last_mut() {
            Some((c, y)) if *y == x => *c += 1,
            _ => grouped.push((1, x)),
        }
    }
    grouped.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    grouped.into_iter().map(|(c, x)| (x, c)).unzip()
}

/// Draws how many times each pattern appears among `m = Σ counts` draws with replacement:
/// a Multinomial(m; counts/m) variate, as a chain of conditional binomials (the `g`-th
/// pattern takes Binomial(draws left, count_g / Σ_{h≥g} count_h)).
struct Multinomial {
    /// Draws: the number of clusters.
    m: u64,
    counts: Vec<u64>,
    /// The conditional binomial of each pattern but the last, which takes what is left.
    steps: Vec<Binomial>,
    lf: LnFactorials,
}

impl Multinomial {
    fn new(counts: Vec<u64>) -> Multinomial {
        let m: u64 = counts.iter().sum();
        let mut mass = m;
        let steps = counts
            .iter()
            .map(|&c| {
                let b = Binomial::new(c as f64 / mass as f64);
                mass -= c;
                b
            })
            .collect();
        Multinomial {
            m,
            counts,
            steps,
            lf: LnFactorials::new(m),
        }
    }

    /// One draw into `out` (one slot per pattern).
    fn draw(&self, rng: &mut SplitMix64, out: &mut [u64]) {
        let mut left = self.m;
        let last = self.counts.len() - 1;
        for (g, step) in self.steps.iter().enumerate() {
            if g == last || left == 0 {
                out[g] = left;
                left = 0;
                continue;
            }
            let x = step.sample(rng, left, &self.lf);
            out[g] = x;
            left -= x;
        }
    }
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
/// clusters with replacement `reps` times from a generator seeded with `seed` (drawn as
/// multinomial counts of the distinct cluster totals; see the module docs).
///
/// Empty clusters are ignored. Returns `(0, 1)` when there are no items. The result lies in
/// `[0, 1]`; it need not contain the point estimate for tiny samples, so callers widen it to
/// do so. It has zero width when every cluster has the same rate.
pub fn cluster_bootstrap(clusters: &[Cluster], reps: usize, seed: u64) -> (f64, f64) {
    let items: Vec<(u64, u64)> = clusters
        .iter()
        .filter(|c| c.n > 0)
        .map(|c| (c.k, c.n))
        .collect();
    if items.is_empty() || reps == 0 {
        return (0.0, 1.0);
    }
    let (pats, counts) = patterns(items);
    let multinomial = Multinomial::new(counts);
    let stats = resample(reps, seed, pats.len(), |rng, draw| {
        multinomial.draw(rng, draw);
        let (mut k, mut n) = (0u64, 0u64);
        for (&(pk, pn), &x) in pats.iter().zip(draw.iter()) {
            k += x * pk;
            n += x * pn;
        }
        k as f64 / n as f64
    });
    let (lo, hi) = percentile_interval(stats);
    (lo.clamp(0.0, 1.0), hi.clamp(0.0, 1.0))
}

/// A 95% percentile bootstrap interval for the paired difference `(Σa − Σb) / Σn`,
/// resampling clusters of pairs with replacement (as multinomial counts of the distinct
/// cluster totals). Returns `(-1, 1)` when there are no pairs.
pub fn paired_cluster_bootstrap(clusters: &[PairedCluster], reps: usize, seed: u64) -> (f64, f64) {
    // The difference depends on a cluster only through its pairs and `a − b`.
    let items: Vec<(u64, i64)> = clusters
        .iter()
        .filter(|c| c.n > 0)
        .map(|c| (c.n, c.a as i64 - c.b as i64))
        .collect();
    if items.is_empty() || reps == 0 {
        return (-1.0, 1.0);
    }
    let (pats, counts) = patterns(items);
    let multinomial = Multinomial::new(counts);
    let stats = resample(reps, seed, pats.len(), |rng, draw| {
        multinomial.draw(rng, draw);
        let (mut d, mut n) = (0i64, 0u64);
        for (&(pn, pd), &x) in pats.iter().zip(draw.iter()) {
            d += x as i64 * pd;
            n += x * pn;
        }
        d as f64 / n as f64
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

    #[test]
    fn multinomial_counts_add_up_and_average_to_the_counts() {
        let counts = [50u64, 20, 7, 1, 1, 0, 3];
        let m: u64 = counts.iter().sum();
        let multinomial = Multinomial::new(counts.to_vec());
        let mut rng = SplitMix64::new(9);
        let mut out = [0u64; 7];
        let mut sum = [0f64; 7];
        let reps = 20_000;
        for _ in 0..reps {
            multinomial.draw(&mut rng, &mut out);
            assert_eq!(out.iter().sum::<u64>(), m);
            assert_eq!(out[5], 0);
            for (s, &x) in sum.iter_mut().zip(&out) {
                *s += x as f64;
            }
        }
        for (g, &c) in counts.iter().enumerate() {
            let mean = sum[g] / reps as f64;
            // Standard error of the mean: √(m·p·(1−p)/reps) ≤ 0.04 here.
            assert!((mean - c as f64).abs() < 0.2, "{g}: {mean} vs {c}");
        }
    }

    #[test]
    fn patterns_group_equal_totals() {
        let (p, c) = patterns(vec![(1, 3), (0, 3), (1, 3), (2, 3), (0, 3), (1, 3)]);
        assert_eq!(p, vec![(1, 3), (0, 3), (2, 3)]);
        assert_eq!(c, vec![3, 2, 1]);
    }

    /// The classical bootstrap, family by family, as it is usually written.
    fn classical(cs: &[Cluster], reps: usize, seed: u64) -> (f64, f64) {
        let mut rng = SplitMix64::new(seed);
        let m = cs.len();
        let stats = (0..reps)
            .map(|_| {
                let (mut k, mut n) = (0, 0);
                for _ in 0..m {
                    let c = cs[rng.below(m)];
                    k += c.k;
                    n += c.n;
                }
                k as f64 / n as f64
            })
            .collect();
        percentile_interval(stats)
    }

    #[test]
    fn multinomial_counts_give_the_classical_bootstrap() {
        // Families of uneven size and rate: the two schemes draw from the same distribution,
        // so with many resamples their percentiles agree to Monte Carlo error.
        let cs: Vec<Cluster> = (0..300u64)
            .map(|i| {
                let n = 1 + i % 7;
                Cluster {
                    k: (i * 7919 % 11).min(n),
                    n,
                }
            })
            .collect();
        let (l1, h1) = classical(&cs, 40_000, 5);
        let (l2, h2) = cluster_bootstrap(&cs, 40_000, 6);
        assert!(
            (l1 - l2).abs() < 0.004 && (h1 - h2).abs() < 0.004,
            "{l1} {h1} / {l2} {h2}"
        );
    }

    #[test]
    fn paired_multinomial_counts_give_the_classical_bootstrap() {
        let cs: Vec<PairedCluster> = (0..200u64)
            .map(|i| {
                let n = 1 + i % 5;
                PairedCluster {
                    n,
                    a: (i * 31 % 7).min(n),
                    b: (i * 17 % 5).min(n),
                }
            })
            .collect();
        let mut rng = SplitMix64::new(11);
        let stats = (0..40_000)
            .map(|_| {
                let (mut d, mut n) = (0i64, 0u64);
                for _ in 0..cs.len() {
                    let c = cs[rng.below(cs.len())];
                    d += c.a as i64 - c.b as i64;
                    n += c.n;
                }
                d as f64 / n as f64
            })
            .collect();
        let (l1, h1) = percentile_interval(stats);
        let (l2, h2) = paired_cluster_bootstrap(&cs, 40_000, 12);
        assert!(
            (l1 - l2).abs() < 0.006 && (h1 - h2).abs() < 0.006,
            "{l1} {h1} / {l2} {h2}"
        );
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
