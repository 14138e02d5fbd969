//! Estimators for weighted Monte Carlo observations.
//!
//! Rare-event runs produce mostly-zero samples whose nonzero values span many
//! orders of magnitude (importance-sampling likelihood ratios), so every sum
//! here is kept *exactly* (Shewchuk's non-overlapping partials, the algorithm
//! behind Python's `math.fsum`) and rounded once when a statistic is read.
//! That is stronger than compensated (Neumaier) summation: every statistic is
//! correctly rounded from the exact sums, so it depends only on the multiset
//! of samples — merging per-thread accumulators in any order or chunking gives
//! bit-identical results to pushing every sample into one accumulator.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

/// Two-sided 95% standard-normal quantile, Φ⁻¹(0.975).
pub const Z95: f64 = 1.959963984540054;

/// Largest accepted |sample| or weight: keeps Σx² over 2^64 samples finite.
pub const MAX_ABS_SAMPLE: f64 = 1e135;

/// Exact sum of `f64` values held as non-overlapping partials of increasing
/// magnitude, so adding never loses information and merging is exact.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ExactSum {
    partials: Vec<f64>,
}

impl ExactSum {
    /// Adds `x` exactly (Shewchuk's grow-expansion with two-sum).
    pub(crate) fn add(&mut self, mut x: f64) {
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    /// Adds the exact product `a·b` (split by FMA into a rounded part and its error).
    fn add_product(&mut self, a: f64, b: f64) {
        let p = a * b;
        self.add(p);
        self.add(a.mul_add(b, -p));
    }

    /// Adds another exact sum; the result is the exact total.
    pub(crate) fn merge(&mut self, other: &Self) {
        for &p in &other.partials {
            self.add(p);
        }
    }

    /// The exact sum correctly rounded to nearest (fsum's final step, with
    /// the half-way correction that plain summation of partials would miss).
    pub(crate) fn value(&self) -> f64 {
        let mut i = self.partials.len();
        let Some(&top) = self.partials.last() else {
            return 0.0;
        };
        let (mut hi, mut lo) = (top, 0.0);
        i -= 1;
        while i > 0 {
            i -= 1;
            let (x, y) = (hi, self.partials[i]);
            hi = x + y;
            lo = y - (hi - x);
            if lo != 0.0 {
                break;
            }
        }
        if i > 0 && same_sign(lo, self.partials[i - 1]) {
            let y = lo * 2.0;
            let x = hi + y;
            if x - hi == y {
                hi = x;
            }
        }
        hi
    }
}

/// Both strictly positive or both strictly negative (no underflowing product).
fn same_sign(a: f64, b: f64) -> bool {
    (a > 0.0 && b > 0.0) || (a < 0.0 && b < 0.0)
}

/// Splits `n` into two parts that are each exact as `f64`.
fn split_u64(n: u64) -> [f64; 2] {
    [(n >> 32 << 32) as f64, (n & 0xffff_ffff) as f64]
}

/// Running sums for the mean of i.i.d. per-trial samples `x_i` (already
/// multiplied by their likelihood-ratio weight).
///
/// All sums are exact (see the module docs), so 1e9 samples of 1e-12 stay
/// accurate and every statistic is a deterministic function of the multiset
/// of accepted samples. The derived `PartialEq` compares internal state:
/// accumulators fed the same samples in different orders may compare unequal
/// while all their statistics are bit-identical.
///
/// Samples that are not finite, or whose magnitude or weight exceeds
/// [`MAX_ABS_SAMPLE`], or whose weight is negative, are not accumulated
/// (they would poison every statistic with NaN/inf); they are counted in
/// [`MeanAccumulator::invalid`] so callers can report them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MeanAccumulator {
    n: u64,
    nonzero: u64,
    invalid: u64,
    sum: ExactSum,
    sum_sq: ExactSum,
    sum_abs: ExactSum,
    max_abs: f64,
    has_negative: bool,
    sum_w: ExactSum,
    sum_w_sq: ExactSum,
}

impl MeanAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a plain Monte Carlo sample (weight 1).
    pub fn push(&mut self, x: f64) {
        self.push_weighted(x, 1.0);
    }

    /// Adds the sample `value·weight`; the weight of a nonzero sample is
    /// recorded for the effective sample size.
    pub fn push_weighted(&mut self, value: f64, weight: f64) {
        let x = value * weight;
        let weight_ok = (0.0..=MAX_ABS_SAMPLE).contains(&weight);
        if !weight_ok || !x.is_finite() || x.abs() > MAX_ABS_SAMPLE {
            self.invalid = self.invalid.saturating_add(1);
            return;
        }
        self.n = self.n.saturating_add(1);
        if x != 0.0 {
            self.add_nonzero(x, weight);
        }
    }

    /// Records a nonzero sample in every running sum (x² kept exact via FMA).
    fn add_nonzero(&mut self, x: f64, weight: f64) {
        self.nonzero += 1;
        self.sum.add(x);
        self.sum_sq.add_product(x, x);
        self.sum_abs.add(x.abs());
        self.max_abs = self.max_abs.max(x.abs());
        self.has_negative |= x < 0.0;
        self.sum_w.add(weight);
        self.sum_w_sq.add(weight * weight);
    }

    /// Combines `other` into `self` exactly, as if its samples had been pushed here.
    pub fn merge(&mut self, other: &Self) {
        self.n = self.n.saturating_add(other.n);
        self.nonzero = self.nonzero.saturating_add(other.nonzero);
        self.invalid = self.invalid.saturating_add(other.invalid);
        self.sum.merge(&other.sum);
        self.sum_sq.merge(&other.sum_sq);
        self.sum_abs.merge(&other.sum_abs);
        self.max_abs = self.max_abs.max(other.max_abs);
        self.has_negative |= other.has_negative;
        self.sum_w.merge(&other.sum_w);
        self.sum_w_sq.merge(&other.sum_w_sq);
    }

    /// Number of accepted samples (trials).
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Number of accepted samples that were nonzero (observed events).
    pub fn nonzero(&self) -> u64 {
        self.nonzero
    }

    /// Number of rejected samples (non-finite, out of range or negative weight).
    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    /// Sample mean; 0 when empty.
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        self.sum.value() / self.n as f64
    }

    /// Unbiased sample variance, computed as (n·Σx² − (Σx)²)/(n(n−1)) with
    /// the numerator exact before rounding, so there is no cancellation.
    /// Infinite with fewer than two samples, so intervals built from it are
    /// honestly uninformative rather than falsely tight.
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            return f64::INFINITY;
        }
        let n = self.n as f64;
        (self.variance_numerator() / n / (n - 1.0)).max(0.0)
    }

    /// n·Σx² − (Σx)², exact until the final rounding (both sums are exact and
    /// every product is split with FMA).
    fn variance_numerator(&self) -> f64 {
        let mut acc = ExactSum::default();
        for part in split_u64(self.n) {
            for &s in &self.sum_sq.partials {
                acc.add_product(part, s);
            }
        }
        for &a in &self.sum.partials {
            for &b in &self.sum.partials {
                acc.add_product(-a, b);
            }
        }
        acc.value()
    }

    /// Standard error of the mean, √(variance/n); infinite with < 2 samples.
    pub fn std_error(&self) -> f64 {
        if self.n < 2 {
            return f64::INFINITY;
        }
        (self.variance() / self.n as f64).sqrt()
    }

    /// Normal 95% interval, mean ± Z95·se.
    pub fn ci95(&self) -> Interval {
        self.interval_with_z(Z95)
    }

    /// Normal interval at `confidence` (e.g. 0.99); an invalid confidence
    /// gives the unbounded interval.
    pub fn ci(&self, confidence: f64) -> Interval {
        self.interval_with_z(normal_quantile_two_sided(confidence))
    }

    /// mean ± z·se, with the lower end clamped at 0 when no sample is negative
    /// (the mean of non-negative samples cannot be negative).
    fn interval_with_z(&self, z: f64) -> Interval {
        let mean = self.mean();
        let half = half_width(z, self.std_error());
        let lo = mean - half;
        let lo = if self.has_negative { lo } else { lo.max(0.0) };
        Interval {
            lo,
            hi: mean + half,
        }
    }

    /// 95% half-width over |mean|: infinite when the mean is 0 or < 2 samples.
    pub fn relative_error(&self) -> f64 {
        let mean = self.mean();
        if mean == 0.0 {
            return f64::INFINITY;
        }
        half_width(Z95, self.std_error()) / mean.abs()
    }

    /// Kish effective sample size (Σw)²/Σw² over the nonzero samples'
    /// weights: how many equally weighted hits the estimate is worth. 0 when
    /// no nonzero sample was seen.
    pub fn effective_sample_size(&self) -> f64 {
        let sum_sq = self.sum_w_sq.value();
        if sum_sq <= 0.0 {
            return 0.0;
        }
        let ratio = self.sum_w.value() / sum_sq.sqrt();
        ratio * ratio
    }

    /// Largest single |x| over Σ|x|: near 1 means one sample dominates the
    /// estimate (a classic importance-sampling failure). 0 when all are zero.
    pub fn max_share(&self) -> f64 {
        let total = self.sum_abs.value();
        if total > 0.0 {
            (self.max_abs / total).min(1.0)
        } else {
            0.0
        }
    }
}

/// z·se without the NaN of 0·∞ (z = 0 means a zero-width interval).
fn half_width(z: f64, se: f64) -> f64 {
    if z == 0.0 { 0.0 } else { z * se }
}

/// Φ⁻¹((1+c)/2) via statrs; infinite for c outside (0, 1) or NaN.
pub fn normal_quantile_two_sided(confidence: f64) -> f64 {
    if !(confidence > 0.0 && confidence < 1.0) {
        return if confidence == 0.0 {
            0.0
        } else {
            f64::INFINITY
        };
    }
    Normal::standard().inverse_cdf(0.5 + confidence / 2.0)
}

/// Sums of samples that are curves: one value per checkpoint, per trial
/// (P(loss by t) at each t). A trial's curve mostly changes at one or two
/// checkpoints, so the sums are kept as difference arrays: a change from
/// `a` to `b` at checkpoint c adds b and −a (and b², −a², exactly) at c
/// only. The sums at c are the exact prefix sums up to c, so
/// [`CurveSums::point`] gives exactly the statistics of a
/// [`MeanAccumulator`] fed every trial's value at c, at a fraction of the
/// cost. Merges exactly, in any split.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CurveSumsData")]
pub struct CurveSums {
    n: u64,
    /// Change in the count of nonzero values at each checkpoint.
    nonzero: Vec<i64>,
    sum: Vec<ExactSum>,
    sum_sq: Vec<ExactSum>,
    has_negative: bool,
}

/// `CurveSums` as read from a file, before its arrays are checked to be of
/// one length (a crafted part must be an error, not an index panic).
#[derive(Deserialize)]
struct CurveSumsData {
    n: u64,
    nonzero: Vec<i64>,
    sum: Vec<ExactSum>,
    sum_sq: Vec<ExactSum>,
    has_negative: bool,
}

impl TryFrom<CurveSumsData> for CurveSums {
    type Error = String;

    fn try_from(d: CurveSumsData) -> Result<Self, String> {
        if d.sum.len() != d.nonzero.len() || d.sum_sq.len() != d.nonzero.len() {
            return Err(format!(
                "curve sums of {}, {} and {} checkpoints; they must be of one length",
                d.nonzero.len(),
                d.sum.len(),
                d.sum_sq.len()
            ));
        }
        Ok(Self {
            n: d.n,
            nonzero: d.nonzero,
            sum: d.sum,
            sum_sq: d.sum_sq,
            has_negative: d.has_negative,
        })
    }
}

impl CurveSums {
    /// Adds one trial's curve (all curves the same length). A curve with a
    /// value that [`MeanAccumulator`] would reject (not finite, or beyond
    /// [`MAX_ABS_SAMPLE`]) is left out whole, as that sample would be.
    pub fn push(&mut self, curve: &[f64]) {
        if curve
            .iter()
            .any(|x| !x.is_finite() || x.abs() > MAX_ABS_SAMPLE)
        {
            return;
        }
        if self.sum.len() < curve.len() {
            self.resize(curve.len());
        }
        self.n += 1;
        let mut before = 0.0;
        for (c, &x) in curve.iter().enumerate() {
            if x == before {
                continue;
            }
            self.nonzero[c] += i64::from(x != 0.0) - i64::from(before != 0.0);
            self.sum[c].add(x);
            self.sum[c].add(-before);
            self.sum_sq[c].add_product(x, x);
            self.sum_sq[c].add_product(-before, before);
            self.has_negative |= x < 0.0;
            before = x;
        }
    }

    fn resize(&mut self, len: usize) {
        self.nonzero.resize(len, 0);
        self.sum.resize(len, ExactSum::default());
        self.sum_sq.resize(len, ExactSum::default());
    }

    pub fn merge(&mut self, other: &Self) {
        if self.sum.len() < other.sum.len() {
            self.resize(other.sum.len());
        }
        self.n += other.n;
        self.has_negative |= other.has_negative;
        for c in 0..other.sum.len() {
            self.nonzero[c] += other.nonzero[c];
            self.sum[c].merge(&other.sum[c]);
            self.sum_sq[c].merge(&other.sum_sq[c]);
        }
    }

    /// Checkpoints recorded.
    pub fn len(&self) -> usize {
        self.sum.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sum.is_empty()
    }

    /// The accumulator of every trial's value at checkpoint `c`: its mean,
    /// variance, interval and nonzero count are exact; the weight statistics
    /// (effective sample size, largest share) are not kept.
    pub fn point(&self, c: usize) -> MeanAccumulator {
        let mut acc = MeanAccumulator {
            n: self.n,
            has_negative: self.has_negative,
            ..MeanAccumulator::default()
        };
        for k in 0..(c + 1).min(self.sum.len()) {
            acc.sum.merge(&self.sum[k]);
            acc.sum_sq.merge(&self.sum_sq[k]);
            acc.nonzero = acc.nonzero.wrapping_add_signed(self.nonzero[k]);
        }
        acc
    }
}

/// A closed interval `[lo, hi]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

/// The vacuous interval for a proportion: always valid, never informative.
const UNIT: Interval = Interval { lo: 0.0, hi: 1.0 };

/// Exact (Clopper–Pearson) two-sided interval for a binomial proportion
/// `k/n` at `confidence` (e.g. 0.95): guaranteed coverage, which is what an
/// honest bound on a rarely observed loss needs.
///
/// `k = 0` gives `lo = 0`, `hi = 1 − (α/2)^(1/n)` in closed form (via
/// `expm1`, so huge `n` stays accurate); `k = n` symmetrically. Otherwise the
/// ends are found by bisection on exact binomial tails (see
/// `binomial_tails`); statrs' Beta quantile is not used because in statrs
/// 0.19 it never returns for n ≳ 1e7 and its incomplete beta loses digits to
/// log-gamma cancellation at large n. Above [`MAX_EXACT_EVENTS`] events on both
/// sides the Wilson score interval is returned (its difference from the exact
/// interval is then below 1e-4 of the half-width). Invalid input (`n = 0`,
/// `k > n`, confidence outside (0, 1) or NaN) returns the always-valid `[0, 1]`.
pub fn clopper_pearson(k: u64, n: u64, confidence: f64) -> Interval {
    if n == 0 || k > n || !(confidence > 0.0 && confidence < 1.0) {
        return UNIT;
    }
    let half_alpha = (1.0 - confidence) / 2.0;
    let root = half_alpha.ln() / n as f64; // ln((α/2)^(1/n))
    if k == 0 {
        return Interval {
            lo: 0.0,
            hi: -root.exp_m1(),
        };
    }
    if k == n {
        return Interval {
            lo: root.exp(),
            hi: 1.0,
        };
    }
    if k > n - k {
        let m = clopper_pearson(n - k, n, confidence);
        return Interval {
            lo: 1.0 - m.hi,
            hi: 1.0 - m.lo,
        };
    }
    let (k, n) = (k as f64, n as f64);
    if k > MAX_EXACT_EVENTS {
        return wilson(k, n, normal_quantile_two_sided(confidence));
    }
    Interval {
        lo: cp_lower(k, n, half_alpha),
        hi: cp_upper(k, n, half_alpha),
    }
}

/// Above this many events (on the rarer side) Clopper–Pearson falls back to
/// Wilson: exact tails would cost O(√k) terms per bisection step.
pub const MAX_EXACT_EVENTS: f64 = 1e9;

/// Lower end: the x with P(X ≥ k | n, x) = α/2. P(X ≥ k | x = k/n) ≥ 1/2
/// because k/n is then the median, so the root lies below k/n.
fn cp_lower(k: f64, n: f64, half_alpha: f64) -> f64 {
    let reaches = |x: f64| binomial_tails(k - 1.0, n, x).1 >= half_alpha;
    let hi = k / n;
    let mut width = 10.0 * k.sqrt() + 10.0;
    let mut lo = (hi - width / n).max(0.0);
    while lo > 0.0 && reaches(lo) {
        width *= 2.0;
        lo = (hi - width / n).max(0.0);
    }
    bisect(lo, hi, reaches)
}

/// Upper end: the x with P(X ≤ k | n, x) = α/2 (above k/n, as for `cp_lower`).
fn cp_upper(k: f64, n: f64, half_alpha: f64) -> f64 {
    let beyond = |x: f64| binomial_tails(k, n, x).0 <= half_alpha;
    let lo = k / n;
    let mut width = 10.0 * k.sqrt() + 10.0;
    let mut hi = (lo + width / n).min(1.0);
    while hi < 1.0 && !beyond(hi) {
        width *= 2.0;
        hi = (lo + width / n).min(1.0);
    }
    bisect(lo, hi, beyond)
}

/// Bisects for the point where the monotone predicate `above` turns true,
/// given it is false at `lo` and true at `hi`; stops at f64 resolution.
fn bisect(mut lo: f64, mut hi: f64, above: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..2200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi || hi - lo <= 1e-16 * hi {
            break;
        }
        if above(mid) { hi = mid } else { lo = mid }
    }
    0.5 * (lo + hi)
}

/// Relative size below which binomial terms are no longer summed.
const TAIL_CUT: f64 = 1e-18;
/// Safety cap on terms summed per side (never reached within the exact range).
const MAX_TAIL_TERMS: u32 = 100_000_000;

/// Binomial(n, x) tails `(P(X ≤ k), P(X > k))`, each to relative accuracy
/// ~(terms)·ε without cancellation: pmf ratios are summed outward from the
/// mode (whose term is set to 1) and normalized, so no absolute pmf — and no
/// log-gamma cancellation — is needed. Terms below 1e-18 of the running total
/// are dropped.
fn binomial_tails(k: f64, n: f64, x: f64) -> (f64, f64) {
    if x <= 0.0 || x >= 1.0 {
        let at = if x <= 0.0 { 0.0 } else { n };
        return if at <= k { (1.0, 0.0) } else { (0.0, 1.0) };
    }
    let odds = x / (1.0 - x);
    let mode = ((n + 1.0) * x).floor().min(n);
    let mut sums = [0.0, 0.0]; // [≤ k, > k]
    let (mut j, mut t) = (mode, 1.0);
    for _ in 0..MAX_TAIL_TERMS {
        sums[usize::from(j > k)] += t;
        if j <= 0.0 || t < TAIL_CUT * (sums[0] + sums[1]) {
            break;
        }
        t *= j / ((n - j + 1.0) * odds);
        j -= 1.0;
    }
    let (mut j, mut t) = (mode, 1.0);
    for _ in 0..MAX_TAIL_TERMS {
        if j >= n || t < TAIL_CUT * (sums[0] + sums[1]) {
            break;
        }
        t *= (n - j) / (j + 1.0) * odds;
        j += 1.0;
        sums[usize::from(j > k)] += t;
    }
    let total = sums[0] + sums[1];
    (sums[0] / total, sums[1] / total)
}

/// Wilson score interval: the large-count stand-in for Clopper–Pearson.
fn wilson(k: f64, n: f64, z: f64) -> Interval {
    let p = k / n;
    let z2n = z * z / n;
    let centre = (p + z2n / 2.0) / (1.0 + z2n);
    let half = z * (p * (1.0 - p) / n + z2n / (4.0 * n)).sqrt() / (1.0 + z2n);
    Interval {
        lo: (centre - half).max(0.0),
        hi: (centre + half).min(1.0),
    }
}

/// Durability in "nines", −log10(p): p = 0 (or negative) → ∞, p ≥ 1 → 0.
/// NaN is treated as certain loss (0 nines), the pessimistic reading.
pub fn nines(p: f64) -> f64 {
    if p.is_nan() || p >= 1.0 {
        0.0
    } else if p <= 0.0 {
        f64::INFINITY
    } else {
        -p.log10()
    }
}

/// Nines of `p`, finite by flooring `p` at the smallest positive normal f64.
pub fn finite_nines(p: f64) -> f64 {
    nines(p.max(f64::MIN_POSITIVE))
}

/// Report-ready summary of a probability-valued quantity in [0, 1].
///
/// Every `f64` is finite by construction (JSON cannot hold inf/NaN); values
/// that have no finite meaning are `Option`s serialized as `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbabilityEstimate {
    /// Sample mean clamped to [0, 1] (0 when nothing was observed).
    pub estimate: f64,
    /// 95% interval clamped to [0, 1]: normal interval when something was
    /// observed, `[0, Clopper–Pearson hi for 0 of n]` otherwise.
    pub ci95: [f64; 2],
    /// `nines(estimate)`; when nothing was observed, the nines of the upper
    /// bound: an honest "at least" figure, never infinite.
    pub nines: f64,
    /// `[nines(ci95 hi), nines(ci95 lo)]` (larger p → fewer nines). The
    /// second is `None` (unbounded) when the lower end of the interval is 0;
    /// the first is always `Some`.
    pub nines_ci95: [Option<f64>; 2],
    /// 95% half-width over the estimate; `None` when it is not finite
    /// (nothing observed, or fewer than two trials).
    pub relative_error: Option<f64>,
    /// Number of trials.
    pub trials: u64,
    /// Number of trials with a nonzero sample.
    pub observed: u64,
    /// True when `observed == 0`: only the upper bound is meaningful.
    pub upper_bound_only: bool,
}

impl ProbabilityEstimate {
    /// Summarizes `acc`, whose samples estimate a probability.
    pub fn from_accumulator(acc: &MeanAccumulator) -> Self {
        if acc.nonzero() == 0 {
            Self::unobserved(acc.count())
        } else {
            Self::observed(acc)
        }
    }

    /// No event in `n` trials. Each per-trial value of a [0, 1] quantity is
    /// at most the any-event indicator, so the exact binomial bound for 0 of
    /// `n` bounds the probability too.
    fn unobserved(n: u64) -> Self {
        let hi = clopper_pearson(0, n, 0.95).hi;
        Self {
            estimate: 0.0,
            ci95: [0.0, hi],
            nines: nines(hi),
            nines_ci95: [Some(nines(hi)), None],
            relative_error: None,
            trials: n,
            observed: 0,
            upper_bound_only: true,
        }
    }

    /// At least one event: the normal interval, clamped into [0, 1].
    fn observed(acc: &MeanAccumulator) -> Self {
        let estimate = acc.mean().clamp(0.0, 1.0);
        let ci = acc.ci95();
        let (lo, hi) = (ci.lo.clamp(0.0, 1.0), ci.hi.clamp(0.0, 1.0));
        let point = if estimate > 0.0 { estimate } else { hi };
        let rel = acc.relative_error();
        Self {
            estimate,
            ci95: [lo, hi],
            nines: finite_nines(point),
            nines_ci95: [Some(finite_nines(hi)), (lo > 0.0).then(|| nines(lo))],
            relative_error: rel.is_finite().then_some(rel),
            trials: acc.count(),
            observed: acc.nonzero(),
            upper_bound_only: false,
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn curve_points_equal_accumulators_fed_every_value() {
        let curves = [
            [0.0, 0.0, 1e-12, 1e-12],
            [0.5, 0.5, 0.5, 0.75],
            [0.0, 0.0, 0.0, 0.0],
            [1e-300, 2.0, 2.0, 3.0],
        ];
        let mut sums = CurveSums::default();
        let mut halves = [CurveSums::default(), CurveSums::default()];
        let mut direct = vec![MeanAccumulator::default(); 4];
        for (i, curve) in curves.iter().enumerate() {
            sums.push(curve);
            halves[i / 2].push(curve);
            for (acc, &x) in direct.iter_mut().zip(curve) {
                acc.push(x);
            }
        }
        let [mut first, second] = halves;
        first.merge(&second);
        for (c, acc) in direct.iter().enumerate() {
            for point in [sums.point(c), first.point(c)] {
                assert_eq!(point.count(), acc.count());
                assert_eq!(point.nonzero(), acc.nonzero());
                assert_eq!(point.mean(), acc.mean());
                assert_eq!(point.variance(), acc.variance());
                assert_eq!(point.ci95(), acc.ci95());
            }
        }
    }

    use super::*;
    use proptest::prelude::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    /// Every statistic, as raw bits, for bit-identity checks.
    fn stats_bits(a: &MeanAccumulator) -> Vec<u64> {
        let v = [
            a.mean(),
            a.variance(),
            a.effective_sample_size(),
            a.max_share(),
            a.ci95().lo,
            a.ci95().hi,
        ];
        let mut bits: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
        bits.extend([a.count(), a.nonzero(), a.invalid()]);
        bits
    }

    fn filled(xs: &[f64]) -> MeanAccumulator {
        let mut acc = MeanAccumulator::new();
        xs.iter().for_each(|&x| acc.push(x));
        acc
    }

    /// Rare-event-like data: mostly zeros, nonzero values over 30 decades.
    fn rare_samples(seed: u64, n: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                if rng.random_bool(0.1) {
                    10f64.powf(-30.0 * rng.random::<f64>())
                } else {
                    0.0
                }
            })
            .collect()
    }

    #[test]
    fn mean_and_variance_match_two_pass() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // Offset data: the naive one-pass formula would lose ~8 digits here.
        let xs: Vec<f64> = (0..10_000).map(|_| 1e4 + rng.random::<f64>()).collect();
        let acc = filled(&xs);
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        assert!(close(acc.mean(), mean, 1e-14), "{} vs {mean}", acc.mean());
        assert!(
            close(acc.variance(), var, 1e-10),
            "{} vs {var}",
            acc.variance()
        );
        assert!(close(acc.std_error(), (var / n).sqrt(), 1e-10));
        assert!(close(acc.effective_sample_size(), n, 1e-12));
    }

    #[test]
    fn merge_is_bit_identical_to_pushing_everything() {
        let xs = rare_samples(11, 20_000);
        let (a, b) = xs.split_at(7_331);
        let mut merged = filled(a);
        merged.merge(&filled(b));
        assert_eq!(stats_bits(&merged), stats_bits(&filled(&xs)));
        // Reversed order and odd chunking give the same bits too.
        let mut rev = filled(b);
        rev.merge(&filled(a));
        assert_eq!(stats_bits(&rev), stats_bits(&filled(&xs)));
    }

    #[test]
    fn tiny_samples_next_to_a_large_one_stay_accurate() {
        let mut acc = MeanAccumulator::new();
        acc.push(1.0); // first, so naive summation would absorb the tiny ones
        let mut naive = 1.0;
        for _ in 0..10_000_000 {
            acc.push(1e-12);
            naive += 1e-12;
        }
        let want = (1.0 + 1e-5) / 10_000_001.0;
        assert!(close(acc.mean(), want, 1e-15), "{}", acc.mean());
        assert!(!close(naive / 10_000_001.0, want, 1e-12), "test too weak");
    }

    #[test]
    fn clopper_pearson_known_values() {
        let i = clopper_pearson(0, 10, 0.95);
        assert_eq!(i.lo, 0.0);
        assert!(close(i.hi, 0.308_497_107_818_760_83, 1e-15), "{}", i.hi);
        let i = clopper_pearson(5, 10, 0.95);
        assert!((i.lo - 0.187_086_028_447_398_53).abs() < 1e-9, "{i:?}");
        assert!((i.hi - 0.812_913_971_552_601_5).abs() < 1e-9, "{i:?}");
        // References from mpmath (50 digits, bisection on betainc).
        let i = clopper_pearson(1, 1000, 0.95);
        assert!(close(i.lo, 2.531_748_749_129_404e-5, 1e-9), "{i:?}");
        assert!(close(i.hi, 5.558_924_279_826_673e-3, 1e-9), "{i:?}");
        let i = clopper_pearson(3, 20, 0.95);
        assert!(close(i.lo, 0.032_070_937_185_463_71, 1e-9), "{i:?}");
        assert!(close(i.hi, 0.378_926_826_545_313_94, 1e-9), "{i:?}");
        // Exact binomial sums in mpmath (40 digits) + bisection.
        let i = clopper_pearson(100, 1_000_000_000, 0.99);
        assert!(close(i.lo, 7.612_049_671_448_88e-8, 1e-9), "{i:?}");
        assert!(close(i.hi, 1.287_605_782_684_879_3e-7, 1e-9), "{i:?}");
        let i = clopper_pearson(1000, 2000, 0.95);
        assert!(close(i.lo, 0.477_850_554_231_109_7, 1e-9), "{i:?}");
        assert!(close(i.hi, 0.522_149_445_768_890_3, 1e-9), "{i:?}");
        let i = clopper_pearson(999, 1000, 0.95); // mirror of k = 1
        assert!(close(1.0 - i.hi, 2.531_748_749_129_404e-5, 1e-9), "{i:?}");
        let i = clopper_pearson(10, 10, 0.95);
        assert!(close(i.lo, 1.0 - 0.308_497_107_818_760_83, 1e-15));
        assert_eq!(i.hi, 1.0);
    }

    #[test]
    fn clopper_pearson_edges_and_huge_n() {
        assert_eq!(clopper_pearson(0, 0, 0.95), UNIT);
        assert_eq!(clopper_pearson(5, 4, 0.95), UNIT);
        assert_eq!(clopper_pearson(1, 4, f64::NAN), UNIT);
        // k=0, n=1e12: 1-(0.025)^(1e-12) ≈ 3.689e-12 must not round to 0.
        let hi = clopper_pearson(0, 1_000_000_000_000, 0.95).hi;
        assert!(close(hi, -(0.025f64.ln() * 1e-12).exp_m1(), 1e-14), "{hi}");
        // k=1: lower end has the closed form 1-(1-α/2)^(1/n).
        let lo = clopper_pearson(1, 1_000_000_000, 0.95).lo;
        assert!(close(lo, -(0.975f64.ln() / 1e9).exp_m1(), 1e-9), "{lo}");
        // Beyond the exact range: Wilson, still sane and fast.
        let i = clopper_pearson(5_000_000_000, 10_000_000_000, 0.95);
        assert!(i.lo < 0.5 && i.hi > 0.5 && i.hi - i.lo < 2e-5, "{i:?}");
    }

    #[test]
    fn nines_values() {
        assert!((nines(1e-11) - 11.0).abs() < 1e-12);
        assert_eq!(nines(0.0), f64::INFINITY);
        assert_eq!(nines(1.0), 0.0);
        assert_eq!(nines(3.0), 0.0);
        assert_eq!(nines(f64::NAN), 0.0);
    }

    #[test]
    fn z95_matches_statrs_quantile() {
        assert!((normal_quantile_two_sided(0.95) - Z95).abs() < 1e-12);
    }

    #[test]
    fn all_zero_estimate_is_finite_and_serializable() {
        let acc = filled(&vec![0.0; 1000]);
        let est = ProbabilityEstimate::from_accumulator(&acc);
        assert!(est.upper_bound_only && est.estimate == 0.0);
        let hi = clopper_pearson(0, 1000, 0.95).hi;
        assert_eq!(est.ci95, [0.0, hi]);
        assert!(close(est.nines, nines(hi), 1e-15) && est.nines.is_finite());
        assert_eq!(est.relative_error, None);
        let json = serde_json::to_string(&est).unwrap();
        let back: ProbabilityEstimate = serde_json::from_str(&json).unwrap();
        assert_eq!(back, est);
        let empty = ProbabilityEstimate::from_accumulator(&MeanAccumulator::new());
        assert_eq!((empty.ci95, empty.nines), ([0.0, 1.0], 0.0));
        serde_json::to_string(&empty).unwrap();
    }

    #[test]
    fn observed_estimate_clamps_and_stays_finite() {
        let mut xs = vec![0.0; 98];
        xs.extend([1e-9, 3e-9]);
        let est = ProbabilityEstimate::from_accumulator(&filled(&xs));
        assert!(close(est.estimate, 4e-11, 1e-15) && !est.upper_bound_only);
        assert_eq!(est.ci95[0], 0.0, "normal lower end must clamp at 0");
        assert_eq!(est.nines_ci95[1], None);
        assert!(est.relative_error.is_some_and(|r| r > 1.0 && r.is_finite()));
        serde_json::to_string(&est).unwrap();
        // A single trial: infinite variance, still finite fields.
        let one = ProbabilityEstimate::from_accumulator(&filled(&[0.5]));
        assert_eq!((one.ci95, one.relative_error), ([0.0, 1.0], None));
    }

    #[test]
    fn invalid_samples_are_rejected_and_counted() {
        let mut acc = filled(&[1.0, f64::NAN, f64::INFINITY, 1e200]);
        acc.push_weighted(1.0, -1.0);
        acc.push_weighted(0.0, f64::NAN);
        assert_eq!((acc.count(), acc.invalid(), acc.mean()), (1, 5, 1.0));
        assert_eq!(acc.variance(), f64::INFINITY);
        assert_eq!(
            acc.ci95(),
            Interval {
                lo: 0.0,
                hi: f64::INFINITY
            }
        );
    }

    #[test]
    fn weights_give_kish_ess_and_max_share() {
        let mut acc = MeanAccumulator::new();
        for w in [1.0, 1.0, 2.0, 4.0] {
            acc.push_weighted(1.0, w);
        }
        acc.push_weighted(0.0, 100.0); // zero value: weight not counted
        assert!(close(acc.effective_sample_size(), 64.0 / 22.0, 1e-15));
        assert!(close(acc.max_share(), 0.5, 1e-15));
        assert!(close(acc.mean(), 8.0 / 5.0, 1e-15));
        assert_eq!(MeanAccumulator::new().effective_sample_size(), 0.0);
    }

    #[test]
    fn ci95_covers_bernoulli_mean_at_nominal_rate() {
        let mut rng = ChaCha8Rng::seed_from_u64(2024);
        let covered = (0..2000)
            .filter(|_| {
                let mut acc = MeanAccumulator::new();
                (0..400).for_each(|_| acc.push(f64::from(u8::from(rng.random_bool(0.05)))));
                let ci = acc.ci95();
                ci.lo <= 0.05 && 0.05 <= ci.hi
            })
            .count();
        let rate = covered as f64 / 2000.0;
        assert!((0.92..=0.975).contains(&rate), "coverage {rate}");
    }

    proptest! {
        #[test]
        fn merge_any_split_matches(xs in prop::collection::vec(-1e6f64..1e6, 0..200), cut in 0usize..200) {
            let cut = cut.min(xs.len());
            let mut merged = filled(&xs[..cut]);
            merged.merge(&filled(&xs[cut..]));
            prop_assert_eq!(stats_bits(&merged), stats_bits(&filled(&xs)));
            prop_assert!(!merged.variance().is_nan() && merged.variance() >= 0.0);
        }
    }
}
