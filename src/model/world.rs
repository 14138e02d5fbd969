//! One trial of the storage system: failures destroy copies, outages make
//! them unavailable for a while, detection and re-replication re-create
//! them, and an extent is lost when too few copies survive. All options live
//! on the same hardware in the same trial, so they see the same failures and
//! outages (common random numbers). Each option's account (`failover`)
//! turns per-extent availability into availability over time, replication
//! lag and failovers.
//!
//! Random streams (purposes of [`trial_rng`]): 0 draws the failure trace and
//! detection delays; 1 + k draws repairs of option k; [`OUTAGES`] draws the
//! outage trace; [`AUX`] + k draws option k's re-homing and failover
//! durations, and with `[latent]` its latent-error checks, where k is the
//! option's twin ([`Plan::twins`]). An option's
//! behaviour thus never changes what another sees, and adding outages
//! leaves the failure trace as it was.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::{Rng, RngExt};
use rand_chacha::ChaCha8Rng;
use rand_distr::Exp1;

use super::failover::{Account, AccountOutcome, Env, Timer, UNREADABLE, UNWRITABLE, hour_of};
use super::fleet::{Fleet, Service, link_of};
use super::placement::{DiskIndex, InService, Placement, replacement_disk};
use super::repair::{self, RepairTiming};
use super::scratch::{Extents, Scratch, Tables};
use super::trace::{TraceEvent, What};
use super::{FaultKind, Level, Repair, RepairDiscipline, Scope, System};
use crate::engine::trials::trial_rng;
use crate::engine::{self, Flow, Limits, Model, RunEnd, Scheduler};
use crate::units::{HOUR, Micros};

mod availability;
mod budget;
mod bursts;
mod erasure;
mod keys;
mod lookahead;
mod outages;
mod rebalance;

pub use budget::{MAX_TRIAL_TIME, TrialBudget};
pub use bursts::BURSTS;
pub use keys::KEYS;

/// The most copies one option may keep of an extent.
pub const MAX_COPIES: usize = 32;

/// Events a traced trial may record at most (`replisim trace` keeps them
/// all, a few hundred bytes each): beyond it the trace is refused.
const MAX_TRACE_EVENTS: u64 = 1 << 22;

/// Stream of the outage trace (after the 1 + k repair streams of up to
/// 1024 options).
pub const OUTAGES: u32 = 1025;
/// First stream of the options' re-homing and failover draws.
pub const AUX: u32 = 1026;
/// Streams of each option's Lockbox answers (`[access]`): ACCESS + k, after
/// the vault's (2050) and the bursts' (2051, `bursts::BURSTS`) streams and
/// below the rare-event streams 3072 + k, so a
/// scenario with `[access]` has at most [`MAX_ACCESS_OPTIONS`] options.
pub const ACCESS: u32 = 2052;
pub const MAX_ACCESS_OPTIONS: usize = 3072 - ACCESS as usize;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// The fleet-wide clock of an exponential failure process struck a
    /// component (drawn when the clock was set).
    FleetFailure { process: u16, component: u32 },
    /// One component's own (non-exponential) lifetime ended.
    Failure { process: u16, component: u32 },
    /// A destroyed component is back in service, empty.
    Replaced { process: u16, component: u32 },
    /// A lost copy has been re-created.
    Repaired { option: u16, extent: u32, slot: u8 },
    /// The fleet-wide clock of a memoryless outage process fired.
    FleetOutage { process: u16 },
    /// One component's own time between outages ended.
    Outage { process: u16, component: u32 },
    /// An outage of a random process is over.
    OutageEnd { process: u16, component: u32 },
    /// A component has been down for the detection delay: its copies are
    /// re-created elsewhere (if it is still the same outage).
    MarkOut { level: Level, component: u32 },
    /// A copy unavailable for long has been re-created elsewhere.
    Rehomed { option: u16, extent: u32, slot: u8 },
    /// A copy placed against its group's spread rule is moved where the
    /// rule puts it (a return made room).
    Moved { option: u16, extent: u32, slot: u8 },
    /// A scripted fault strikes.
    Fault { fault: u16 },
    /// A scripted outage ends, or a scripted destruction is replaced.
    FaultOver { fault: u16 },
    /// An hour of the day at which the profile changes the write rate.
    Hour,
    /// A failover timer of one option's account.
    Failover {
        option: u16,
        timer: Timer,
        epoch: u32,
    },
    /// The warm-up is over: the measured horizon starts.
    Measure,
    /// The key vault goes down: a scripted outage (`fault`) or a random one.
    VaultOutage { fault: Option<u16> },
    /// A vault outage is over (`random`: time the next one).
    VaultBack { random: bool },
    /// A delete becomes final: sample its time to full erasure.
    ErasureProbe { index: u32 },
    /// A burst process's clock struck.
    Burst { process: u16 },
    /// A component struck by a burst is back (replaced, or up).
    BurstOver {
        level: Level,
        component: u32,
        destroyed: bool,
    },
}

/// What one option experienced in one trial.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptionOutcome {
    pub lost_extents: u32,
    /// Extents lost before the measured horizon (in the warm-up): the
    /// measured data set is the rest.
    pub retired: u32,
    /// (time, extents lost then), in time order: P(loss by t) for any t.
    pub losses: Vec<(Micros, u32)>,
    pub copies_destroyed: u64,
    pub copies_repaired: u64,
    /// Slots read by those re-creations (a copy reads one copy; a fragment
    /// what its code needs, [`super::Code::repair_reads`]): the repair
    /// traffic in slots of [`super::ReplicationOption::slot_bytes`].
    pub slots_read: u64,
    /// Copies moved back where their group's spread rule puts them
    /// (rebalancing): each reads and writes one slot.
    pub copies_moved: u64,
    /// Copy-time (µs) lost copies spent waiting for a place: no usable
    /// disk kept their placement rule (their region's components all
    /// destroyed or down), so they waited for a replacement.
    pub blocked_copy_us: u64,
    /// Availability over time, replication lag and failovers.
    pub account: AccountOutcome,
    /// Times from a delete to its full erasure, ms, as (value, count) runs
    /// in probe order (`[deletion]` only).
    pub erasure: Vec<(u64, u64)>,
    /// Of `lost_extents`, those lost through a latent error on the copy
    /// that had become critical (`[latent]` only).
    pub latent_losses: u32,
}

/// What a trial produced.
#[derive(Clone, Debug, PartialEq)]
pub struct TrialOutcome {
    pub options: Vec<OptionOutcome>,
    /// Likelihood ratio of the trial's path: 1 under plain Monte Carlo; an
    /// importance-sampling trial sets it, and estimates weight by it.
    pub weight: f64,
    pub events: u64,
    pub end: RunEnd,
    /// Why the trial ran out of its budget (events or wall time), naming
    /// the scenario field most of its events came from: the run must fail.
    pub runaway: Option<String>,
}

/// The immutable part of a run: the system and each option's placement.
#[derive(Debug)]
pub struct Plan<'s> {
    pub system: &'s System,
    pub placements: Vec<Placement>,
    /// The copies each disk holds, from the placements.
    pub by_disk: DiskIndex,
    pub seed: u64,
    /// Per option, the first option that stores data alike (same copy
    /// groups and `needed`): its random streams are the twin's, so options
    /// that differ only in name or in how they read (GRS and RA-GRS) see the
    /// same layout, repairs and failover draws, and compare exactly.
    pub twins: Vec<usize>,
    /// What each trial may spend, and the stop signal it obeys.
    pub budget: TrialBudget<'s>,
    /// Raised when a trial runs away, so that the others end at once: the
    /// run fails anyway.
    aborted: AtomicBool,
}

impl<'s> Plan<'s> {
    /// Places every option's data once for the run, from the master seed's
    /// stream of trial `u64::MAX` (no real trial uses that index), keyed by
    /// the option's twin.
    pub fn new(system: &'s System, seed: u64) -> Result<Self, String> {
        let options = &system.options;
        let twins: Vec<usize> = options
            .iter()
            .map(|option| {
                options
                    .iter()
                    .position(|o| {
                        o.groups == option.groups
                            && o.code == option.code
                            && o.layout == option.layout
                    })
                    .expect("an option is its own twin")
            })
            .collect();
        let placements = options
            .iter()
            .zip(&twins)
            .map(|(option, &twin)| {
                let mut rng = trial_rng(seed, u64::MAX, 1 + twin as u32);
                let extents = (system.extents, system.one_stamp);
                Placement::new(&system.topology, option, extents, &mut rng)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            system,
            by_disk: DiskIndex::new(system.topology.disks(), &placements),
            placements,
            seed,
            twins,
            budget: TrialBudget::default(),
            aborted: AtomicBool::new(false),
        })
    }

    /// Whether trials must end now: a stop signal, or another trial ran
    /// away.
    fn halted(&self) -> bool {
        self.budget.stopped() || self.aborted.load(Ordering::Relaxed)
    }

    /// Simulates trial `trial` to the horizon, in this thread's allocations
    /// of earlier trials (their content does not carry over).
    pub fn run_trial(&self, trial: u64) -> TrialOutcome {
        SCRATCH.with(|cell| {
            let (outcome, parts, _) =
                self.run_trial_in(trial, cell.take(), None, self.budget.max_events);
            cell.set(parts);
            outcome
        })
    }

    /// Simulates trial `trial` exactly as [`Plan::run_trial`] does, and
    /// records its events in order.
    pub fn trace_trial(&self, trial: u64) -> (TrialOutcome, Vec<TraceEvent>) {
        let max_events = self.budget.max_events.min(MAX_TRACE_EVENTS);
        let (outcome, _, trace) =
            self.run_trial_in(trial, Scratch::default(), Some(Vec::new()), max_events);
        (outcome, trace.unwrap_or_default())
    }

    /// Simulates trial `trial` in the allocations `parts`, recording into
    /// `trace` if given, and hands them back.
    fn run_trial_in(
        &self,
        trial: u64,
        mut parts: Scratch,
        trace: Option<Vec<TraceEvent>>,
        max_events: u64,
    ) -> (TrialOutcome, Scratch, Option<Vec<TraceEvent>>) {
        let mut sim = std::mem::take(&mut parts.sim);
        sim.reset();
        let mut world = World::new(self, trial, parts);
        // Recorded from the measured horizon on (a warm-up is not shown).
        if self.system.warmup == 0 {
            world.trace = trace;
        } else {
            world.held_trace = trace;
        }
        world.start(&mut sim);
        let deadline = self.budget.deadline();
        let halt = || self.halted() || Instant::now() >= deadline;
        let limits = Limits {
            horizon: self.system.end(),
            max_events,
            halt: Some(&halt),
        };
        let end = engine::run(&mut world, &mut sim, limits);
        let events = sim.handled();
        let out_of = match end {
            RunEnd::Budget => Some(format!("its budget of {max_events} events")),
            RunEnd::Halted if !self.halted() => Some(format!(
                "its {} s of wall time",
                self.budget.max_time.as_secs_f64()
            )),
            _ => None,
        };
        let runaway = out_of.map(|what| world.runaway(trial, &what, events, sim.now()));
        if runaway.is_some() {
            self.aborted.store(true, Ordering::Relaxed);
        }
        let trace = world.trace.take().or(world.held_trace.take());
        let (options, parts) = world.finish(sim);
        let outcome = TrialOutcome {
            options,
            weight: 1.0,
            events,
            end,
            runaway,
        };
        (outcome, parts, trace)
    }
}

thread_local! {
    /// The allocations of this thread's last trial, reused by the next.
    static SCRATCH: Cell<Scratch> = Cell::default();
}

/// One option's state within a trial.
struct OptionState<'s> {
    rng: ChaCha8Rng,
    /// Re-homing delays and failover durations.
    aux: ChaCha8Rng,
    tables: Tables,
    account: Account<'s>,
    outcome: OptionOutcome,
    /// With `[deletion]`: per extent, when the remnant on failed hardware
    /// of its latest destroyed copy is shredded (0: none).
    remnants: Option<Vec<Micros>>,
    /// With `[latent]`: what its checks need (None: no `[latent]`, no
    /// check and no draw).
    latent: Option<LatentCheck>,
    /// When the copies waiting for a place (`tables.blocked`) were last
    /// counted into `outcome.blocked_copy_us`.
    blocked_since: Micros,
}

/// What a latent-error check of option k needs.
struct LatentCheck {
    latent: super::Latent,
    slot_bytes: f64,
    /// Without scrubbing: when each re-created slot was written (absent:
    /// at the trial's start), by (extent, slot).
    written: std::collections::HashMap<(u32, u8), Micros>,
}

impl LatentCheck {
    fn new(latent: super::Latent, slot_bytes: f64) -> Self {
        Self {
            latent,
            slot_bytes,
            written: std::collections::HashMap::new(),
        }
    }

    /// P(at least one of the slots `newly` of `extent` holds an undetected
    /// error) at time `now` (trial time).
    fn any_undetected(&self, extent: u32, newly: u32, now: Micros) -> f64 {
        let age = |slot: u8| {
            let written = self.written.get(&(extent, slot)).copied().unwrap_or(0);
            now.saturating_sub(written)
        };
        self.latent.any_undetected(self.slot_bytes, newly, age)
    }
}

struct World<'p, 's> {
    plan: &'p Plan<'s>,
    rng: ChaCha8Rng,
    outage_rng: ChaCha8Rng,
    /// Bursts' draws, when the scenario has any ([`BURSTS`]).
    burst_rng: Option<ChaCha8Rng>,
    fleet: Fleet,
    /// Links between paired regions, by link id (lower region index).
    links: Vec<u32>,
    /// Components down, with when they are marked out and due back.
    down: std::collections::HashMap<(Level, u32), Down>,
    options: Vec<OptionState<'s>>,
    now: Micros,
    /// A region or link changed state: every account must look.
    env_changed: bool,
    /// Repairs waiting for capacity, over every option: while 0, capacity
    /// coming back has nothing to retry.
    blocked: usize,
    scratch: Vec<(u32, u8)>,
    /// Per option, the live copies below a component ([`World::collect_below`]).
    below: Vec<Vec<(u32, u8)>>,
    /// Re-creations drawn during one destruction: (delay, extent, slot).
    repairs: Vec<(Micros, u32, u8)>,
    /// The trial's events, when traced (`replisim trace`); None costs one
    /// branch where an event would be recorded.
    trace: Option<Vec<TraceEvent>>,
    /// Events handled, by source ([`budget`]): what names the field when
    /// a trial runs away.
    by_source: Vec<u64>,
    /// The trace, set aside during the warm-up.
    held_trace: Option<Vec<TraceEvent>>,
    /// The customer-managed key's vault, when there is one.
    vault: Option<keys::Vault>,
    /// When the remnants of the destruction under way are shredded (0:
    /// they are not kept).
    shred_at: Micros,
}

impl<'p, 's> World<'p, 's> {
    /// The world of trial `trial`, in the allocations of `parts` (emptied
    /// here; their scheduler is not used).
    fn new(plan: &'p Plan<'s>, trial: u64, mut parts: Scratch) -> Self {
        let system = plan.system;
        let topo = &system.topology;
        parts.clear(topo, &plan.placements);
        let data = (system.extents, system.extents as u64 * system.extent_bytes);
        let mut options: Vec<OptionState> = std::mem::take(&mut parts.tables)
            .into_iter()
            .enumerate()
            .map(|(k, tables)| OptionState {
                rng: trial_rng(plan.seed, trial, 1 + plan.twins[k] as u32),
                aux: trial_rng(plan.seed, trial, AUX + plan.twins[k] as u32),
                tables,
                account: Account::new(
                    &system.options[k],
                    k as u16,
                    data,
                    &system.failover,
                    &system.geo,
                    system.keys.as_ref().map(|k| k.cache),
                ),
                outcome: OptionOutcome::default(),
                remnants: system
                    .deletion
                    .as_ref()
                    .filter(|d| d.destroy_after > 0)
                    .map(|_| vec![0; system.extents as usize]),
                latent: system.latent.map(|l| {
                    LatentCheck::new(l, system.options[k].slot_bytes(system.extent_bytes))
                }),
                blocked_since: 0,
            })
            .collect();
        for (k, state) in options.iter_mut().enumerate() {
            let stream = ACCESS + plan.twins[k] as u32;
            let rng = || trial_rng(plan.seed, trial, stream);
            let policy = system.access.as_ref().filter(|a| a.covers(k));
            state.account.need_access(policy, rng);
        }
        let mut links: Vec<u32> = (0..topo.regions.len() as u32)
            .filter_map(|r| topo.regions[r as usize].pair.map(|p| link_of(r, p)))
            .collect();
        links.sort_unstable();
        links.dedup();
        Self {
            plan,
            rng: trial_rng(plan.seed, trial, 0),
            outage_rng: trial_rng(plan.seed, trial, OUTAGES),
            burst_rng: system
                .has_bursts()
                .then(|| trial_rng(plan.seed, trial, BURSTS)),
            fleet: parts.fleet,
            links,
            down: parts.down,
            options,
            now: 0,
            env_changed: false,
            blocked: 0,
            scratch: parts.copies,
            below: parts.below,
            repairs: parts.repairs,
            trace: None,
            by_source: budget::new_counts(system),
            held_trace: None,
            vault: system
                .keys
                .as_ref()
                .map(|_| keys::Vault::new(plan.seed, trial)),
            shred_at: 0,
        }
    }

    /// A simulated time as the measured horizon counts it (from the end of
    /// the warm-up): what a trace shows.
    fn measured(&self, t: Micros) -> Micros {
        t.saturating_sub(self.system().warmup)
    }

    /// Records `what` at the current time, if the trial is traced.
    fn record(&mut self, what: impl FnOnce(&Self) -> What) {
        if self.trace.is_some() {
            let event = TraceEvent {
                at: self.measured(self.now),
                what: what(self),
            };
            if let Some(trace) = &mut self.trace {
                trace.push(event);
            }
        }
    }

    fn system(&self) -> &'s System {
        self.plan.system
    }

    /// Starts every failure and outage clock, the scripted faults, the
    /// workload's hours and the accounts' planned failovers.
    fn start(&mut self, sim: &mut Scheduler<Event>) {
        for (p, process) in self.system().failures.iter().enumerate() {
            let p = p as u16;
            if process.lifetime.exponential_rate().is_some() {
                self.schedule_fleet_failure(p, sim);
            } else {
                for c in 0..self.system().topology.count(process.level) {
                    self.schedule_own_failure(p, c, sim);
                }
            }
        }
        for (p, process) in self.system().outages.iter().enumerate() {
            let p = p as u16;
            if process.between.exponential_rate().is_some() {
                self.schedule_fleet_outage(p, sim);
            } else {
                for c in 0..self.scope_count(process.scope) {
                    self.schedule_own_outage(p, c, sim);
                }
            }
        }
        // Scripted times count from the start of the measured horizon.
        let warmup = self.system().warmup;
        for (f, fault) in self.system().faults.iter().enumerate() {
            let at = warmup.saturating_add(fault.at);
            sim.schedule_at(at, Event::Fault { fault: f as u16 });
        }
        if warmup > 0 {
            sim.schedule_at(warmup, Event::Measure);
        }
        let geo_options = self.system().options.iter().any(|o| o.groups.len() > 1);
        if geo_options && self.system().geo.diurnal() {
            self.schedule_rate_change(sim);
        }
        let logical = self.system().logical.as_ref();
        for state in &mut self.options {
            state.account.watch_logical(logical);
            state.account.start(warmup, sim);
        }
        self.start_vault(sim);
        self.start_erasure(sim);
        self.start_bursts(sim);
    }

    /// The warm-up is over: what each option experienced so far is not
    /// counted (its state carries on), the extents it lost leave the
    /// measured data set, and the trace starts.
    fn on_measure(&mut self) {
        let now = self.now;
        for k in 0..self.options.len() {
            let tables = &mut self.options[k].tables;
            let lost = (0..self.plan.system.extents).filter(|&e| tables.extents.get(e).lost());
            tables.retired.extend(lost);
            for i in 0..self.options[k].tables.retired.len() {
                let extent = self.options[k].tables.retired[i];
                self.refresh(k, extent);
            }
        }
        for state in &mut self.options {
            // Only the horizon's waiting counts: from now on.
            count_blocked(state, now);
            let outcome = &mut state.outcome;
            outcome.retired = state.tables.retired.len() as u32;
            outcome.lost_extents = 0;
            outcome.losses.clear();
            outcome.copies_destroyed = 0;
            outcome.copies_repaired = 0;
            outcome.slots_read = 0;
            outcome.copies_moved = 0;
            outcome.blocked_copy_us = 0;
            outcome.erasure.clear();
            outcome.latent_losses = 0;
            state.account.begin_measuring(now);
        }
        self.trace = self.held_trace.take();
    }

    /// Closes every account at the horizon; hands back the allocations
    /// (with `sim` as their scheduler) for the next trial.
    fn finish(self, sim: Scheduler<Event>) -> (Vec<OptionOutcome>, Scratch) {
        let (end, warmup) = (self.system().end(), self.system().warmup);
        let mut tables = Vec::with_capacity(self.options.len());
        let outcomes = self
            .options
            .into_iter()
            .map(|mut o| {
                count_blocked(&mut o, end);
                tables.push(o.tables);
                o.outcome.account = o.account.finish(end);
                for (at, _) in &mut o.outcome.losses {
                    *at -= warmup;
                }
                o.outcome
            })
            .collect();
        let parts = Scratch {
            sim,
            fleet: self.fleet,
            tables,
            down: self.down,
            copies: self.scratch,
            below: self.below,
            repairs: self.repairs,
        };
        (outcomes, parts)
    }

    /// One clock for a whole class of memoryless components: the next failure
    /// of any of N components comes at rate N·λ. Components out of service
    /// are thinned out when struck, which leaves exactly the in-service rate.
    /// The clock picks its component when it is set, uniform and independent
    /// of the time, so that the copies of a disk about to fail can be loaded
    /// into cache a few events ahead ([`World::load_early`]).
    fn schedule_fleet_failure(&mut self, process: u16, sim: &mut Scheduler<Event>) {
        let p = &self.system().failures[process as usize];
        let (level, count) = (p.level, self.system().topology.count(p.level));
        let rate = p.lifetime.exponential_rate().unwrap_or(0.0);
        let wait = self.rng.sample::<f64, _>(Exp1) / (rate * f64::from(count));
        if wait.is_finite() {
            let component = self.rng.random_range(0..count);
            self.load_early(level, component);
            let event = Event::FleetFailure { process, component };
            sim.schedule(crate::units::ceil_micros(wait), event);
        }
    }

    /// Whether component `c` can fail: neither it nor an ancestor is
    /// destroyed (an outage does not protect it).
    fn component_in_service(&self, level: Level, c: u32) -> bool {
        !self.fleet.destroyed(&self.system().topology, level, c)
    }

    fn on_fleet_failure(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let level = self.system().failures[process as usize].level;
        if self.component_in_service(level, c) {
            self.destroy_by(process, c, sim);
        }
        self.schedule_fleet_failure(process, sim);
    }

    /// The next failure of component `c`, from a fresh lifetime.
    fn schedule_own_failure(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let lifetime = &self.system().failures[process as usize].lifetime;
        let at = lifetime.sample(&mut self.rng);
        sim.schedule(
            at,
            Event::Failure {
                process,
                component: c,
            },
        );
    }

    fn on_failure(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let p = &self.system().failures[process as usize];
        if self.component_in_service(p.level, c) {
            self.destroy_by(process, c, sim);
        } else {
            // Gone with an ancestor: it returns new when the ancestor does.
            self.schedule_own_failure(process, c, sim);
        }
    }

    fn on_replaced(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let p = &self.system().failures[process as usize];
        self.restore(p.level, c, sim);
        if p.lifetime.exponential_rate().is_none() {
            self.schedule_own_failure(process, c, sim);
        }
    }

    /// Component `c` is back in service, empty.
    fn restore(&mut self, level: Level, c: u32, sim: &mut Scheduler<Event>) {
        self.fleet.set_destroyed(level, c, false);
        self.record(|_| What::Replaced {
            level,
            component: c,
        });
        self.env_changed |= level == Level::Region;
        self.retry_blocked(level, c, sim);
        self.rebalance(level, c, sim);
    }

    /// Capacity is back below component `c`: repairs that found no target
    /// in its region try again now (others could not succeed, so they keep
    /// waiting without drawing from their stream).
    fn retry_blocked(&mut self, level: Level, c: u32, sim: &mut Scheduler<Event>) {
        if self.blocked == 0 {
            return;
        }
        let region = self.system().topology.ancestor_of(level, c, Level::Region);
        if self.fleet.out(Level::Region, region) {
            return;
        }
        for k in 0..self.options.len() {
            count_blocked(&mut self.options[k], self.now);
            let waiting = std::mem::take(&mut self.options[k].tables.blocked[region as usize]);
            self.blocked -= waiting.len();
            for (extent, slot) in waiting {
                self.on_repaired(k, extent, slot, sim);
            }
        }
    }

    /// Destroys component `c` of failure process `process`.
    fn destroy_by(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let p = &self.system().failures[process as usize];
        let replaced = Event::Replaced {
            process,
            component: c,
        };
        self.destroy(p.level, c, (p.replace, replaced), sim);
    }

    /// Destroys component `c` and every copy below it, schedules its return
    /// (`replaced`: delay and event), then the repairs.
    fn destroy(
        &mut self,
        level: Level,
        c: u32,
        replaced: (Micros, Event),
        sim: &mut Scheduler<Event>,
    ) {
        self.fleet.set_destroyed(level, c, true);
        self.env_changed |= level == Level::Region;
        sim.schedule(replaced.0, replaced.1);
        let detection = self.system().detection.sample(&mut self.rng);
        let fails_over = repair::failover_wait(self.system(), level, c).is_some();
        let before = self.trace.as_ref().map(|t| (t.len(), self.tally()));
        if level == Level::Disk {
            self.load_copies(c);
        }
        // Failed hardware (a disk, node or rack) keeps its data until it is
        // shredded; a site destroyed (fire, flood) keeps nothing.
        self.shred_at = match &self.system().deletion {
            Some(d) if level >= Level::Rack => self.now.saturating_add(d.destroy_after),
            _ => 0,
        };
        for k in 0..self.options.len() {
            // A disk holds copies of few options; for the others there is
            // nothing to do.
            if level != Level::Disk || self.holds_copies(k, c) {
                self.destroy_copies(k, (level, c), (detection, fails_over), sim);
            }
        }
        if let Some((at, before)) = before {
            self.record_destroyed(at, before, (level, c), detection);
        }
    }

    /// Whether `disk` holds a copy of option `k`, placed or re-created.
    fn holds_copies(&self, k: usize, disk: u32) -> bool {
        self.plan.by_disk.holds(k, disk) || self.options[k].tables.added.has(disk)
    }

    /// Per option, copies destroyed and extents lost so far.
    fn tally(&self) -> Vec<(u64, u32)> {
        let outcome = |o: &OptionState| (o.outcome.copies_destroyed, o.outcome.lost_extents);
        self.options.iter().map(outcome).collect()
    }

    /// Traces a destruction of `component` (level, index), ahead of the
    /// losses it caused (recorded from position `at` on), from the tallies
    /// `before` it.
    fn record_destroyed(
        &mut self,
        at: usize,
        before: Vec<(u64, u32)>,
        (level, component): (Level, u32),
        detection: Micros,
    ) {
        let after = self.tally();
        let delta = |f: fn(&(u64, u32)) -> u64| -> Vec<u32> {
            let diff = |(a, b): (&(u64, u32), &(u64, u32))| (f(a) - f(b)) as u32;
            after.iter().zip(&before).map(diff).collect()
        };
        let what = What::Destroyed {
            level,
            component,
            detected: self.measured(self.now.saturating_add(detection)),
            copies: delta(|t| t.0),
            lost: delta(|t| u64::from(t.1)),
        };
        let event = TraceEvent {
            at: self.measured(self.now),
            what,
        };
        if let Some(trace) = &mut self.trace {
            trace.insert(at, event);
        }
    }

    /// Marks every live copy of option `k` below the `struck` component
    /// (level, index) destroyed and schedules its re-creation after
    /// `detection`, in disk order: first the copies the plan placed, then
    /// those re-created there, oldest first. Re-creations of extents lost by
    /// the end of the destruction are dropped (they could do nothing). A
    /// copy left with no source in its own group waits for the account's
    /// re-protection when the account fails over (`fails_over`: the
    /// destruction is one that makes it, [`repair::failover_wait`]) or is
    /// already without geo-redundancy.
    fn destroy_copies(
        &mut self,
        k: usize,
        struck: (Level, u32),
        (detection, fails_over): (Micros, bool),
        sim: &mut Scheduler<Event>,
    ) {
        let plan = self.plan;
        let option = &plan.system.options[k];
        let repair = RepairTiming::after(plan.system, option, detection, struck);
        let disks = plan.system.topology.disk_range(struck.0, struck.1);
        let state = &mut self.options[k];
        let touched = &mut self.scratch;
        touched.clear();
        let now = self.now.saturating_sub(plan.system.warmup);
        let trace = &mut self.trace;
        let traced_from = trace.as_ref().map_or(0, Vec::len);
        let repairs = &mut self.repairs;
        repairs.clear();
        // An extent keeping enough available serving copies, and not
        // impaired before, stays available: no need to look again.
        let serve = state.account.serve();
        let serving = option.group_slots(serve);
        let shred_at = self.shred_at;
        let lost_before = state.outcome.lost_extents;
        let trial_now = self.now;
        for disk in disks {
            let base = plan.by_disk.on_disk(k, disk);
            let added = state.tables.added.take(disk).iter().copied();
            for (extent, slot) in base.chain(added) {
                let extents = &mut state.tables.extents;
                if extents.get(extent).lost() || !extents.alive_on(extent, slot, disk) {
                    continue;
                }
                let impaired = extents.impaired(extent) != 0;
                let ext = extents.get_mut(extent);
                let bit = 1u32 << slot;
                ext.kill(slot);
                state.outcome.copies_destroyed += 1;
                if let Some(r) = state.remnants.as_mut() {
                    r[extent as usize] = r[extent as usize].max(shred_at);
                }
                let mut decodable = option.code.decodable(ext.alive());
                // `[latent]`: a slot just made critical is read by the
                // repair (or the next scrub) with no other source: an
                // undetected error on it loses the extent now.
                if let Some(check) = state.latent.as_ref().filter(|_| decodable) {
                    let newly = option.code.newly_critical(ext.alive() | bit, ext.alive());
                    let q = if newly == 0 {
                        0.0
                    } else {
                        check.any_undetected(extent, newly, trial_now)
                    };
                    if q > 0.0 && state.aux.random::<f64>() < q {
                        decodable = false;
                        state.outcome.latent_losses += 1;
                    }
                }
                let fine = decodable && option.group_serves(serve, ext.available() & serving);
                if !fine || impaired {
                    touched.push((extent, slot));
                }
                if let Some(trace) = trace.as_mut() {
                    let alive = if decodable { ext.alive() } else { 0 };
                    record_exposure(trace, now, (k as u16, extent), alive, option.code);
                }
                if !decodable {
                    ext.set_lost();
                    state.outcome.lost_extents += 1;
                    continue;
                }
                if plan.system.discipline == RepairDiscipline::OneAtATime {
                    if ext.repairing() {
                        extents.queue(extent, slot);
                        continue;
                    }
                    extents.start_repairing(extent);
                }
                repairs.push((0, extent, slot));
            }
        }
        let any_lost = state.outcome.lost_extents > lost_before;
        if any_lost {
            let n = state.outcome.lost_extents - lost_before;
            state.outcome.losses.push((sim.now(), n));
        }
        if let Some(trace) = trace.as_mut().filter(|_| any_lost) {
            drop_superseded(trace, traced_from);
        }
        // Sources are known once the whole component is gone: a copy whose
        // group died with it has no local source.
        let parallel = plan.system.discipline == RepairDiscipline::Parallel;
        for &(_, extent, slot) in repairs.iter() {
            let ext = state.tables.extents.get(extent);
            if ext.lost() {
                continue;
            }
            let local_source = ext.alive() & option.group_mask(slot) != 0;
            let group = option.group_of(slot).0;
            if parallel && !local_source && state.account.holds_for_reprotection(group, fails_over)
            {
                state.tables.held.push((extent, slot));
                continue;
            }
            let reads = option.code.repair_reads(ext.alive(), slot);
            let delay = repair.delay(&plan.system.repair, (local_source, reads), &mut state.rng);
            let option = k as u16;
            let event = Event::Repaired {
                option,
                extent,
                slot,
            };
            schedule_within(sim, plan.system.end(), delay, event);
        }
        self.refresh_touched(k, false);
    }

    /// Re-creates a copy on a disk that keeps its group's placement rule,
    /// then, one at a time, starts the extent's next repair.
    fn on_repaired(&mut self, k: usize, extent: u32, slot: u8, sim: &mut Scheduler<Event>) {
        if !self.place_copy(k, extent, slot) {
            return;
        }
        let plan = self.plan;
        let state = &mut self.options[k];
        let extents = &mut state.tables.extents;
        if extents.get(extent).repairing() {
            start_next_repair(extents, &plan.system.repair, k, extent, &mut state.rng, sim);
        }
    }

    /// Re-creates a copy on a disk that keeps its group's placement rule;
    /// with no such disk the copy waits for capacity (false), as it does
    /// when its extent is lost meanwhile.
    fn place_copy(&mut self, k: usize, extent: u32, slot: u8) -> bool {
        let plan = self.plan;
        let state = &mut self.options[k];
        let extents = &mut state.tables.extents;
        if extents.get(extent).lost() {
            return false;
        }
        let picked = pick_for_slot(plan, &self.fleet, k, extents, extent, slot, &mut state.rng);
        let Some(disk) = picked else {
            let option = &plan.system.options[k];
            let region = option.groups[option.group_of(slot).0].region;
            count_blocked(state, self.now);
            state.tables.blocked[region as usize].push((extent, slot));
            self.blocked += 1;
            return false;
        };
        extents.set_disk(&plan.placements[k], extent, slot, disk);
        extents.get_mut(extent).revive(slot);
        self.recreated(k, (extent, slot), disk, false);
        true
    }

    /// The account of option `k` is geo-redundant again (the re-copy of an
    /// unplanned failover is complete, or a planned switch ended): the
    /// copies held for its re-protection are re-created now, in the order
    /// they were lost, in the group's region.
    fn reprotected(&mut self, k: usize) {
        let held = std::mem::take(&mut self.options[k].tables.held);
        for &(extent, slot) in &held {
            self.place_copy(k, extent, slot);
        }
        let tables = &mut self.options[k].tables;
        if tables.held.is_empty() {
            tables.held = held;
            tables.held.clear();
        }
    }

    /// A copy of option `k`'s (extent, slot) now lives on `disk`, re-created
    /// after its loss or, if `rehomed`, while unavailable: counts it, notes
    /// it if it breaks its group's spread rule, installs it and traces it.
    fn recreated(&mut self, k: usize, (extent, slot): (u32, u8), disk: u32, rehomed: bool) {
        let state = &mut self.options[k];
        state.outcome.copies_repaired += 1;
        let others = state.tables.extents.get(extent).alive() & !(1 << slot);
        let code = self.plan.system.options[k].code;
        state.outcome.slots_read += u64::from(code.repair_reads(others, slot));
        self.note_if_relaxed(k, (extent, slot), disk);
        self.installed(k, (extent, slot), disk);
        let option = k as u16;
        self.record(|_| What::Recreated {
            option,
            extent,
            slot,
            disk,
            rehomed,
        });
    }

    /// A copy of option `k`'s (extent, slot) has just been written on
    /// `disk` (re-created or moved): the disk's log holds it, its latent
    /// clock starts, and its extent is looked at again if it was impaired.
    fn installed(&mut self, k: usize, (extent, slot): (u32, u8), disk: u32) {
        let state = &mut self.options[k];
        state.tables.added.push(disk, extent, slot);
        if let Some(check) = state
            .latent
            .as_mut()
            .filter(|c| c.latent.scrub_interval.is_none())
        {
            check.written.insert((extent, slot), self.now);
        }
        if state.tables.extents.impaired(extent) != 0 {
            self.refresh(k, extent);
        }
    }
}

impl Model for World<'_, '_> {
    type Event = Event;

    fn handle(&mut self, event: Event, sim: &mut Scheduler<Event>) -> Flow {
        self.now = sim.now();
        self.count(&event);
        match event {
            Event::FleetFailure { process, component } => {
                self.on_fleet_failure(process, component, sim)
            }
            Event::Failure { process, component } => self.on_failure(process, component, sim),
            Event::Replaced { process, component } => self.on_replaced(process, component, sim),
            Event::Repaired {
                option,
                extent,
                slot,
            } => self.on_repaired(option as usize, extent, slot, sim),
            Event::FleetOutage { process } => self.on_fleet_outage(process, sim),
            Event::Outage { process, component } => self.on_own_outage(process, component, sim),
            Event::OutageEnd { process, component } => self.on_outage_end(process, component, sim),
            Event::MarkOut { level, component } => self.on_mark_out(level, component, sim),
            Event::Moved {
                option,
                extent,
                slot,
            } => self.on_moved(option as usize, extent, slot),
            Event::Rehomed {
                option,
                extent,
                slot,
            } => self.on_rehomed(option as usize, extent, slot),
            Event::Fault { fault } => self.on_fault(fault, sim),
            Event::FaultOver { fault } => self.on_fault_over(fault, sim),
            Event::Hour => self.on_hour(sim),
            Event::Failover {
                option,
                timer,
                epoch,
            } => self.on_failover(option as usize, timer, epoch, sim),
            Event::Measure => self.on_measure(),
            Event::VaultOutage { fault } => self.on_vault_outage(fault, sim),
            Event::VaultBack { random } => self.on_vault_back(random, sim),
            Event::ErasureProbe { index } => self.on_erasure_probe(index, sim),
            Event::Burst { process } => self.on_burst(process, sim),
            Event::BurstOver {
                level,
                component,
                destroyed,
            } => self.on_burst_over(level, component, destroyed, sim),
        }
        self.settle(sim);
        Flow::Continue
    }

    fn prepare(&self, sim: &Scheduler<Event>) {
        if let Some(next) = sim.peek() {
            self.load_ahead(next);
        }
    }
}

/// Schedules `event` after `delay` unless it would fall beyond the horizon,
/// where it could never fire: a smaller queue, the same trial.
fn schedule_within(sim: &mut Scheduler<Event>, horizon: Micros, delay: Micros, event: Event) {
    if sim.now().saturating_add(delay) <= horizon {
        sim.schedule(delay, event);
    }
}

/// An outage under way at a component: when it is marked out, when it is
/// due back.
#[derive(Clone, Copy, Debug)]
pub struct Down {
    mark: Micros,
    back: Micros,
}

/// The copies of an extent now: (disks, alive mask, lost).
fn copies_of<'a>(
    plan: &'a Plan,
    state: &'a OptionState,
    k: usize,
    extent: u32,
) -> (&'a [u32], u32, bool) {
    let extents = &state.tables.extents;
    let e = extents.get(extent);
    (
        extents.disks(&plan.placements[k], extent),
        e.alive(),
        e.lost(),
    )
}

/// Adds the copy-time the copies waiting for a place have waited since it
/// was last counted, up to `now`: called before the list changes, at the
/// warm-up's end and at the horizon.
fn count_blocked(state: &mut OptionState, now: Micros) {
    let waiting: usize = state.tables.blocked.iter().map(Vec::len).sum();
    let span = now.saturating_sub(state.blocked_since);
    state.outcome.blocked_copy_us = state
        .outcome
        .blocked_copy_us
        .saturating_add((waiting as u64).saturating_mul(span));
    state.blocked_since = now;
}

/// A disk for a new copy in `slot`'s group, keeping the group's placement
/// rule against its other live copies ([`replacement_disk`]).
fn pick_for_slot(
    plan: &Plan,
    fleet: &Fleet,
    k: usize,
    extents: &Extents,
    extent: u32,
    slot: u8,
    rng: &mut ChaCha8Rng,
) -> Option<u32> {
    let topo = &plan.system.topology;
    let option = &plan.system.options[k];
    let g = option.group_of(slot).0;
    let (taken, alive) = group_others(plan, extents, k, extent, slot);
    let old = extents.disks(&plan.placements[k], extent)[slot as usize];
    let copysets = plan.placements[k].copysets(g);
    replacement_disk(
        topo,
        &option.groups[g],
        copysets,
        &taken[..alive],
        old,
        &Service(fleet, topo),
        rng,
    )
}

/// The disks of the live copies of `slot`'s group other than `slot`, as
/// (disks, how many): on the stack, as this runs for every copy placed.
fn group_others(
    plan: &Plan,
    extents: &Extents,
    k: usize,
    extent: u32,
    slot: u8,
) -> ([u32; MAX_COPIES], usize) {
    let option = &plan.system.options[k];
    let mut others = extents.get(extent).alive() & option.group_mask(slot) & !(1 << slot);
    let disks = extents.disks(&plan.placements[k], extent);
    let mut taken = [0; MAX_COPIES];
    let mut alive = 0;
    while others != 0 {
        taken[alive] = disks[others.trailing_zeros() as usize];
        others &= others - 1;
        alive += 1;
    }
    (taken, alive)
}

/// One-at-a-time repair: starts re-creating the next queued copy, if any
/// (detection already happened when it was lost).
fn start_next_repair(
    extents: &mut Extents,
    repair: &Repair,
    k: usize,
    extent: u32,
    rng: &mut ChaCha8Rng,
    sim: &mut Scheduler<Event>,
) {
    let Some(slot) = extents.next_queued(extent) else {
        return;
    };
    let option = k as u16;
    let delay = repair::next_in_line(repair, rng);
    sim.schedule(
        delay,
        Event::Repaired {
            option,
            extent,
            slot,
        },
    );
}

/// Traces an extent of `(option, extent)` left with the slots in `alive`,
/// when that loses it or leaves it one failure from loss.
fn record_exposure(
    trace: &mut Vec<TraceEvent>,
    at: Micros,
    (option, extent): (u16, u32),
    alive: u32,
    code: super::Code,
) {
    let what = if !code.decodable(alive) {
        What::Lost { option, extent }
    } else if code.at_edge(alive) {
        What::LastCopy { option, extent }
    } else {
        return;
    };
    trace.push(TraceEvent { at, what });
}

/// Within one destruction's events (from `from` on), an extent first left
/// one failure from loss and then lost is only lost.
fn drop_superseded(trace: &mut Vec<TraceEvent>, from: usize) {
    let lost: std::collections::BTreeSet<u32> = trace[from..]
        .iter()
        .filter_map(|e| match e.what {
            What::Lost { extent, .. } => Some(extent),
            _ => None,
        })
        .collect();
    let mut i = 0;
    trace.retain(|e| {
        i += 1;
        i <= from || !matches!(e.what, What::LastCopy { extent, .. } if lost.contains(&extent))
    });
}

#[cfg(test)]
mod tests;
