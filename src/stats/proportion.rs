//! Single proportions: the Wilson score interval, the rule of three and the minimum
//! detectable effect.

/// The 0.975 quantile of the standard normal: the z of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval (Wilson 1927; Newcombe 1998, method 3) for `k` successes out
/// of `n`, without continuity correction:
///
/// `(p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)`.
///
/// Returns `(lo, hi)` with `0 ≤ lo ≤ k/n ≤ hi ≤ 1`; `(0, 1)` when `n = 0`. `k` above `n` is
/// clamped to `n`.
pub fn wilson(k: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let k = k.min(n);
    wilson_rate(k as f64 / n as f64, n as f64, z)
}

/// The Wilson score interval for an observed rate `p` over `n` units, `n` need not be a
/// whole number (an effective sample size); the formula of [`wilson`], of which this is the
/// body. Returns `(lo, hi)` with `0 ≤ lo ≤ p ≤ hi ≤ 1`, `lo = 0` at `p = 0` and `hi = 1` at
/// `p = 1`; `(0, 1)` when `n ≤ 0`. `p` is clamped to `[0, 1]`.
pub fn wilson_rate(p: f64, n: f64, z: f64) -> (f64, f64) {
    if n.is_nan() || n <= 0.0 {
        return (0.0, 1.0);
    }
    let p = p.clamp(0.0, 1.0);
    let nf = n;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    let lo = if p == 0.0 {
        0.0
    } else {
        (centre - half).clamp(0.0, p)
    };
    let hi = if p == 1.0 {
        1.0
    } else {
        (centre + half).clamp(p, 1.0)
    };
    (lo, hi)
}

/// The rule of three (Hanley & Lippman-Hand 1983): when none of `n` independent items shows
/// an event, `3/n` is an approximate one-sided 95% upper bound on its rate (exactly
/// `1 − 0.05^(1/n)`, which `3/n` exceeds slightly). `None` when `n = 0`; capped at 1.
pub fn rule_of_three(n: u64) -> Option<f64> {
    (n > 0).then(|| (3.0 / n as f64).min(1.0))
}

/// The minimum detectable effect of a cell of `n` independent units: the smallest
/// difference from a fixed reference rate that a two-sided test at α = 0.05 detects with
/// 80% power, at the worst-case rate p = 0.5:
///
/// `MDE = (z₀.₉₇₅ + z₀.₈₀) · √(p(1−p)/n) = (1.960 + 0.842) · √(0.25/n) ≈ 1.40/√n`.
///
/// Capped at 1; `None` when `n = 0`.
pub fn mde(n: u64) -> Option<f64> {
    (n > 0).then(|| ((Z95 + super::Z_POWER80) * (0.25 / n as f64).sqrt()).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round4(x: f64) -> f64 {
        (x * 10_000.0).round() / 10_000.0
    }

    /// Newcombe (1998), "Two-sided confidence intervals for the single proportion",
    /// Stat Med 17:857–872, Table II, method 3 (score interval without continuity correction).
    #[test]
    fn wilson_matches_newcombe_1998_table() {
        let cases = [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ];
        for (k, n, lo, hi) in cases {
            let (l, h) = wilson(k, n, Z95);
            assert_eq!((round4(l), round4(h)), (lo, hi), "{k}/{n}");
        }
    }

    #[test]
    fn wilson_edges() {
        assert_eq!(wilson(0, 0, Z95), (0.0, 1.0));
        let (lo, hi) = wilson(10, 10, Z95);
        assert_eq!(hi, 1.0);
        // Closed form at k = n: lo = n / (n + z²).
        assert!((lo - 10.0 / (10.0 + Z95 * Z95)).abs() < 1e-12);
    }

    #[test]
    fn rule_of_three_and_mde() {
        assert_eq!(rule_of_three(0), None);
        assert_eq!(rule_of_three(2), Some(1.0));
        assert_eq!(rule_of_three(300), Some(0.01));
        // 1.40/√100 = 0.140.
        assert!((mde(100).unwrap() - 0.140_079).abs() < 1e-5);
        assert_eq!(mde(0), None);
        assert_eq!(mde(1), Some(1.0));
    }

    proptest! {
        #[test]
        fn wilson_contains_p(n in 1u64..5000, frac in 0.0f64..=1.0) {
            let k = ((n as f64) * frac).round() as u64;
            let (lo, hi) = wilson(k, n, Z95);
            let p = k as f64 / n as f64;
            prop_assert!(0.0 <= lo && lo <= p && p <= hi && hi <= 1.0, "{k}/{n}: {lo} {p} {hi}");
        }

        #[test]
        fn wilson_rate_agrees_with_wilson(n in 1u64..5000, frac in 0.0f64..=1.0) {
            let k = ((n as f64) * frac).round() as u64;
            prop_assert_eq!(wilson(k, n, Z95), wilson_rate(k as f64 / n as f64, n as f64, Z95));
        }

        #[test]
        fn wilson_narrows_with_n(k in 0u64..100, extra in 0u64..100) {
            let n = k + extra + 1;
            let (lo1, hi1) = wilson(k, n, Z95);
            let (lo4, hi4) = wilson(4 * k, 4 * n, Z95);
            prop_assert!(hi4 - lo4 <= hi1 - lo1 + 1e-12);
        }

        #[test]
        fn mde_is_decreasing(n in 1u64..10_000) {
            prop_assert!(mde(n + 1).unwrap() <= mde(n).unwrap());
        }
    }
}
