//! From trials to numbers: runs the trials of a scenario in parallel and
//! turns their outcomes into per-option estimates with 95% intervals.
//!
//! Plain Monte Carlo: every trial has weight 1. The accumulators take
//! weighted samples, so a rare-event method can feed the same summary.

use serde::{Deserialize, Serialize};

use crate::engine::RunEnd;
use crate::engine::trials::{Completed, Controls, Merge, run_trials};
use crate::model::System;
use crate::model::world::{Plan, TrialOutcome};
use crate::scenario::Scenario;
use crate::stats::{MeanAccumulator, ProbabilityEstimate};
use crate::units;

/// How to run: trials and threads may override the scenario's.
#[derive(Clone, Copy, Debug)]
pub struct RunConfig {
    pub seed: u64,
    pub trials: u64,
    /// 0 = all cores. Never changes the result.
    pub threads: usize,
}

/// Sums over trials for one option.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
struct OptionSums {
    /// Fraction of the option's extents lost in a trial.
    object_loss: MeanAccumulator,
    /// 1 if any extent was lost in a trial.
    any_loss: MeanAccumulator,
    bytes_lost: MeanAccumulator,
    repair_bytes: MeanAccumulator,
}

/// Sums over trials for all options, mergeable in trial order: all that a
/// shard must hand to `merge`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RunSums {
    options: Vec<OptionSums>,
    events: u64,
    /// Trials cut short by the event budget.
    truncated: u64,
}

impl Merge for RunSums {
    fn merge(&mut self, later: Self) {
        if self.options.is_empty() {
            self.options = vec![OptionSums::default(); later.options.len()];
        }
        for (a, b) in self.options.iter_mut().zip(&later.options) {
            a.object_loss.merge(&b.object_loss);
            a.any_loss.merge(&b.any_loss);
            a.bytes_lost.merge(&b.bytes_lost);
            a.repair_bytes.merge(&b.repair_bytes);
        }
        self.events += later.events;
        self.truncated += later.truncated;
    }
}

impl RunSums {
    fn record(&mut self, system: &System, outcome: &TrialOutcome) {
        if self.options.is_empty() {
            self.options = vec![OptionSums::default(); outcome.options.len()];
        }
        let extent_bytes = system.extent_bytes as f64;
        let w = outcome.weight;
        for (sums, o) in self.options.iter_mut().zip(&outcome.options) {
            let lost = f64::from(o.lost_extents);
            let any = if o.lost_extents > 0 { 1.0 } else { 0.0 };
            sums.object_loss
                .push_weighted(lost / f64::from(system.extents), w);
            sums.any_loss.push_weighted(any, w);
            sums.bytes_lost.push_weighted(lost * extent_bytes, w);
            sums.repair_bytes
                .push_weighted(o.copies_repaired as f64 * extent_bytes, w);
        }
        self.events += outcome.events;
        self.truncated += u64::from(outcome.end == RunEnd::Budget);
    }
}

/// A mean with its 95% interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mean {
    pub mean: f64,
    pub ci95: [f64; 2],
}

impl From<&MeanAccumulator> for Mean {
    fn from(acc: &MeanAccumulator) -> Self {
        let ci = acc.ci95();
        Self {
            mean: acc.mean(),
            ci95: [ci.lo, ci.hi],
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
    pub trials_with_loss: u64,
    /// Probability that any of the option's data is lost.
    pub any_loss_probability: f64,
    pub any_loss_ci95: [f64; 2],
    /// Expected bytes lost over the horizon.
    pub bytes_lost: Mean,
}

impl Durability {
    fn new(sums: &OptionSums) -> Self {
        let object = ProbabilityEstimate::from_accumulator(&sums.object_loss);
        let any = ProbabilityEstimate::from_accumulator(&sums.any_loss);
        Self {
            loss_probability: object.estimate,
            ci95: object.ci95,
            nines: object.nines,
            nines_ci95: object.nines_ci95,
            relative_error: object.relative_error,
            upper_bound_only: object.upper_bound_only,
            trials_with_loss: object.observed,
            any_loss_probability: any.estimate,
            any_loss_ci95: any.ci95,
            bytes_lost: Mean::from(&sums.bytes_lost),
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
    /// Bytes re-replicated over the horizon.
    pub repair_bytes: Mean,
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
    pub method: &'static str,
    pub extents: u32,
    pub extent_bytes: u64,
    pub disks: u32,
    pub events: u64,
    pub options: Vec<OptionSummary>,
    /// Set when the run was interrupted: `trials` then counts those done.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
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
    let system = &scenario.system;
    let plan = Plan::new(system, config.seed)?;
    let record = |t, acc: &mut RunSums| acc.record(system, &plan.run_trial(t));
    run_trials(range, config.threads, RunSums::default, record, controls)
        .map_err(|e| format!("cannot start worker threads: {e}"))
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
        .map(|(option, s)| OptionSummary {
            option: option.name.clone(),
            copies: option.copies(),
            trials: s.object_loss.count(),
            durability: Durability::new(s),
            repair_bytes: Mean::from(&s.repair_bytes),
            warnings: warnings(s, sums.truncated),
        })
        .collect();
    Summary {
        scenario: scenario.name.clone(),
        seed: config.seed,
        trials: done,
        horizon_years: units::years(system.horizon),
        method: "plain Monte Carlo",
        extents: system.extents,
        extent_bytes: system.extent_bytes,
        disks: system.topology.disks(),
        events: sums.events,
        options,
        partial: done < config.trials,
    }
}

impl RunSums {
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

fn warnings(sums: &OptionSums, truncated: u64) -> Vec<String> {
    let mut out = Vec::new();
    let seen = sums.object_loss.nonzero();
    if seen == 0 {
        out.push(
            "no loss observed: the figures are an upper bound on P(loss) and a lower bound on nines"
                .to_string(),
        );
    } else if seen < FEW_LOSSES {
        out.push(format!(
            "only {seen} trials lost data: the interval is approximate; run more trials"
        ));
    }
    if truncated > 0 {
        out.push(format!(
            "{truncated} trials hit the event budget and were cut short"
        ));
    }
    out
}
