//! A tiny deterministic generator (SplitMix64, Steele, Lea & Flood 2014) and the binomial
//! sampler the bootstrap draws its multinomial counts with: enough for bootstrap
//! resampling, no crate needed.

/// `ln k!` for `k < 10`, exact to the last bit.
const LN_FACT: [f64; 10] = [
    0.0,
    0.0,
    std::f64::consts::LN_2,
    1.791_759_469_228_055,
    3.178_053_830_347_945_8,
    4.787_491_742_782_046,
    6.579_251_212_010_101,
    8.525_161_361_065_415,
    10.604_602_902_745_25,
    12.801_827_480_081_469,
];

/// `ln k!`: a table below 10, else Stirling's series to the `x⁻⁷` term (absolute error below
/// 1e-12 from k = 10 on).
pub(crate) fn ln_factorial(k: u64) -> f64 {
    if let Some(v) = LN_FACT.get(k as usize) {
        return *v;
    }
    let x = (k + 1) as f64;
    let x2 = x * x;
    let series = (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * x2)) / x2) / x2) / x;
    (x - 0.5) * x.ln() - x + 0.918_938_533_204_672_7 + series
}

/// `ln k!` tabulated up to a bound (sums of logs), with [`ln_factorial`] beyond it: the
/// bootstrap draws millions of binomials with `n` at most the number of families.
#[derive(Debug, Clone, Default)]
pub(crate) struct LnFactorials(Vec<f64>);

impl LnFactorials {
    /// The table for `0..=max`.
    pub(crate) fn new(max: u64) -> LnFactorials {
        let mut t = Vec::with_capacity(max as usize + 1);
        let mut acc = 0.0f64;
        t.push(0.0);
        for k in 1..=max {
            acc += (k as f64).ln();
            t.push(acc);
        }
        LnFactorials(t)
    }

    fn get(&self, k: u64) -> f64 {
        match self.0.get(k as usize) {
            Some(v) => *v,
            None => ln_factorial(k),
        }
    }
}

/// SplitMix64: a 64-bit generator with a 64-bit state; the same seed gives the same stream
/// on every platform.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..n` (`n > 0`), by Lemire's multiply-shift (bias below 2^-32
    /// for the sizes used here).
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A Binomial(`n`, `p`) variate, exact (no normal approximation): inversion when
    /// `n·min(p, 1−p) < 10`, else Hörmann's transformed rejection with squeeze (BTRS;
    /// Hörmann 1993, "The generation of binomial random variates", J. Stat. Comput. Simul.
    /// 46:101–110), whose acceptance test uses the exact log-probability ratio. `p` is
    /// clamped to `[0, 1]`.
    pub fn binomial(&mut self, n: u64, p: f64) -> u64 {
        Binomial::new(p).sample(self, n, &LnFactorials::default())
    }
}

/// Binomial sampling at a fixed success probability, for any number of trials: what depends
/// on `p` alone is computed once (the bootstrap draws thousands of variates per `p`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binomial {
    /// `min(p, 1 − p)`.
    p: f64,
    /// `1 − self.p`.
    q: f64,
    /// Whether `p > ½`: the variate is then `n − X` with X ~ Binomial(n, 1 − p).
    flip: bool,
    ln_q: f64,
    /// `p / q`.
    ratio: f64,
    /// `ln(p / q)`.
    lpq: f64,
}

impl Binomial {
    /// The sampler for success probability `p` (clamped to `[0, 1]`).
    pub(crate) fn new(p: f64) -> Binomial {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        let flip = p > 0.5;
        let p = if flip { 1.0 - p } else { p };
        let q = 1.0 - p;
        Binomial {
            p,
            q,
            flip,
            ln_q: q.ln(),
            ratio: p / q,
            lpq: (p / q).ln(),
        }
    }

    /// A Binomial(`n`, p) variate (see [`SplitMix64::binomial`]), with `ln k!` from `lf`.
    pub(crate) fn sample(&self, rng: &mut SplitMix64, n: u64, lf: &LnFactorials) -> u64 {
        let x = if n == 0 || self.p == 0.0 {
            0
        } else if n as f64 * self.p < 10.0 {
            self.inversion(rng, n)
        } else {
            self.btrs(rng, n, lf)
        };
        if self.flip {
            n - x
        } else {
            x
        }
    }

    /// Sequential inversion from 0; expected `n·p + 1` steps (`p ≤ ½`, `n·p < 10`).
    fn inversion(&self, rng: &mut SplitMix64, n: u64) -> u64 {
        let q_n = (n as f64 * self.ln_q).exp();
        // Past this the remaining mass is below rounding; start again (vanishingly rare).
        let bound = n.min(110);
        'draw: loop {
            let mut u = rng.uniform();
            let mut x = 0u64;
            let mut px = q_n;
            while u > px {
                x += 1;
                if x > bound {
                    continue 'draw;
                }
                u -= px;
                px *= (n - x + 1) as f64 * self.ratio / x as f64;
            }
            return x;
        }
    }

    /// BTRS (`p ≤ ½`, `n·p ≥ 10`), in the notation of Hörmann (1993).
    fn btrs(&self, rng: &mut SplitMix64, n: u64, lf: &LnFactorials) -> u64 {
        let (p, nf) = (self.p, n as f64);
        let spq = (nf * p * self.q).sqrt();
        let b = 1.15 + 2.53 * spq;
        let a = -0.0873 + 0.0248 * b + 0.01 * p;
        let c = nf * p + 0.5;
        let v_r = 0.92 - 4.2 / b;
        let alpha = (2.83 + 5.1 / b) * spq;
        // Truncation is the floor for these non-negative values.
        let m = ((nf + 1.0) * p) as u64;
        let h = lf.get(m) + lf.get(n - m);
        loop {
            let u = rng.uniform() - 0.5;
            let v = rng.uniform();
            let us = 0.5 - u.abs();
            let x = (2.0 * a / us + b) * u + c;
            // k = ⌊x⌋ must lie in 0..=n.
            if !(0.0..nf + 1.0).contains(&x) {
                continue;
            }
            let k = x as u64;
            if us >= 0.07 && v <= v_r {
                return k;
            }
            let v = (v * alpha / (a / (us * us) + b)).ln();
            let bound = h - lf.get(k) - lf.get(n - k) + (k as f64 - m as f64) * self.lpq;
            if v <= bound {
                return k;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_stream() {
        // Reference values of SplitMix64 seeded with 1234567 (from the C reference code).
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
    }

    #[test]
    fn ln_factorial_matches_sums_of_logs() {
        let mut exact = 0.0f64;
        for k in 0..300u64 {
            if k > 0 {
                exact += (k as f64).ln();
            }
            let got = ln_factorial(k);
            assert!(
                (got - exact).abs() < 1e-10 * exact.max(1.0),
                "{k}: {got} {exact}"
            );
        }
    }

    #[test]
    fn tabulated_ln_factorials_agree() {
        let t = LnFactorials::new(500);
        for k in 0..600 {
            assert!((t.get(k) - ln_factorial(k)).abs() < 1e-9, "{k}");
        }
    }

    #[test]
    fn tabulated_and_series_binomials_are_the_same_stream() {
        let t = LnFactorials::new(5000);
        let (mut a, mut b) = (SplitMix64::new(4), SplitMix64::new(4));
        let mut differ = 0;
        for i in 0..20_000u64 {
            let (n, p) = (10 + i % 4000, 0.05 + (i % 9) as f64 * 0.1);
            differ += usize::from(a.binomial(n, p) != Binomial::new(p).sample(&mut b, n, &t));
        }
        // The two ln k! agree to ~1e-12, so acceptance flips are all but impossible.
        assert!(differ <= 1, "{differ}");
    }

    /// The exact Binomial(n, p) probabilities, by the recurrence from P(0) in log space.
    fn binomial_pmf(n: u64, p: f64) -> Vec<f64> {
        (0..=n)
            .map(|k| {
                (ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
                    + k as f64 * p.ln()
                    + (n - k) as f64 * (1.0 - p).ln())
                .exp()
            })
            .collect()
    }

    /// Pearson's χ² of `draws` variates against the exact distribution, cells with an
    /// expected count under 5 pooled into their neighbours; returns (χ², degrees of freedom).
    fn chi_square(n: u64, p: f64, draws: usize, seed: u64) -> (f64, usize) {
        let pmf = binomial_pmf(n, p);
        let mut seen = vec![0u64; n as usize + 1];
        let mut r = SplitMix64::new(seed);
        for _ in 0..draws {
            let x = r.binomial(n, p);
            assert!(x <= n);
            seen[x as usize] += 1;
        }
        let (mut chi, mut cells) = (0.0, 0);
        let (mut exp_acc, mut obs_acc) = (0.0, 0.0);
        for k in 0..=n as usize {
            exp_acc += pmf[k] * draws as f64;
            obs_acc += seen[k] as f64;
            if exp_acc >= 5.0 {
                chi += (obs_acc - exp_acc).powi(2) / exp_acc;
                cells += 1;
                exp_acc = 0.0;
                obs_acc = 0.0;
            }
        }
        if exp_acc > 0.0 || obs_acc > 0.0 {
            chi += (obs_acc - exp_acc).powi(2) / exp_acc.max(1e-9);
            cells += 1;
        }
        (chi, cells - 1)
    }

    #[test]
    fn binomial_matches_the_exact_distribution() {
        // Inversion (n·p < 10), BTRS (n·p ≥ 10), p above ½ (by symmetry), large n.
        for (i, &(n, p)) in [
            (1, 0.3),
            (20, 0.1),
            (15, 0.5),
            (40, 0.7),
            (60, 0.2),
            (200, 0.5),
            (3334, 0.05),
            (3334, 0.37),
            (50_000, 0.99),
        ]
        .iter()
        .enumerate()
        {
            let (chi, df) = chi_square(n, p, 200_000, 17 + i as u64);
            // Far beyond the 99.99th percentile of χ²(df) (≈ df + 5.4·√(2df) for these df).
            let limit = df as f64 + 6.0 * (2.0 * df as f64).sqrt() + 10.0;
            assert!(chi < limit, "Binomial({n}, {p}): χ² {chi:.1} on {df} df");
        }
    }

    #[test]
    fn binomial_edges() {
        let mut r = SplitMix64::new(3);
        assert_eq!(r.binomial(0, 0.5), 0);
        assert_eq!(r.binomial(10, 0.0), 0);
        assert_eq!(r.binomial(10, 1.0), 10);
        assert_eq!(r.binomial(10, 1.5), 10);
        for _ in 0..1000 {
            assert!(r.binomial(7, 0.999_999) <= 7);
        }
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = SplitMix64::new(7);
        for n in 1..50 {
            for _ in 0..100 {
                assert!(r.below(n) < n);
            }
        }
    }
}
