//! From trials to numbers: runs the trials of a scenario in parallel and
//! turns their outcomes into per-option estimates with 95% intervals.
//!
//! Plain Monte Carlo: every trial has weight 1. The accumulators take
//! weighted samples, so a rare-event method can feed the same summary.
//!
//! Beside it: [`rare`] (the rare-event estimator of P(object lost)),
//! [`compare`] (paired differences of options under common random numbers)
//! and [`shard`] (parts of a sharded run and their merge).

pub mod compare;
pub mod cost;
pub mod diagnose;
pub mod logical;
pub mod memory;
pub mod rare;
pub mod shard;

use hdrhistogram::Histogram;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine::trials::{Completed, Controls, Merge, run_trials};
use crate::model::System;
use crate::model::failover::AccountOutcome;
use crate::model::world::{OptionOutcome, Plan, TrialOutcome};
use crate::scenario::Scenario;
use crate::stats::{CurveSums, MeanAccumulator, ProbabilityEstimate};
use crate::units;
use compare::PairSums;
use diagnose::{BatchSums, Diagnostics, TailSums};
use rare::{CAUSES, CHECKPOINTS, RareSums, Strata};

/// How to run: trials and threads may override the scenario's.
#[derive(Clone, Copy, Debug)]
pub struct RunConfig {
    pub seed: u64,
    pub trials: u64,
    /// 0 = all cores. Never changes the result.
    pub threads: usize,
    pub method: Method,
}

/// How the per-object loss probability is estimated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The rare-event method of [`crate::estimate::rare`], beside the fleet trials.
    #[default]
    RareEvent,
    /// The rare-event method without strata on site events: episode
    /// splitting and failure biasing alone (the method before issue 19,
    /// kept as a cross-check).
    Unstratified,
    /// Strata on site events with the fast process always simulated, even
    /// where it could be solved exactly (a cross-check).
    Simulated,
    /// Plain Monte Carlo of the fleet only: the cross-check.
    Plain,
}

/// Sums over trials for one option.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
struct OptionSums {
    /// Fraction of the option's extents lost in a trial.
    object_loss: MeanAccumulator,
    /// The same by each checkpoint ([`rare::checkpoint`]).
    #[serde(default)]
    by_checkpoint: CurveSums,
    /// Its tail diagnostics ([`crate::estimate::diagnose`]), by fleet trial.
    #[serde(default)]
    object_tail: TailSums,
    #[serde(default)]
    object_batches: BatchSums,
    /// 1 if any extent was lost in a trial.
    any_loss: MeanAccumulator,
    bytes_lost: MeanAccumulator,
    repair_bytes: MeanAccumulator,
    /// Bytes moved back where their spread rule puts them.
    #[serde(default)]
    rebalance_bytes: MeanAccumulator,
    /// Copy-days a year lost copies waited for a place.
    #[serde(default)]
    blocked_copy_days: MeanAccumulator,
    /// Fraction of extent-time that could not be read / written.
    read_down: MeanAccumulator,
    write_down: MeanAccumulator,
    /// Fraction of the extent-time of data not lost that could not be read.
    #[serde(default)]
    read_down_kept: MeanAccumulator,
    /// Per year: unplanned and planned failovers, bytes lost at failover,
    /// hours without geo-redundancy.
    failovers: MeanAccumulator,
    planned: MeanAccumulator,
    failover_bytes_lost: MeanAccumulator,
    hours_without_geo: MeanAccumulator,
    /// Per unplanned failover, ms; the RTO also of each failover called off
    /// while waiting for access (`AccountOutcome::recoveries`).
    rpo: Spread,
    rto: Spread,
    /// Geo-replication lag over time, ms (weighted by ms of time).
    lag: Spread,
    /// Fraction of extent-time readable but for the customer-managed key;
    /// None without one (and then not in a part, which stays as it was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_down: Option<MeanAccumulator>,
    /// With a key: fraction of extent-time that could not be read, for
    /// want of copies or of the key (the two are disjoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    read_down_with_key: Option<MeanAccumulator>,
    /// Times from a delete to its full erasure, ms, and bytes a year whose
    /// deletes an unplanned failover undid (`[deletion]` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    erasure: Option<Spread>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resurrected: Option<MeanAccumulator>,
    /// P(a logical error beyond recovery) given each trial's lag path
    /// (`[logical]` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    logical_loss: Option<MeanAccumulator>,
    /// With `[access]` only: each completed unplanned failover's wait for
    /// insider access, ms (the failovers of `rto`, so the two sums give the
    /// share of the RTO spent waiting); per year, the hours of insider
    /// access granted and the Lockbox requests denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    approval_wait: Option<Spread>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    granted_hours: Option<MeanAccumulator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    denials: Option<MeanAccumulator>,
    /// Fraction of the option's extents lost through a latent error
    /// (`[latent]` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    latent_loss: Option<MeanAccumulator>,
}

impl OptionSums {
    fn merge(&mut self, b: &Self) {
        self.object_loss.merge(&b.object_loss);
        self.by_checkpoint.merge(&b.by_checkpoint);
        self.object_tail.merge(&b.object_tail);
        self.object_batches.merge(&b.object_batches);
        self.any_loss.merge(&b.any_loss);
        self.bytes_lost.merge(&b.bytes_lost);
        self.repair_bytes.merge(&b.repair_bytes);
        self.rebalance_bytes.merge(&b.rebalance_bytes);
        self.blocked_copy_days.merge(&b.blocked_copy_days);
        self.read_down.merge(&b.read_down);
        self.write_down.merge(&b.write_down);
        self.read_down_kept.merge(&b.read_down_kept);
        self.failovers.merge(&b.failovers);
        self.planned.merge(&b.planned);
        self.failover_bytes_lost.merge(&b.failover_bytes_lost);
        self.hours_without_geo.merge(&b.hours_without_geo);
        self.rpo.merge(&b.rpo);
        self.rto.merge(&b.rto);
        self.lag.merge(&b.lag);
        if let Some(b) = &b.key_down {
            self.key_down.get_or_insert_default().merge(b);
        }
        if let Some(b) = &b.read_down_with_key {
            self.read_down_with_key.get_or_insert_default().merge(b);
        }
        if let Some(b) = &b.erasure {
            self.erasure.get_or_insert_default().merge(b);
        }
        if let Some(b) = &b.resurrected {
            self.resurrected.get_or_insert_default().merge(b);
        }
        if let Some(b) = &b.logical_loss {
            self.logical_loss.get_or_insert_default().merge(b);
        }
        if let Some(b) = &b.approval_wait {
            self.approval_wait.get_or_insert_default().merge(b);
        }
        if let Some(b) = &b.granted_hours {
            self.granted_hours.get_or_insert_default().merge(b);
        }
        if let Some(b) = &b.denials {
            self.denials.get_or_insert_default().merge(b);
        }
        if let Some(b) = &b.latent_loss {
            self.latent_loss.get_or_insert_default().merge(b);
        }
    }

    /// The account-level part of one trial (weight `w`, `extent_us` =
    /// extents × horizon in µs, `years` of horizon).
    fn record_account(&mut self, a: &AccountOutcome, m: &compare::Metrics, w: f64, years: f64) {
        self.read_down.push_weighted(m.read_down, w);
        self.write_down.push_weighted(m.write_down, w);
        if let Some(kept) = m.read_down_kept {
            self.read_down_kept.push_weighted(kept, w);
        }
        let lost: f64 = a.failovers.iter().map(|f| f.bytes_lost).sum();
        self.failovers.push_weighted(m.failovers, w);
        self.planned
            .push_weighted(f64::from(a.planned_failovers) / years, w);
        self.failover_bytes_lost.push_weighted(lost / years, w);
        let hours = a.without_geo as f64 / units::HOUR as f64;
        self.hours_without_geo.push_weighted(hours / years, w);
        for f in &a.failovers {
            self.rpo.record(f.rpo / 1000, 1);
        }
        for rto in a.recoveries().filter_map(|(rto, _)| rto) {
            self.rto.record(rto / 1000, 1);
        }
        for &(lag, ms) in &a.lag {
            self.lag.record(lag, ms);
        }
        if !a.lag.is_empty() {
            self.lag.max = self.lag.max.max(a.lag_max);
        }
    }
}

/// A distribution of non-negative integers (ms): an hdrhistogram with 3
/// significant digits for the quantiles, and the exact count, sum, min and
/// max beside it. It merges exactly and is saved as its non-empty buckets,
/// so shards merge to the bytes of one run.
#[derive(Clone, Debug)]
pub struct Spread {
    hist: Histogram<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Spread {
    fn default() -> Self {
        Self {
            hist: Histogram::new(3).expect("3 significant digits are valid"),
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

impl Spread {
    /// Records `value` `weight` times.
    pub fn record(&mut self, value: u64, weight: u64) {
        if weight == 0 {
            return;
        }
        self.add_to_histogram(value, weight);
        self.count += weight;
        self.sum += u128::from(value) * u128::from(weight);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    pub fn merge(&mut self, other: &Self) {
        for (value, n) in other.buckets() {
            self.add_to_histogram(value, n);
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Records into the histogram, which grows to fit the value (saturating
    /// only if a count would overflow).
    fn add_to_histogram(&mut self, value: u64, n: u64) {
        if self.hist.record_n(value, n).is_err() {
            self.hist.saturating_record_n(value, n);
        }
    }

    /// (highest value of the bucket, count) of every non-empty bucket.
    fn buckets(&self) -> Vec<(u64, u64)> {
        self.hist
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    /// The value at quantile `q`: the low end of its bucket (within 0.1%),
    /// kept within the exact min and max, so a constant is exact.
    fn quantile(&self, q: f64) -> u64 {
        let v = self.hist.value_at_quantile(q);
        self.hist.lowest_equivalent(v).clamp(self.min, self.max)
    }
}

impl PartialEq for Spread {
    fn eq(&self, other: &Self) -> bool {
        (self.count, self.sum, self.min, self.max) == (other.count, other.sum, other.min, other.max)
            && self.buckets() == other.buckets()
    }
}

/// How a `Spread` is saved in a part: exact figures and non-empty buckets.
#[derive(Serialize, Deserialize)]
struct SpreadData {
    count: u64,
    /// The exact sum, as a decimal string (JSON numbers stop at 2^53).
    sum: String,
    min: u64,
    max: u64,
    buckets: Vec<(u64, u64)>,
}

impl Serialize for Spread {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SpreadData {
            count: self.count,
            sum: self.sum.to_string(),
            min: self.min,
            max: self.max,
            buckets: self.buckets(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Spread {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let data = SpreadData::deserialize(d)?;
        // A crafted part must be an error here, not a panic in a quantile.
        let in_buckets = data
            .buckets
            .iter()
            .try_fold(0u64, |total, &(_, n)| total.checked_add(n));
        if in_buckets != Some(data.count) {
            return Err(serde::de::Error::custom(format!(
                "a distribution of {} values whose buckets do not hold as many",
                data.count
            )));
        }
        if data.count > 0 && data.min > data.max {
            return Err(serde::de::Error::custom(format!(
                "a distribution whose min {} exceeds its max {}",
                data.min, data.max
            )));
        }
        let mut spread = Spread {
            count: data.count,
            sum: data.sum.parse().map_err(serde::de::Error::custom)?,
            min: data.min,
            max: data.max,
            ..Spread::default()
        };
        for (value, n) in data.buckets {
            spread.add_to_histogram(value, n);
        }
        Ok(spread)
    }
}

/// Sums over trials for all options, mergeable in trial order: all that a
/// shard must hand to `merge`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RunSums {
    options: Vec<OptionSums>,
    /// Rare-event sums per option (empty under plain Monte Carlo).
    #[serde(default)]
    rare: Vec<RareSums>,
    /// The strata of each option's group trials (planned before the run,
    /// the same in every shard), and whether site events were stratified
    /// (else the method is `unstratified`).
    #[serde(default)]
    strata: Vec<Strata>,
    #[serde(default)]
    stratified: bool,
    /// Strata with the fast process simulated even where it could be
    /// solved exactly (`--method simulated`, a cross-check).
    #[serde(default)]
    simulated: bool,
    events: u64,
    /// Why the first trial (in trial order) that ran out of its budget did:
    /// such a run has no result, only this error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    runaway: Option<String>,
    /// Paired differences of each option from the baseline (compare only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pairs: Vec<PairSums>,
    /// The option differences are taken from, when comparing.
    #[serde(skip)]
    baseline: Option<usize>,
}

impl Merge for RunSums {
    fn merge(&mut self, later: Self) {
        if self.options.is_empty() {
            self.options = vec![OptionSums::default(); later.options.len()];
        }
        for (a, b) in self.options.iter_mut().zip(&later.options) {
            a.merge(b);
        }
        if self.rare.is_empty() {
            self.rare = vec![RareSums::default(); later.rare.len()];
        }
        for (a, b) in self.rare.iter_mut().zip(later.rare) {
            a.merge(b);
        }
        if self.strata.is_empty() {
            self.strata = later.strata;
        }
        self.stratified |= later.stratified;
        self.simulated |= later.simulated;
        self.events += later.events;
        // Merged in trial order: the earliest runaway is kept.
        self.runaway = self.runaway.take().or(later.runaway);
        self.baseline = self.baseline.or(later.baseline);
        if self.pairs.is_empty() {
            self.pairs = vec![PairSums::default(); later.pairs.len()];
        }
        for (a, b) in self.pairs.iter_mut().zip(&later.pairs) {
            a.merge(b);
        }
    }
}

impl RunSums {
    /// Empty sums that also record each option's paired differences from
    /// option `baseline`, trial by trial.
    pub fn with_baseline(baseline: usize) -> Self {
        Self {
            baseline: Some(baseline),
            ..Self::default()
        }
    }

    fn record(&mut self, system: &System, t: u64, outcome: &TrialOutcome) {
        if self.options.is_empty() {
            self.options = vec![OptionSums::default(); outcome.options.len()];
        }
        let years = units::years(system.horizon.max(1));
        let w = outcome.weight;
        let metrics: Vec<compare::Metrics> = outcome
            .options
            .iter()
            .enumerate()
            .map(|(k, o)| compare::Metrics::of(system, k, o))
            .collect();
        for ((sums, o), m) in self.options.iter_mut().zip(&outcome.options).zip(&metrics) {
            let any = if o.lost_extents > 0 { 1.0 } else { 0.0 };
            sums.object_loss.push_weighted(m.object_loss, w);
            sums.object_tail.push(m.object_loss * w);
            sums.object_batches.push(t, m.object_loss * w);
            sums.record_by_checkpoint(system, o, w);
            sums.any_loss.push_weighted(any, w);
            sums.bytes_lost.push_weighted(m.bytes_lost, w);
            sums.repair_bytes.push_weighted(m.repair_bytes, w);
            sums.rebalance_bytes.push_weighted(m.rebalance_bytes, w);
            sums.blocked_copy_days.push_weighted(m.blocked_copy_days, w);
            sums.record_account(&o.account, m, w, years);
            if system.keys.is_some() {
                sums.key_down
                    .get_or_insert_default()
                    .push_weighted(m.key_down, w);
                sums.read_down_with_key
                    .get_or_insert_default()
                    .push_weighted((m.read_down + m.key_down).min(1.0), w);
            }
            if let Some(d) = &system.deletion {
                sums.record_deletion(d, o, w, years);
            }
            if let Some(p) = m.logical_loss {
                sums.logical_loss
                    .get_or_insert_default()
                    .push_weighted(p, w);
            }
            if let Some(access) = m.access {
                sums.record_access(&o.account, access, w);
            }
            if let Some(latent) = m.latent_loss {
                sums.latent_loss
                    .get_or_insert_default()
                    .push_weighted(latent, w);
            }
        }
        if let Some(b) = self.baseline {
            self.pairs.resize(metrics.len(), PairSums::default());
            for (pair, m) in self.pairs.iter_mut().zip(&metrics) {
                pair.record_fleet(m, &metrics[b]);
            }
        }
        self.events += outcome.events;
        if self.runaway.is_none() {
            self.runaway.clone_from(&outcome.runaway);
        }
    }

    /// The rare-event group trials that go with fleet trial `t`, combined
    /// per option over its strata into one sample ([`rare::fleet_trial_groups`]);
    /// a comparison pairs the options' samples of the same fleet trial.
    fn record_groups(&mut self, plan: &Plan, rare: &rare::RarePlan, t: u64) {
        let options = plan.system.options.len();
        self.rare.resize(options, RareSums::default());
        let trials: Vec<rare::GroupTrial> = (0..options)
            .map(|k| rare::fleet_trial_groups(plan, rare, k, t))
            .collect();
        for (k, (sums, trial)) in self.rare.iter_mut().zip(&trials).enumerate() {
            sums.record(t, trial, rare.strata_of(k), plan.system.latent.is_some());
        }
        if let Some(b) = self.baseline {
            self.pairs.resize(options, PairSums::default());
            for (pair, trial) in self.pairs.iter_mut().zip(&trials) {
                pair.record_group(trial, &trials[b]);
            }
        }
    }
}

impl OptionSums {
    /// The erasure times of a trial's deletes, and the deletes its
    /// unplanned failovers undid: the delete rate times each failover's
    /// data-loss window (deletes are writes after the Last Sync Time).
    fn record_deletion(
        &mut self,
        d: &crate::model::Deletion,
        o: &OptionOutcome,
        w: f64,
        years: f64,
    ) {
        let erasure = self.erasure.get_or_insert_default();
        for &(ms, n) in &o.erasure {
            erasure.record(ms, n);
        }
        let window_s: f64 = o.account.failovers.iter().map(|f| f.rpo as f64 / 1e6).sum();
        self.resurrected
            .get_or_insert_default()
            .push_weighted(d.bytes_per_s * window_s / years, w);
    }

    /// The Lockbox figures of a trial (`[access]`): the wait for insider
    /// access of each recovery that completed (as `rto` records it), the
    /// hours granted and the requests denied per year (`m`, computed once
    /// in compare::Metrics for the summary and the pairs).
    fn record_access(&mut self, a: &AccountOutcome, m: compare::AccessFigures, w: f64) {
        let wait = self.approval_wait.get_or_insert_default();
        for (_, waited) in a.recoveries().filter(|(rto, _)| rto.is_some()) {
            wait.record(waited / 1000, 1);
        }
        self.granted_hours
            .get_or_insert_default()
            .push_weighted(m.granted_hours, w);
        self.denials
            .get_or_insert_default()
            .push_weighted(m.denials, w);
    }

    /// The fraction of extents lost by each checkpoint of the horizon; the
    /// last counts every loss, so it equals `object_loss`'s sample.
    fn record_by_checkpoint(&mut self, system: &System, o: &OptionOutcome, w: f64) {
        let mut lost = [0u32; CHECKPOINTS];
        for &(at, n) in &o.losses {
            lost[rare::checkpoint(at, system.horizon)] += n;
        }
        let mut by_then = 0;
        let measured = f64::from(system.extents.saturating_sub(o.retired).max(1));
        let curve = lost.map(|n| {
            by_then += n;
            f64::from(by_then) / measured * w
        });
        self.by_checkpoint.push(&curve);
    }
}

/// A mean with its 95% interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mean {
    pub mean: f64,
    pub ci95: [f64; 2],
}

impl Mean {
    /// Nothing measured: every trial gave zero.
    pub fn is_zero(&self) -> bool {
        self.mean == 0.0 && self.ci95 == [0.0, 0.0]
    }
}

impl From<&MeanAccumulator> for Mean {
    fn from(acc: &MeanAccumulator) -> Self {
        Self::scaled(acc, 1.0)
    }
}

impl Mean {
    /// The mean of `acc` times `factor`, with its interval.
    fn scaled(acc: &MeanAccumulator, factor: f64) -> Self {
        let ci = acc.ci95();
        Self {
            mean: acc.mean() * factor,
            ci95: [ci.lo * factor, ci.hi * factor],
        }
    }
}

/// Durability of one option over the horizon.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Durability {
    /// Probability that a given extent (object) is lost: the expected
    /// fraction of extents lost, Azure's "durability of objects".
    pub loss_probability: f64,
    pub ci95: [f64; 2],
    /// −log10 of `loss_probability` (of the upper bound when no loss was seen).
    pub nines: f64,
    /// Nines of the interval's ends: [from the upper end, from the lower
    /// end]; the second is null (unbounded) when the lower end is 0.
    pub nines_ci95: [Option<f64>; 2],
    /// Half-width of the interval over the estimate; null when no loss was seen.
    pub relative_error: Option<f64>,
    /// True when no trial lost data: the interval's upper end is then an
    /// exact Clopper–Pearson bound and `nines` is an "at least" figure.
    pub upper_bound_only: bool,
    /// How `loss_probability` was estimated.
    pub method: &'static str,
    /// Samples behind `loss_probability`: fleet trials, each with its
    /// group trials (the scenario's `group_trials`) combined into one
    /// sample under the rare-event method.
    pub samples: u64,
    /// Samples with a nonzero contribution.
    pub samples_with_loss: u64,
    /// Kish effective sample size of the nonzero contributions.
    pub effective_sample_size: f64,
    /// The largest single contribution's share of the estimate.
    pub max_weight_share: f64,
    /// Whether the tail diagnostics passed, so that `ci95` may be read as a
    /// 95% interval; when false the interval is printed as unreliable,
    /// `--rel-error` does not stop on it and `check` does not count it.
    pub reliable: bool,
    /// The tail diagnostics ([`crate::estimate::diagnose`]).
    pub diagnostics: Diagnostics,
    /// Fleet trials that lost data.
    pub trials_with_loss: u64,
    /// Probability that any of the option's data is lost (fleet trials).
    pub any_loss_probability: f64,
    pub any_loss_ci95: [f64; 2],
    /// Expected bytes lost over the horizon.
    pub bytes_lost: Mean,
    /// P(object lost) by cause (rare-event method only): the widest site
    /// event that destroyed a copy of the extent before its loss.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_cause: Vec<CauseEstimate>,
    /// The strata on site events (rare-event method with site processes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strata: Option<StrataSummary>,
}

/// P(object lost) from losses of one cause.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CauseEstimate {
    /// `hardware` (no site event took a copy: disks, nodes, racks), `site`
    /// (a facility or zone did, no region) or `region`.
    pub cause: &'static str,
    pub loss_probability: f64,
    pub ci95: [f64; 2],
}

/// How the group trials were stratified on site events.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StrataSummary {
    /// Expected site events (facility, zone, region destructions) in the
    /// option's regions over the horizon: their number K is Poisson.
    pub mean_site_events: f64,
    /// Per stratum K = k, k = 0..=k_max: [P(K = k), group trials per fleet trial].
    pub strata: Vec<(f64, u32)>,
    /// P(K > k_max): the strata left out lose at most this much; it is
    /// added to the upper end of the interval.
    pub tail_bound: f64,
}

const RARE_EVENT: &str = "rare-event (site-event strata, episode splitting, failure biasing)";
const UNSTRATIFIED: &str = "rare-event (episode splitting, failure biasing)";
const RARE_EXACT: &str = "rare-event (site-event strata, fast process solved exactly)";
const RARE_HEADLINE: &str = "rare-event: site-event strata; per option, the fast process solved exactly or by episode splitting and failure biasing";
const PLAIN: &str = "plain Monte Carlo";

impl Durability {
    /// From the fleet trials, and the rare-event sums (with their strata)
    /// when there are any with a path to loss.
    fn new(
        sums: &OptionSums,
        rare: Option<&RareSums>,
        strata: Option<&Strata>,
        stratified: bool,
        system: &System,
    ) -> Self {
        let rare = rare.filter(|r| r.loss.nonzero() > 0);
        let rare_name = match strata {
            _ if !stratified => UNSTRATIFIED,
            Some(s) if s.exact => RARE_EXACT,
            _ => RARE_EVENT,
        };
        let (acc, method) = match rare {
            Some(r) => (&r.loss, rare_name),
            None => (&sums.object_loss, PLAIN),
        };
        let tail = rare.and(strata).map_or(0.0, |s| s.tail);
        let rounding = match rare.and(strata) {
            Some(s) if s.exact => rare::exact_rounding(rare::Window::of(system)),
            _ => 0.0,
        };
        let single = Strata::single(1);
        let diagnostics = match rare {
            Some(r) => {
                let strata = strata.unwrap_or(&single);
                let inputs = r.tail_inputs(strata);
                let fleet = (inputs.len() > 1).then(|| r.fleet_input());
                diagnose::diagnose(fleet, &inputs, &r.batches, false)
            }
            None => {
                let total = acc.mean() * acc.count() as f64;
                let whole = diagnose::whole(&sums.object_tail, acc.count(), acc.nonzero(), total);
                diagnose::diagnose(None, &[whole], &sums.object_batches, true)
            }
        };
        let object = with_tail(ProbabilityEstimate::from_accumulator(acc), tail, rounding);
        let any = ProbabilityEstimate::from_accumulator(&sums.any_loss);
        let any_ci95 = any_loss_bound(
            &any,
            &object,
            rare.is_some() && diagnostics.reliable,
            system,
        );
        let by_cause = rare.map_or_else(Vec::new, |r| {
            r.by_cause
                .iter()
                .zip(CAUSES)
                .map(|(acc, cause)| {
                    let ci = acc.ci95();
                    CauseEstimate {
                        cause,
                        loss_probability: acc.mean().clamp(0.0, 1.0),
                        ci95: [ci.lo.clamp(0.0, 1.0), ci.hi.clamp(0.0, 1.0)],
                    }
                })
                .collect()
        });
        let strata = rare
            .and(strata)
            .filter(|s| s.processes != 0)
            .map(|s| StrataSummary {
                mean_site_events: s.mean_events,
                strata: s
                    .weights
                    .iter()
                    .copied()
                    .zip(s.slots.iter().copied())
                    .collect(),
                tail_bound: s.tail,
            });
        let bytes_lost = match rare {
            Some(r) => Mean::scaled(
                &r.loss,
                f64::from(system.extents) * system.extent_bytes as f64,
            ),
            None => Mean::from(&sums.bytes_lost),
        };
        Self {
            loss_probability: object.estimate,
            ci95: object.ci95,
            nines: object.nines,
            nines_ci95: object.nines_ci95,
            relative_error: object.relative_error,
            upper_bound_only: object.upper_bound_only,
            method,
            samples: acc.count(),
            samples_with_loss: acc.nonzero(),
            effective_sample_size: acc.effective_sample_size(),
            max_weight_share: acc.max_share(),
            reliable: diagnostics.reliable,
            diagnostics,
            trials_with_loss: sums.any_loss.nonzero(),
            any_loss_probability: any.estimate,
            any_loss_ci95: any_ci95,
            bytes_lost,
            by_cause,
            strata,
        }
    }
}

/// The interval of P(any loss): the fleet trials', unless none of them lost
/// data and the rare-event estimate is vouched for; then the smaller upper
/// end of the fleet trials' exact bound and the union bound, N extents
/// times P(object lost)'s upper end (P(any loss) ≤ Σ P(extent lost) =
/// N·P(object lost), the rare-event method's extent being a uniform one).
/// Each upper end is one-sided at 97.5%, so the smaller is at 95%
/// (Bonferroni). The union is tight where losses are independent across
/// extents (disk failures) and loose by the size of a class of extents
/// that a site event takes together.
fn any_loss_bound(
    any: &ProbabilityEstimate,
    object: &ProbabilityEstimate,
    vouched: bool,
    system: &System,
) -> [f64; 2] {
    if any.observed > 0 || !vouched {
        return any.ci95;
    }
    let union = (f64::from(system.extents) * object.ci95[1]).min(1.0);
    [0.0, any.ci95[1].min(union)]
}

/// `p` with `tail` (a bound on what the estimate leaves out) added to its
/// upper end and the interval widened by `rounding` of the estimate (the
/// exact solver's rounding bound), with the ends' nines and the relative
/// error to match.
fn with_tail(mut p: ProbabilityEstimate, tail: f64, rounding: f64) -> ProbabilityEstimate {
    if (tail > 0.0 || rounding > 0.0) && !p.upper_bound_only {
        let slack = rounding * p.estimate;
        p.ci95[1] = (p.ci95[1] + tail + slack).min(1.0);
        p.ci95[0] = (p.ci95[0] - slack).max(0.0);
        p.nines_ci95[0] = Some(crate::stats::nines(p.ci95[1]).min(p.nines));
        p.nines_ci95[1] = (p.ci95[0] > 0.0).then(|| crate::stats::nines(p.ci95[0]));
        if p.estimate > 0.0 {
            let half = (p.ci95[1] - p.estimate).max(p.estimate - p.ci95[0]);
            p.relative_error = Some(half / p.estimate);
        }
    }
    p
}

/// One point of the P(loss by t) curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HorizonPoint {
    pub years: f64,
    pub loss_probability: f64,
    pub ci95: [f64; 2],
}

/// The curve from the accumulators the durability estimate used.
fn loss_by_horizon(
    sums: &OptionSums,
    rare: Option<&RareSums>,
    tail: f64,
    rounding: f64,
    system: &System,
) -> Vec<HorizonPoint> {
    let curve = match rare.filter(|r| r.loss.nonzero() > 0) {
        Some(r) => &r.by_checkpoint,
        None => &sums.by_checkpoint,
    };
    (0..curve.len())
        .map(|c| {
            let point = ProbabilityEstimate::from_accumulator(&curve.point(c));
            let p = with_tail(point, tail, rounding);
            let at = system.horizon as f64 * (c + 1) as f64 / CHECKPOINTS as f64;
            HorizonPoint {
                years: at / units::YEAR as f64,
                loss_probability: p.estimate,
                ci95: p.ci95,
            }
        })
        .collect()
}

/// Minutes in a year of 365.25 days.
pub const MINUTES_PER_YEAR: f64 = 525_960.0;

/// Availability of reads or writes: the expected fraction of time a given
/// extent (object) can be served.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AvailabilityFigure {
    pub fraction: f64,
    pub ci95: [f64; 2],
    /// −log10 of the unavailable fraction; null when nothing was unavailable.
    pub nines: Option<f64>,
    pub unavailable_minutes_per_year: f64,
}

impl AvailabilityFigure {
    fn new(down: &MeanAccumulator) -> Self {
        let mean = down.mean().clamp(0.0, 1.0);
        let ci = down.ci95();
        Self {
            fraction: 1.0 - mean,
            ci95: [1.0 - ci.hi.min(1.0), 1.0 - ci.lo.max(0.0)],
            nines: (mean > 0.0).then(|| -mean.log10()),
            unavailable_minutes_per_year: mean * MINUTES_PER_YEAR,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Availability {
    pub read: AvailabilityFigure,
    pub write: AvailabilityFigure,
    /// Reads of the data not lost: the time an extent could not be read,
    /// over the time it still existed (a lost extent leaves both from its
    /// loss on). Equal to `read` when nothing was lost; far above it when
    /// a disaster lost data (docs/scenario.md, availability).
    pub read_of_kept_data: AvailabilityFigure,
}

/// A distribution in seconds: count, mean and quantiles (3 significant
/// digits, within the exact min and max).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Distribution {
    /// Samples (failovers); absent for a time-weighted distribution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
    #[serde(rename = "p99.9")]
    pub p99_9: f64,
    pub max: f64,
    /// [quantile, seconds] at [`CDF_QUANTILES`]: enough to draw the CDF.
    pub quantiles: Vec<[f64; 2]>,
}

/// Where a distribution's CDF is sampled: dense in the tail, where
/// recovery objectives are read.
pub const CDF_QUANTILES: [f64; 16] = [
    0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0,
];

impl Distribution {
    /// From a spread of ms (of samples when `counted`, else weighted by
    /// time); None when empty.
    fn new(s: &Spread, counted: bool) -> Option<Self> {
        if s.count == 0 {
            return None;
        }
        let seconds = |ms: u64| ms as f64 / 1000.0;
        Some(Self {
            count: counted.then_some(s.count),
            mean: s.sum as f64 / s.count as f64 / 1000.0,
            p50: seconds(s.quantile(0.5)),
            p99: seconds(s.quantile(0.99)),
            p99_9: seconds(s.quantile(0.999)),
            max: seconds(s.max),
            quantiles: CDF_QUANTILES
                .iter()
                .map(|&q| [q, seconds(s.quantile(q))])
                .collect(),
        })
    }
}

/// Failovers of an option with a secondary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailoverSummary {
    /// Unplanned failovers (customer or provider) per year.
    pub count_per_year: f64,
    pub count_per_year_ci95: [f64; 2],
    /// Planned failovers (drills and failbacks) per year.
    pub planned_per_year: f64,
    /// Data-loss window of each unplanned failover; null without one.
    pub rpo_seconds: Option<Distribution>,
    /// From the primary becoming unwritable to writable again, over the
    /// unplanned failovers and (`[access]`) the failovers called off while
    /// waiting for approval, whose RTO is the outage's.
    pub rto_seconds: Option<Distribution>,
    /// Recent writes lost at failovers, per year.
    pub bytes_lost_per_year: Mean,
    /// Time after unplanned failovers until geo-redundancy is back.
    pub hours_without_geo_redundancy_per_year: Mean,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GeoReplicationSummary {
    /// Lag of the secondary over time (time-weighted), while geo-redundant.
    pub lag_seconds: Option<Distribution>,
    /// Geo-redundant time the lag was observed over, summed over trials.
    pub years_observed: f64,
}

/// What a customer-managed key does to one option.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeySummary {
    /// Minutes a year a given extent was intact and could be read but for
    /// the key (the vault unreachable past storage's cached key).
    pub unreadable_minutes_per_year: Mean,
    /// Read availability counting both: an extent unreadable for want of
    /// its copies or of the key (`availability.read` counts the copies
    /// only).
    pub read_with_key: AvailabilityFigure,
    /// P(the key is lost within the horizon), 1 − e^(−qT): exact, the same
    /// for every option (one key for all copies).
    pub key_loss_probability: f64,
    /// P(object lost) counting the key's loss: 1 − (1 − p)(1 − k), the key
    /// lost independently of the copies; interval from durability's.
    pub loss_probability: f64,
    pub ci95: [f64; 2],
    /// −log10 of it (of its upper end when no copy loss was seen).
    pub nines: f64,
    /// From deleting the key on purpose to the data being beyond anyone's
    /// reading (crypto-shredding).
    pub crypto_shred_days: f64,
}

impl KeySummary {
    fn new(keys: &crate::model::KeyPolicy, s: &OptionSums, d: &Durability, horizon: u64) -> Self {
        let k = keys.loss_probability(horizon);
        // p + k − pk: no cancellation when both are tiny.
        let with_key = |p: f64| p + k - p * k;
        let down = s.key_down.clone().unwrap_or_default();
        let read_for_nines = if d.upper_bound_only {
            d.ci95[1]
        } else {
            d.loss_probability
        };
        let read_down = s.read_down_with_key.clone().unwrap_or_default();
        Self {
            unreadable_minutes_per_year: Mean::scaled(&down, MINUTES_PER_YEAR),
            read_with_key: AvailabilityFigure::new(&read_down),
            key_loss_probability: k,
            loss_probability: with_key(d.loss_probability),
            ci95: d.ci95.map(with_key),
            nines: crate::stats::finite_nines(with_key(read_for_nines)),
            crypto_shred_days: keys.crypto_shred() as f64 / units::DAY as f64,
        }
    }
}

/// What happens to deleted data under one option.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeletionSummary {
    /// From a delete to no readable remnant on any copy (soft-delete
    /// retention included), over the hourly probes; its `quantiles` are
    /// P(remnant after t) read the other way. Null without a probe.
    pub erasure_seconds: Option<Distribution>,
    /// Deleted bytes brought back per year by unplanned failovers (deletes
    /// after the Last Sync Time, lost with the writes).
    pub resurrected_bytes_per_year: Mean,
}

/// Support-assisted recovery under Customer Lockbox (`[access]`) for an
/// option with a secondary: what the customer's control costs the
/// recovery, and how much insider access it lets in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccessSummary {
    /// Σ (wait for insider access) / Σ RTO over the recoveries of `rto`
    /// that completed within the horizon (failovers, and failovers called
    /// off when the primary served again): the share of the recovery time
    /// spent on requests, approvals and retries after denials; null when
    /// none completed (or every RTO was 0). No interval, as the RTO's
    /// statistics have none.
    pub approval_wait_share: Option<f64>,
    /// The wait of each of those recoveries; null without one.
    pub approval_wait_seconds: Option<Distribution>,
    /// Hours of just-in-time insider access granted per year: the sum of
    /// the grants' lengths (each whole, even past the horizon) over the
    /// horizon in years.
    pub granted_hours_per_year: Mean,
    /// Lockbox requests the customer denied, per year.
    pub denials_per_year: Mean,
}

/// Latent sector errors and one option (`[latent]`): the part of
/// P(object lost) through an undetected error on the copy (or fragment)
/// a failure had left critical, by the method of `durability` (the
/// rare-event method's checks, or the fleet trials').
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LatentSummary {
    /// P(object lost through a latent error): the expected fraction of
    /// extents lost that way, part of `durability.loss_probability`.
    pub loss_probability: f64,
    pub ci95: [f64; 2],
    /// Its share of every loss (0 when nothing was lost).
    pub share_of_loss: f64,
    /// P(a slot holds an undetected error) at a random time between
    /// scrubs; null without scrubbing (it grows with the slot's age).
    pub undetected_probability: Option<f64>,
}

impl LatentSummary {
    /// From `rare` when the durability is the rare-event method's (its
    /// latent part, of its estimate), else from the fleet trials `s`.
    fn new(
        latent: &crate::model::Latent,
        slot_bytes: f64,
        s: &OptionSums,
        rare: Option<&RareSums>,
        durability: &Durability,
    ) -> Self {
        let from_rare = rare.filter(|_| durability.method != PLAIN);
        let sums = match from_rare {
            Some(r) => r.latent.clone(),
            None => s.latent_loss.clone(),
        }
        .unwrap_or_default();
        let l = sums.mean();
        let ci = sums.ci95();
        let all = durability.loss_probability;
        Self {
            loss_probability: l,
            ci95: [ci.lo.clamp(0.0, 1.0), ci.hi.clamp(0.0, 1.0)],
            share_of_loss: if all > 0.0 { (l / all).min(1.0) } else { 0.0 },
            undetected_probability: latent
                .scrub_interval
                .map(|_| latent.undetected(slot_bytes, 0)),
        }
    }
}

/// Results for one replication option.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OptionSummary {
    pub option: String,
    pub copies: u32,
    pub trials: u64,
    pub durability: Durability,
    /// P(object lost by t) at t = horizon·c/20, c = 1..20, by the same
    /// method as `durability`: the last point is its estimate.
    pub loss_by_horizon: Vec<HorizonPoint>,
    /// Bytes re-replicated over the horizon.
    pub repair_bytes: Mean,
    /// Bytes of copies moved back where their group's spread rule puts
    /// them, once a return made room (rebalancing); left out when none.
    #[serde(skip_serializing_if = "Mean::is_zero")]
    pub rebalance_bytes: Mean,
    /// Copy-days a year that lost copies waited for a place to be
    /// re-created (no usable disk kept their placement rule: their
    /// region's places destroyed or down); left out when none did.
    #[serde(skip_serializing_if = "Mean::is_zero")]
    pub blocked_copy_days: Mean,
    pub availability: Availability,
    /// Only for options with a secondary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geo_replication: Option<GeoReplicationSummary>,
    /// Only with customer-managed keys (`[keys]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<KeySummary>,
    /// Only with a deletion workload (`[deletion]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion: Option<DeletionSummary>,
    /// Only with logical errors (`[logical]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logical: Option<logical::LogicalSummary>,
    /// Only with `[access]`, for options with a secondary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessSummary>,
    /// Only with latent sector errors (`[latent]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latent: Option<LatentSummary>,
    /// Notes on how far the numbers can be trusted.
    pub warnings: Vec<String>,
}

/// Results of a run: everything `summary.json` holds. It carries no timing
/// or host detail, so the same scenario and seed give the same bytes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub trials: u64,
    pub horizon_years: f64,
    /// Simulated before the horizon (a fleet in operation); 0: a new fleet.
    pub warmup_years: f64,
    pub method: &'static str,
    pub extents: u32,
    pub extent_bytes: u64,
    pub disks: u32,
    pub events: u64,
    pub options: Vec<OptionSummary>,
    /// Set when the run was interrupted: `trials` then counts those done.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// The `--rel-error` rule, when the run used one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopping: Option<StoppingRule>,
    /// The scenario's doubtful values (`scenario::plausible`), "field:
    /// why", as printed before the run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Run until every option's 95% interval is within `rel_error` of its
/// estimate, or `max_trials`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct StoppingRule {
    pub rel_error: f64,
    pub max_trials: u64,
    /// Whether the target was reached (else the budget ran out).
    pub met: bool,
}

impl StoppingRule {
    /// Whether `summary` meets the target for every option.
    pub fn holds(&self, summary: &Summary) -> bool {
        summary.options.iter().all(|o| {
            let d = &o.durability;
            !d.upper_bound_only
                && d.reliable
                && d.relative_error.is_some_and(|r| r <= self.rel_error)
        })
    }
}

/// Runs the scenario's trials and summarizes them.
pub fn estimate(scenario: &Scenario, config: RunConfig) -> Result<Summary, String> {
    let run = simulate(scenario, config, 0..config.trials, &Controls::default())?;
    Ok(summarize(scenario, config, &run.acc))
}

/// Runs trials `range` of the scenario (a whole run, or one shard of it).
pub fn simulate(
    scenario: &Scenario,
    config: RunConfig,
    range: std::ops::Range<u64>,
    controls: &Controls<'_, RunSums>,
) -> Result<Completed<RunSums>, String> {
    simulate_from(scenario, config, range, controls, RunSums::default)
}

/// As [`simulate`], also recording every option's paired differences from
/// option `baseline` (for [`crate::estimate::compare`]).
pub fn simulate_paired(
    scenario: &Scenario,
    config: RunConfig,
    baseline: usize,
    controls: &Controls<'_, RunSums>,
) -> Result<Completed<RunSums>, String> {
    let fresh = || RunSums::with_baseline(baseline);
    simulate_from(scenario, config, 0..config.trials, controls, fresh)
}

fn simulate_from(
    scenario: &Scenario,
    config: RunConfig,
    range: std::ops::Range<u64>,
    controls: &Controls<'_, RunSums>,
    fresh: impl Fn() -> RunSums + Sync,
) -> Result<Completed<RunSums>, String> {
    let system = &scenario.system;
    let mut plan = Plan::new(system, config.seed)?;
    plan.budget.stop = controls.stop;
    if let Some(t) = controls.trial_time {
        plan.budget.max_time = t;
    }
    let approach = match config.method {
        Method::Plain => None,
        Method::Unstratified => Some(rare::Approach::Unstratified),
        Method::Simulated => Some(rare::Approach::Simulated),
        Method::RareEvent => Some(rare::Approach::Exact),
    };
    let rare_plan = match approach {
        Some(a) => Some(rare::RarePlan::new(
            &plan,
            a,
            config.threads,
            scenario.group_trials,
        )?),
        None => None,
    };
    let record = |t, acc: &mut RunSums| {
        acc.record(system, t, &plan.run_trial(t));
        if let Some(r) = &rare_plan {
            acc.record_groups(&plan, r, t);
        }
    };
    let mut done = run_trials(range, config.threads, fresh, record, controls)
        .map_err(|e| format!("cannot start worker threads: {e}"))?;
    if let Some(why) = &done.acc.runaway {
        return Err(format!("{}: {why}", scenario.file));
    }
    done.acc.strata = rare_plan.map_or_else(Vec::new, |r| r.strata());
    done.acc.stratified = matches!(config.method, Method::RareEvent | Method::Simulated);
    done.acc.simulated = config.method == Method::Simulated;
    Ok(done)
}

/// Turns the sums of `config.trials` trials into the summary. Fewer trials
/// in `sums` than `config.trials` mark the summary partial.
pub fn summarize(scenario: &Scenario, config: RunConfig, sums: &RunSums) -> Summary {
    let system = &scenario.system;
    let done = sums.trials();
    let options = system
        .options
        .iter()
        .zip(&sums.options)
        .enumerate()
        .map(|(k, (option, s))| {
            let strata = sums.strata.get(k);
            let durability = Durability::new(s, sums.rare.get(k), strata, sums.stratified, system);
            let tail = durability.strata.as_ref().map_or(0.0, |t| t.tail_bound);
            let rounding = match strata {
                Some(t) if t.exact && durability.method != PLAIN => {
                    rare::exact_rounding(rare::Window::of(system))
                }
                _ => 0.0,
            };
            let loss_by_horizon = loss_by_horizon(s, sums.rare.get(k), tail, rounding, system);
            let geo = option.groups.len() > 1;
            let keys = system
                .keys
                .as_ref()
                .map(|keys| KeySummary::new(keys, s, &durability, system.horizon));
            let logical = system.logical.as_ref().map(|_| {
                let sums = s.logical_loss.clone().unwrap_or_default();
                logical::LogicalSummary::new(&sums, &durability)
            });
            let latent = system.latent.as_ref().map(|l| {
                let bytes = option.slot_bytes(system.extent_bytes);
                LatentSummary::new(l, bytes, s, sums.rare.get(k), &durability)
            });
            OptionSummary {
                option: option.name.clone(),
                copies: option.copies(),
                trials: s.object_loss.count(),
                warnings: warnings(&durability, config.method),
                durability,
                loss_by_horizon,
                repair_bytes: Mean::from(&s.repair_bytes),
                rebalance_bytes: Mean::from(&s.rebalance_bytes),
                blocked_copy_days: Mean::from(&s.blocked_copy_days),
                availability: Availability {
                    read: AvailabilityFigure::new(&s.read_down),
                    write: AvailabilityFigure::new(&s.write_down),
                    read_of_kept_data: AvailabilityFigure::new(&s.read_down_kept),
                },
                failover: geo.then(|| failover_summary(s)),
                geo_replication: geo.then(|| GeoReplicationSummary {
                    lag_seconds: Distribution::new(&s.lag, false),
                    years_observed: s.lag.count as f64 / (units::YEAR / 1000) as f64,
                }),
                keys,
                deletion: system.deletion.as_ref().map(|_| deletion_summary(s)),
                logical,
                access: system
                    .access
                    .as_ref()
                    .is_some_and(|a| a.covers(k))
                    .then(|| access_summary(s)),
                latent,
            }
        })
        .collect();
    Summary {
        scenario: scenario.name.clone(),
        seed: config.seed,
        trials: done,
        horizon_years: units::years(system.horizon),
        warmup_years: units::years(system.warmup),
        method: match sums.method() {
            Method::RareEvent => RARE_HEADLINE,
            Method::Simulated => RARE_EVENT,
            Method::Unstratified => UNSTRATIFIED,
            Method::Plain => PLAIN,
        },
        extents: system.extents,
        extent_bytes: system.extent_bytes,
        disks: system.topology.disks(),
        events: sums.events,
        options,
        partial: done < config.trials,
        stopping: None,
        warnings: scenario
            .warnings
            .iter()
            .map(|(field, why)| format!("{field}: {why}"))
            .collect(),
    }
}

fn deletion_summary(s: &OptionSums) -> DeletionSummary {
    let none = Mean {
        mean: 0.0,
        ci95: [0.0, 0.0],
    };
    DeletionSummary {
        erasure_seconds: s.erasure.as_ref().and_then(|e| Distribution::new(e, true)),
        resurrected_bytes_per_year: s.resurrected.as_ref().map_or(none, Mean::from),
    }
}

fn access_summary(s: &OptionSums) -> AccessSummary {
    let (no_wait, none) = (Spread::default(), MeanAccumulator::default());
    let wait = s.approval_wait.as_ref().unwrap_or(&no_wait);
    let per_year = |acc: &Option<MeanAccumulator>| Mean::from(acc.as_ref().unwrap_or(&none));
    AccessSummary {
        // Both sums over the same failovers, in whole ms: wait ≤ RTO.
        approval_wait_share: (s.rto.sum > 0).then(|| wait.sum as f64 / s.rto.sum as f64),
        approval_wait_seconds: Distribution::new(wait, true),
        granted_hours_per_year: per_year(&s.granted_hours),
        denials_per_year: per_year(&s.denials),
    }
}

fn failover_summary(s: &OptionSums) -> FailoverSummary {
    let count = Mean::from(&s.failovers);
    FailoverSummary {
        count_per_year: count.mean,
        count_per_year_ci95: count.ci95,
        planned_per_year: s.planned.mean(),
        rpo_seconds: Distribution::new(&s.rpo, true),
        rto_seconds: Distribution::new(&s.rto, true),
        bytes_lost_per_year: Mean::from(&s.failover_bytes_lost),
        hours_without_geo_redundancy_per_year: Mean::from(&s.hours_without_geo),
    }
}

impl RunSums {
    /// For [`compare`]: option `k`'s samples of `metric`, the baseline's and
    /// their paired differences. P(object lost) and bytes lost come from
    /// the group trials when either option's did see a loss (as its
    /// durability does), else from the fleet trials. None unless recorded
    /// with a baseline.
    pub fn paired_samples(
        &self,
        k: usize,
        metric: compare::Metric,
        system: &System,
    ) -> Option<compare::Paired<'_>> {
        use compare::Metric as M;
        let (b, pair) = (self.baseline?, self.pairs.get(k)?);
        let (own, base) = (self.options.get(k)?, self.options.get(b)?);
        let rare = match (self.rare.get(k), self.rare.get(b)) {
            (Some(r), Some(rb)) if r.loss.nonzero() + rb.loss.nonzero() > 0 => Some((r, rb)),
            _ => None,
        };
        let fleet = |f: fn(&OptionSums) -> &MeanAccumulator, d, factor| compare::Paired {
            own: f(own),
            baseline: f(base),
            differences: d,
            factor,
            paired_by: "fleet trial",
        };
        let all_bytes = f64::from(system.extents) * system.extent_bytes as f64;
        Some(match (metric, rare) {
            (M::ObjectLoss | M::BytesLost, Some((r, rb))) => compare::Paired {
                own: &r.loss,
                baseline: &rb.loss,
                differences: &pair.rare_loss,
                factor: if metric == M::BytesLost {
                    all_bytes
                } else {
                    1.0
                },
                paired_by: "group trial",
            },
            (M::ObjectLoss, None) => fleet(|s| &s.object_loss, &pair.object_loss, 1.0),
            (M::BytesLost, None) => fleet(|s| &s.bytes_lost, &pair.bytes_lost, 1.0),
            (M::ReadDown, _) => fleet(|s| &s.read_down, &pair.read_down, MINUTES_PER_YEAR),
            (M::WriteDown, _) => fleet(|s| &s.write_down, &pair.write_down, MINUTES_PER_YEAR),
            (M::Failovers, _) => fleet(|s| &s.failovers, &pair.failovers, 1.0),
            (M::RepairBytes, _) => fleet(|s| &s.repair_bytes, &pair.repair_bytes, 1.0),
            (M::LogicalLoss, _) => compare::Paired {
                own: own.logical_loss.as_ref()?,
                baseline: base.logical_loss.as_ref()?,
                differences: &pair.logical_loss,
                factor: 1.0,
                paired_by: "fleet trial",
            },
            (M::GrantedHours, _) => compare::Paired {
                own: own.granted_hours.as_ref()?,
                baseline: base.granted_hours.as_ref()?,
                differences: &pair.granted_hours,
                factor: 1.0,
                paired_by: "fleet trial",
            },
            (M::Denials, _) => compare::Paired {
                own: own.denials.as_ref()?,
                baseline: base.denials.as_ref()?,
                differences: &pair.denials,
                factor: 1.0,
                paired_by: "fleet trial",
            },
            // A ratio of sums over the run's failovers: no per-trial sample.
            (M::ApprovalWaitShare, _) => return None,
        })
    }

    /// The method these sums were made with.
    pub fn method(&self) -> Method {
        if self.rare.is_empty() {
            Method::Plain
        } else if self.simulated {
            Method::Simulated
        } else if self.stratified {
            Method::RareEvent
        } else {
            Method::Unstratified
        }
    }

    /// Whether these sums can be those of `trials` trials (or fewer: an
    /// interrupted run) of `system`: one set per option, as many trials in
    /// each, rare-event and paired sums for every option or none. Sums read
    /// from a file are checked so, and a mismatch is an error rather than
    /// options silently left out.
    pub fn check_fits(&self, system: &System, trials: u64) -> Result<(), String> {
        let n = system.options.len();
        let per_option = |what: &str, len: usize, optional: bool| {
            if len == n || (optional && len == 0) {
                Ok(())
            } else {
                Err(format!(
                    "the sums hold {what} for {len} option(s), the scenario has {n}"
                ))
            }
        };
        per_option("fleet figures", self.options.len(), false)?;
        per_option("rare-event figures", self.rare.len(), true)?;
        per_option("paired differences", self.pairs.len(), true)?;
        let done = self.trials();
        if done > trials {
            return Err(format!("the sums hold {done} trials of a run of {trials}"));
        }
        if let Some(o) = self.options.iter().find(|o| o.object_loss.count() != done) {
            return Err(format!(
                "the options' sums hold different numbers of trials ({} and {done})",
                o.object_loss.count()
            ));
        }
        Ok(())
    }

    /// Trials recorded.
    pub fn trials(&self) -> u64 {
        self.options.first().map_or(0, |o| o.object_loss.count())
    }

    /// The running estimate of P(object lost) for option `k`, for progress
    /// displays.
    pub fn object_loss(&self, k: usize) -> Option<(u64, f64)> {
        self.options
            .get(k)
            .map(|o| (o.object_loss.count(), o.object_loss.mean()))
    }
}

/// Fewer than this many trials with a loss make a normal interval unreliable.
const FEW_LOSSES: u64 = 10;

/// Below this effective sample size a rare-event interval is doubtful.
const SMALL_ESS: f64 = 30.0;
/// Above this share one contribution dominates the estimate.
const DOMINANT_SHARE: f64 = 0.2;

fn warnings(d: &Durability, method: Method) -> Vec<String> {
    let mut out = Vec::new();
    if method != Method::Plain && d.method == PLAIN {
        out.push(
            "durability is plain Monte Carlo: the rare-event method found no path to loss".into(),
        );
    }
    let seen = d.samples_with_loss;
    if seen == 0 {
        out.push(
            "no loss observed: the figures are an upper bound on P(loss) and a lower bound on nines"
                .to_string(),
        );
    } else if d.method == PLAIN && seen < FEW_LOSSES {
        out.push(format!(
            "only {seen} trials lost data: the interval is approximate; run more trials"
        ));
    }
    if d.method != PLAIN && d.effective_sample_size < SMALL_ESS {
        out.push(format!(
            "effective sample size {:.0} is small: the interval may be too narrow; run more trials",
            d.effective_sample_size
        ));
    }
    if d.method != PLAIN && d.max_weight_share > DOMINANT_SHARE {
        out.push(format!(
            "one sample carries {:.0}% of the estimate: run more trials",
            100.0 * d.max_weight_share
        ));
    }
    for why in &d.diagnostics.failed {
        out.push(format!(
            "the 95% interval is UNRELIABLE: {why}; run more trials"
        ));
    }
    out
}
