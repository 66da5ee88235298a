//! Paired comparisons of two systems on the same items: Newcombe's square-and-add interval
//! for the difference and the exact McNemar test on the discordant pairs.

use super::{wilson, Z95};

/// The paired 2×2 table of two systems A and B on the same items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct PairedCounts {
    /// Both succeed.
    pub both: u64,
    /// Only A succeeds.
    pub a_only: u64,
    /// Only B succeeds.
    pub b_only: u64,
    /// Neither succeeds.
    pub neither: u64,
}

impl PairedCounts {
    /// Pairs.
    pub fn n(&self) -> u64 {
        self.both + self.a_only + self.b_only + self.neither
    }

    /// Adds one pair.
    pub fn add(&mut self, a: bool, b: bool) {
        match (a, b) {
            (true, true) => self.both += 1,
            (true, false) => self.a_only += 1,
            (false, true) => self.b_only += 1,
            (false, false) => self.neither += 1,
        }
    }

    /// A's success rate, B's success rate and their difference `A − B`; `None` without pairs.
    pub fn rates(&self) -> Option<(f64, f64, f64)> {
        let n = self.n();
        (n > 0).then(|| {
            let a = (self.both + self.a_only) as f64 / n as f64;
            let b = (self.both + self.b_only) as f64 / n as f64;
            (a, b, a - b)
        })
    }
}

/// Newcombe's square-and-add 95% interval for the paired difference `p_A − p_B` (Newcombe
/// 1998, "Improved confidence intervals for the difference between binomial proportions
/// based on paired data", Stat Med 17:2635–2650, method 10; as in Fagerland, Lydersen &
/// Laake 2017, ch. 8): Wilson intervals of both margins combined with the continuity-
/// corrected correlation φ̂. Returns `(lo, hi)` with `-1 ≤ lo ≤ d̂ ≤ hi ≤ 1`; `(-1, 1)`
/// without pairs.
pub fn newcombe_paired(t: &PairedCounts) -> (f64, f64) {
    let Some((p1, p2, d)) = t.rates() else {
        return (-1.0, 1.0);
    };
    let n = t.n();
    let r1 = t.both + t.a_only;
    let r2 = t.b_only + t.neither;
    let c1 = t.both + t.b_only;
    let c2 = t.a_only + t.neither;
    let (l1, u1) = wilson(r1, n, Z95);
    let (l2, u2) = wilson(c1, n, Z95);
    let phi = if r1 == 0 || r2 == 0 || c1 == 0 || c2 == 0 {
        0.0
    } else {
        let prod = (r1 as f64) * (r2 as f64) * (c1 as f64) * (c2 as f64);
        let a = (t.both as f64) * (t.neither as f64) - (t.a_only as f64) * (t.b_only as f64);
        let half = n as f64 / 2.0;
        if a > half {
            (a - half) / prod.sqrt()
        } else if a >= 0.0 {
            0.0
        } else {
            a / prod.sqrt()
        }
    };
    let dl = ((p1 - l1).powi(2) + (u2 - p2).powi(2) - 2.0 * phi * (p1 - l1) * (u2 - p2))
        .max(0.0)
        .sqrt();
    let du = ((p2 - l2).powi(2) + (u1 - p1).powi(2) - 2.0 * phi * (p2 - l2) * (u1 - p1))
        .max(0.0)
        .sqrt();
    ((d - dl).clamp(-1.0, d), (d + du).clamp(d, 1.0))
}

/// The exact (conditional) two-sided McNemar test: under H₀ the `b + c` discordant pairs
/// split as Binomial(b + c, ½); p = min(1, 2·P(X ≤ min(b, c))). 1 when there are no
/// discordant pairs. Computed in log space, exact to floating point for any size.
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let m = b + c;
    if m == 0 {
        return 1.0;
    }
    let lo = b.min(c);
    let ln_half_m = m as f64 * std::f64::consts::LN_2;
    // ln C(m, i), built up term by term; then log-sum-exp.
    let mut terms = Vec::with_capacity(lo as usize + 1);
    let mut ln_c = 0.0f64;
    for i in 0..=lo {
        if i > 0 {
            ln_c += ((m - i + 1) as f64).ln() - (i as f64).ln();
        }
        terms.push(ln_c - ln_half_m);
    }
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let tail = max.exp() * terms.iter().map(|t| (t - max).exp()).sum::<f64>();
    (2.0 * tail).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round4(x: f64) -> f64 {
        (x * 10_000.0).round() / 10_000.0
    }

    /// Cavo et al. (2012), the worked example of Fagerland, Lydersen & Laake (2017), ch. 8:
    /// table [[59, 6], [16, 80]], estimate −0.0621, Newcombe 95% CI −0.1186 to −0.0046.
    #[test]
    fn newcombe_matches_fagerland_cavo_example() {
        let t = PairedCounts {
            both: 59,
            a_only: 6,
            b_only: 16,
            neither: 80,
        };
        let (_, _, d) = t.rates().unwrap();
        assert_eq!(round4(d), -0.0621);
        let (lo, hi) = newcombe_paired(&t);
        assert_eq!((round4(lo), round4(hi)), (-0.1186, -0.0046));
    }

    /// An independent computation: the binomial tail summed with exact integers.
    fn mcnemar_by_integers(b: u64, c: u64) -> f64 {
        let m = b + c;
        let mut choose = 1u128;
        let mut tail = 0u128;
        for i in 0..=b.min(c) {
            if i > 0 {
                choose = choose * u128::from(m - i + 1) / u128::from(i);
            }
            tail += choose;
        }
        (2.0 * tail as f64 / 2f64.powi(m as i32)).min(1.0)
    }

    #[test]
    fn mcnemar_known_values() {
        // 0 vs 5: 2 / 32.
        assert_eq!(mcnemar_exact(0, 5), 0.0625);
        // 2 vs 8: 2·(1 + 10 + 45) / 1024.
        assert!((mcnemar_exact(2, 8) - 112.0 / 1024.0).abs() < 1e-15);
        // Cavo example: 6 vs 16 → 0.0525 (Fagerland et al. 2017 report P = 0.052).
        assert_eq!(round4(mcnemar_exact(6, 16)), 0.0525);
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        assert_eq!(mcnemar_exact(3, 3), 1.0);
        for (b, c) in [(1, 9), (10, 25), (40, 60), (7, 0)] {
            assert!(
                (mcnemar_exact(b, c) - mcnemar_by_integers(b, c)).abs() < 1e-12,
                "{b} {c}"
            );
        }
        // Large counts stay finite and tiny.
        let p = mcnemar_exact(400, 800);
        assert!(p > 0.0 && p < 1e-20);
    }

    proptest! {
        #[test]
        fn newcombe_contains_difference(both in 0u64..60, a_only in 0u64..60, b_only in 0u64..60, neither in 0u64..60) {
            let t = PairedCounts { both, a_only, b_only, neither };
            prop_assume!(t.n() > 0);
            let (_, _, d) = t.rates().unwrap();
            let (lo, hi) = newcombe_paired(&t);
            prop_assert!(-1.0 <= lo && lo <= d && d <= hi && hi <= 1.0);
        }

        #[test]
        fn mcnemar_is_a_probability_and_symmetric(b in 0u64..60, c in 0u64..60) {
            let p = mcnemar_exact(b, c);
            prop_assert!((0.0..=1.0).contains(&p));
            prop_assert_eq!(p, mcnemar_exact(c, b));
            prop_assert!((p - mcnemar_by_integers(b, c)).abs() < 1e-9);
        }
    }
}
