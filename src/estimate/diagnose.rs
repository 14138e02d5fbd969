//! Diagnostics that can see a heavy tail, beside the normal interval.
//!
//! An importance-sampling estimate whose contributions are heavy-tailed has a
//! sample variance that *under*-estimates the truth until the tail has been
//! sampled, so the interval is too narrow exactly when it matters; the
//! effective sample size and the largest share are functions of the same
//! second moment and stay calm. Two checks look elsewhere:
//!
//! - **Pareto k̂** (Vehtari, Simpson, Gelman, Yao and Gabry, "Pareto smoothed
//!   importance sampling", *JMLR* 25, 2024): a generalized Pareto
//!   distribution is fitted to the largest contributions (the M =
//!   min(0.2·n, 3·√n) largest of the n nonzero ones, as exceedances over the
//!   next largest) by the Zhang and Stephens (*Technometrics* 2009) profile
//!   posterior mean, with the paper's weakly informative prior. Its shape k̂
//!   estimates the tail index: the variance is infinite for k ≥ 1/2, and the
//!   paper shows the Monte Carlo error to be unreliable beyond
//!   min(1 − 1/log10 S, 0.7) for S samples. The fit extrapolates the tail's
//!   shape from the values seen, so it can warn before the largest values
//!   arrive.
//! - **Batch means**: the samples, in trial order, are cut into B ≥ 20
//!   batches of equal length (a power of two, chosen from the number of
//!   samples so that B lies in 33..=64 once there are more than 64). If the
//!   normal interval is to be trusted, the mean of a batch is already nearly
//!   normal; a skewness of the batch means g says how far it is not, and
//!   g/√B estimates the skewness of the estimate itself (a mean of B batch
//!   means), which makes a normal interval miss on one side (Edgeworth: at
//!   0.5 the chance of an interval wholly below the truth grows from 2.5% to
//!   about 7%). The check fails above [`MAX_ESTIMATE_SKEWNESS`].
//!
//! Both sums are exact functions of the multiset (tail) and of the trial
//! indices (batches), so they merge across threads, blocks and shards to the
//! same bits as one run.

use serde::{Deserialize, Serialize};

use crate::stats::ExactSum;

/// Largest contributions kept for the tail fit. M = min(0.2·n, 3√n) passes
/// it at n ≈ 116,000 nonzero contributions; beyond, the fit uses the 1,023
/// largest (still the top 1%).
pub const TAIL_KEEP: usize = 1024;
/// Most batches kept: once there are more samples, two neighbours merge.
pub const MAX_BATCHES: u64 = 64;
/// Fewest batches the batch-means check needs.
pub const MIN_BATCHES: u64 = 20;
/// Fewest tail values a generalized Pareto fit takes (as PSIS).
const MIN_TAIL: usize = 5;
/// Largest skewness of the estimate (from batch means) still accepted.
pub const MAX_ESTIMATE_SKEWNESS: f64 = 0.5;
/// With samples known to lie in [0, B] and summing to at least this many
/// B, the tail check is passed: the estimate's relative variance is then
/// at most 1/30 whatever the shape of the tail.
pub const BOUNDED_MASS: f64 = 30.0;

/// The largest positive samples, in descending order: at most [`TAIL_KEEP`].
/// A function of the multiset of samples only, so merging in any order
/// gives the same values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TailSums {
    top: Vec<f64>,
}

impl TailSums {
    /// Offers `x`; kept if positive, finite and among the largest.
    pub fn push(&mut self, x: f64) {
        if !(x > 0.0 && x.is_finite()) {
            return;
        }
        if self.top.len() == TAIL_KEEP {
            if x <= self.top[TAIL_KEEP - 1] {
                return;
            }
            self.top.pop();
        }
        let at = self.top.partition_point(|&y| y >= x);
        self.top.insert(at, x);
    }

    pub fn merge(&mut self, other: &Self) {
        self.top.extend_from_slice(&other.top);
        self.top.sort_unstable_by(|a, b| b.total_cmp(a));
        self.top.truncate(TAIL_KEEP);
    }

    /// The largest samples seen, largest first.
    pub fn largest(&self) -> &[f64] {
        &self.top
    }
}

/// Sums of the samples by batch of consecutive sample indices: batch b holds
/// indices b·w .. (b+1)·w, w a power of two doubled whenever an index would
/// need more than [`MAX_BATCHES`] batches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchSums {
    /// Indices per batch (0 means 1, for an empty default).
    width: u64,
    sums: Vec<ExactSum>,
    counts: Vec<u64>,
}

impl BatchSums {
    fn width(&self) -> u64 {
        self.width.max(1)
    }

    /// Adds sample `x` of index `index`.
    pub fn push(&mut self, index: u64, x: f64) {
        let mut w = self.width();
        while index / w >= MAX_BATCHES {
            w *= 2;
        }
        self.coarsen_to(w);
        let b = (index / w) as usize;
        if self.sums.len() <= b {
            self.sums.resize(b + 1, ExactSum::default());
            self.counts.resize(b + 1, 0);
        }
        self.sums[b].add(x);
        self.counts[b] += 1;
    }

    /// Merges neighbouring batches until each is `w` indices wide.
    fn coarsen_to(&mut self, w: u64) {
        while self.width() < w {
            let pairs = self.sums.len().div_ceil(2);
            let mut sums = Vec::with_capacity(pairs);
            let mut counts = Vec::with_capacity(pairs);
            for i in 0..pairs {
                let mut s = self.sums[2 * i].clone();
                let mut n = self.counts[2 * i];
                if let Some(next) = self.sums.get(2 * i + 1) {
                    s.merge(next);
                    n += self.counts[2 * i + 1];
                }
                sums.push(s);
                counts.push(n);
            }
            self.sums = sums;
            self.counts = counts;
            self.width = self.width() * 2;
        }
    }

    pub fn merge(&mut self, other: &Self) {
        let w = self.width().max(other.width());
        self.coarsen_to(w);
        let mut other = other.clone();
        other.coarsen_to(w);
        if self.sums.len() < other.sums.len() {
            self.sums.resize(other.sums.len(), ExactSum::default());
            self.counts.resize(other.sums.len(), 0);
        }
        for (b, s) in other.sums.iter().enumerate() {
            self.sums[b].merge(s);
            self.counts[b] += other.counts[b];
        }
    }

    /// The means of the full batches (those holding `width` samples).
    fn full_means(&self) -> Vec<f64> {
        let w = self.width();
        self.sums
            .iter()
            .zip(&self.counts)
            .filter(|&(_, &n)| n == w)
            .map(|(s, &n)| s.value() / n as f64)
            .collect()
    }
}

/// What the diagnostics found for one estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostics {
    /// Generalized-Pareto shape k̂ of the largest contributions: the worst
    /// (against its threshold) over the fits held to one, `fleet` and the
    /// strata with `checked`; null when none had enough distinct nonzero
    /// contributions to fit.
    pub pareto_k: Option<f64>,
    /// The threshold k̂ is held to there: min(1 − 1/log10 S, 0.7) for the
    /// S contributions of that fit.
    pub pareto_k_threshold: f64,
    /// Full batches of the batch-means check, and samples in each.
    pub batches: u64,
    pub batch_size: u64,
    /// Skewness of the estimate from the batch means (their sample skewness
    /// over √batches); null with fewer than [`MIN_BATCHES`] batches.
    pub estimate_skewness: Option<f64>,
    /// Whether both checks passed: the interval may be read as a 95% interval.
    pub reliable: bool,
    /// Why not, one sentence per failed check.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    /// The tail check of the fleet-trial estimates, with strata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<StratumTail>,
    /// The tail check of each stratum (one for an estimate without strata).
    pub strata: Vec<StratumTail>,
}

/// The contributions of one stratum (all of them without strata), as the
/// tail check takes them.
#[derive(Clone, Copy, Debug)]
pub struct TailInput<'a> {
    pub tail: &'a TailSums,
    /// Contributions, nonzero ones, and their sum.
    pub samples: u64,
    pub nonzero: u64,
    pub total: f64,
    /// A bound each contribution is known to keep, if the method gives one
    /// (see [`BOUNDED_MASS`]).
    pub bound: Option<f64>,
    /// The stratum's share of the estimate and of its variance: a stratum
    /// under [`STRATUM_SHARE`] of both is not held to k̂ on its own.
    pub share: f64,
    pub variance_share: f64,
}

/// The tail check of one stratum.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StratumTail {
    /// Contributions (a stratum's group trials; the fleet trials for
    /// `fleet` and under plain Monte Carlo) and nonzero ones.
    pub samples: u64,
    pub nonzero: u64,
    pub pareto_k: Option<f64>,
    pub pareto_k_threshold: f64,
    /// The largest contributions the fit used, and their share of the
    /// stratum's sum.
    pub tail_samples: u64,
    pub tail_share: f64,
    /// Share of the estimate and of its variance.
    pub share: f64,
    pub variance_share: f64,
    /// Whether k̂ was held to its threshold here (a stratum with a tenth
    /// of neither, or bounded with enough mass, is not).
    pub checked: bool,
    /// Whether the largest contributions, enough of them to fit but with
    /// too few exceedances, are a spike of like values ([`is_flat`]).
    #[serde(skip)]
    pub flat: bool,
}

/// Smallest share of the estimate or of its variance for which a
/// stratum's own tail is held to the threshold (a judgment: below a tenth
/// of both, a stratum's tail reaches the interval through the fleet
/// trials' tail, which is checked too; at 1%, strata of 1–2% of the
/// estimate whose values span many orders of magnitude failed the bundled
/// scenarios/exact.toml and grs.toml while their estimates covered the
/// exact values).
const STRATUM_SHARE: f64 = 0.1;
/// A k̂ above the threshold fails only if the tail the fit used carries at
/// least this share of the stratum's sum. A heavy tail does (for a Pareto
/// tail of shape k, the top fraction q of the samples carries q^(1−k) of
/// the sum: at k = 0.7 the top 1% carry 25%); a bounded stratum with a
/// spike of nearly equal values below a short spread (where the fit of
/// the exceedances is meaningless) does not.
const MIN_TAIL_SHARE: f64 = 0.1;

/// The k̂ threshold of Vehtari et al. for `samples` draws.
pub fn pareto_threshold(samples: u64) -> f64 {
    let s = samples.max(2) as f64;
    (1.0 - 1.0 / s.log10()).min(0.7)
}

/// Tail length M = ⌈min(0.2·n, 3√n)⌉ for n nonzero samples (PSIS).
pub fn tail_length(nonzero: u64) -> usize {
    let n = nonzero as f64;
    (0.2 * n).min(3.0 * n.sqrt()).ceil() as usize
}

/// k̂ of the largest of `nonzero` positive samples, from `top` (descending,
/// as kept by [`TailSums`]): None when fewer than five tail values exist or
/// all are equal. Also returns the tail length used.
pub fn pareto_k(top: &[f64], nonzero: u64) -> (Option<f64>, usize) {
    let m = tail_length(nonzero).min(top.len().saturating_sub(1));
    if m < MIN_TAIL {
        return (None, m);
    }
    // Exceedances over the next largest value; values tied with it (a
    // stratum whose contributions take one value) are not exceedances.
    let cutoff = top[m];
    let mut x: Vec<f64> = top[..m]
        .iter()
        .filter(|&&v| v > cutoff)
        .map(|&v| v - cutoff)
        .collect();
    x.reverse();
    if x.len() < MIN_TAIL {
        return (None, x.len());
    }
    let used = x.len();
    (Some(gpd_shape(&x)), used)
}

/// Whether the tail of `nonzero` contributions (of `samples`, summing to
/// `total`), long enough to fit but with too few values above the one
/// after it, is a spike of like values: its largest carry no more than
/// [`stands_out`] allows. A stratum in which every group trial meets the
/// same loss (a scripted destruction leaving one copy and a latent-error
/// check; a burst striking the extent with its hypergeometric chance) has
/// nothing to fit and no tail to fear; one outlier carrying much of the
/// sum still fails the check, for too few exceedances.
pub fn is_flat(top: &[f64], nonzero: u64, samples: u64, total: f64) -> bool {
    let m = tail_length(nonzero).min(top.len().saturating_sub(1));
    if m < MIN_TAIL || total <= 0.0 {
        return false;
    }
    let share = top[..m].iter().sum::<f64>() / total;
    !carries_more_than_its_count(share, m as u64, samples)
}

/// Whether `tail` of the `samples` contributions, carrying `share` of
/// their sum, carries at least [`MIN_TAIL_SHARE`] and at least twice its
/// share of the samples: less is a spike of like values.
fn carries_more_than_its_count(share: f64, tail: u64, samples: u64) -> bool {
    let count_share = tail as f64 / samples.max(1) as f64;
    share >= MIN_TAIL_SHARE.max(2.0 * count_share)
}

/// Shape of a generalized Pareto fitted to the exceedances `x` (ascending,
/// ≥ 0, the largest > 0): Zhang and Stephens' posterior mean over a grid of
/// θ = −k/σ, then the weakly informative prior of Vehtari et al. (k̂ shrunk
/// towards 0.5 as if by 10 more observations), as `loo::gpdfit` does.
fn gpd_shape(x: &[f64]) -> f64 {
    let n = x.len();
    let nf = n as f64;
    let grid = 30 + nf.sqrt().floor() as usize;
    let quartile = x[((nf / 4.0 + 0.5).floor() as usize).clamp(1, n) - 1];
    let xstar = if quartile > 0.0 {
        quartile
    } else {
        x.iter().copied().find(|&v| v > 0.0).unwrap_or(x[n - 1])
    };
    let largest = x[n - 1];
    let mean_log1p = |theta: f64| x.iter().map(|&v| (-theta * v).ln_1p()).sum::<f64>() / nf;
    let mut thetas = Vec::with_capacity(grid);
    let mut logliks = Vec::with_capacity(grid);
    for j in 1..=grid {
        let theta = 1.0 / largest + (1.0 - (grid as f64 / (j as f64 - 0.5)).sqrt()) / 3.0 / xstar;
        let k = mean_log1p(theta);
        let l = nf * ((-theta / k).ln() - k - 1.0);
        if l.is_finite() {
            thetas.push(theta);
            logliks.push(l);
        }
    }
    let Some(top) = logliks.iter().copied().reduce(f64::max) else {
        return f64::INFINITY;
    };
    let weights: Vec<f64> = logliks.iter().map(|&l| (l - top).exp()).collect();
    let total: f64 = weights.iter().sum();
    let theta_hat: f64 = thetas.iter().zip(&weights).map(|(t, w)| t * w).sum::<f64>() / total;
    let k = mean_log1p(theta_hat);
    let k = (k * nf + 0.5 * 10.0) / (nf + 10.0);
    if k.is_nan() { f64::INFINITY } else { k }
}

/// Skewness of the estimate from the means of `batches` (their sample
/// skewness over √B), and B; None with fewer than [`MIN_BATCHES`] or when
/// the batch means do not vary.
pub fn estimate_skewness(batches: &BatchSums) -> (Option<f64>, u64) {
    let means = batches.full_means();
    let b = means.len() as u64;
    if b < MIN_BATCHES {
        return (None, b);
    }
    let n = b as f64;
    let centre = means.iter().sum::<f64>() / n;
    let scale = means.iter().map(|m| m.abs()).fold(0.0, f64::max);
    if scale == 0.0 {
        return (Some(0.0), b);
    }
    // Scaled first, so that means of 1e-16 do not underflow when cubed.
    let d: Vec<f64> = means.iter().map(|m| (m - centre) / scale).collect();
    let m2 = d.iter().map(|v| v * v).sum::<f64>() / n;
    let m3 = d.iter().map(|v| v * v * v).sum::<f64>() / n;
    if m2 <= 0.0 {
        return (Some(0.0), b);
    }
    (Some(m3 / m2.powf(1.5) / n.sqrt()), b)
}

/// Both checks on an estimate: the tails of its samples, and the batches of
/// the fleet trials' samples. `fleet`: the fleet-trial estimates the
/// interval is computed from, when they are not the one stratum's samples
/// themselves (with strata, each is a weighted sum over the strata's group
/// trials). `strata`: each stratum's own contributions (one for an
/// estimate without strata). `bounded`: each sample lies in [0, 1] (plain
/// Monte Carlo of a fraction), so every moment exists and a tail too short
/// to fit is no failure.
///
/// The fleet trials' tail is held to the threshold, and so is each stratum
/// carrying at least [`STRATUM_SHARE`] of the estimate or of its variance:
/// such a stratum shapes the fleet trials' tail, and its own c_k samples
/// per fleet trial see that tail with c_k times the data. A minor stratum
/// is fitted for the report (where a heavy tail comes from) but reaches the
/// interval only through the fleet trials: a stratum of 1% of the estimate
/// whose contributions span many orders of magnitude (scenarios/exact.toml,
/// K = 3: k̂ 7.2 at 2,000 group trials, 1.6 at 8,000, −0.41 at 32,000, the
/// estimate inside the exact value's interval all along) is no reason to
/// doubt the whole.
pub fn diagnose(
    fleet: Option<TailInput>,
    strata: &[TailInput],
    batches: &BatchSums,
    bounded: bool,
) -> Diagnostics {
    let (skew, b) = estimate_skewness(batches);
    let several = strata.len() > 1;
    let fits: Vec<StratumTail> = strata
        .iter()
        .map(|t| {
            let major = t.share >= STRATUM_SHARE || t.variance_share >= STRATUM_SHARE;
            fit(t, major || !several)
        })
        .collect();
    let fleet_fit = fleet.as_ref().map(|t| fit(t, true));
    let mut failed = Vec::new();
    let mut worst: Option<(f64, f64)> = None;
    let labelled = fleet_fit
        .iter()
        .map(|f| (f, " of the fleet trials".to_string()))
        .chain(fits.iter().enumerate().map(|(i, f)| {
            let within = if several {
                format!(" of stratum {i} (K = {i} site events)")
            } else {
                String::new()
            };
            (f, within)
        }));
    for (check, within) in labelled.filter(|(f, _)| f.checked) {
        if let Some(k) = check.pareto_k
            && worst.is_none_or(|(w, th)| k - check.pareto_k_threshold > w - th)
        {
            worst = Some((k, check.pareto_k_threshold));
        }
        match check.pareto_k {
            Some(k) if k > check.pareto_k_threshold && stands_out(check) => {
                failed.push(format!(
                    "the largest contributions{within} have a heavy tail (Pareto k̂ = {k:.2} > {:.2}): the variance may be far larger than the sample shows",
                    check.pareto_k_threshold
                ));
            }
            None if !bounded && !check.flat && (check.tail_samples as usize) < MIN_TAIL => failed
                .push(format!(
                    "{} nonzero contributions{within} are too few to judge the tail",
                    check.nonzero
                )),
            Some(_) | None => {}
        }
    }
    let any_nonzero = strata.iter().any(|t| t.nonzero > 0);
    if any_nonzero {
        match skew {
            Some(g) if g > MAX_ESTIMATE_SKEWNESS => failed.push(format!(
                "the batch means are skewed (the estimate's skewness is {g:.2} > {MAX_ESTIMATE_SKEWNESS}): a few batches carry it"
            )),
            None => failed.push(format!(
                "{b} batches are too few for the batch-means check (it needs {MIN_BATCHES}): run more trials"
            )),
            _ => {}
        }
    }
    let threshold = worst.map_or_else(
        || pareto_threshold(strata.iter().map(|t| t.samples).sum()),
        |(_, th)| th,
    );
    Diagnostics {
        pareto_k: worst.map(|(k, _)| k),
        pareto_k_threshold: threshold,
        batches: b,
        batch_size: batches.width(),
        estimate_skewness: skew,
        reliable: failed.is_empty(),
        failed,
        fleet: fleet_fit,
        strata: fits,
    }
}

/// Whether the tail the fit used carries at least [`MIN_TAIL_SHARE`] of
/// the sum and at least twice its share of the samples. A tail carrying
/// about its count share is a spike of like values, whatever shape the fit
/// gives their small differences: in `scenarios/region-disaster.toml` every
/// LRS trial loses its extent at the scripted destruction (1.0 [0.9996,
/// 1.0] over 300 trials), the largest 17% of the contributions carry 17.6%
/// of the sum, and the fit of their small differences says k̂ = 5.8.
fn stands_out(check: &StratumTail) -> bool {
    carries_more_than_its_count(check.tail_share, check.tail_samples, check.samples)
}

/// The generalized-Pareto fit of `t`'s largest contributions; `decides`:
/// whether this fit is the one held to the threshold (the whole, unless
/// its bound and mass already settle it).
fn fit(t: &TailInput, decides: bool) -> StratumTail {
    let (k, m) = pareto_k(t.tail.largest(), t.nonzero);
    let top: f64 = t.tail.largest().iter().take(m).sum();
    let tail_share = if t.total > 0.0 {
        (top / t.total).min(1.0)
    } else {
        0.0
    };
    let enough_mass = t.bound.is_some_and(|bound| t.total >= BOUNDED_MASS * bound);
    StratumTail {
        samples: t.samples,
        nonzero: t.nonzero,
        pareto_k: k,
        pareto_k_threshold: pareto_threshold(t.samples),
        tail_samples: m as u64,
        tail_share,
        share: t.share,
        variance_share: t.variance_share,
        checked: decides && t.nonzero > 0 && !enough_mass,
        flat: is_flat(t.tail.largest(), t.nonzero, t.samples, t.total),
    }
}

/// The tail input of an estimate without strata: `samples` of which
/// `nonzero` were nonzero.
pub fn whole(tail: &TailSums, samples: u64, nonzero: u64, total: f64) -> TailInput<'_> {
    TailInput {
        tail,
        samples,
        nonzero,
        total,
        bound: None,
        share: 1.0,
        variance_share: 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Draws from a generalized Pareto of shape `xi` (scale 1).
    fn gpd(rng: &mut ChaCha8Rng, xi: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let u: f64 = rng.random();
                if xi == 0.0 {
                    -(1.0 - u).ln()
                } else {
                    ((1.0 - u).powf(-xi) - 1.0) / xi
                }
            })
            .collect()
    }

    fn tail_of(xs: &[f64]) -> TailSums {
        let mut t = TailSums::default();
        xs.iter().for_each(|&x| t.push(x));
        t
    }

    #[test]
    fn a_tail_of_one_value_is_flat_and_one_larger_value_breaks_it() {
        let tied = vec![1.5e-6; 6400];
        let t = tail_of(&tied);
        let total = 1.5e-6 * 6400.0;
        assert_eq!(pareto_k(t.largest(), 6400), (None, 0));
        assert!(is_flat(t.largest(), 6400, 6400, total));
        // One value a little larger (a stratum of bursts): still like values.
        let mut near = tied.clone();
        near[17] = 3e-6;
        let t = tail_of(&near);
        assert!(pareto_k(t.largest(), 6400).0.is_none());
        assert!(is_flat(t.largest(), 6400, 6400, total + 1.5e-6));
        // One value carrying most of the sum: not flat.
        let mut outlier = tied.clone();
        outlier[17] = 1.0;
        let t = tail_of(&outlier);
        assert!(!is_flat(t.largest(), 6400, 6400, total + 1.0));
        // Too few samples to have a tail at all: not flat, still too few.
        assert!(!is_flat(tail_of(&tied[..4]).largest(), 4, 4, 6e-6));
    }

    #[test]
    fn pareto_k_recovers_known_shapes() {
        let mut rng = ChaCha8Rng::seed_from_u64(19);
        for xi in [0.0, 0.3, 0.5, 0.8, 1.2] {
            let mut ks = Vec::new();
            for _ in 0..20 {
                let xs = gpd(&mut rng, xi, 4000);
                let t = tail_of(&xs);
                ks.push(pareto_k(t.largest(), 4000).0.unwrap());
            }
            let mean = ks.iter().sum::<f64>() / ks.len() as f64;
            println!("xi {xi}: mean k̂ {mean:.3}");
            assert!((mean - xi).abs() < 0.12, "xi {xi}: k̂ {mean}");
        }
    }

    #[test]
    fn light_tails_pass_and_heavy_tails_fail() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 4000u64;
        let check = |xs: &[f64]| {
            let mut b = BatchSums::default();
            xs.iter()
                .enumerate()
                .for_each(|(i, &x)| b.push(i as u64, x));
            let tail = tail_of(xs);
            let w = whole(&tail, n, n, xs.iter().sum());
            diagnose(None, &[w], &b, false)
        };
        // Exponential contributions: k̂ near 0.
        let light: Vec<f64> = gpd(&mut rng, 0.0, n as usize);
        let d = check(&light);
        assert!(d.reliable, "{d:?}");
        // Pareto with infinite variance (shape 0.9).
        let heavy: Vec<f64> = gpd(&mut rng, 0.9, n as usize);
        let d = check(&heavy);
        assert!(!d.reliable && d.pareto_k.unwrap() > 0.7, "{d:?}");
    }

    #[test]
    fn tail_and_batches_merge_to_one_run() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let xs = gpd(&mut rng, 0.4, 5000);
        let mut whole = (TailSums::default(), BatchSums::default());
        for (i, &x) in xs.iter().enumerate() {
            whole.0.push(x);
            whole.1.push(i as u64, x);
        }
        for cut in [0, 1, 255, 2500, 4999] {
            let mut a = (TailSums::default(), BatchSums::default());
            let mut b = (TailSums::default(), BatchSums::default());
            for (i, &x) in xs.iter().enumerate() {
                let part = if i < cut { &mut a } else { &mut b };
                part.0.push(x);
                part.1.push(i as u64, x);
            }
            a.0.merge(&b.0);
            a.1.merge(&b.1);
            assert_eq!(a.0, whole.0);
            assert_eq!(
                estimate_skewness(&a.1).0.map(f64::to_bits),
                estimate_skewness(&whole.1).0.map(f64::to_bits)
            );
            assert_eq!(a.1.full_means(), whole.1.full_means());
        }
        assert_eq!(whole.1.width(), 128);
        assert_eq!(whole.1.full_means().len(), 39);
    }

    #[test]
    fn skewed_batches_fail() {
        // One sample carries most of the sum: the batch means are skewed.
        let n = 1000u64;
        let mut b = BatchSums::default();
        let mut t = TailSums::default();
        for i in 0..n {
            let x = if i == 500 { 1e3 } else { 1.0 + (i % 7) as f64 };
            b.push(i, x);
            t.push(x);
        }
        let w = whole(&t, n, n, 1e3 + 4.0 * n as f64);
        let d = diagnose(None, &[w], &b, false);
        assert!(d.estimate_skewness.unwrap() > 0.5 && !d.reliable, "{d:?}");
        // Too few samples for 20 batches: not established.
        let mut small = BatchSums::default();
        (0..10).for_each(|i| small.push(i, 1.0));
        let w = whole(&t, 10, 10, 10.0);
        assert!(!diagnose(None, &[w], &small, true).reliable);
    }
}
