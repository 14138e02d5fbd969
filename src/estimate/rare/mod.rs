//! Rare-event estimation of the probability that a placement group (an
//! object's extent) is lost within the horizon, for any lifetime and repair
//! distributions. Method (docs/method.md has the derivation and references):
//!
//! 1. **Strata on site events.** The destructions of facilities, zones and
//!    regions with exponential lifetimes (rare, 1e-6 to 1e-2 a year) are not
//!    left to chance: the number K of them that strike the option's regions
//!    in the horizon is Poisson with exact weights π_k, and each group trial
//!    is drawn in a stratum K = k (event times as sorted uniforms, targets
//!    in proportion to their rates) and scripted into the group
//!    ([`Group::with_script`]), with the scenario's `[[fault]]`
//!    destructions. The group trials that go with a fleet trial
//!    (`group_trials`, 32 unless the scenario says otherwise) are
//!    allocated over strata 0..=k_max by a deterministic pilot (half
//!    Neyman, ∝ π_k·σ_k, half ∝ π_k·mean_k: [`defensive_effort`]), and
//!    P(K > k_max) bounds what is left out. One fleet
//!    trial's group trials give one sample Σ_j (π_k/c_k)·y_j, unbiased for
//!    P(loss), i.i.d. across fleet trials.
//! 2. **Episodes.** A loss can only happen inside a degraded episode (some
//!    copy destroyed by a failure clock is missing) or at a scripted
//!    destruction. The group's main path is simulated under the true law;
//!    its first clock failure is *forced* into the horizon when all clocks
//!    are memoryless, with its probability as weight; with a script, that
//!    probability comes from the failure-free future of the path, whose own
//!    losses are counted exactly, and the forced time leans towards the
//!    stretches the script leaves degraded (a defensive mixture).
//! 3. **Splitting at episode starts.** At each episode start the state is
//!    cloned into a sub-run that estimates γ = P(loss before the episode
//!    ends) by importance sampling; the main path then goes on under the
//!    true law. P(loss by T) = E[w₀ · Σ γ̂ over episodes + losses at
//!    scripted destructions outside episodes], exactly, and each likelihood
//!    ratio spans one episode only, so it does not degenerate.
//! 4. **Failure biasing** inside a sub-run: the hazard of each clock
//!    holding a live copy is scaled so that, before the next repair
//!    completes, some failure happens with probability FAILURE_PROBABILITY;
//!    that budget is split half evenly among the clocks (balanced failure
//!    biasing) and half in proportion to their true hazards (a defensive
//!    mixture that bounds the weights of paths made of common failures).

mod exact;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::engine::trials::{Merge, trial_rng};
use crate::estimate::diagnose::{BatchSums, TailSums};
use crate::model::group::{Clock, Group, Scripted, StepEnd};
use crate::model::world::Plan;
use crate::model::{BurstSize, FaultKind, Level, Repair, Scope, System};
use crate::stats::{CurveSums, MAX_ABS_SAMPLE, MeanAccumulator};
use crate::units::Micros;

/// Importance-sampled sub-runs per episode start: measured on the default
/// scenario, one gives the smallest error for the work.
pub const RUNS_PER_EPISODE: u32 = 1;
/// Probability of some failure before the next repair, in a degraded state,
/// under the biased law. On the content of scenarios/exact.toml, with the
/// budget shared evenly, 0.85 beat 0.7 and 0.5 on relative error (2,000
/// trials, 2 seeds); 0.8 was kept when the proportional half was added,
/// without a new sweep.
const FAILURE_PROBABILITY: f64 = 0.8;
/// Random-stream purposes of the rare-event method: one per option (keyed
/// by its twin, [`Plan::twins`]), apart from the fleet simulation's.
const PURPOSE_BASE: u32 = 3072;
/// Safety cap on steps in one path.
const MAX_STEPS: u64 = 1_000_000;
/// Points of the P(loss by t) curve: t = horizon·(c+1)/CHECKPOINTS.
pub const CHECKPOINTS: usize = 20;
/// Pilot group trials per stratum, for the allocation: at 128 the pilot of
/// a GZRS stratum (a region, then a datacenter of the other region within
/// its re-protection) saw too few losses, gave it 1 slot of 32 while it
/// carried 99.9% of the estimate, and the interval failed its diagnostics.
const PILOT_TRIALS: u64 = 1024;
/// Strata the pilot may keep, whatever `group_trials` allows: each costs
/// PILOT_TRIALS group trials, and with site events at their rates of 1e-6
/// to 1e-2 a year the strata past a few weigh nothing (what is left out is
/// the tail bound).
const MAX_STRATA: usize = 32;
/// First trial index of the pilot: far above any real group trial.
const PILOT_BASE: u64 = 1 << 62;
/// Strata beyond k_max are left out once P(K > k_max) is below this share
/// of the pilot's estimate.
const TAIL_SHARE: f64 = 1e-3;
/// Above this many expected site events in the horizon, site events are
/// not rare: they stay failure clocks.
const MAX_MEAN_EVENTS: f64 = 2.0;
/// At or above this P(loss) in the crude pilot (stratum 0, no failure
/// biasing), loss by the fast process is not rare, and failure biasing
/// only fattens the tail of the likelihood ratios: 9 copies needing 6 at
/// an exact 0.549 gave 36 of 60 seeds flagged unreliable with it, the
/// rest low by 4% on average (docs/method.md, "When loss is not rare").
const NOT_RARE: f64 = 0.01;
/// The crude pilot's trial indices: past every stratum's pilot.
const CRUDE_PILOT: u64 = PILOT_BASE + (1 << 40);
/// Loss causes, by the widest site event that took a copy before the loss.
pub const CAUSES: [&str; 3] = ["hardware", "site", "region"];

/// The first checkpoint at or after a loss at `at`: (c+1)·horizon/C ≥ at.
pub fn checkpoint(at: Micros, horizon: Micros) -> usize {
    let scaled = u128::from(at) * CHECKPOINTS as u128;
    let c = scaled.div_ceil(u128::from(horizon.max(1))) as usize;
    c.saturating_sub(1).min(CHECKPOINTS - 1)
}

/// The last µs that counts towards checkpoint `c`: ⌊(c+1)·horizon/C⌋.
pub fn checkpoint_end(c: usize, horizon: Micros) -> Micros {
    (u128::from(horizon) * (c as u128 + 1) / CHECKPOINTS as u128) as Micros
}

/// The life of a group trial: it lives through the warm-up (`start`, as the
/// fleet does) and then the measured horizon; a loss counts only from
/// `start` on, towards the checkpoints of the horizon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: Micros,
    pub horizon: Micros,
}

impl Window {
    pub fn of(system: &System) -> Self {
        Self {
            start: system.warmup,
            horizon: system.horizon,
        }
    }

    /// The end of the trial: warm-up and horizon.
    pub fn end(self) -> Micros {
        self.start.saturating_add(self.horizon)
    }

    /// The checkpoint a loss at `at` counts towards; None during the warm-up.
    fn checkpoint(self, at: Micros) -> Option<usize> {
        Some(checkpoint(at.checked_sub(self.start)?, self.horizon))
    }

    /// The simulated time of the end of checkpoint `c`.
    fn checkpoint_end(self, c: usize) -> Micros {
        self.start.saturating_add(checkpoint_end(c, self.horizon))
    }
}

/// The cause class of a loss after site destructions up to `touched`.
fn cause(touched: Option<Level>) -> usize {
    match touched {
        None => 0,
        Some(Level::Region) => 2,
        Some(_) => 1,
    }
}

/// What one group trial (or one fleet trial's group trials together)
/// produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupTrial {
    /// Unbiased estimate of P(loss by the horizon) from this trial.
    pub estimate: f64,
    /// Unbiased estimates of P(loss by checkpoint c) ([`checkpoint`]); the
    /// last is `estimate`, summed in the same order, so equal to the bit.
    pub by_checkpoint: [f64; CHECKPOINTS],
    /// The estimate split by cause ([`CAUSES`]).
    pub by_cause: [f64; 3],
    /// The part of the estimate through latent-error checks (`[latent]`).
    pub latent: f64,
    pub episodes: u64,
    pub steps: u64,
    /// One fleet trial's group trials: each one's own estimate y (of
    /// P(loss | its stratum)), for the tail diagnostics (empty for one
    /// group trial alone).
    pub parts: Vec<f64>,
}

impl GroupTrial {
    /// Adds contribution `w` of a loss at `at` after site destructions up
    /// to `touched`, if it falls in the measured horizon of `window`.
    fn add(&mut self, w: f64, at: Micros, touched: Option<Level>, window: Window) {
        let Some(c) = window.checkpoint(at) else {
            return;
        };
        for v in &mut self.by_checkpoint[c..] {
            *v += w;
        }
        self.by_cause[cause(touched)] += w;
    }

    /// [`GroupTrial::add`] for a loss the group counted as a probability
    /// ([`Group::take_conditional_losses`]): `latent` if through a
    /// latent-error check.
    fn add_conditional(
        &mut self,
        w: f64,
        at: Micros,
        touched: Option<Level>,
        latent: bool,
        window: Window,
    ) {
        if latent && window.checkpoint(at).is_some() {
            self.latent += w;
        }
        self.add(w, at, touched, window);
    }

    /// Adds `other` times `factor` (one group trial into a fleet trial's).
    fn add_scaled(&mut self, other: &GroupTrial, factor: f64) {
        for (a, b) in self.by_checkpoint.iter_mut().zip(&other.by_checkpoint) {
            *a += factor * b;
        }
        for (a, b) in self.by_cause.iter_mut().zip(&other.by_cause) {
            *a += factor * b;
        }
        self.latent += factor * other.latent;
        self.episodes += other.episodes;
        self.steps += other.steps;
        self.estimate = self.by_checkpoint[CHECKPOINTS - 1];
    }
}

/// The strata of one option: which failure processes are stratified, the
/// Poisson weights of the strata kept and their share of the group trials.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Strata {
    /// Failure processes whose events are drawn by stratum, by bit.
    pub processes: u32,
    /// Expected number of their events in the option's regions over the
    /// horizon: K is Poisson with this mean.
    pub mean_events: f64,
    /// π_k = P(K = k) for the strata kept, k = 0..=k_max.
    pub weights: Vec<f64>,
    /// Group trials of stratum k per fleet trial (they sum to the
    /// scenario's `group_trials`).
    pub slots: Vec<u32>,
    /// P(K > k_max): the paths left out lose at most this much.
    pub tail: f64,
    /// Whether the fast process between site events is solved exactly
    /// ([`exact`]) rather than simulated.
    #[serde(default)]
    pub exact: bool,
    /// When solved exactly, per stratum a bound on a group trial's
    /// estimate: a probability times a likelihood ratio of at most
    /// [`MAX_SCRIPT_RATIO`] (stratum 0 without scripted faults gives the
    /// same number every time). Empty when there is none.
    #[serde(default)]
    pub bounds: Vec<f64>,
}

/// A bound on the relative rounding of the exact solver ([`exact`]), by
/// which the reported interval is widened when it is used. The solver
/// carries the distribution by products of exp(Q·h), whose row sums are 1
/// to within an ulp: over N grid steps the mass (and so the loss
/// probability) drifts by about N·ε, in one direction. Measured against an
/// independent uniformization (`markov`) on scenarios/exact.toml: 4.8e-9 low
/// for one year (N = 3.0e7), 1.09e-8 for a warm-up year and the horizon
/// (N = 6.0e7), about 0.8·N·ε; the bound is 4·N·ε.
pub fn exact_rounding(window: Window) -> f64 {
    exact::grid_steps(window.end()) as f64 * 4.0 * f64::EPSILON
}

/// The largest likelihood ratio of a script: two defensive mixtures, each
/// at most 2 (half of each is the true law).
const MAX_SCRIPT_RATIO: f64 = 4.0;

impl Strata {
    /// One stratum holding everything, of `slots` group trials per fleet
    /// trial: no site event is stratified.
    pub fn single(slots: u32) -> Self {
        Self {
            processes: 0,
            mean_events: 0.0,
            weights: vec![1.0],
            slots: vec![slots],
            tail: 0.0,
            exact: false,
            bounds: Vec::new(),
        }
    }

    /// The stratum of group trial slot `j` of a fleet trial.
    fn stratum_of(&self, j: u64) -> usize {
        let mut end = 0u64;
        for (k, &c) in self.slots.iter().enumerate() {
            end += u64::from(c);
            if j < end {
                return k;
            }
        }
        self.slots.len() - 1
    }
}

/// A site component that can be struck: failure process, level, index, rate
/// (per µs) and replacement delay.
#[derive(Clone, Copy, Debug)]
struct Target {
    level: Level,
    component: u32,
    rate: f64,
    replace: Micros,
    /// A burst process's: strikes a random subset of the `level`
    /// components below `component` of this level.
    subset: Option<(Level, BurstSize)>,
}

impl Target {
    /// The level of the component a target's event falls on.
    fn scope(&self) -> Level {
        self.subset.map_or(self.level, |(within, _)| within)
    }
}

/// What a group trial needs of its option's strata: the targets of the
/// stratified processes with their cumulative rates.
struct Sampler {
    targets: Vec<Target>,
    cumulative: Vec<f64>,
    /// The scenario's scripted destructions, in every trial.
    faults: Vec<Scripted>,
    processes: u32,
    /// Whether the destroying `[[burst]]` processes are among the targets
    /// (else a group trial draws them under their true law).
    bursts: bool,
}

/// The site processes (facility, zone, region) with exponential lifetimes
/// and a positive rate, by bit.
fn site_processes(system: &System) -> u32 {
    system
        .failures
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            p.level <= Level::Facility && p.lifetime.exponential_rate().is_some_and(|r| r > 0.0)
        })
        .fold(0, |m, (i, _)| m | 1 << i)
}

impl Sampler {
    fn new(system: &System, k: usize, processes: u32, bursts: bool) -> Self {
        let topo = &system.topology;
        let mut regions: Vec<u32> = system.options[k].groups.iter().map(|g| g.region).collect();
        regions.sort_unstable();
        regions.dedup();
        let mut targets = Vec::new();
        for (p, process) in system.failures.iter().enumerate() {
            if processes & (1 << p) == 0 {
                continue;
            }
            let rate = process.lifetime.exponential_rate().unwrap_or(0.0);
            for &r in &regions {
                for c in topo.components_within(Level::Region, r, process.level) {
                    targets.push(Target {
                        level: process.level,
                        component: c,
                        rate,
                        replace: process.replace,
                        subset: None,
                    });
                }
            }
        }
        for p in system.bursts.iter().filter(|_| bursts) {
            let FaultKind::Destroyed { replace } = p.kind else {
                continue;
            };
            for &r in &regions {
                for c in topo.components_within(Level::Region, r, p.scope) {
                    targets.push(Target {
                        level: p.level,
                        component: c,
                        rate: p.rate_per_us(),
                        replace,
                        subset: Some((p.scope, p.size)),
                    });
                }
            }
        }
        let mut total = 0.0;
        let cumulative = targets
            .iter()
            .map(|t| {
                total += t.rate;
                total
            })
            .collect();
        let faults = system
            .faults
            .iter()
            .filter_map(|f| match (f.kind, f.scope) {
                // Scripted times count from the end of the warm-up.
                (FaultKind::Destroyed { replace }, Scope::Component(level)) => Some(Scripted {
                    at: system.warmup.saturating_add(f.at),
                    level,
                    component: f.component,
                    replace,
                    subset: f.subset.map(|s| (s.within, s.size)),
                }),
                _ => None,
            })
            .collect();
        Self {
            targets,
            cumulative,
            faults,
            processes,
            bursts,
        }
    }

    fn total_rate(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    /// The script of a trial of stratum `k` for the extent on `disks`: k
    /// site events and the scripted faults, with the likelihood ratio of
    /// how they were drawn. Under the true law given K = k the times are
    /// i.i.d. uniform over the horizon and the targets i.i.d. in proportion
    /// to their rates. They are drawn from a defensive mixture instead, since
    /// losses need site events that strike the extent's copies, close
    /// together: half that law; the rest split between *leaning* targets
    /// (each event strikes a component holding copies that no earlier one
    /// struck, by [`lean_masses`]; once none is left, in proportion to
    /// rate) at uniform times, leaning targets with all k
    /// times within a window w, and leaning targets with a pair of events
    /// i ≠ j within w of each other (on the circle of the horizon, so that
    /// the density is exact; i and j strike first, or i first and j last,
    /// by [`lean_order`] or [`lean_order_last`]), w from a ladder of
    /// `scale`/10·4^j. The ratio is at most 2.
    fn script(
        &self,
        k: usize,
        horizon: Micros,
        disks: &[u32],
        system: &System,
        scale: Micros,
        rng: &mut ChaCha8Rng,
    ) -> (Vec<Scripted>, f64) {
        let mut script = self.faults.clone();
        if k == 0 {
            return (script, 1.0);
        }
        let t = horizon as f64;
        let ladder: Vec<f64> = (0..)
            .map(|j| scale as f64 / 10.0 * 4f64.powi(j))
            .take_while(|&w| w < t / 2.0)
            .collect();
        let topo = &system.topology;
        let held: Vec<f64> = self
            .targets
            .iter()
            .map(|t| {
                let n = disks
                    .iter()
                    .filter(|&&d| topo.ancestor(d, t.scope()) == t.component);
                n.count() as f64
            })
            .collect();
        let lean = lean_masses(&self.targets, &held);
        let lean_total: f64 = lean.iter().sum();
        let can_lean = lean_total > 0.0;
        let cluster = !ladder.is_empty() && k >= 2;
        let pair = cluster && k >= 3;
        let weights = match (can_lean, cluster, pair) {
            (false, _, _) => [1.0, 0.0, 0.0, 0.0],
            (true, false, _) => [0.5, 0.5, 0.0, 0.0],
            (true, true, false) => [0.5, 0.25, 0.25, 0.0],
            (true, true, true) => [0.5, 0.125, 0.125, 0.25],
        };
        let u: f64 = if weights[0] < 1.0 { rng.random() } else { 0.0 };
        let component = if u < weights[0] {
            0
        } else if u < weights[0] + weights[1] {
            1
        } else if u < weights[0] + weights[1] + weights[2] {
            2
        } else {
            3
        };
        let mut times: Vec<f64> = match component {
            2 => {
                let w = ladder[rng.random_range(0..ladder.len())];
                let a = rng.random::<f64>() * (t - w);
                (0..k).map(|_| a + rng.random::<f64>() * w).collect()
            }
            _ => (0..k).map(|_| rng.random::<f64>() * t).collect(),
        };
        let mut order: Vec<usize> = (0..k).collect();
        if component == 3 {
            let w = ladder[rng.random_range(0..ladder.len())];
            let i = rng.random_range(0..k);
            let j = (i + 1 + rng.random_range(0..k - 1)) % k;
            times[j] = (times[i] + (2.0 * rng.random::<f64>() - 1.0) * w).rem_euclid(t);
            order = if rng.random::<bool>() {
                lean_order(k, i, j)
            } else {
                lean_order_last(k, i, j)
            };
        }
        let total = self.total_rate();
        let mut chosen = vec![0usize; k];
        if component == 0 {
            for c in &mut chosen {
                let pick = rng.random::<f64>() * total;
                *c = self
                    .cumulative
                    .partition_point(|&x| x <= pick)
                    .min(self.targets.len() - 1);
            }
        } else {
            let mut struck = vec![false; self.targets.len()];
            for &e in &order {
                // Summed afresh each time: what rounding leaves of a running
                // difference once every holding target is struck is not 0.
                let left = unstruck_mass(&lean, &struck);
                let i = if left > 0.0 {
                    let mut pick = rng.random::<f64>() * left;
                    let mut at = 0;
                    for i in 0..self.targets.len() {
                        let m = if struck[i] { 0.0 } else { lean[i] };
                        if m <= 0.0 {
                            continue;
                        }
                        at = i;
                        if pick < m {
                            break;
                        }
                        pick -= m;
                    }
                    at
                } else {
                    let pick = rng.random::<f64>() * total;
                    self.cumulative
                        .partition_point(|&x| x <= pick)
                        .min(self.targets.len() - 1)
                };
                struck[i] = true;
                chosen[e] = i;
            }
        }
        // The mixture's density over the true law's, at what was drawn.
        let lean = |order: &[usize]| self.lean_over_true(order, &chosen, &lean);
        let mut q = weights[0];
        if weights[1] > 0.0 {
            q += weights[1] * lean(&(0..k).collect::<Vec<_>>());
        }
        if weights[2] > 0.0 {
            let (lo, hi) = times
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            // q_w/p = (T/w)^k · |{a : all times in [a, a+w)}| / (T − w).
            let all_q: f64 = ladder
                .iter()
                .map(|&w| {
                    let room = (lo.min(t - w) - (hi - w).max(0.0)).max(0.0);
                    (k as f64 * (t / w).ln()).exp() * room / (t - w)
                })
                .sum::<f64>()
                / ladder.len() as f64;
            if all_q > 0.0 {
                q += weights[2] * all_q * lean(&(0..k).collect::<Vec<_>>());
            }
        }
        if weights[3] > 0.0 {
            // An ordered pair (i, j) chosen uniformly, j within w of i:
            // q/p = T/(2w)·1{close} × the lean of the order (i, j, others).
            let mut pair_q = 0.0;
            for i in 0..k {
                for j in 0..k {
                    if i == j {
                        continue;
                    }
                    let d = (times[i] - times[j]).abs();
                    let d = d.min(t - d);
                    let near: f64 = ladder
                        .iter()
                        .map(|&w| if d < w { t / (2.0 * w) } else { 0.0 })
                        .sum::<f64>()
                        / ladder.len() as f64;
                    if near > 0.0 {
                        let orders = lean(&lean_order(k, i, j)) + lean(&lean_order_last(k, i, j));
                        pair_q += near * 0.5 * orders;
                    }
                }
            }
            q += weights[3] * pair_q / (k * (k - 1)) as f64;
        }
        for (e, &at) in times.iter().enumerate() {
            let target = self.targets[chosen[e]];
            script.push(Scripted {
                at: (at as Micros).min(horizon.saturating_sub(1)),
                level: target.level,
                component: target.component,
                replace: target.replace,
                subset: target.subset,
            });
        }
        (script, 1.0 / q)
    }

    /// The leaning law's chance of the targets `chosen` (struck in the
    /// order of events `order`) over the true law's.
    fn lean_over_true(&self, order: &[usize], chosen: &[usize], lean: &[f64]) -> f64 {
        let total = self.total_rate();
        let mut struck = vec![false; self.targets.len()];
        let mut ratio = 1.0;
        for &e in order {
            let i = chosen[e];
            let p = self.targets[i].rate / total;
            let left = unstruck_mass(lean, &struck);
            if left > 0.0 {
                let m = if struck[i] { 0.0 } else { lean[i] };
                if m <= 0.0 {
                    return 0.0;
                }
                ratio *= m / left / p;
            }
            struck[i] = true;
        }
        ratio
    }
}

/// The leaning law's mass of each target (they sum to 1 when any target
/// holds a copy): half in proportion to rate × copies held, half spread
/// evenly over the targets holding copies. The even half is what samples a
/// rare but wide event (a region, 1e-6 a year, holding every copy) as often
/// as a common narrow one (a datacenter, 1e-3); by rate alone it came once
/// in 1,500 site events, and a pilot of 128 trials per stratum missed it.
fn lean_masses(targets: &[Target], held: &[f64]) -> Vec<f64> {
    let by_rate: f64 = targets.iter().zip(held).map(|(t, h)| t.rate * h).sum();
    let holding = held.iter().filter(|&&h| h > 0.0).count() as f64;
    if by_rate <= 0.0 {
        return vec![0.0; targets.len()];
    }
    targets
        .iter()
        .zip(held)
        .map(|(t, &h)| {
            if h > 0.0 {
                0.5 * t.rate * h / by_rate + 0.5 / holding
            } else {
                0.0
            }
        })
        .collect()
}

/// The leaning mass of the targets not struck yet.
fn unstruck_mass(lean: &[f64], struck: &[bool]) -> f64 {
    lean.iter()
        .zip(struck)
        .filter(|&(_, &s)| !s)
        .map(|(m, _)| m)
        .sum()
}

/// Events i, j first, then the others in index order.
fn lean_order(k: usize, i: usize, j: usize) -> Vec<usize> {
    let mut order = vec![i, j];
    order.extend((0..k).filter(|&e| e != i && e != j));
    order
}

/// Event i first, then the others in index order, j last: once i and the
/// others have struck the components holding copies, j (close to i) strikes
/// by rate. It is how a pair is drawn where the second event of the pair
/// strikes where the copies were re-created after an earlier event, not
/// where they were placed (scenarios/grs.toml, K = 3: the secondary
/// facility lost, its copies rebuilt next door, then the primary facility
/// and that neighbour within hours; by [`lean_order`] alone it came once in
/// 4,000 trials and was 36% of the stratum's sum; with this order the
/// largest contribution is 11% of it, among a cluster of like values).
fn lean_order_last(k: usize, i: usize, j: usize) -> Vec<usize> {
    let mut order = vec![i];
    order.extend((0..k).filter(|&e| e != i && e != j));
    order.push(j);
    order
}

/// Poisson(m) probabilities of 0..=k, and P(K > k).
fn poisson(m: f64, k: usize) -> (Vec<f64>, f64) {
    let mut p = vec![(-m).exp()];
    for j in 1..=k {
        let last = p[j - 1];
        p.push(last * m / j as f64);
    }
    let mut term = p[k];
    let mut tail = 0.0;
    let mut j = k + 1;
    loop {
        term *= m / j as f64;
        tail += term;
        if term <= 1e-17 * tail || term == 0.0 {
            break;
        }
        j += 1;
    }
    (p, tail)
}

/// How the group trials of a run are drawn: per option its strata, the
/// sampler of their site events and, when the fast process is Markovian,
/// its exact solver.
pub struct RarePlan {
    options: Vec<OptionPlan>,
    /// Group trials per option that go with each fleet trial: tying them
    /// to the trial index keeps threads, shards and Ctrl-C working on one
    /// range.
    group_trials: u32,
}

struct OptionPlan {
    strata: Strata,
    sampler: Sampler,
    solver: Option<exact::FastSolver>,
    /// Whether episode sub-runs bias failures (off where loss is not rare).
    biasing: bool,
}

/// How the rare-event method treats site events and the fast process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approach {
    /// Site events as failure clocks, the episode method alone.
    Unstratified,
    /// Strata on site events; the fast process simulated (episodes).
    Simulated,
    /// Strata on site events; the fast process solved exactly where it is
    /// Markovian, else simulated.
    Exact,
}

impl RarePlan {
    /// Plans every option: stratified unless the approach says not, no site
    /// process qualifies or site events are not rare. The pilot is a fixed
    /// set of group trials (trial indices from [`PILOT_BASE`]), so every
    /// shard and thread count plans the same strata.
    pub fn new(
        plan: &Plan,
        approach: Approach,
        threads: usize,
        group_trials: u32,
    ) -> Result<Self, String> {
        assert!(
            group_trials >= 1,
            "a fleet trial has a group trial at least"
        );
        let system = plan.system;
        let processes = if approach == Approach::Unstratified {
            0
        } else {
            site_processes(system)
        };
        // Site events over the whole life of a trial, warm-up included:
        // one in the warm-up shapes the measured year too.
        let life = system.end() as f64;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| format!("cannot start worker threads: {e}"))?;
        check_burst_rates(system, life)?;
        let mut options: Vec<OptionPlan> = Vec::new();
        for k in 0..system.options.len() {
            let twin = plan.twins[k];
            if twin < k {
                let o = &options[twin];
                let copy = OptionPlan {
                    strata: o.strata.clone(),
                    sampler: Sampler::new(system, k, o.strata.processes, o.sampler.bursts),
                    solver: o.solver.clone(),
                    biasing: o.biasing,
                };
                options.push(copy);
                continue;
            }
            // Bursts that destroy are rare events as site losses are.
            let bursts = approach != Approach::Unstratified
                && system
                    .bursts
                    .iter()
                    .any(|b| matches!(b.kind, FaultKind::Destroyed { .. }));
            let sampler = Sampler::new(system, k, processes, bursts);
            let m = sampler.total_rate() * life;
            let stratified = (processes != 0 || bursts) && m > 0.0 && m <= MAX_MEAN_EVENTS;
            let used = if stratified { processes } else { 0 };
            let sampler = Sampler::new(system, k, used, stratified && bursts);
            let solver = (approach == Approach::Exact)
                .then(|| crate::exact::analyze::fast_chain(system, k, used).ok())
                .flatten()
                .map(|chain| pool.install(|| exact::FastSolver::new(chain, Window::of(system))));
            let mut option = OptionPlan {
                strata: Strata::single(group_trials),
                sampler,
                solver,
                biasing: false,
            };
            if option.solver.is_none() {
                option.biasing = pool.install(|| crude_pilot(plan, k, &option)) < NOT_RARE;
            }
            if stratified {
                option.strata = pool.install(|| pilot(plan, k, &option, m, group_trials));
            }
            option.strata.exact = option.solver.is_some();
            if let Some(solver) = option.solver.as_ref() {
                // Stratum 0 without scripted faults gives the same number
                // every time: P(loss | no site event).
                let first = if option.sampler.faults.is_empty() {
                    solver.free_loss()
                } else {
                    MAX_SCRIPT_RATIO
                };
                option.strata.bounds = (0..option.strata.weights.len())
                    .map(|k| if k == 0 { first } else { MAX_SCRIPT_RATIO })
                    .collect();
            }
            options.push(option);
        }
        Ok(Self {
            options,
            group_trials,
        })
    }

    /// The strata of every option, as the sums record them.
    pub fn strata(&self) -> Vec<Strata> {
        self.options.iter().map(|o| o.strata.clone()).collect()
    }

    /// The strata of option `k`.
    pub fn strata_of(&self, k: usize) -> &Strata {
        &self.options[k].strata
    }
}

/// Bursts a group trial follows at most in one scope component (their
/// mean): far below [`MAX_STEPS`], so that its bound is never what ends
/// a trial's bursts.
const MAX_MEAN_BURSTS: f64 = 1e4;

/// Refuses, naming the field, a destroying burst process whose bursts in
/// one scope component over a trial's `life` (µs) are more than a group
/// trial can follow (bursts that only take components down it leaves out).
fn check_burst_rates(system: &System, life: f64) -> Result<(), String> {
    let destroying =
        |p: &&crate::model::BurstProcess| matches!(p.kind, FaultKind::Destroyed { .. });
    for (i, p) in system
        .bursts
        .iter()
        .enumerate()
        .filter(|(_, p)| destroying(p))
    {
        let mean = p.rate_per_us() * life;
        if mean > MAX_MEAN_BURSTS {
            return Err(format!(
                "burst[{i}].rate: {} a year gives about {mean:.3e} bursts of one {} in a trial (warm-up and horizon); the rare-event method follows at most {MAX_MEAN_BURSTS:.0}: lower the rate, or run with --method plain",
                p.rate_per_year,
                p.scope.name()
            ));
        }
    }
    Ok(())
}

/// P(loss) in stratum 0 of option `k` from a fixed set of group trials
/// without failure biasing (forcing and splitting stay: both are exact at
/// any probability). Strata with site events only add to it.
fn crude_pilot(plan: &Plan, k: usize, option: &OptionPlan) -> f64 {
    use rayon::prelude::*;
    debug_assert!(!option.biasing);
    let sum: f64 = (0..PILOT_TRIALS)
        .into_par_iter()
        .map(|i| run_group_trial(plan, k, option, 0, CRUDE_PILOT + i).estimate)
        .collect::<Vec<f64>>()
        .iter()
        .sum();
    sum / PILOT_TRIALS as f64
}

/// Runs the pilot of option `k` stratum by stratum until the strata left
/// out weigh little against the estimate, and allocates the group trials.
fn pilot(plan: &Plan, k: usize, option: &OptionPlan, m: f64, slots: u32) -> Strata {
    let sampler = &option.sampler;
    use rayon::prelude::*;
    // Each stratum kept needs a slot; past MAX_STRATA the pilot's cost (its
    // PILOT_TRIALS per stratum) is bounded whatever `group_trials` says, and
    // what is left out is reported as the tail bound.
    let max_strata = (slots as usize).min(MAX_STRATA);
    let mut means = Vec::new();
    let mut sds = Vec::new();
    let mut estimate = 0.0;
    let mut kept = 0;
    for stratum in 0..max_strata {
        let (weights, tail) = poisson(m, stratum);
        let ys: Vec<f64> = (0..PILOT_TRIALS)
            .into_par_iter()
            .map(|i| {
                let index = PILOT_BASE + ((stratum as u64) << 32) + i;
                run_group_trial(plan, k, option, stratum, index).estimate
            })
            .collect();
        let n = ys.len() as f64;
        let mean = ys.iter().sum::<f64>() / n;
        let var = ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (n - 1.0);
        means.push(mean);
        sds.push(var.sqrt());
        estimate += weights[stratum] * mean;
        kept = stratum;
        if stratum >= 1 && (tail <= TAIL_SHARE * estimate || tail < 1e-300) {
            break;
        }
    }
    let (weights, tail) = poisson(m, kept);
    let effort = defensive_effort(&weights, &means, &sds);
    Strata {
        processes: sampler.processes,
        mean_events: m,
        slots: allocate(&effort, slots),
        weights,
        tail,
        exact: option.solver.is_some(),
        bounds: Vec::new(),
    }
}

/// The effort per stratum: half Neyman's (∝ π_k·σ_k), half the stratum's
/// share of the estimate (∝ π_k·mean_k), each normalized. A pilot
/// underestimates σ_k exactly where the stratum's losses are rare and
/// large; the second half keeps samples where the estimate lives. With no
/// loss seen anywhere, in proportion to π_k.
fn defensive_effort(weights: &[f64], means: &[f64], sds: &[f64]) -> Vec<f64> {
    let normalized = |x: Vec<f64>| {
        let total: f64 = x.iter().sum();
        let ok = total > 0.0 && total.is_finite();
        x.into_iter()
            .map(|v| if ok { v / total } else { 0.0 })
            .collect::<Vec<f64>>()
    };
    let neyman = normalized(weights.iter().zip(sds).map(|(p, s)| p * s).collect());
    let share = normalized(weights.iter().zip(means).map(|(p, m)| p * m).collect());
    let effort: Vec<f64> = neyman
        .iter()
        .zip(&share)
        .map(|(a, b)| 0.5 * (a + b))
        .collect();
    if effort.iter().sum::<f64>() > 0.0 {
        effort
    } else {
        weights.to_vec()
    }
}

/// `total` slots in proportion to `effort`, at least one each (Neyman with a
/// floor): strata below one slot get one, the rest share what remains;
/// rounding by largest remainder, ties to the lower stratum.
fn allocate(effort: &[f64], total: u32) -> Vec<u32> {
    let n = effort.len();
    let mut fixed = vec![false; n];
    loop {
        let free_effort: f64 = (0..n).filter(|&i| !fixed[i]).map(|i| effort[i]).sum();
        let free_slots = total as f64 - fixed.iter().filter(|&&f| f).count() as f64;
        let mut changed = false;
        for i in 0..n {
            if !fixed[i] && (free_effort <= 0.0 || effort[i] / free_effort * free_slots < 1.0) {
                fixed[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let free_effort: f64 = (0..n).filter(|&i| !fixed[i]).map(|i| effort[i]).sum();
    let free_slots = total - fixed.iter().filter(|&&f| f).count() as u32;
    let ideal: Vec<f64> = (0..n)
        .map(|i| {
            if fixed[i] {
                1.0
            } else {
                effort[i] / free_effort * f64::from(free_slots)
            }
        })
        .collect();
    let mut slots: Vec<u32> = ideal.iter().map(|x| x.floor().max(1.0) as u32).collect();
    let mut left = total - slots.iter().sum::<u32>();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let ra = ideal[a] - ideal[a].floor();
        let rb = ideal[b] - ideal[b].floor();
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().cycle() {
        if left == 0 {
            break;
        }
        slots[i] += 1;
        left -= 1;
    }
    slots
}

/// The group trials of option `k` that go with fleet trial `t`, combined:
/// Σ_j (π_k/c_k)·y_j over its slots (the scenario's `group_trials`).
pub fn fleet_trial_groups(plan: &Plan, rare: &RarePlan, k: usize, t: u64) -> GroupTrial {
    let option = &rare.options[k];
    let strata = &option.strata;
    let g = u64::from(rare.group_trials);
    let mut total = GroupTrial {
        parts: Vec::with_capacity(g as usize),
        ..GroupTrial::default()
    };
    for j in 0..g {
        let stratum = strata.stratum_of(j);
        let y = run_group_trial(plan, k, option, stratum, t * g + j);
        let factor = strata.weights[stratum] / f64::from(strata.slots[stratum]);
        total.add_scaled(&y, factor);
        total.parts.push(y.estimate);
    }
    total
}

/// Runs group trial `trial` of option `k` in stratum `stratum`: a random
/// extent of the plan's placement, through the horizon.
fn run_group_trial(
    plan: &Plan,
    k: usize,
    option: &OptionPlan,
    stratum: usize,
    trial: u64,
) -> GroupTrial {
    let system = plan.system;
    let sampler = &option.sampler;
    let mut rng = trial_rng(plan.seed, trial, PURPOSE_BASE + plan.twins[k] as u32);
    let extent = rng.random_range(0..system.extents);
    let window = Window::of(system);
    let horizon = window.end();
    let placement = &plan.placements[k];
    let disks = placement.extent(extent);
    let scale = episode_scale(system);
    let (mut script, ratio) = sampler.script(stratum, horizon, disks, system, scale, &mut rng);
    if !system.bursts.is_empty() && !sampler.bursts {
        script.extend(burst_script(system, disks, horizon, &mut rng));
    }
    if let Some(solver) = &option.solver {
        script.sort_by_key(|e| e.at);
        let topo = &system.topology;
        let strikes: Vec<exact::Strike> = script
            .iter()
            .map(|e| exact::Strike {
                at: e.at,
                hit: disks
                    .iter()
                    .enumerate()
                    .filter(|&(_, &d)| topo.ancestor(d, e.level) == e.component)
                    .fold(0, |m, (s, _)| m | 1 << s),
                level: e.level,
            })
            .collect();
        let mut out = GroupTrial::default();
        solver.solve(&strikes, ratio, &mut out);
        out.estimate = out.by_checkpoint[CHECKPOINTS - 1];
        return out;
    }
    let group = Group::new(system, placement, k, extent).with_script(script, sampler.processes);
    let out = simulate_group(group, window, &mut rng, scale, option.biasing);
    if ratio == 1.0 {
        return out;
    }
    let mut scaled = GroupTrial::default();
    scaled.add_scaled(&out, ratio);
    scaled
}

/// The bursts of `[[burst]]` that can strike the extent on `disks` before
/// `horizon`, under their true law: each process's events in each scope
/// component holding one of its copies, a Poisson process at the
/// process's rate (the fleet's clock thinned to these components). Only
/// destructions: an outage takes no copy, and the group model follows
/// none (docs/method.md).
fn burst_script(
    system: &System,
    disks: &[u32],
    horizon: Micros,
    rng: &mut ChaCha8Rng,
) -> Vec<Scripted> {
    let topo = &system.topology;
    let mut script = Vec::new();
    for p in &system.bursts {
        let FaultKind::Destroyed { replace } = p.kind else {
            continue;
        };
        let mut scopes: Vec<u32> = disks.iter().map(|&d| topo.ancestor(d, p.scope)).collect();
        scopes.sort_unstable();
        scopes.dedup();
        for c in scopes {
            let mut at = 0.0;
            // Bounded: RarePlan::new refuses a rate that comes near it.
            for _ in 0..MAX_STEPS {
                at += rng.sample::<f64, _>(rand_distr::Exp1) / p.rate_per_us();
                if at.is_nan() || at >= horizon as f64 {
                    break;
                }
                script.push(Scripted {
                    at: at as Micros,
                    level: p.level,
                    component: c,
                    replace,
                    subset: Some((p.scope, p.size)),
                });
            }
        }
    }
    script
}

/// The group's path through the horizon, its episodes split.
fn simulate_group(
    mut group: Group,
    window: Window,
    rng: &mut ChaCha8Rng,
    scale: Micros,
    biasing: bool,
) -> GroupTrial {
    let horizon = window.end();
    let mut out = GroupTrial::default();
    let weight = if group.has_script_ahead() {
        force_with_script(&mut group, window, rng, scale, &mut out)
    } else {
        force_first_failure(&mut group, horizon, rng)
    };
    // The losses counted as probabilities at the failure that starts the
    // first episode are the main path's: its sub-runs start after it.
    group.take_conditional_losses(|p, at, touched, latent| {
        out.add_conditional(weight * p, at, touched, latent, window)
    });
    if weight > 0.0 {
        loop {
            if !group.is_calm() {
                // An episode starts: estimate its loss probability, then let
                // the main path live through it under the true law.
                out.episodes += 1;
                episode_loss(&group, window, rng, &mut out, weight, biasing);
                walk_episode(&mut group, horizon, rng, &mut out.steps);
            }
            if group.now >= horizon || group.is_lost() || out.steps >= MAX_STEPS {
                break;
            }
            group.step_true(horizon, rng);
            out.steps += 1;
            group.take_conditional_losses(|p, at, touched, latent| {
                out.add_conditional(weight * p, at, touched, latent, window)
            });
            if group.is_lost() && group.is_calm() {
                // A scripted destruction took the last copies, outside any
                // episode: the main path's own loss counts.
                out.add(
                    weight * group.survival(),
                    group.now,
                    group.touched(),
                    window,
                );
                break;
            }
        }
    }
    out.estimate = out.by_checkpoint[CHECKPOINTS - 1];
    out
}

/// Roughly how long an episode may last: five times the detection delay
/// and a repair of one disk, the lead before a scripted destruction within
/// which a clock failure still overlaps it; a tenth of it is the narrowest
/// cluster of site events tried.
fn episode_scale(system: &System) -> Micros {
    let repair = match &system.repair {
        Repair::Time(d) => d.mean(),
        Repair::Bandwidth {
            disk_bytes_per_s,
            facility_bytes_per_s,
        } => {
            let topo = &system.topology;
            let facility_disks = topo.disk_range(Level::Facility, 0).len() as f64;
            let local = (disk_bytes_per_s * facility_disks).min(*facility_bytes_per_s);
            topo.disk_bytes as f64 / local * crate::units::SECOND as f64
        }
    };
    let scale = 5.0 * (system.detection.mean() + repair);
    if scale.is_finite() {
        scale as Micros
    } else {
        Micros::MAX / 4
    }
}

/// Picks the clock that fires first from a defensive mixture (half uniform,
/// so that rare but severe starts such as a facility are seen as often as
/// disks; half in proportion to the rates); returns it and the likelihood
/// ratio of the choice.
fn pick_clock(rates: &[f64], rng: &mut ChaCha8Rng) -> (usize, f64) {
    let total: f64 = rates.iter().sum();
    let live = rates.iter().filter(|&&r| r > 0.0).count() as f64;
    let chance = |r: f64| {
        if r > 0.0 {
            0.5 / live + 0.5 * r / total
        } else {
            0.0
        }
    };
    let mut pick: f64 = rng.random();
    let fired = rates
        .iter()
        .position(|&r| {
            pick -= chance(r);
            pick < 0.0
        })
        .unwrap_or_else(|| rates.iter().rposition(|&r| r > 0.0).unwrap_or(0));
    (fired, rates[fired] / total / chance(rates[fired]))
}

/// The constant rates of `clocks`, if every one is memoryless.
fn rates_of(group: &Group, clocks: &[Clock]) -> Option<Vec<f64>> {
    clocks.iter().map(|c| group.rate(c)).collect()
}

/// When every clock is memoryless, moves the group to its first failure,
/// drawn conditionally on falling before the horizon, and returns that
/// event's probability as the path's weight. Otherwise leaves the group
/// alone and returns 1 (the main path then finds its first failure itself).
fn force_first_failure(group: &mut Group, horizon: Micros, rng: &mut ChaCha8Rng) -> f64 {
    let clocks = group.clocks();
    let Some(rates) = rates_of(group, &clocks) else {
        return 1.0;
    };
    let total: f64 = rates.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let weight = -(-total * horizon as f64).exp_m1();
    let u: f64 = rng.random();
    let at = (-(-u * weight).ln_1p() / total).ceil() as Micros;
    if at >= horizon {
        // Rounding pushed a failure drawn just before T onto T: no episode.
        group.now = horizon;
        return weight;
    }
    let (fired, ratio) = pick_clock(&rates, rng);
    group.now = at;
    group.fail(&clocks[fired], rng);
    weight * ratio
}

/// A stretch of the failure-free future with a constant total clock rate
/// (per µs); `lean`: the forced failure leans towards it.
#[derive(Clone, Copy, Debug)]
struct Piece {
    start: Micros,
    end: Micros,
    rate: f64,
    lean: bool,
}

/// With a script ahead: follows the group's failure-free future (repairs,
/// replacements and scripted destructions only) to the horizon or a loss;
/// counts that loss with the probability that no clock fires before it;
/// and, when clocks can fire, moves the group to its first failure drawn
/// conditionally on coming first, returning the forced path's weight. The
/// failure time is drawn from a defensive mixture: half the true
/// conditional law, half that law restricted to where the future is
/// degraded or a scripted destruction follows within `scale` (the weight
/// carries the ratio, at most 2). Returns 0 when no clock can fire (or a
/// clock is not memoryless: then 1, and the group is left alone).
fn force_with_script(
    group: &mut Group,
    window: Window,
    rng: &mut ChaCha8Rng,
    scale: Micros,
    out: &mut GroupTrial,
) -> f64 {
    let horizon = window.end();
    let mut probe = rng.clone();
    let mut future = group.clone();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut lost = None;
    let mut conditional: Vec<(f64, Micros, Option<Level>, bool)> = Vec::new();
    let scripts: Vec<Micros> = group.script_ahead().collect();
    loop {
        let clocks = future.clocks();
        let Some(rates) = rates_of(&future, &clocks) else {
            return 1.0;
        };
        let rate: f64 = rates.iter().sum();
        let start = future.now;
        let degraded = !future.is_whole();
        let (end, _) = future.step(&[], &[], horizon, &mut probe);
        future.take_conditional_losses(|p, at, touched, latent| {
            conditional.push((p, at, touched, latent))
        });
        lean_split(
            &mut pieces,
            start,
            future.now,
            rate,
            degraded,
            &scripts,
            scale,
        );
        if future.is_lost() {
            lost = Some((future.now, future.touched(), future.survival()));
            break;
        }
        if end == StepEnd::Horizon || future.now >= horizon {
            break;
        }
    }
    // Cumulative hazard at each piece's start, and each piece's mass.
    let mut hazard = 0.0_f64;
    let mut masses = Vec::with_capacity(pieces.len());
    for p in &pieces {
        let h = p.rate * (p.end - p.start) as f64;
        masses.push((-hazard).exp() * -(-h).exp_m1());
        hazard += h;
    }
    let w = -(-hazard).exp_m1();
    if let Some((at, touched, survival)) = lost {
        out.add((1.0 - w) * survival, at, touched, window);
    }
    // A loss of the failure-free future counted as a probability counts
    // with the probability that no clock fires before it.
    for (p, at, touched, latent) in conditional {
        let w = (-hazard_before(&pieces, at)).exp() * p;
        out.add_conditional(w, at, touched, latent, window);
    }
    if w <= 0.0 {
        group.now = horizon;
        return 0.0;
    }
    let leaning: f64 = pieces
        .iter()
        .zip(&masses)
        .filter(|(p, _)| p.lean)
        .map(|(_, m)| m)
        .sum();
    let lean = leaning > 0.0 && probe.random::<f64>() < 0.5;
    let (pool, pool_mass) = if lean { (true, leaning) } else { (false, w) };
    let mut pick = probe.random::<f64>() * pool_mass;
    let mut chosen = pieces.len() - 1;
    for (i, (p, m)) in pieces.iter().zip(&masses).enumerate() {
        if pool && !p.lean || *m <= 0.0 {
            continue;
        }
        chosen = i;
        if pick < *m {
            break;
        }
        pick -= m;
    }
    let p = pieces[chosen];
    let v: f64 = probe.random();
    let span = (p.end - p.start) as f64;
    let offset = -(-v * -(-p.rate * span).exp_m1()).ln_1p() / p.rate;
    let at = (p.start + offset.ceil() as Micros).min(p.end.saturating_sub(1));
    let ratio = if p.lean && leaning > 0.0 {
        1.0 / (0.5 + 0.5 * w / leaning)
    } else if leaning > 0.0 {
        2.0
    } else {
        1.0
    };
    // Replay the failure-free future up to the failure with the draws the
    // probe made, then go on with fresh ones.
    while group.next_scheduled().is_some_and(|t| t <= at) {
        group.step(&[], &[], horizon, rng);
    }
    // Counted above, from the failure-free future; the survival stays.
    group.forget_conditional_losses();
    *rng = probe;
    group.now = at;
    let clocks = group.clocks();
    let rates = rates_of(group, &clocks).unwrap_or_default();
    if rates.iter().sum::<f64>() <= 0.0 {
        return 0.0;
    }
    let (fired, clock_ratio) = pick_clock(&rates, rng);
    group.fail(&clocks[fired], rng);
    w * ratio * clock_ratio
}

/// The clocks' cumulative hazard from the first piece's start to `at`.
fn hazard_before(pieces: &[Piece], at: Micros) -> f64 {
    pieces
        .iter()
        .take_while(|p| p.start < at)
        .map(|p| p.rate * (p.end.min(at) - p.start) as f64)
        .sum()
}

/// Appends [start, end) at `rate` to `pieces`, cut where the lean changes:
/// it leans where `degraded`, and within `scale` before a time of `scripts`.
fn lean_split(
    pieces: &mut Vec<Piece>,
    start: Micros,
    end: Micros,
    rate: f64,
    degraded: bool,
    scripts: &[Micros],
    scale: Micros,
) {
    if end <= start {
        return;
    }
    let mut cuts = vec![start, end];
    for &s in scripts {
        for c in [s.saturating_sub(scale), s] {
            if c > start && c < end {
                cuts.push(c);
            }
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let near = scripts
            .iter()
            .any(|&s| a < s && s.saturating_sub(scale) <= a);
        pieces.push(Piece {
            start: a,
            end: b,
            rate,
            lean: degraded || near,
        });
    }
}

/// Adds γ̂·`weight` at each checkpoint t: the mean over sub-runs of
/// (likelihood ratio if the episode ends in a loss by t, else 0), from the
/// episode's current state. The indicator is a function of the sub-run's
/// path, so weighting it by the likelihood ratio keeps it unbiased for
/// every t.
fn episode_loss(
    group: &Group,
    window: Window,
    rng: &mut ChaCha8Rng,
    out: &mut GroupTrial,
    weight: f64,
    biasing: bool,
) {
    let horizon = window.end();
    if group.is_lost() {
        out.add(
            weight * group.survival(),
            group.now,
            group.touched(),
            window,
        );
        return;
    }
    for _ in 0..RUNS_PER_EPISODE {
        let mut steps = out.steps;
        let mut add = |lr: f64, at, touched, latent: Option<bool>| {
            let w = weight * lr / f64::from(RUNS_PER_EPISODE);
            match latent {
                Some(latent) => out.add_conditional(w, at, touched, latent, window),
                None => out.add(w, at, touched, window),
            }
        };
        biased_run(group.clone(), horizon, rng, &mut steps, biasing, &mut add);
        out.steps = steps;
    }
}

/// One importance-sampled sub-run to the end of the episode (under the
/// true law when `biasing` is off): hands `add` each loss of the run, as
/// (likelihood ratio times its probability, time, cause, and for a loss
/// counted as a probability whether through a latent error): those the
/// group counted (latent checks, bursts), and its own loss, if it ends in
/// one, times the path's survival.
fn biased_run(
    mut group: Group,
    horizon: Micros,
    rng: &mut ChaCha8Rng,
    steps: &mut u64,
    biasing: bool,
    add: &mut impl FnMut(f64, Micros, Option<Level>, Option<bool>),
) {
    let mut log_lr = 0.0_f64;
    let start = *steps;
    while group.now < horizon && !group.is_calm() && *steps - start < MAX_STEPS {
        if group.is_lost() {
            break;
        }
        let end = if !biasing {
            group.step_true(horizon, rng)
        } else {
            let clocks = group.clocks();
            let bias = failure_bias(&group, &clocks, horizon);
            let (end, l) = group.step(&clocks, &bias, horizon, rng);
            log_lr += l;
            end
        };
        group.take_conditional_losses(|p, at, touched, latent| {
            add(log_lr.exp() * p, at, touched, Some(latent))
        });
        if !biasing && end == StepEnd::Horizon {
            break;
        }
        *steps += 1;
    }
    if group.is_lost() {
        add(
            log_lr.exp() * group.survival(),
            group.now,
            group.touched(),
            None,
        );
    }
}

/// Hazard multipliers that make some failure happen before the next repair
/// completes (else the next replacement, else the horizon) with probability
/// FAILURE_PROBABILITY,
/// each clock getting an equal share; never below 1 (failures that are
/// already likely are left alone).
fn failure_bias(group: &Group, clocks: &[Clock], horizon: Micros) -> Vec<f64> {
    let next = group.next_repair().or_else(|| group.next_scheduled());
    let until = next.unwrap_or(horizon).min(horizon);
    let dt = until.saturating_sub(group.now) as f64;
    let hazards: Vec<f64> = clocks.iter().map(|c| group.hazard_over(c, dt)).collect();
    let biasable = |h: f64| h.is_finite() && h > 0.0;
    let n = hazards.iter().filter(|&&h| biasable(h)).count().max(1) as f64;
    let total: f64 = hazards.iter().filter(|&&h| biasable(h)).sum();
    let budget = -(-FAILURE_PROBABILITY).ln_1p();
    hazards
        .iter()
        .map(|&h| {
            if !biasable(h) {
                return 1.0;
            }
            // Defensive mixture: half the budget shared evenly (balanced),
            // half in proportion to the true hazards.
            let share = 0.5 / n + 0.5 * h / total;
            (budget * share / h).max(1.0)
        })
        .collect()
}

/// Carries the main path through the rest of the episode under the true law.
fn walk_episode(group: &mut Group, horizon: Micros, rng: &mut ChaCha8Rng, steps: &mut u64) {
    while group.now < horizon && !group.is_calm() && !group.is_lost() && *steps < MAX_STEPS {
        let end = group.step_true(horizon, rng);
        // The episode's sub-runs count its losses counted as
        // probabilities; the path goes on with its survival.
        group.forget_conditional_losses();
        *steps += 1;
        if end == StepEnd::Horizon {
            break;
        }
    }
}

/// Sums over fleet trials of one option's combined group trials, mergeable
/// in trial order.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RareSums {
    /// Per-fleet-trial estimates, each pushed as a weight so that the
    /// effective sample size and the largest share describe them.
    pub loss: MeanAccumulator,
    /// The same per checkpoint ([`checkpoint`]): P(loss by t).
    #[serde(default)]
    pub by_checkpoint: CurveSums,
    /// The same by cause ([`CAUSES`]).
    #[serde(default)]
    pub by_cause: Vec<MeanAccumulator>,
    /// The tail diagnostics ([`crate::estimate::diagnose`]): the largest
    /// fleet-trial estimates (the samples the interval is computed from);
    /// per stratum, the group trials' estimates (their largest, and their
    /// sums); and the fleet-trial estimates by batch of trial indices.
    #[serde(default)]
    pub fleet_tail: TailSums,
    #[serde(default)]
    pub strata_tails: Vec<TailSums>,
    #[serde(default)]
    pub strata_sums: Vec<MeanAccumulator>,
    #[serde(default)]
    pub batches: BatchSums,
    /// With `[latent]`: the fleet-trial estimates' part through
    /// latent-error checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latent: Option<MeanAccumulator>,
    pub episodes: u64,
    pub steps: u64,
}

impl RareSums {
    /// Records fleet trial `index`'s group trials, drawn in `strata`;
    /// `latent`: whether the scenario has `[latent]`.
    pub fn record(&mut self, index: u64, t: &GroupTrial, strata: &Strata, latent: bool) {
        self.loss.push_weighted(1.0, t.estimate);
        if latent {
            self.latent.get_or_insert_default().push(t.latent);
        }
        if t.estimate.is_finite() && t.estimate.abs() <= MAX_ABS_SAMPLE {
            let n = strata.weights.len();
            self.strata_tails.resize(n, TailSums::default());
            self.strata_sums.resize(n, MeanAccumulator::default());
            for (j, &y) in t.parts.iter().enumerate() {
                let k = strata.stratum_of(j as u64);
                self.strata_tails[k].push(y);
                self.strata_sums[k].push(y);
            }
            self.batches.push(index, t.estimate);
            self.fleet_tail.push(t.estimate);
        }
        self.by_cause
            .resize(CAUSES.len(), MeanAccumulator::default());
        for (acc, &x) in self.by_cause.iter_mut().zip(&t.by_cause) {
            acc.push(x);
        }
        self.by_checkpoint.push(&t.by_checkpoint);
        self.episodes += t.episodes;
        self.steps += t.steps;
    }
}

impl RareSums {
    /// The tail input of the fleet-trial estimates.
    pub fn fleet_input(&self) -> crate::estimate::diagnose::TailInput<'_> {
        let total = self.loss.mean() * self.loss.count() as f64;
        crate::estimate::diagnose::whole(
            &self.fleet_tail,
            self.loss.count(),
            self.loss.nonzero(),
            total,
        )
    }

    /// The tail inputs of the diagnostics, one per stratum of `strata`.
    pub fn tail_inputs<'a>(
        &'a self,
        strata: &Strata,
    ) -> Vec<crate::estimate::diagnose::TailInput<'a>> {
        let parts: Vec<(f64, f64)> = self
            .strata_sums
            .iter()
            .enumerate()
            .map(|(k, acc)| {
                let pi = strata.weights.get(k).copied().unwrap_or(0.0);
                let n = acc.count().max(1) as f64;
                let var = if acc.count() > 1 { acc.variance() } else { 0.0 };
                (pi * acc.mean(), pi * pi * var / n)
            })
            .collect();
        let (mean, var): (f64, f64) = parts
            .iter()
            .fold((0.0, 0.0), |(m, v), p| (m + p.0, v + p.1));
        self.strata_sums
            .iter()
            .zip(&self.strata_tails)
            .zip(&parts)
            .enumerate()
            .map(
                |(k, ((acc, tail), &(m, v)))| crate::estimate::diagnose::TailInput {
                    tail,
                    samples: acc.count(),
                    nonzero: acc.nonzero(),
                    total: acc.mean() * acc.count() as f64,
                    bound: strata.bounds.get(k).copied(),
                    share: if mean > 0.0 { m / mean } else { 0.0 },
                    variance_share: if var > 0.0 { v / var } else { 0.0 },
                },
            )
            .collect()
    }
}

impl Merge for RareSums {
    fn merge(&mut self, later: Self) {
        self.loss.merge(&later.loss);
        self.by_checkpoint.merge(&later.by_checkpoint);
        if self.by_cause.len() < later.by_cause.len() {
            self.by_cause
                .resize(later.by_cause.len(), MeanAccumulator::default());
        }
        for (a, b) in self.by_cause.iter_mut().zip(&later.by_cause) {
            a.merge(b);
        }
        let n = self.strata_tails.len().max(later.strata_tails.len());
        self.strata_tails.resize(n, TailSums::default());
        self.strata_sums.resize(n, MeanAccumulator::default());
        for (a, b) in self.strata_tails.iter_mut().zip(&later.strata_tails) {
            a.merge(b);
        }
        for (a, b) in self.strata_sums.iter_mut().zip(&later.strata_sums) {
            a.merge(b);
        }
        self.batches.merge(&later.batches);
        self.fleet_tail.merge(&later.fleet_tail);
        if let Some(b) = &later.latent {
            self.latent.get_or_insert_default().merge(b);
        }
        self.episodes += later.episodes;
        self.steps += later.steps;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_follows_effort_with_one_slot_at_least() {
        assert_eq!(allocate(&[1.0], 32), vec![32]);
        assert_eq!(allocate(&[1.0, 1.0], 32), vec![16, 16]);
        let a = allocate(&[1.0, 1e-9, 3.0, 0.0], 32);
        assert_eq!(a.iter().sum::<u32>(), 32);
        assert_eq!(a[1], 1);
        assert_eq!(a[3], 1);
        assert_eq!(a, vec![8, 1, 22, 1]);
        assert_eq!(allocate(&[0.0, 0.0, 0.0], 32).iter().sum::<u32>(), 32);
    }

    #[test]
    fn poisson_weights_and_tail() {
        let (p, tail) = poisson(0.006, 3);
        assert!((p[0] - (-0.006f64).exp()).abs() < 1e-16);
        assert!((p[1] - 0.006 * (-0.006f64).exp()).abs() < 1e-17);
        let exact4 = 0.006f64.powi(4) / 24.0 * (-0.006f64).exp();
        assert!((tail / exact4 - 1.0).abs() < 0.01, "{tail} vs {exact4}");
        let (p, tail) = poisson(1.5, 8);
        let total: f64 = p.iter().sum::<f64>() + tail;
        assert!((total - 1.0).abs() < 1e-14);
    }
}

/// The strata against an independent chain: the extent's chain with the
/// site events as transitions that count them (and go on counting after a
/// loss), solved at the horizon; its P(loss and K = k) must match π_k × the
/// mean of the stratum's group trials.
#[cfg(test)]
mod against_a_counting_chain {
    use super::*;
    use crate::exact::markov::Ctmc;

    /// P(loss and K = k) for k = 0..=kmax from a chain that counts the site
    /// events: transient states (mask, c), loss states (c); site removers
    /// count; `idle` site components holding no copy (rate each) count too.
    fn by_stratum(system: &System, opt: usize, kmax: usize) -> Vec<f64> {
        let site = site_processes(system);
        let (all, mu) = crate::exact::analyze::removers_of(system, opt, 0).unwrap();
        let (fast, _) = crate::exact::analyze::removers_of(system, opt, site).unwrap();
        let n = system.options[opt].copies() as usize;
        let code = system.options[opt].code;
        let full = (1usize << n) - 1;
        let c_max = kmax + 1;
        let idx = |mask: usize, c: usize| mask * (c_max + 1) + c;
        let loss = |c: usize| (full + 1) * (c_max + 1) + c;
        let states = (full + 1) * (c_max + 1) + c_max + 1;
        let mut q = Ctmc::new(states);
        // Site removers: those of `all` beyond `fast` (same order: fast is a
        // sub-list of all).
        let mut site_removers = Vec::new();
        let mut fi = 0;
        for r in &all {
            if fi < fast.len() && fast[fi] == *r {
                fi += 1;
            } else {
                site_removers.push(*r);
            }
        }
        let sampler = Sampler::new(system, opt, site, false);
        let total_rate = sampler.total_rate() * crate::units::YEAR as f64;
        let site_rate: f64 = site_removers.iter().map(|r| r.rate).sum();
        let idle = total_rate - site_rate;
        for mask in 0..=full {
            if !code.decodable(mask as u32) {
                continue;
            }
            for c in 0..=c_max {
                let from = idx(mask, c);
                let up = (c + 1).min(c_max);
                let mut add = |r: f64, hit: usize, counts: bool| {
                    let c2 = if counts { up } else { c };
                    let next = mask & !hit;
                    let to = if !code.decodable(next as u32) {
                        loss(c2)
                    } else {
                        idx(next, c2)
                    };
                    if to != from {
                        q.add_rate(from, to, r).unwrap();
                    }
                };
                for r in &fast {
                    add(r.rate, r.copies as usize, false);
                }
                for r in &site_removers {
                    add(r.rate, r.copies as usize, true);
                }
                if idle > 1e-15 {
                    add(idle, 0, true);
                }
                for s in 0..n {
                    if mask & (1 << s) == 0 {
                        q.add_rate(from, idx(mask | 1 << s, c), mu).unwrap();
                    }
                }
            }
        }
        for c in 0..c_max {
            q.add_rate(loss(c), loss(c + 1), total_rate).unwrap();
        }
        // The distribution at the end of the warm-up, its losses dropped
        // (they come before the measured horizon), then at the horizon.
        let mut v = vec![0.0; states];
        v[idx(full, 0)] = 1.0;
        let mut v = evolve(&q, v, crate::units::years(system.warmup));
        for c in 0..=c_max {
            v[loss(c)] = 0.0;
        }
        let at_t = evolve(&q, v, crate::units::years(system.horizon));
        (0..=kmax).map(|c| at_t[loss(c)]).collect()
    }

    /// The distribution `v` carried `t` years by uniformization (the loss
    /// states keep counting site events, so they are not absorbing).
    fn evolve(q: &Ctmc, mut v: Vec<f64>, t: f64) -> Vec<f64> {
        if t == 0.0 {
            return v;
        }
        let states = v.len();
        let mut exit = vec![0.0; states];
        for &(from, _, r) in q.transitions() {
            exit[from] += r;
        }
        let lambda = exit.iter().copied().fold(0.0, f64::max);
        let mean = lambda * t;
        let mut at_t = vec![0.0; states];
        let steps = (mean + 40.0 * mean.sqrt() + 100.0) as u32;
        for m in 0..=steps {
            let lw = -mean + f64::from(m) * mean.ln()
                - statrs::function::gamma::ln_gamma(f64::from(m) + 1.0);
            let w = lw.exp();
            for (a, x) in at_t.iter_mut().zip(&v) {
                *a += w * x;
            }
            let mut next: Vec<f64> = v
                .iter()
                .zip(&exit)
                .map(|(x, e)| x * (1.0 - e / lambda))
                .collect();
            for &(from, to, r) in q.transitions() {
                next[to] += v[from] * r / lambda;
            }
            v = next;
        }
        at_t
    }

    #[test]
    fn every_stratum_of_exact_toml_matches_the_counting_chain() {
        let n: u64 = std::env::var("STRATA_TRIALS").map_or(4000, |v| v.parse().unwrap());
        let s = crate::scenario::load(std::path::Path::new("scenarios/exact.toml")).unwrap();
        let plan = Plan::new(&s.system, 1).unwrap();
        let rare = RarePlan::new(&plan, Approach::Exact, 0, s.group_trials).unwrap();
        for opt in 0..s.system.options.len() {
            let o = &rare.options[opt];
            let exact = by_stratum(&s.system, opt, 4);
            let m = o.sampler.total_rate() * s.system.end() as f64;
            let (pi, _) = poisson(m, 4);
            for k in 0..=4usize.min(o.strata.weights.len() - 1) {
                let ys: Vec<f64> = (0..n)
                    .map(|i| run_group_trial(&plan, opt, o, k, (9 << 40) + i).estimate)
                    .collect();
                let mean = ys.iter().sum::<f64>() / n as f64;
                let sd = (ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
                let (estimate, se) = (pi[k] * mean, pi[k] * sd / (n as f64).sqrt());
                let name = &s.system.options[opt].name;
                println!(
                    "{name} stratum {k}: {estimate:.5e} ± {se:.1e}, exact {:.5e}",
                    exact[k]
                );
                // Strata carrying under 0.1% of the total do not matter
                // (and their rare large values make 4,000 samples skewed);
                // stratum 0 is solved, not sampled: to the solver's rounding.
                let total: f64 = exact.iter().sum();
                if exact[k] < 1e-3 * total {
                    continue;
                }
                let allowed = (5.0 * se).max(exact_rounding(Window::of(&s.system)) * exact[k]);
                assert!(
                    (estimate - exact[k]).abs() <= allowed,
                    "{name} stratum {k}: {estimate:e} ± {se:e} against {:e}",
                    exact[k]
                );
            }
        }
    }
}
