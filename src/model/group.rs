//! One placement group (extent) of one option, alone: its copies, the
//! components holding them with their failure clocks, and the repairs in
//! flight. It follows the fleet simulation's rules (same failure processes,
//! detection, repair timing and placement) but tracks only what can touch
//! this group, so a rare-event estimator can drive it one step at a time
//! and scale the failure hazards as it sees fit.
//!
//! Simplification, stated in docs/method.md: failures of components that
//! hold none of the group's copies are not simulated; in the fleet they only
//! narrow where a re-created copy may go.

use rand::{Rng, RngExt};
use rand_distr::Exp1;

use super::placement::{
    InService, Placement, breaks_spread, replacement_disk, return_may_make_room, room_after_return,
};
use super::repair::{self, RepairTiming};
use super::world::MAX_COPIES;
use super::{
    BurstSize, Latent, Level, RepairDiscipline, ReplicationOption, System, pattern_probability,
};
use crate::units::Micros;

/// A failure clock: process `process` on one component holding a live copy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clock {
    pub process: u16,
    pub component: u32,
    /// Age of the component now (µs since it was new).
    pub age: f64,
}

/// A destruction scripted into a group trial: component `component` of
/// `level` destroyed at `at`, back in service, empty, after `replace`. The
/// rare-event method scripts the site events of a stratum and the
/// scenario's `[[fault]]`s this way. A scripted event that finds its
/// component (or an ancestor) already destroyed does nothing, as a fleet
/// clock striking a destroyed component does nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scripted {
    pub at: Micros,
    pub level: Level,
    pub component: u32,
    pub replace: Micros,
    /// A burst: strike a random subset, of this size, of the `level`
    /// components below `component` of the given level, instead of
    /// `component` itself.
    pub subset: Option<(Level, BurstSize)>,
}

/// What ended a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepEnd {
    /// Clock `i` of the step's clock list fired.
    Failure(usize),
    /// A repair or a replacement was due.
    Scheduled,
    /// The horizon was reached first.
    Horizon,
}

/// Components holding copies past which a burst's pattern is drawn rather
/// than enumerated (2^10 patterns).
const MAX_PATTERN_BITS: usize = 10;

/// Which of `m` marked components of `n` are among `count` drawn
/// uniformly: each in turn with the hypergeometric chance given the
/// earlier ones, as bits.
fn true_law_pattern<R: Rng + ?Sized>(m: usize, n: u32, count: u32, rng: &mut R) -> u32 {
    let (mut left, mut pool) = (count, n);
    let mut pattern = 0;
    for i in 0..m {
        if rng.random::<f64>() * f64::from(pool) < f64::from(left) {
            pattern |= 1 << i;
            left -= 1;
        }
        pool -= 1;
    }
    pattern
}

/// A component out of service until `back`.
#[derive(Clone, Copy, Debug)]
struct Down {
    level: Level,
    index: u32,
    back: Micros,
}

/// The state of one group within one trial.
#[derive(Clone, Debug)]
pub struct Group<'s> {
    system: &'s System,
    option: &'s ReplicationOption,
    /// The option's placement in the plan: its copysets, if any, place
    /// re-created copies as in the fleet.
    placement: &'s Placement,
    pub now: Micros,
    disks: [u32; MAX_COPIES],
    alive: u32,
    full: u32,
    lost: bool,
    /// Repairs in flight, as (due, slot).
    repairs: Vec<(Micros, u8)>,
    /// One-at-a-time repair: lost copies waiting for their turn.
    queued: u32,
    /// Repairs that found no target, retried when a component comes back.
    blocked: u32,
    /// Live copies placed against their group's spread rule (by slot), and
    /// their moves back scheduled on a return that made room, as (due,
    /// slot): the fleet's rebalancing (`model::world`'s `rebalance`).
    relaxed: u32,
    moves: Vec<(Micros, u8)>,
    down: Vec<Down>,
    /// Replacement times, as (level, index, when): a component and all
    /// below it are new again from then on.
    renewed: Vec<(Level, u32, Micros)>,
    /// Scripted destructions in time order, and the next one to apply.
    script: Vec<Scripted>,
    next_script: usize,
    /// Failure processes without clocks (their events are scripted), by bit.
    unclocked: u32,
    /// Copies destroyed by a clock (not a script) and not yet re-created:
    /// a degraded episode lasts while one is.
    fast: u32,
    /// The widest site level (facility or wider) of a destruction that took
    /// one of the group's copies so far.
    touched: Option<Level>,
    /// The copy group serving the account (0: the original primary).
    serve: usize,
    /// When the re-protection of an unplanned failover under way ends: the
    /// copies the serving group lost come back and the other group serves.
    reprotected_at: Option<Micros>,
    /// When the account fails back to the original primary.
    failback_at: Option<Micros>,
    /// With `[latent]`: the process and the bytes of one slot.
    latent: Option<(Latent, f64)>,
    /// When each slot was last written (0: at the trial's start), for
    /// latent errors without scrubbing.
    written: [Micros; MAX_COPIES],
    /// P(no loss counted as a probability has taken the extent on this
    /// path so far): the product of (1 − q) over the latent checks passed
    /// and the bursts survived. Conditional Monte Carlo, as the fleet's
    /// check and strike but without their draw: the path goes on with this
    /// weight, and each q·survival is a loss.
    survival: f64,
    /// The losses counted as probabilities since they were last taken
    /// (latent-error checks and bursts), as (time, probability, widest site
    /// level touched, whether through a latent error).
    conditional: Vec<(Micros, f64, Option<Level>, bool)>,
}

impl<'s> Group<'s> {
    /// Extent `extent` of option `k`, placed by `placement` (the plan's
    /// placement of that option), with every copy alive, at time 0.
    pub fn new(system: &'s System, placement: &'s Placement, k: usize, extent: u32) -> Self {
        let disks = placement.extent(extent);
        let mut d = [0; MAX_COPIES];
        d[..disks.len()].copy_from_slice(disks);
        let full = if disks.len() >= 32 {
            u32::MAX
        } else {
            (1u32 << disks.len()) - 1
        };
        Self {
            system,
            option: &system.options[k],
            placement,
            now: 0,
            disks: d,
            alive: full,
            full,
            lost: false,
            repairs: Vec::new(),
            queued: 0,
            blocked: 0,
            relaxed: 0,
            moves: Vec::new(),
            down: Vec::new(),
            renewed: Vec::new(),
            script: Vec::new(),
            next_script: 0,
            unclocked: 0,
            fast: 0,
            touched: None,
            serve: 0,
            reprotected_at: None,
            failback_at: None,
            latent: system
                .latent
                .map(|l| (l, system.options[k].slot_bytes(system.extent_bytes))),
            written: [0; MAX_COPIES],
            survival: 1.0,
            conditional: Vec::new(),
        }
    }

    /// The group with the destructions of `script` applied at their times,
    /// and no clocks for the failure processes whose bit is set in
    /// `unclocked` (their events are among the script, or left out).
    pub fn with_script(mut self, mut script: Vec<Scripted>, unclocked: u32) -> Self {
        script.sort_by_key(|e| e.at);
        self.script = script;
        self.next_script = 0;
        self.unclocked = unclocked;
        self
    }

    /// No copy destroyed by a clock is missing: outside a degraded episode.
    /// Without scripted destructions this is [`Group::is_whole`].
    pub fn is_calm(&self) -> bool {
        self.fast == 0
    }

    /// The widest site level (facility, zone or region) of a destruction
    /// that took one of the group's copies so far; None if none did.
    pub fn touched(&self) -> Option<Level> {
        self.touched
    }

    /// Whether scripted destructions remain to be applied.
    pub fn has_script_ahead(&self) -> bool {
        self.next_script < self.script.len()
    }

    /// Times of the scripted destructions still ahead.
    pub fn script_ahead(&self) -> impl Iterator<Item = Micros> + '_ {
        self.script[self.next_script..].iter().map(|e| e.at)
    }

    /// The disk of each slot: where its copy is, or was when lost.
    pub fn disks(&self) -> &[u32] {
        &self.disks[..self.option.copies() as usize]
    }

    pub fn is_lost(&self) -> bool {
        self.lost
    }

    /// Every copy alive: degraded episodes are the stretches between.
    pub fn is_whole(&self) -> bool {
        self.alive == self.full
    }

    /// The failure clocks of the components holding live copies, each once.
    pub fn clocks(&self) -> Vec<Clock> {
        let topo = &self.system.topology;
        let mut clocks: Vec<Clock> = Vec::new();
        for slot in self.alive_slots() {
            let disk = self.disks[slot];
            for (p, process) in self.system.failures.iter().enumerate() {
                if self.unclocked & (1 << p) != 0 {
                    continue;
                }
                let component = topo.ancestor(disk, process.level);
                let id = p as u16;
                if clocks
                    .iter()
                    .any(|c| c.process == id && c.component == component)
                {
                    continue;
                }
                let age = self.now.saturating_sub(self.installed(disk, process.level));
                clocks.push(Clock {
                    process: id,
                    component,
                    age: age as f64,
                });
            }
        }
        clocks
    }

    /// Cumulative hazard of `clock` over the next `dt` µs.
    pub fn hazard_over(&self, clock: &Clock, dt: f64) -> f64 {
        let life = &self.system.failures[clock.process as usize].lifetime;
        life.cumulative_hazard(clock.age + dt) - life.cumulative_hazard(clock.age)
    }

    /// The constant hazard rate (per µs) of `clock`, if its lifetime is memoryless.
    pub fn rate(&self, clock: &Clock) -> Option<f64> {
        self.system.failures[clock.process as usize]
            .lifetime
            .exponential_rate()
    }

    /// The time the next lost copy is re-created, if a repair is in flight.
    pub fn next_repair(&self) -> Option<Micros> {
        self.repairs.iter().map(|&(t, _)| t).min()
    }

    /// The time of the next repair, replacement or scripted destruction.
    pub fn next_scheduled(&self) -> Option<Micros> {
        let repairs = self.repairs.iter().chain(&self.moves).map(|&(t, _)| t);
        let script = self.script.get(self.next_script).map(|e| e.at);
        repairs
            .chain(self.down.iter().map(|d| d.back))
            .chain(script)
            .min()
    }

    /// Advances to the next event with each clock's hazard multiplied by
    /// `bias[i]`, stopping at `horizon`. Returns what happened and the log
    /// of the step's likelihood ratio (true over biased path density).
    pub fn step<R: Rng + ?Sized>(
        &mut self,
        clocks: &[Clock],
        bias: &[f64],
        horizon: Micros,
        rng: &mut R,
    ) -> (StepEnd, f64) {
        let mut next = (
            self.next_scheduled().unwrap_or(Micros::MAX),
            StepEnd::Scheduled,
        );
        if horizon <= next.0 {
            next = (horizon, StepEnd::Horizon);
        }
        for (i, (clock, &c)) in clocks.iter().zip(bias).enumerate() {
            let at = self.now.saturating_add(self.failure_delay(clock, c, rng));
            if at < next.0 {
                next = (at, StepEnd::Failure(i));
            }
        }
        let (at, end) = next;
        let log_lr = self.log_likelihood_ratio(clocks, bias, (at - self.now) as f64, end);
        self.now = at;
        match end {
            StepEnd::Failure(i) => self.fail(&clocks[i], rng),
            StepEnd::Scheduled => self.run_scheduled(rng),
            StepEnd::Horizon => {}
        }
        (end, log_lr)
    }

    /// Advances to the next event under the true law.
    pub fn step_true<R: Rng + ?Sized>(&mut self, horizon: Micros, rng: &mut R) -> StepEnd {
        let clocks = self.clocks();
        let ones = vec![1.0; clocks.len()];
        self.step(&clocks, &ones, horizon, rng).0
    }

    /// Applies a failure of `clock`'s component now (for forced first failures).
    pub fn fail<R: Rng + ?Sized>(&mut self, clock: &Clock, rng: &mut R) {
        let process = &self.system.failures[clock.process as usize];
        self.destroy(process.level, clock.component, process.replace, true, rng);
    }

    /// Destroys component `c` of `level` now, back after `replace`: its
    /// copies are lost and their repairs start. `by_clock`: a failure clock
    /// fired (the copies count towards a degraded episode), else a script.
    fn destroy<R: Rng + ?Sized>(
        &mut self,
        level: Level,
        c: u32,
        replace: Micros,
        by_clock: bool,
        rng: &mut R,
    ) {
        let system = self.system;
        self.down.push(Down {
            level,
            index: c,
            back: self.now.saturating_add(replace),
        });
        let detection = system.detection.sample(rng);
        let timing = RepairTiming::after(system, self.option, detection, (level, c));
        let killed: Vec<usize> = self
            .alive_slots()
            .filter(|&s| system.topology.ancestor(self.disks[s], level) == c)
            .collect();
        let before = self.alive;
        for &s in &killed {
            self.alive &= !(1 << s);
            self.relaxed &= !(1 << s);
            if by_clock {
                self.fast |= 1 << s;
            }
        }
        if !killed.is_empty() && level <= Level::Facility {
            self.touched = Some(self.touched.map_or(level, |t| t.min(level)));
        }
        if !self.option.code.decodable(self.alive) {
            self.lost = true;
            return;
        }
        self.check_latent(before);
        self.catch_up_failback();
        let wait = repair::failover_wait(system, level, c);
        let region_back = if level == Level::Region { replace } else { 0 };
        for s in killed {
            let local = self.alive & self.option.group_mask(s as u8) != 0;
            if !local && let Some(due) = self.reprotection(s as u8, (wait, region_back), rng) {
                self.repairs.push((due, s as u8));
                continue;
            }
            let one_at_a_time = system.discipline == RepairDiscipline::OneAtATime;
            // As in the fleet, a blocked repair still holds the one slot.
            if one_at_a_time && (!self.repairs.is_empty() || self.blocked != 0) {
                self.queued |= 1 << s;
                continue;
            }
            let reads = self.option.code.repair_reads(self.alive, s as u8);
            let delay = timing.delay(&system.repair, (local, reads), rng);
            self.repairs.push((self.now.saturating_add(delay), s as u8));
        }
    }

    /// `[latent]`: the slots a loss from `before` has just made critical
    /// are read with no other source, as in the fleet
    /// ([`Latent::any_undetected`]); an undetected error on one loses the
    /// extent. Records that loss's probability and lowers the path's
    /// survival by it, drawing nothing.
    fn check_latent(&mut self, before: u32) {
        let Some((latent, bytes)) = self.latent else {
            return;
        };
        let newly = self.option.code.newly_critical(before, self.alive);
        let (now, written) = (self.now, &self.written);
        let q = latent.any_undetected(bytes, newly, |s| now.saturating_sub(written[s as usize]));
        if q > 0.0 {
            self.lose_with(q, true);
        }
    }

    /// Counts a loss of probability `q` now, given the path so far, and
    /// goes on with the rest: survival × q is a loss, survival × (1 − q)
    /// the path's weight from now on.
    fn lose_with(&mut self, q: f64, latent: bool) {
        debug_assert!((0.0..=1.0).contains(&q), "a probability: {q}");
        let p = self.survival * q;
        self.conditional.push((self.now, p, self.touched, latent));
        self.survival *= 1.0 - q;
    }

    /// P(no loss counted as a probability has taken the extent on this
    /// path so far): 1 without `[latent]` and bursts. A loss of the path
    /// counts with this weight.
    pub fn survival(&self) -> f64 {
        self.survival
    }

    /// Hands the losses counted as probabilities since the last call to
    /// `add`, as (probability, time, widest site level touched, whether
    /// through a latent error), and forgets them.
    pub fn take_conditional_losses(
        &mut self,
        mut add: impl FnMut(f64, Micros, Option<Level>, bool),
    ) {
        for (at, p, touched, latent) in self.conditional.drain(..) {
            add(p, at, touched, latent);
        }
    }

    /// Forgets the losses counted as probabilities since they were last
    /// taken: the estimator counts them elsewhere (an episode's sub-runs).
    pub fn forget_conditional_losses(&mut self) {
        self.conditional.clear();
    }

    /// A burst scripted at `e`: `size` of the N `e.level` components below
    /// component `e.component` of `within`, a uniform subset, destroyed as
    /// the fleet destroys them ([`BurstSize::draw`]). Only those holding
    /// live copies matter, and each pattern of them is struck with its
    /// hypergeometric probability: the patterns that lose the extent are
    /// counted as a probability (as a latent check), and the path goes on
    /// in a pattern drawn among the others in proportion to theirs. Past
    /// [`MAX_PATTERN_BITS`] components holding copies, the pattern is drawn
    /// under the true law instead.
    fn strike_subset<R: Rng + ?Sized>(
        &mut self,
        e: Scripted,
        within: Level,
        size: BurstSize,
        rng: &mut R,
    ) {
        let topo = &self.system.topology;
        let below = topo.components_within(within, e.component, e.level);
        let n = below.len() as u32;
        let count = size.draw(n, rng);
        let mut held: Vec<(u32, u32)> = Vec::new();
        for s in self.alive_slots() {
            let c = topo.ancestor(self.disks[s], e.level);
            if !below.contains(&c) {
                continue;
            }
            match held.iter_mut().find(|h| h.0 == c) {
                Some(h) => h.1 |= 1 << s,
                None => held.push((c, 1 << s)),
            }
        }
        if held.is_empty() || count == 0 {
            return;
        }
        let struck = if held.len() > MAX_PATTERN_BITS {
            true_law_pattern(held.len(), n, count, rng)
        } else {
            match self.surviving_pattern(&held, n, count, rng) {
                Some(pattern) => pattern,
                None => {
                    // Every pattern loses it: counted in full, nothing left.
                    self.lost = true;
                    return;
                }
            }
        };
        for (i, &(c, _)) in held.iter().enumerate() {
            if struck & (1 << i) != 0 && !self.lost {
                self.destroy(e.level, c, e.replace, false, rng);
            }
        }
    }

    /// Counts the loss of the patterns of `held` (components with their
    /// slots) that undo the extent, and draws one of the others: None when
    /// none is left.
    fn surviving_pattern<R: Rng + ?Sized>(
        &mut self,
        held: &[(u32, u32)],
        n: u32,
        count: u32,
        rng: &mut R,
    ) -> Option<u32> {
        let m = held.len() as u32;
        let patterns: Vec<(u32, f64)> = (0..1u32 << m)
            .map(|pattern| {
                (
                    pattern,
                    pattern_probability(m, pattern.count_ones(), n, count),
                )
            })
            .collect();
        let slots = |pattern: u32| {
            held.iter()
                .enumerate()
                .filter(|(i, _)| pattern & (1 << i) != 0)
                .fold(0, |a, (_, h)| a | h.1)
        };
        let code = self.option.code;
        let keeps = |pattern: u32| code.decodable(self.alive & !slots(pattern));
        let loss: f64 = patterns
            .iter()
            .filter(|(p, _)| !keeps(*p))
            .map(|(_, q)| q)
            .sum();
        let kept: Vec<(u32, f64)> = patterns.into_iter().filter(|(p, _)| keeps(*p)).collect();
        let total: f64 = kept.iter().map(|(_, q)| q).sum();
        if loss > 0.0 {
            self.lose_with(loss.min(1.0), false);
        }
        if total <= 0.0 {
            return None;
        }
        let mut pick = rng.random::<f64>() * total;
        for &(pattern, q) in &kept {
            if pick < q {
                return Some(pattern);
            }
            pick -= q;
        }
        kept.last().map(|&(p, _)| p)
    }

    /// When a copy of `slot` lost with no source in its group comes back by
    /// the account's re-protection rather than the repair model (None), as
    /// the fleet holds it ([`super::failover::Account::holds_for_reprotection`]):
    /// a serving group emptied by a destruction that fails the account over
    /// (`wait`, [`repair::failover_wait`]; `region_back`: when a destroyed
    /// primary region returns), or one already failed away from. Parallel
    /// repair only, as in the fleet.
    fn reprotection<R: Rng + ?Sized>(
        &mut self,
        slot: u8,
        (wait, region_back): (Option<Micros>, Micros),
        rng: &mut R,
    ) -> Option<Micros> {
        let geo = self.option.groups.len() > 1;
        let parallel = self.system.discipline == RepairDiscipline::Parallel;
        if !geo || !parallel || self.option.group_of(slot).0 != self.serve {
            return None;
        }
        if self.reprotected_at.is_none() {
            let delay = repair::reprotection_delay(self.system, wait?, region_back, rng);
            self.reprotected_at = Some(self.now.saturating_add(delay));
        }
        self.reprotected_at
    }

    /// The re-protection is complete (the copies it re-creates are due now):
    /// the other group serves, and the account fails back after
    /// `failback_after` (the planned switch's duration drawn now).
    fn end_reprotection<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        if self.reprotected_at.is_none_or(|t| t > self.now) {
            return;
        }
        self.reprotected_at = None;
        self.serve = 1 - self.serve;
        let policy = &self.system.failover;
        self.failback_at = match policy.failback_after {
            Some(after) if self.serve != 0 => {
                let switch = policy.planned_duration.sample(rng);
                Some(self.now.saturating_add(after).saturating_add(switch))
            }
            _ => None,
        };
    }

    /// A failback due by now has happened (it moves no copy, so it is
    /// applied when a failure asks which group serves).
    fn catch_up_failback(&mut self) {
        if self.failback_at.is_some_and(|t| t <= self.now) {
            self.failback_at = None;
            self.serve = 0;
        }
    }

    fn alive_slots(&self) -> impl Iterator<Item = usize> + '_ {
        (0..MAX_COPIES).filter(|&s| self.alive & (1 << s) != 0)
    }

    /// When the component of `level` above `disk` was last new.
    fn installed(&self, disk: u32, level: Level) -> Micros {
        let topo = &self.system.topology;
        self.renewed
            .iter()
            .filter(|&&(l, c, _)| l <= level && topo.ancestor(disk, l) == c)
            .map(|&(_, _, t)| t)
            .max()
            .unwrap_or(0)
    }

    /// Time to the failure of `clock` under its hazard scaled by `c`.
    fn failure_delay<R: Rng + ?Sized>(&self, clock: &Clock, c: f64, rng: &mut R) -> Micros {
        let life = &self.system.failures[clock.process as usize].lifetime;
        let e: f64 = rng.sample(Exp1);
        let h = life.cumulative_hazard(clock.age) + e / c;
        let dt = life.inverse_cumulative_hazard(h) - clock.age;
        if dt.is_finite() {
            crate::units::ceil_micros(dt) // 0 for dt <= 0
        } else {
            Micros::MAX
        }
    }

    /// log(true/biased density) of surviving `dt` under `bias`, and of the
    /// firing clock's hazard if a clock fired.
    fn log_likelihood_ratio(&self, clocks: &[Clock], bias: &[f64], dt: f64, end: StepEnd) -> f64 {
        let mut log_lr = 0.0;
        for (clock, &c) in clocks.iter().zip(bias) {
            if c != 1.0 {
                log_lr += (c - 1.0) * self.hazard_over(clock, dt);
            }
        }
        if let StepEnd::Failure(i) = end {
            log_lr -= bias[i].ln();
        }
        log_lr
    }

    /// Completes the replacements due now, then applies the scripted
    /// destructions due, then completes the repairs due, in slot order.
    fn run_scheduled<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        let now = self.now;
        let returned = self.down.iter().filter(|d| d.back <= now);
        let renewed: Vec<_> = returned.map(|d| (d.level, d.index, d.back)).collect();
        let back = !renewed.is_empty();
        self.down.retain(|d| d.back > now);
        let returned: Vec<(Level, u32)> = renewed.iter().map(|&(l, c, _)| (l, c)).collect();
        self.renewed.extend(renewed);
        while let Some(&e) = self.script.get(self.next_script).filter(|e| e.at <= now) {
            self.next_script += 1;
            match e.subset {
                _ if self.lost => {}
                None if Service(self).component(e.level, e.component) => {
                    self.destroy(e.level, e.component, e.replace, false, rng);
                }
                Some((within, size)) if Service(self).component(within, e.component) => {
                    self.strike_subset(e, within, size, rng);
                }
                _ => {}
            }
        }
        let mut due: Vec<u8> = self
            .repairs
            .iter()
            .filter(|&&(t, _)| t <= now)
            .map(|&(_, s)| s)
            .collect();
        due.sort_unstable();
        self.repairs.retain(|&(t, _)| t > now);
        if back {
            due.extend((0..MAX_COPIES as u8).filter(|&s| self.blocked & (1 << s) != 0));
            self.blocked = 0;
        }
        for slot in due {
            self.recreate(slot, rng);
        }
        // As the fleet: a return first retries the repairs waiting for a
        // place, then looks for copies to move back.
        for (level, c) in returned {
            self.schedule_moves(level, c, rng);
        }
        let mut moving: Vec<u8> = self
            .moves
            .iter()
            .filter(|&&(t, _)| t <= now)
            .map(|&(_, s)| s)
            .collect();
        moving.sort_unstable();
        self.moves.retain(|&(t, _)| t > now);
        for slot in moving {
            self.move_back(slot, rng);
        }
        self.end_reprotection(rng);
    }

    /// The disks of the live copies of `slot`'s group other than `slot`.
    fn others(&self, slot: u8) -> Vec<u32> {
        let (_, slots) = self.option.group_of(slot);
        slots
            .filter(|&s| s != slot as usize && self.alive & (1 << s) != 0)
            .map(|s| self.disks[s])
            .collect()
    }

    /// Component `c` of `level` is back: each copy placed against its
    /// rule for which it makes room is moved at a point of `c`'s rebuild
    /// window, as in the fleet.
    fn schedule_moves<R: Rng + ?Sized>(&mut self, level: Level, c: u32, rng: &mut R) {
        let waiting = self.relaxed & self.alive;
        if waiting == 0 || self.lost {
            return;
        }
        let system = self.system;
        let topo = &system.topology;
        let timing = RepairTiming::after(system, self.option, 0, (level, c));
        for slot in (0..MAX_COPIES as u8).filter(|&s| waiting & (1 << s) != 0) {
            if self.moves.iter().any(|&(_, s)| s == slot) {
                continue;
            }
            let group = &self.option.groups[self.option.group_of(slot).0];
            if !return_may_make_room(topo, group.spread, (level, c), &Service(self)) {
                continue;
            }
            let others = self.others(slot);
            let anchor = topo.ancestor(self.disks[slot as usize], group.within);
            if room_after_return(topo, group, (anchor, &others), (level, c), &Service(self)) {
                let delay = timing.delay(&system.repair, (true, 1), rng);
                self.moves.push((self.now.saturating_add(delay), slot));
            }
        }
    }

    /// Moves copy `slot` where its group's rule puts it, if it still breaks
    /// the rule and such a disk is usable; otherwise it waits for the next
    /// return, as in the fleet.
    fn move_back<R: Rng + ?Sized>(&mut self, slot: u8, rng: &mut R) {
        let bit = 1u32 << slot;
        if self.lost || self.alive & bit == 0 || self.relaxed & bit == 0 {
            return;
        }
        let topo = &self.system.topology;
        let g = self.option.group_of(slot).0;
        let group = &self.option.groups[g];
        let others = self.others(slot);
        let old = self.disks[slot as usize];
        if !breaks_spread(topo, group, old, &others) {
            self.relaxed &= !bit;
            return;
        }
        let copysets = self.placement.copysets(g);
        let picked = replacement_disk(topo, group, copysets, &others, old, &Service(self), rng)
            .filter(|&d| !breaks_spread(topo, group, d, &others));
        if let Some(disk) = picked {
            self.meet(disk, rng);
            self.written[slot as usize] = self.now;
            self.disks[slot as usize] = disk;
            self.relaxed &= !bit;
        }
    }

    /// Re-creates copy `slot` on a disk that keeps its group's rule.
    fn recreate<R: Rng + ?Sized>(&mut self, slot: u8, rng: &mut R) {
        if self.lost {
            return;
        }
        let topo = &self.system.topology;
        let (g, slots) = self.option.group_of(slot);
        let group = &self.option.groups[g];
        let taken: Vec<u32> = slots
            .filter(|&s| self.alive & (1 << s) != 0)
            .map(|s| self.disks[s])
            .collect();
        let old = self.disks[slot as usize];
        let copysets = self.placement.copysets(g);
        match replacement_disk(topo, group, copysets, &taken, old, &Service(self), rng) {
            Some(disk) => {
                self.meet(disk, rng);
                self.written[slot as usize] = self.now;
                self.disks[slot as usize] = disk;
                self.alive |= 1 << slot;
                self.fast &= !(1 << slot);
                if breaks_spread(topo, group, disk, &taken) {
                    self.relaxed |= 1 << slot;
                }
            }
            None => self.blocked |= 1 << slot,
        }
        self.start_next_in_line(rng);
    }

    /// Gives the components above `disk` that hold none of the group's live
    /// copies the age they have in the fleet: a new target is not as old as
    /// the trial (the fleet has replaced some of its disks by now), so each
    /// ageing class draws when the component was last new
    /// ([`crate::dist::Dist::last_renewal`]). Memoryless classes draw
    /// nothing: age does not change their hazard.
    fn meet<R: Rng + ?Sized>(&mut self, disk: u32, rng: &mut R) {
        let topo = &self.system.topology;
        for (p, process) in self.system.failures.iter().enumerate() {
            if self.unclocked & (1 << p) != 0 || process.lifetime.exponential_rate().is_some() {
                continue;
            }
            let component = topo.ancestor(disk, process.level);
            let known = self
                .alive_slots()
                .any(|s| topo.ancestor(self.disks[s], process.level) == component);
            if known {
                continue;
            }
            let at = process
                .lifetime
                .last_renewal(process.replace, self.now, rng);
            if at > 0 {
                self.renewed.push((process.level, component, at));
            }
        }
    }

    /// One-at-a-time repair: starts the next queued copy when none is in flight.
    fn start_next_in_line<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        if self.queued == 0 || self.blocked != 0 || !self.repairs.is_empty() {
            return;
        }
        let slot = self.queued.trailing_zeros() as u8;
        self.queued &= !(1 << slot);
        let delay = repair::next_in_line(&self.system.repair, rng);
        self.repairs.push((self.now.saturating_add(delay), slot));
    }
}

/// The components out of service as this group knows them.
struct Service<'g, 's>(&'g Group<'s>);

impl InService for Service<'_, '_> {
    fn component(&self, level: Level, c: u32) -> bool {
        let topo = &self.0.system.topology;
        !self
            .0
            .down
            .iter()
            .any(|d| d.level <= level && topo.ancestor_of(level, c, d.level) == d.index)
    }

    fn out_range(&self, disk: u32) -> Option<std::ops::Range<u32>> {
        let topo = &self.0.system.topology;
        let d = self
            .0
            .down
            .iter()
            .filter(|d| topo.ancestor(disk, d.level) == d.index)
            .min_by_key(|d| d.level)?;
        Some(topo.disk_range(d.level, d.index))
    }
}
