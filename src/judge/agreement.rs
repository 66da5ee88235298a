//! Agreement of a grader (the judge, or the rule layer) with gold labels on one criterion:
//! n, prevalence, precision, recall, balanced F1 and Cohen's κ, each with a 95% percentile
//! bootstrap interval over items.
//!
//! Definitions (gold = the human label, pred = the grader's yes/no):
//! - prevalence = gold yes / n
//! - precision = TP / (TP + FP); recall = TP / (TP + FN)
//! - balanced F1 = the mean of the F1 of "yes" (2TP / (2TP + FP + FN)) and the F1 of "no"
//!   (2TN / (2TN + FN + FP)): a grader that always answers the majority class scores about
//!   half, however rare the other class is (HealthBench's meta-evaluation uses the same).
//! - Cohen's κ = (p_o − p_e) / (1 − p_e), p_o the observed agreement and p_e the agreement
//!   expected by chance from the two marginals.
//!
//! A figure is `null` where it is undefined (no gold "yes" for recall, no predicted "yes" for
//! precision, one class only on both sides for κ). The interval is the 2.5th and 97.5th
//! percentiles of the figure over resamples of the items with replacement (2,000 by default)
//! in which it is defined; `null` when fewer than half of the resamples define it.

use crate::stats::SplitMix64;
use serde::{Deserialize, Serialize};

/// Counts of one grader against gold labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Confusion {
    /// Gold yes, grader yes.
    pub tp: u64,
    /// Gold no, grader yes.
    pub fp: u64,
    /// Gold yes, grader no.
    pub fn_: u64,
    /// Gold no, grader no.
    pub tn: u64,
}

impl Confusion {
    /// Counts from (gold, predicted) pairs.
    pub fn of(pairs: &[(bool, bool)]) -> Confusion {
        let mut c = Confusion::default();
        for &(g, p) in pairs {
            c.add(g, p);
        }
        c
    }

    /// Adds one pair.
    pub fn add(&mut self, gold: bool, pred: bool) {
        match (gold, pred) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }

    /// Items.
    pub fn n(&self) -> u64 {
        self.tp + self.fp + self.fn_ + self.tn
    }

    /// Gold yes / n.
    pub fn prevalence(&self) -> Option<f64> {
        ratio(self.tp + self.fn_, self.n())
    }

    /// TP / (TP + FP).
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    /// TP / (TP + FN).
    pub fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// The mean of the F1 of both classes.
    pub fn balanced_f1(&self) -> Option<f64> {
        let yes = ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)?;
        let no = ratio(2 * self.tn, 2 * self.tn + self.fp + self.fn_)?;
        Some((yes + no) / 2.0)
    }

    /// Cohen's κ.
    pub fn kappa(&self) -> Option<f64> {
        let n = self.n() as f64;
        if n == 0.0 {
            return None;
        }
        let po = (self.tp + self.tn) as f64 / n;
        let gold_yes = (self.tp + self.fn_) as f64 / n;
        let pred_yes = (self.tp + self.fp) as f64 / n;
        let pe = gold_yes * pred_yes + (1.0 - gold_yes) * (1.0 - pred_yes);
        if (1.0 - pe).abs() < 1e-12 {
            return None;
        }
        Some((po - pe) / (1.0 - pe))
    }
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// A figure with its 95% bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Figure {
    /// The point estimate, `None` when undefined.
    pub value: Option<f64>,
    /// Lower end of the interval.
    pub lo: Option<f64>,
    /// Upper end of the interval.
    pub hi: Option<f64>,
}

/// Agreement of one grader with the gold labels on one criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// Items compared.
    pub n: u64,
    /// The counts.
    pub confusion: Confusion,
    /// Gold yes rate.
    pub prevalence: Figure,
    /// Precision of "yes".
    pub precision: Figure,
    /// Recall of "yes".
    pub recall: Figure,
    /// Balanced F1.
    pub balanced_f1: Figure,
    /// Cohen's κ.
    pub kappa: Figure,
}

/// Bootstrap resamples per figure.
pub const BOOTSTRAP_REPS: usize = 2000;

/// Agreement with 95% percentile bootstrap intervals (deterministic for a seed).
pub fn agreement(pairs: &[(bool, bool)], reps: usize, seed: u64) -> Agreement {
    let c = Confusion::of(pairs);
    type F = fn(&Confusion) -> Option<f64>;
    let figs: [F; 5] = [
        Confusion::prevalence,
        Confusion::precision,
        Confusion::recall,
        Confusion::balanced_f1,
        Confusion::kappa,
    ];
    let mut samples: [Vec<f64>; 5] = Default::default();
    if !pairs.is_empty() {
        let mut rng = SplitMix64::new(seed);
        for _ in 0..reps {
            let mut r = Confusion::default();
            for _ in 0..pairs.len() {
                let (g, p) = pairs[rng.below(pairs.len())];
                r.add(g, p);
            }
            for (k, f) in figs.iter().enumerate() {
                if let Some(v) = f(&r) {
                    samples[k].push(v);
                }
            }
        }
    }
    let mut out = [Figure::default(); 5];
    for (k, f) in figs.iter().enumerate() {
        let (lo, hi) = percentile_interval(&mut samples[k], reps);
        out[k] = Figure {
            value: f(&c),
            lo,
            hi,
        };
    }
    Agreement {
        n: c.n(),
        confusion: c,
        prevalence: out[0],
        precision: out[1],
        recall: out[2],
        balanced_f1: out[3],
        kappa: out[4],
    }
}

fn percentile_interval(v: &mut [f64], reps: usize) -> (Option<f64>, Option<f64>) {
    if v.is_empty() || v.len() * 2 < reps {
        return (None, None);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| {
        let i = ((v.len() - 1) as f64 * q).round() as usize;
        v[i.min(v.len() - 1)]
    };
    (Some(at(0.025)), Some(at(0.975)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_chance_graders() {
        let pairs: Vec<(bool, bool)> = (0..40).map(|i| (i % 4 == 0, i % 4 == 0)).collect();
        let a = agreement(&pairs, 500, 1);
        assert_eq!(a.kappa.value, Some(1.0));
        assert_eq!(a.balanced_f1.value, Some(1.0));
        assert_eq!(a.prevalence.value, Some(0.25));
        assert!(a.kappa.lo.unwrap() <= 1.0);
        // Always "no": precision undefined, recall 0, κ 0.
        let never: Vec<(bool, bool)> = (0..40).map(|i| (i % 4 == 0, false)).collect();
        let a = agreement(&never, 500, 1);
        assert_eq!(a.precision.value, None);
        assert_eq!(a.recall.value, Some(0.0));
        assert_eq!(a.kappa.value, Some(0.0));
        // F1(yes) = 0, F1(no) = 60 / 70.
        assert!((a.balanced_f1.value.unwrap() - 30.0 / 70.0).abs() < 1e-12);
    }

    #[test]
    fn kappa_matches_a_hand_computed_table() {
        // TP 20, FP 5, FN 10, TN 15: po = 0.7, pe = 0.5*0.6 + 0.5*0.4 = 0.5, κ = 0.4.
        let c = Confusion {
            tp: 20,
            fp: 5,
            fn_: 10,
            tn: 15,
        };
        assert!((c.kappa().unwrap() - 0.4).abs() < 1e-12);
        assert!((c.precision().unwrap() - 0.8).abs() < 1e-12);
        let f_yes = 40.0 / 55.0;
        let f_no = 30.0 / 45.0;
        assert!((c.balanced_f1().unwrap() - (f_yes + f_no) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn intervals_contain_the_estimate_and_are_deterministic() {
        let pairs: Vec<(bool, bool)> = (0..60).map(|i| (i % 3 == 0, i % 5 == 0)).collect();
        let a = agreement(&pairs, 1000, 7);
        let b = agreement(&pairs, 1000, 7);
        assert_eq!(a, b);
        let k = a.kappa;
        assert!(k.lo.unwrap() <= k.value.unwrap() && k.value.unwrap() <= k.hi.unwrap());
    }
}
