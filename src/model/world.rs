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
//! durations, where k is the option's twin ([`Plan::twins`]). An option's
//! behaviour thus never changes what another sees, and adding outages
//! leaves the failure trace as it was.

use std::cell::Cell;
use std::ops::Range;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::Exp1;

use super::failover::{Account, AccountOutcome, Env, Timer, UNREADABLE, UNWRITABLE, hour_of};
use super::fleet::{Fleet, Service, link_of};
use super::placement::{DiskIndex, InService, Placement, replacement_disk};
use super::repair::{self, RepairTiming};
use super::scratch::{Scratch, Tables};
use super::trace::{TraceEvent, What};
use super::{FaultKind, Level, Repair, RepairDiscipline, Scope, System};
use crate::engine::trials::trial_rng;
use crate::engine::{self, Flow, Limits, Model, RunEnd, Scheduler};
use crate::units::{HOUR, Micros};

/// The most copies one option may keep of an extent.
pub const MAX_COPIES: usize = 16;

/// Upper bound on events in one trial: protects against a runaway scenario.
const MAX_EVENTS: u64 = 1 << 32;

/// Stream of the outage trace (after the 1 + k repair streams of up to
/// 1024 options).
pub const OUTAGES: u32 = 1025;
/// First stream of the options' re-homing and failover draws.
pub const AUX: u32 = 1026;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// The fleet-wide clock of an exponential failure process fired.
    FleetFailure { process: u16 },
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
}

/// What one option experienced in one trial.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptionOutcome {
    pub lost_extents: u32,
    pub copies_destroyed: u64,
    pub copies_repaired: u64,
    /// Availability over time, replication lag and failovers.
    pub account: AccountOutcome,
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
                    .position(|o| o.groups == option.groups && o.needed == option.needed)
                    .expect("an option is its own twin")
            })
            .collect();
        let placements = options
            .iter()
            .zip(&twins)
            .map(|(option, &twin)| {
                let mut rng = trial_rng(seed, u64::MAX, 1 + twin as u32);
                Placement::new(&system.topology, option, system.extents, &mut rng)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            system,
            by_disk: DiskIndex::new(system.topology.disks(), &placements),
            placements,
            seed,
            twins,
        })
    }

    /// Simulates trial `trial` to the horizon, in this thread's allocations
    /// of earlier trials (their content does not carry over).
    pub fn run_trial(&self, trial: u64) -> TrialOutcome {
        SCRATCH.with(|cell| {
            let (outcome, parts, _) = self.run_trial_in(trial, cell.take(), None);
            cell.set(parts);
            outcome
        })
    }

    /// Simulates trial `trial` exactly as [`Plan::run_trial`] does, and
    /// records its events in order.
    pub fn trace_trial(&self, trial: u64) -> (TrialOutcome, Vec<TraceEvent>) {
        let (outcome, _, trace) = self.run_trial_in(trial, Scratch::default(), Some(Vec::new()));
        (outcome, trace.unwrap_or_default())
    }

    /// Simulates trial `trial` in the allocations `parts`, recording into
    /// `trace` if given, and hands them back.
    fn run_trial_in(
        &self,
        trial: u64,
        mut parts: Scratch,
        trace: Option<Vec<TraceEvent>>,
    ) -> (TrialOutcome, Scratch, Option<Vec<TraceEvent>>) {
        let mut sim = std::mem::take(&mut parts.sim);
        sim.reset();
        let mut world = World::new(self, trial, parts);
        world.trace = trace;
        world.start(&mut sim);
        let limits = Limits {
            horizon: self.system.horizon,
            max_events: MAX_EVENTS,
        };
        let end = engine::run(&mut world, &mut sim, limits);
        let events = sim.handled();
        let trace = world.trace.take();
        let (options, parts) = world.finish(sim);
        let outcome = TrialOutcome {
            options,
            weight: 1.0,
            events,
            end,
        };
        (outcome, parts, trace)
    }
}

thread_local! {
    /// The allocations of this thread's last trial, reused by the next.
    static SCRATCH: Cell<Scratch> = Cell::default();
}

/// Copies of one extent that have changed during the trial.
#[derive(Clone, Debug)]
pub struct ExtentState {
    disks: [u32; MAX_COPIES],
    alive: u16,
    lost: bool,
    /// One-at-a-time repair: whether a re-creation is under way, and the
    /// lost copies waiting for their turn.
    repairing: bool,
    queued: u16,
}

/// One option's state within a trial.
struct OptionState<'s> {
    rng: ChaCha8Rng,
    /// Re-homing delays and failover durations.
    aux: ChaCha8Rng,
    tables: Tables,
    account: Account<'s>,
    outcome: OptionOutcome,
}

struct World<'p, 's> {
    plan: &'p Plan<'s>,
    rng: ChaCha8Rng,
    outage_rng: ChaCha8Rng,
    fleet: Fleet,
    /// Links between paired regions, by link id (lower region index).
    links: Vec<u32>,
    /// Components down, with when they are marked out and due back.
    down: std::collections::HashMap<(Level, u32), Down>,
    options: Vec<OptionState<'s>>,
    now: Micros,
    /// A region or link changed state: every account must look.
    env_changed: bool,
    scratch: Vec<(u32, u8)>,
    /// Re-creations drawn during one destruction: (delay, extent, slot).
    repairs: Vec<(Micros, u32, u8)>,
    /// The trial's events, when traced (`replisim trace`); None costs one
    /// branch where an event would be recorded.
    trace: Option<Vec<TraceEvent>>,
}

impl<'p, 's> World<'p, 's> {
    /// The world of trial `trial`, in the allocations of `parts` (emptied
    /// here; their scheduler is not used).
    fn new(plan: &'p Plan<'s>, trial: u64, mut parts: Scratch) -> Self {
        let system = plan.system;
        let topo = &system.topology;
        parts.clear(topo, system.options.len());
        let data = (system.extents, system.extents as u64 * system.extent_bytes);
        let options = std::mem::take(&mut parts.tables)
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
                ),
                outcome: OptionOutcome::default(),
            })
            .collect();
        let mut links: Vec<u32> = (0..topo.regions.len() as u32)
            .filter_map(|r| topo.regions[r as usize].pair.map(|p| link_of(r, p)))
            .collect();
        links.sort_unstable();
        links.dedup();
        Self {
            plan,
            rng: trial_rng(plan.seed, trial, 0),
            outage_rng: trial_rng(plan.seed, trial, OUTAGES),
            fleet: parts.fleet,
            links,
            down: parts.down,
            options,
            now: 0,
            env_changed: false,
            scratch: parts.copies,
            repairs: parts.repairs,
            trace: None,
        }
    }

    /// Records `what` at the current time, if the trial is traced.
    fn record(&mut self, what: impl FnOnce(&Self) -> What) {
        if self.trace.is_some() {
            let event = TraceEvent {
                at: self.now,
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
        for (f, fault) in self.system().faults.iter().enumerate() {
            sim.schedule_at(fault.at, Event::Fault { fault: f as u16 });
        }
        let geo_options = self.system().options.iter().any(|o| o.groups.len() > 1);
        if geo_options && self.system().geo.diurnal() {
            self.schedule_rate_change(sim);
        }
        for state in &mut self.options {
            state.account.start(sim);
        }
    }

    /// Closes every account at the horizon; hands back the allocations
    /// (with `sim` as their scheduler) for the next trial.
    fn finish(self, sim: Scheduler<Event>) -> (Vec<OptionOutcome>, Scratch) {
        let horizon = self.system().horizon;
        let mut tables = Vec::with_capacity(self.options.len());
        let outcomes = self
            .options
            .into_iter()
            .map(|mut o| {
                tables.push(o.tables);
                o.outcome.account = o.account.finish(horizon);
                o.outcome
            })
            .collect();
        let parts = Scratch {
            sim,
            fleet: self.fleet,
            tables,
            down: self.down,
            copies: self.scratch,
            repairs: self.repairs,
        };
        (outcomes, parts)
    }

    /// One clock for a whole class of memoryless components: the next failure
    /// of any of N components comes at rate N·λ. Components out of service
    /// are thinned out when picked, which leaves exactly the in-service rate.
    fn schedule_fleet_failure(&mut self, process: u16, sim: &mut Scheduler<Event>) {
        let p = &self.system().failures[process as usize];
        let rate = p.lifetime.exponential_rate().unwrap_or(0.0);
        let total = rate * f64::from(self.system().topology.count(p.level));
        let wait = self.rng.sample::<f64, _>(Exp1) / total;
        if wait.is_finite() {
            sim.schedule(wait.ceil() as Micros, Event::FleetFailure { process });
        }
    }

    /// Whether component `c` can fail: neither it nor an ancestor is
    /// destroyed (an outage does not protect it).
    fn component_in_service(&self, level: Level, c: u32) -> bool {
        !self.fleet.destroyed(&self.system().topology, level, c)
    }

    fn on_fleet_failure(&mut self, process: u16, sim: &mut Scheduler<Event>) {
        let level = self.system().failures[process as usize].level;
        let count = self.system().topology.count(level);
        let c = self.rng.random_range(0..count);
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
    }

    /// Capacity is back below component `c`: repairs that found no target
    /// in its region try again now (others could not succeed, so they keep
    /// waiting without drawing from their stream).
    fn retry_blocked(&mut self, level: Level, c: u32, sim: &mut Scheduler<Event>) {
        let region = self.system().topology.ancestor_of(level, c, Level::Region);
        if self.fleet.out(Level::Region, region) {
            return;
        }
        for k in 0..self.options.len() {
            let waiting = std::mem::take(&mut self.options[k].tables.blocked[region as usize]);
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
        let disks = self.system().topology.disk_range(level, c);
        let repair = RepairTiming::after(self.system(), detection, level, c);
        let before = self.trace.as_ref().map(|t| (t.len(), self.tally()));
        for k in 0..self.options.len() {
            self.destroy_copies(k, disks.clone(), repair, sim);
        }
        if let Some((at, before)) = before {
            self.record_destroyed(at, before, (level, c), detection);
        }
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
            detected: self.now.saturating_add(detection),
            copies: delta(|t| t.0),
            lost: delta(|t| u64::from(t.1)),
        };
        let event = TraceEvent { at: self.now, what };
        if let Some(trace) = &mut self.trace {
            trace.insert(at, event);
        }
    }

    /// Marks every live copy of option `k` on `disks` destroyed and schedules
    /// its re-creation, in disk order: first the copies the plan placed, then
    /// those re-created there, oldest first. Re-creations of extents lost by
    /// the end of the destruction are dropped (they could do nothing).
    fn destroy_copies(
        &mut self,
        k: usize,
        disks: Range<u32>,
        repair: RepairTiming,
        sim: &mut Scheduler<Event>,
    ) {
        let plan = self.plan;
        let placement = &plan.placements[k];
        let option = &plan.system.options[k];
        let state = &mut self.options[k];
        let touched = &mut self.scratch;
        touched.clear();
        let (trace, now) = (&mut self.trace, self.now);
        let traced_from = trace.as_ref().map_or(0, Vec::len);
        let repairs = &mut self.repairs;
        repairs.clear();
        // Without outages, an extent keeping enough live serving copies, and
        // not impaired before, stays available: no need to look again.
        let serve = state.account.serve();
        let serving = group_slots(option, serve);
        let enough = option.needed.min(option.groups[serve].copies);
        let quiet = self.fleet.quiet();
        let lost_before = state.outcome.lost_extents;
        for disk in disks {
            let base = plan.by_disk.on_disk(k, disk).iter().copied();
            let added = state.tables.added.take(disk);
            for (extent, slot) in base.chain(state.tables.added.chain(added)) {
                let ext = state
                    .tables
                    .changed
                    .entry(extent)
                    .or_insert_with(|| fresh(placement.extent(extent)));
                let bit = 1u16 << slot;
                if ext.lost || ext.alive & bit == 0 || ext.disks[slot as usize] != disk {
                    continue;
                }
                ext.alive &= !bit;
                state.outcome.copies_destroyed += 1;
                let fine = quiet
                    && (ext.alive & serving).count_ones() >= enough
                    && ext.alive.count_ones() >= option.needed;
                if !fine || state.tables.impaired.contains_key(&extent) {
                    touched.push((extent, slot));
                }
                let alive = ext.alive.count_ones();
                if let Some(trace) = trace.as_mut() {
                    record_exposure(trace, now, (k as u16, extent), alive, option.needed);
                }
                if alive < option.needed {
                    ext.lost = true;
                    state.outcome.lost_extents += 1;
                    continue;
                }
                if plan.system.discipline == RepairDiscipline::OneAtATime {
                    if ext.repairing {
                        ext.queued |= bit;
                        continue;
                    }
                    ext.repairing = true;
                }
                let local_source = ext.alive & option.group_mask(slot) != 0;
                let delay = repair.delay(&plan.system.repair, local_source, &mut state.rng);
                repairs.push((delay, extent, slot));
            }
        }
        let any_lost = state.outcome.lost_extents > lost_before;
        if let Some(trace) = trace.as_mut().filter(|_| any_lost) {
            drop_superseded(trace, traced_from);
        }
        for &(delay, extent, slot) in repairs.iter() {
            if !any_lost || !state.tables.changed.get(&extent).is_some_and(|e| e.lost) {
                let option = k as u16;
                let event = Event::Repaired {
                    option,
                    extent,
                    slot,
                };
                schedule_within(sim, plan.system.horizon, delay, event);
            }
        }
        self.refresh_touched(k, false);
    }

    /// Re-creates a copy on a disk that keeps its group's placement rule.
    fn on_repaired(&mut self, k: usize, extent: u32, slot: u8, sim: &mut Scheduler<Event>) {
        let plan = self.plan;
        let state = &mut self.options[k];
        let Some(ext) = state.tables.changed.get_mut(&extent) else {
            return;
        };
        if ext.lost {
            return;
        }
        let Some(disk) = pick_for_slot(plan, &self.fleet, k, ext, slot, &mut state.rng) else {
            let option = &plan.system.options[k];
            let region = option.groups[option.group_of(slot).0].region;
            state.tables.blocked[region as usize].push((extent, slot));
            return;
        };
        ext.disks[slot as usize] = disk;
        ext.alive |= 1 << slot;
        if ext.repairing {
            start_next_repair(ext, &plan.system.repair, k, extent, &mut state.rng, sim);
        }
        self.recreated(k, (extent, slot), disk, false);
    }

    /// A copy of option `k`'s (extent, slot) now lives on `disk`, re-created
    /// after its loss or, if `rehomed`, while unavailable: counts it, looks
    /// at its extent again if that was impaired, and traces it.
    fn recreated(&mut self, k: usize, (extent, slot): (u32, u8), disk: u32, rehomed: bool) {
        let state = &mut self.options[k];
        state.tables.added.push(disk, extent, slot);
        state.outcome.copies_repaired += 1;
        if state.tables.impaired.contains_key(&extent) {
            self.refresh(k, extent);
        }
        let option = k as u16;
        self.record(|_| What::Recreated {
            option,
            extent,
            slot,
            disk,
            rehomed,
        });
    }

    // ----- outages -----

    /// Components (or links) an outage process can strike.
    fn scope_count(&self, scope: Scope) -> u32 {
        match scope {
            Scope::Component(level) => self.system().topology.count(level),
            Scope::Link => self.links.len() as u32,
        }
    }

    /// The fleet-wide clock of a memoryless outage process; thinning (a pick
    /// already down or destroyed is ignored) keeps the rate of up components.
    fn schedule_fleet_outage(&mut self, process: u16, sim: &mut Scheduler<Event>) {
        let p = &self.system().outages[process as usize];
        let rate = p.between.exponential_rate().unwrap_or(0.0);
        let total = rate * f64::from(self.scope_count(p.scope));
        let wait = self.outage_rng.sample::<f64, _>(Exp1) / total;
        if wait.is_finite() {
            sim.schedule(wait.ceil() as Micros, Event::FleetOutage { process });
        }
    }

    fn on_fleet_outage(&mut self, process: u16, sim: &mut Scheduler<Event>) {
        let scope = self.system().outages[process as usize].scope;
        let c = self.outage_rng.random_range(0..self.scope_count(scope));
        if self.can_go_down(scope, c) {
            self.begin_random_outage(process, c, sim);
        }
        self.schedule_fleet_outage(process, sim);
    }

    fn schedule_own_outage(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let between = &self.system().outages[process as usize].between;
        let at = between.sample(&mut self.outage_rng);
        let event = Event::Outage {
            process,
            component: c,
        };
        sim.schedule(at, event);
    }

    fn on_own_outage(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let scope = self.system().outages[process as usize].scope;
        if self.can_go_down(scope, c) {
            self.begin_random_outage(process, c, sim);
        } else {
            self.schedule_own_outage(process, c, sim);
        }
    }

    /// Whether a random outage can start: the target is up and in service.
    fn can_go_down(&self, scope: Scope, c: u32) -> bool {
        match scope {
            Scope::Component(level) => {
                !self.fleet.down(level, c) && self.component_in_service(level, c)
            }
            Scope::Link => self.fleet.link_up(self.links[c as usize]),
        }
    }

    fn begin_random_outage(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let p = &self.system().outages[process as usize];
        let duration = p.duration.sample(&mut self.outage_rng);
        self.begin_outage(p.scope, c, duration, sim);
        let end = Event::OutageEnd {
            process,
            component: c,
        };
        sim.schedule(duration, end);
    }

    fn on_outage_end(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let p = &self.system().outages[process as usize];
        self.end_outage(p.scope, c, sim);
        if p.between.exponential_rate().is_none() {
            self.schedule_own_outage(process, c, sim);
        }
    }

    /// Takes `c` down for `duration`: its copies become unavailable; if it
    /// is still down after the detection delay, they are re-created elsewhere.
    fn begin_outage(&mut self, scope: Scope, c: u32, duration: Micros, sim: &mut Scheduler<Event>) {
        let level = match scope {
            Scope::Link => {
                let region = self.links[c as usize];
                self.fleet.begin_link_outage(region);
                self.env_changed = true;
                self.record(|_| What::LinkDown { region });
                return;
            }
            Scope::Component(level) => level,
        };
        let back = self.now.saturating_add(duration);
        if !self.fleet.begin_outage(level, c) {
            if let Some(d) = self.down.get_mut(&(level, c)) {
                d.back = d.back.max(back);
            }
            return;
        }
        let detection = self.system().detection.sample(&mut self.outage_rng);
        let mark = self.now.saturating_add(detection);
        self.down.insert((level, c), Down { mark, back });
        sim.schedule(
            detection,
            Event::MarkOut {
                level,
                component: c,
            },
        );
        self.env_changed |= level == Level::Region;
        self.refresh_below(level, c, false);
        self.record(|_| What::Down {
            level,
            component: c,
            until: back,
        });
    }

    /// Ends an outage of `c`: its copies are available again unless another
    /// outage keeps it down.
    fn end_outage(&mut self, scope: Scope, c: u32, sim: &mut Scheduler<Event>) {
        let level = match scope {
            Scope::Link => {
                let region = self.links[c as usize];
                self.fleet.end_link_outage(region);
                self.env_changed = true;
                self.record(|_| What::LinkUp { region });
                return;
            }
            Scope::Component(level) => level,
        };
        if !self.fleet.end_outage(level, c) {
            return;
        }
        self.down.remove(&(level, c));
        self.env_changed |= level == Level::Region;
        self.refresh_below(level, c, true);
        self.record(|_| What::Up {
            level,
            component: c,
        });
        self.retry_blocked(level, c, sim);
    }

    /// The outage of `c` outlasted detection: each unavailable copy below it
    /// is re-created elsewhere from an available one, if that can finish
    /// before `c` is due back (the return cancels re-creation under way).
    /// None inside a region outage: the group has nowhere to go in its region.
    fn on_mark_out(&mut self, level: Level, c: u32, sim: &mut Scheduler<Event>) {
        let Some(&Down { mark, back }) = self.down.get(&(level, c)) else {
            return;
        };
        if mark != self.now || level == Level::Region {
            return;
        }
        self.record(|_| What::MarkedOut {
            level,
            component: c,
        });
        let system = self.system();
        let repair = RepairTiming::after(system, 0, level, c);
        for k in 0..self.options.len() {
            self.collect_below(k, level, c);
            let copies = std::mem::take(&mut self.scratch);
            for &(extent, slot) in &copies {
                let Some(local) = self.rehome_source(k, extent, slot) else {
                    continue;
                };
                let aux = &mut self.options[k].aux;
                let delay = repair.delay(&system.repair, local, aux);
                if self.now.saturating_add(delay) >= back {
                    continue;
                }
                let option = k as u16;
                let event = Event::Rehomed {
                    option,
                    extent,
                    slot,
                };
                schedule_within(sim, system.horizon, delay, event);
            }
            self.scratch = copies;
        }
    }

    /// Where an unavailable copy can be re-created from: Some(true) from an
    /// available copy of its own group, Some(false) from the other group's
    /// (over the geo link), None from nowhere, or when the group's scope is
    /// out (an LRS group stays in its datacenter).
    fn rehome_source(&self, k: usize, extent: u32, slot: u8) -> Option<bool> {
        let (disks, alive, lost) = copies_of(self.plan, &self.options[k], k, extent);
        if lost {
            return None;
        }
        let option = &self.system().options[k];
        let topo = &self.system().topology;
        let (g, slots) = option.group_of(slot);
        let within = option.groups[g].within;
        let mut kept = slots.filter(|&s| s != slot as usize && alive & (1 << s) != 0);
        if let Some(s) = kept.next() {
            let anchor = topo.ancestor(disks[s], within);
            if !Service(&self.fleet, topo).component(within, anchor) {
                return None;
            }
        }
        let others = alive & !(1u16 << slot);
        let available =
            |mask: u16| (0..disks.len()).any(|s| mask & (1 << s) != 0 && self.usable(disks[s]));
        if available(others & option.group_mask(slot)) {
            Some(true)
        } else {
            available(others).then_some(false)
        }
    }

    /// Re-creates an unavailable copy elsewhere, unless it is back (or gone).
    fn on_rehomed(&mut self, k: usize, extent: u32, slot: u8) {
        let plan = self.plan;
        let topo = &plan.system.topology;
        let state = &mut self.options[k];
        let placement = &plan.placements[k];
        let ext = state
            .tables
            .changed
            .entry(extent)
            .or_insert_with(|| fresh(placement.extent(extent)));
        let bit = 1u16 << slot;
        let old = ext.disks[slot as usize];
        if ext.lost || ext.alive & bit == 0 || self.fleet.disk_available(topo, old) {
            return;
        }
        let others = ext.alive & !bit;
        let source = (0..MAX_COPIES)
            .any(|s| others & (1 << s) != 0 && self.fleet.disk_available(topo, ext.disks[s]));
        if !source {
            return;
        }
        let Some(disk) = pick_for_slot(plan, &self.fleet, k, ext, slot, &mut state.aux) else {
            return;
        };
        ext.disks[slot as usize] = disk;
        self.recreated(k, (extent, slot), disk, true);
    }

    // ----- scripted faults -----

    fn on_fault(&mut self, f: u16, sim: &mut Scheduler<Event>) {
        let fault = &self.system().faults[f as usize];
        match (fault.kind, fault.scope) {
            (FaultKind::Destroyed { replace }, Scope::Component(level)) => {
                if self.component_in_service(level, fault.component) {
                    let over = Event::FaultOver { fault: f };
                    self.destroy(level, fault.component, (replace, over), sim);
                }
            }
            (FaultKind::Destroyed { .. }, Scope::Link) => {}
            (FaultKind::Down { duration }, scope) => {
                let c = self.scope_index(scope, fault.component);
                self.begin_outage(scope, c, duration, sim);
                sim.schedule(duration, Event::FaultOver { fault: f });
            }
        }
    }

    fn on_fault_over(&mut self, f: u16, sim: &mut Scheduler<Event>) {
        let fault = &self.system().faults[f as usize];
        match (fault.kind, fault.scope) {
            (FaultKind::Destroyed { .. }, Scope::Component(level)) => {
                self.restore(level, fault.component, sim);
            }
            (FaultKind::Destroyed { .. }, Scope::Link) => {}
            (FaultKind::Down { .. }, scope) => {
                let c = self.scope_index(scope, fault.component);
                self.end_outage(scope, c, sim);
            }
        }
    }

    /// The index an outage of `scope` uses for component or link id `id`.
    fn scope_index(&self, scope: Scope, id: u32) -> u32 {
        match scope {
            Scope::Component(_) => id,
            Scope::Link => self.links.iter().position(|&l| l == id).unwrap_or(0) as u32,
        }
    }

    // ----- availability -----

    /// Whether a live copy on `disk` can be read now.
    fn usable(&self, disk: u32) -> bool {
        self.fleet.copy_available(&self.system().topology, disk)
    }

    /// Current copies of option `k` on the disks below `c`, into `scratch`.
    fn collect_below(&mut self, k: usize, level: Level, c: u32) {
        let state = &self.options[k];
        self.scratch.clear();
        for disk in self.system().topology.disk_range(level, c) {
            let added = state.tables.added.on(disk);
            for (extent, slot) in self
                .plan
                .by_disk
                .on_disk(k, disk)
                .iter()
                .copied()
                .chain(added)
            {
                let current =
                    state.tables.changed.get(&extent).is_none_or(|e| {
                        e.alive & (1 << slot) != 0 && e.disks[slot as usize] == disk
                    });
                if current {
                    self.scratch.push((extent, slot));
                }
            }
        }
    }

    /// Re-evaluates every option's extents with a copy below `c`; when
    /// `improved`, only those impaired now can change.
    fn refresh_below(&mut self, level: Level, c: u32, improved: bool) {
        for k in 0..self.options.len() {
            if improved && self.options[k].tables.impaired.is_empty() {
                continue;
            }
            self.collect_below(k, level, c);
            self.refresh_touched(k, improved);
        }
    }

    /// Re-evaluates the extents listed in `scratch` for option `k`, when
    /// the copy that changed belongs to a group that serves it (or the
    /// extent is lost).
    fn refresh_touched(&mut self, k: usize, improved: bool) {
        let touched = std::mem::take(&mut self.scratch);
        let option = &self.system().options[k];
        let account = &self.options[k].account;
        let (serve, any_group) = (account.serve(), account.reads_secondary());
        for &(extent, slot) in &touched {
            let state = &self.options[k];
            let lost = || state.tables.changed.get(&extent).is_some_and(|e| e.lost);
            let serving = any_group || option.group_of(slot).0 == serve || lost();
            if serving && (!improved || state.tables.impaired.contains_key(&extent)) {
                self.refresh(k, extent);
            }
        }
        self.scratch = touched;
    }

    /// Re-evaluates whether extent `extent` of option `k` can be read and
    /// written, and tells the account of any change.
    fn refresh(&mut self, k: usize, extent: u32) {
        let flags = self.impairment(k, extent);
        let state = &mut self.options[k];
        let old = state.tables.impaired.get(&extent).copied().unwrap_or(0);
        if flags == old {
            return;
        }
        if flags == 0 {
            state.tables.impaired.remove(&extent);
        } else {
            state.tables.impaired.insert(extent, flags);
        }
        let delta = |bit: u8| i32::from(flags & bit != 0) - i32::from(old & bit != 0);
        let now = self.now;
        state
            .account
            .change(now, delta(UNREADABLE), delta(UNWRITABLE));
    }

    /// Whether an extent can be read and written: enough available copies in
    /// the serving group (writes, and reads), or, for RA- options while
    /// geo-redundant, in the other group (reads only). A lost extent can do
    /// neither.
    fn impairment(&self, k: usize, extent: u32) -> u8 {
        let account = &self.options[k].account;
        let serve = account.serve();
        if self.group_serves(k, extent, serve) {
            return 0;
        }
        let groups = self.system().options[k].groups.len();
        if groups > 1 && account.reads_secondary() && self.group_serves(k, extent, 1 - serve) {
            UNWRITABLE
        } else {
            UNREADABLE | UNWRITABLE
        }
    }

    /// Whether copy group `g` of option `k` has enough available copies of
    /// `extent` to serve it (a lost extent has none).
    fn group_serves(&self, k: usize, extent: u32, g: usize) -> bool {
        let (disks, alive, lost) = copies_of(self.plan, &self.options[k], k, extent);
        let option = &self.system().options[k];
        let start: usize = option.groups[..g].iter().map(|g| g.copies as usize).sum();
        let copies = option.groups[g].copies;
        let up = (start..start + copies as usize)
            .filter(|&s| alive & (1 << s) != 0 && self.usable(disks[s]))
            .count() as u32;
        !lost && up >= option.needed.min(copies)
    }

    /// Whether the group option `k` does not serve from could serve at
    /// least `need` extents; stops as soon as the answer is known.
    fn other_serves(&self, k: usize, need: u32) -> bool {
        let other = 1 - self.options[k].account.serve();
        let extents = self.system().extents;
        let (mut yes, mut no) = (0, 0);
        for e in 0..extents {
            if yes >= need || no > extents - need {
                break;
            }
            if self.group_serves(k, e, other) {
                yes += 1;
            } else {
                no += 1;
            }
        }
        yes >= need
    }

    /// Re-evaluates every extent of option `k` (its serving group or read
    /// access changed).
    fn refresh_all(&mut self, k: usize) {
        for extent in 0..self.system().extents {
            self.refresh(k, extent);
        }
    }

    /// What the account of option `k` sees of its regions and link.
    fn env(&self, k: usize) -> Env {
        let option = &self.system().options[k];
        let serve = self.options[k].account.serve();
        let region = |g: usize| option.groups.get(g).map(|g| g.region);
        let primary = region(serve).unwrap_or(0);
        let secondary = if option.groups.len() > 1 {
            region(1 - serve)
        } else {
            None
        };
        Env {
            other_better: false,
            other_as_good: false,
            primary_up: self.fleet.region_up(primary),
            secondary_up: secondary.is_some_and(|r| self.fleet.region_up(r)),
            link_up: secondary.is_some_and(|r| self.fleet.link_up(link_of(primary, r))),
        }
    }

    fn on_failover(&mut self, k: usize, timer: Timer, epoch: u32, sim: &mut Scheduler<Event>) {
        let mut env = self.env(k);
        let deciding = matches!(
            timer,
            Timer::Customer | Timer::Provider | Timer::Failback | Timer::Planned
        );
        if deciding && self.options[k].account.timer_live(timer, epoch) {
            let writable = self.options[k].account.writable();
            let extents = self.system().extents;
            env.other_as_good = self.other_serves(k, writable);
            env.other_better = writable < extents && self.other_serves(k, writable + 1);
        }
        let now = self.now;
        let state = &mut self.options[k];
        let live = state.account.timer_live(timer, epoch);
        if state
            .account
            .on_timer(now, timer, epoch, env, &mut state.aux, sim)
        {
            self.refresh_all(k);
        }
        if live {
            self.record(|w| {
                let account = &w.options[k].account;
                let option = &w.system().options[k];
                What::Failover {
                    option: k as u16,
                    step: timer.name(),
                    now: account.doing(),
                    serving: option.groups[account.serve()].region,
                }
            });
        }
    }

    fn on_hour(&mut self, sim: &mut Scheduler<Event>) {
        let rate = self.system().geo.write_rate[hour_of(self.now)];
        let now = self.now;
        for state in &mut self.options {
            state.account.set_write_rate(now, rate);
        }
        self.schedule_rate_change(sim);
    }

    /// The next hour boundary at which the profile's write rate changes.
    fn schedule_rate_change(&mut self, sim: &mut Scheduler<Event>) {
        let rates = &self.system().geo.write_rate;
        let hour = self.now / HOUR;
        let current = rates[hour_of(self.now)];
        let ahead = (1..=24).find(|&h| rates[((hour + h) % 24) as usize] != current);
        if let Some(h) = ahead {
            sim.schedule_at((hour + h) * HOUR, Event::Hour);
        }
    }

    /// After each event: accounts whose counts or surroundings changed
    /// update their replication and failover triggers.
    fn settle(&mut self, sim: &mut Scheduler<Event>) {
        let all = std::mem::take(&mut self.env_changed);
        for k in 0..self.options.len() {
            if all || self.options[k].account.dirty {
                let env = self.env(k);
                self.options[k].account.settle(self.now, env, sim);
            }
        }
    }
}

impl Model for World<'_, '_> {
    type Event = Event;

    fn handle(&mut self, event: Event, sim: &mut Scheduler<Event>) -> Flow {
        self.now = sim.now();
        match event {
            Event::FleetFailure { process } => self.on_fleet_failure(process, sim),
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
        }
        self.settle(sim);
        Flow::Continue
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

/// The slots of copy group `g` of an option, as a bit mask.
fn group_slots(option: &super::ReplicationOption, g: usize) -> u16 {
    let start: u32 = option.groups[..g].iter().map(|g| g.copies).sum();
    let copies = option.groups[g].copies;
    (((1u32 << copies) - 1) << start) as u16
}

/// The copies of an extent now: (disks, alive mask, lost).
fn copies_of<'a>(
    plan: &'a Plan,
    state: &'a OptionState,
    k: usize,
    extent: u32,
) -> (&'a [u32], u16, bool) {
    match state.tables.changed.get(&extent) {
        Some(e) => (&e.disks[..], e.alive, e.lost),
        None => {
            let disks = plan.placements[k].extent(extent);
            (disks, ((1u32 << disks.len()) - 1) as u16, false)
        }
    }
}

/// A disk for a new copy in `slot`'s group, keeping the group's placement
/// rule against its other live copies ([`replacement_disk`]).
fn pick_for_slot(
    plan: &Plan,
    fleet: &Fleet,
    k: usize,
    ext: &ExtentState,
    slot: u8,
    rng: &mut ChaCha8Rng,
) -> Option<u32> {
    let topo = &plan.system.topology;
    let option = &plan.system.options[k];
    let (g, group_slots) = option.group_of(slot);
    let group = &option.groups[g];
    let mut taken = [0; MAX_COPIES];
    let mut alive = 0;
    for s in group_slots.filter(|&s| s != slot as usize && ext.alive & (1 << s) != 0) {
        taken[alive] = ext.disks[s];
        alive += 1;
    }
    let taken = &taken[..alive];
    let old = ext.disks[slot as usize];
    replacement_disk(topo, group, taken, old, &Service(fleet, topo), rng)
}

/// One-at-a-time repair: starts re-creating the next queued copy, if any
/// (detection already happened when it was lost).
fn start_next_repair(
    ext: &mut ExtentState,
    repair: &Repair,
    k: usize,
    extent: u32,
    rng: &mut ChaCha8Rng,
    sim: &mut Scheduler<Event>,
) {
    if ext.queued == 0 {
        ext.repairing = false;
        return;
    }
    let slot = ext.queued.trailing_zeros() as u8;
    ext.queued &= !(1 << slot);
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

/// Traces an extent of `(option, extent)` left with `alive` copies, when
/// that loses it or leaves it one failure from loss.
fn record_exposure(
    trace: &mut Vec<TraceEvent>,
    at: Micros,
    (option, extent): (u16, u32),
    alive: u32,
    needed: u32,
) {
    let what = if alive < needed {
        What::Lost { option, extent }
    } else if alive == needed {
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

/// An extent as the plan placed it, all copies alive.
fn fresh(disks: &[u32]) -> ExtentState {
    let mut state = ExtentState {
        disks: [0; MAX_COPIES],
        alive: ((1u32 << disks.len()) - 1) as u16,
        lost: false,
        repairing: false,
        queued: 0,
    };
    state.disks[..disks.len()].copy_from_slice(disks);
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Topology;
    use crate::scenario;

    /// Three zones of one facility each, in two paired regions; no random
    /// failures (the facility process exists only to be triggered by hand).
    const TEXT: &str = r#"
options = ["LRS", "ZRS", "GRS"]
detection = "0s"
[topology]
racks_per_facility = 4
nodes_per_rack = 1
disks_per_node = 2
[data]
size = "60GB"
[failures.disk]
afr = 0
[failures.facility]
afr = 1e-9
replace = "1y"
[repair]
time = "1h"
"#;

    fn extents_with_a_copy_in(plan: &Plan, option: usize, facility: u32) -> Vec<u32> {
        let topo = &plan.system.topology;
        (0..plan.system.extents)
            .filter(|&e| {
                let copies = plan.placements[option].extent(e);
                copies
                    .iter()
                    .any(|&d| topo.ancestor(d, Level::Facility) == facility)
            })
            .collect()
    }

    fn alive_disks(world: &World, option: usize, extent: u32) -> Vec<u32> {
        let ext = &world.options[option].tables.changed[&extent];
        (0..MAX_COPIES)
            .filter(|&s| ext.alive & (1 << s) != 0)
            .map(|s| ext.disks[s])
            .collect()
    }

    fn facility_of(topo: &Topology, d: u32) -> u32 {
        topo.ancestor(d, Level::Facility)
    }

    #[test]
    fn a_destroyed_facility_kills_lrs_there_and_zrs_grs_recover() {
        let s = scenario::parse("t.toml", TEXT, "t").unwrap();
        let plan = Plan::new(&s.system, 5).unwrap();
        let topo = &s.system.topology;
        let mut world = World::new(&plan, 0, Scratch::default());
        let mut sim = Scheduler::default();
        world.destroy_by(0, 0, &mut sim);

        let lrs_there = extents_with_a_copy_in(&plan, 0, 0);
        let zrs_there = extents_with_a_copy_in(&plan, 1, 0);
        let grs_there = extents_with_a_copy_in(&plan, 2, 0);
        assert!(!lrs_there.is_empty() && !grs_there.is_empty());
        assert_eq!(
            zrs_there.len() as u32,
            s.system.extents,
            "ZRS has a copy in every zone"
        );
        let outcome = |w: &World, k: usize| w.options[k].outcome.clone();
        assert_eq!(outcome(&world, 0).lost_extents, lrs_there.len() as u32);
        assert_eq!(outcome(&world, 1).lost_extents, 0);
        assert_eq!(outcome(&world, 2).lost_extents, 0);
        assert_eq!(
            outcome(&world, 1).copies_destroyed,
            u64::from(s.system.extents)
        );

        let limits = Limits {
            horizon: s.system.horizon,
            max_events: 1_000_000,
        };
        engine::run(&mut world, &mut sim, limits);
        assert_eq!(
            outcome(&world, 1).copies_repaired,
            u64::from(s.system.extents)
        );
        assert_eq!(
            outcome(&world, 2).copies_repaired,
            3 * grs_there.len() as u64
        );
        for &e in &zrs_there {
            let disks = alive_disks(&world, 1, e);
            assert_eq!(disks.len(), 3, "ZRS extent {e} is whole again");
            assert!(disks.iter().all(|&d| facility_of(topo, d) != 0));
            let mut racks: Vec<u32> = disks
                .iter()
                .map(|&d| topo.ancestor(d, Level::Rack))
                .collect();
            racks.dedup();
            assert_eq!(
                racks.len(),
                3,
                "with a zone gone, copies still spread over racks"
            );
        }
        for &e in &grs_there {
            let disks = alive_disks(&world, 2, e);
            let primary: Vec<u32> = disks[..3].iter().map(|&d| facility_of(topo, d)).collect();
            assert!(
                primary.iter().all(|&f| f == primary[0] && f != 0 && f < 3),
                "{primary:?}"
            );
        }
    }

    /// A node of westeurope down for `down`, detected after 15 minutes;
    /// repairs take a minute.
    fn node_outage(down: &str) -> String {
        format!(
            r#"options = ["LRS", "ZRS"]
detection = "15m"
[topology]
racks_per_facility = 4
nodes_per_rack = 2
disks_per_node = 2
[data]
size = "60GB"
[failures.disk]
afr = 0
[repair]
time = "1m"
[[fault]]
at = "1d"
level = "node"
target = "westeurope/1/1/1/1"
kind = "down"
duration = "{down}"
"#
        )
    }

    #[test]
    fn a_short_outage_repairs_nothing_and_a_long_one_rehomes_its_copies() {
        let short = scenario::parse("t.toml", &node_outage("10m"), "t").unwrap();
        let plan = Plan::new(&short.system, 2).unwrap();
        let outcome = plan.run_trial(0);
        for o in &outcome.options {
            assert_eq!(
                (o.copies_repaired, o.copies_destroyed, o.lost_extents),
                (0, 0, 0)
            );
            assert_eq!(o.account.unreadable, 0, "two other copies serve");
        }

        let long = scenario::parse("t.toml", &node_outage("2h"), "t").unwrap();
        let plan = Plan::new(&long.system, 2).unwrap();
        let topo = &long.system.topology;
        let mut world = World::new(&plan, 0, Scratch::default());
        let mut sim = Scheduler::default();
        world.start(&mut sim);
        let limits = Limits {
            horizon: long.system.horizon,
            max_events: 1_000_000,
        };
        engine::run(&mut world, &mut sim, limits);
        for k in 0..2 {
            let on_node: Vec<u32> = (0..long.system.extents)
                .filter(|&e| plan.placements[k].extent(e).iter().any(|&d| d < 2))
                .collect();
            assert!(!on_node.is_empty());
            let o = &world.options[k].outcome;
            assert_eq!(
                o.copies_repaired,
                on_node.len() as u64,
                "each re-created once"
            );
            for &e in &on_node {
                let disks = alive_disks(&world, k, e);
                assert_eq!(disks.len(), 3);
                assert!(disks.iter().all(|&d| d >= 2), "moved off the node");
                let mut racks: Vec<u32> = disks
                    .iter()
                    .map(|&d| topo.ancestor(d, Level::Rack))
                    .collect();
                racks.sort_unstable();
                racks.dedup();
                assert_eq!(racks.len(), 3, "still on distinct racks");
            }
        }
    }
}
