//! One trial of the storage system: failures destroy copies, detection and
//! re-replication re-create them, and an extent is lost when its last copy
//! is destroyed. All options live on the same hardware in the same trial, so
//! they see the same failure trace (common random numbers).
//!
//! Random streams (purposes of [`trial_rng`]): 0 draws the failure trace and
//! detection delays; 1 + k draws repairs of option k. An option's behaviour
//! thus never changes the failures another option sees.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::Exp1;

use super::placement::{InService, Placement, pick_anchor, pick_disk};
use super::repair::{self, RepairTiming};
use super::{Level, Repair, RepairDiscipline, System};
use crate::engine::trials::trial_rng;
use crate::engine::{self, Flow, Limits, Model, RunEnd, Scheduler};
use crate::units::Micros;

/// The most copies one option may keep of an extent.
pub const MAX_COPIES: usize = 16;

/// Upper bound on events in one trial: protects against a runaway scenario.
const MAX_EVENTS: u64 = 1 << 32;

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
}

/// What one option experienced in one trial.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptionOutcome {
    pub lost_extents: u32,
    pub copies_destroyed: u64,
    pub copies_repaired: u64,
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
    pub seed: u64,
}

impl<'s> Plan<'s> {
    /// Places every option's data once for the run, from the master seed's
    /// stream of trial `u64::MAX` (no real trial uses that index).
    pub fn new(system: &'s System, seed: u64) -> Result<Self, String> {
        let placements = system
            .options
            .iter()
            .enumerate()
            .map(|(k, option)| {
                let mut rng = trial_rng(seed, u64::MAX, 1 + k as u32);
                Placement::new(&system.topology, option, system.extents, &mut rng)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            system,
            placements,
            seed,
        })
    }

    /// Simulates trial `trial` to the horizon.
    pub fn run_trial(&self, trial: u64) -> TrialOutcome {
        let mut world = World::new(self, trial);
        let mut sim = Scheduler::default();
        world.start(&mut sim);
        let limits = Limits {
            horizon: self.system.horizon,
            max_events: MAX_EVENTS,
        };
        let end = engine::run(&mut world, &mut sim, limits);
        TrialOutcome {
            options: world.options.into_iter().map(|o| o.outcome).collect(),
            weight: 1.0,
            events: sim.handled(),
            end,
        }
    }
}

/// Copies of one extent that have changed during the trial.
#[derive(Clone, Debug)]
struct ExtentState {
    disks: [u32; MAX_COPIES],
    alive: u16,
    lost: bool,
    /// One-at-a-time repair: whether a re-creation is under way, and the
    /// lost copies waiting for their turn.
    repairing: bool,
    queued: u16,
}

/// A map keyed by extent or disk index.
type IdMap<V> = HashMap<u32, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing: one multiplication per u32 key. Keys are indices, not
/// adversarial input, so SipHash's protection buys nothing here.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u32(u32::from(b));
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.0 = (self.0 ^ u64::from(i)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// One option's state within a trial: only extents touched by a failure are
/// stored; the others are as the plan placed them.
struct OptionState {
    rng: ChaCha8Rng,
    changed: IdMap<ExtentState>,
    /// Copies re-created on a disk during the trial, as (extent, slot).
    added: IdMap<Vec<(u32, u8)>>,
    /// Repairs waiting for a destroyed scope to return, as (extent, slot).
    blocked: Vec<(u32, u8)>,
    outcome: OptionOutcome,
}

struct World<'p, 's> {
    plan: &'p Plan<'s>,
    rng: ChaCha8Rng,
    /// Per level, whether each component is destroyed (out of service).
    destroyed: [Vec<bool>; 6],
    options: Vec<OptionState>,
}

impl<'p, 's> World<'p, 's> {
    fn new(plan: &'p Plan<'s>, trial: u64) -> Self {
        let topo = &plan.system.topology;
        let options = (0..plan.system.options.len())
            .map(|k| OptionState {
                rng: trial_rng(plan.seed, trial, 1 + k as u32),
                changed: IdMap::default(),
                added: IdMap::default(),
                blocked: Vec::new(),
                outcome: OptionOutcome::default(),
            })
            .collect();
        Self {
            plan,
            rng: trial_rng(plan.seed, trial, 0),
            destroyed: Level::ALL.map(|l| vec![false; topo.count(l) as usize]),
            options,
        }
    }

    fn system(&self) -> &'s System {
        self.plan.system
    }

    /// Starts every failure clock.
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

    fn component_in_service(&self, level: Level, c: u32) -> bool {
        Service(&self.destroyed, &self.system().topology).component(level, c)
    }

    fn on_fleet_failure(&mut self, process: u16, sim: &mut Scheduler<Event>) {
        let level = self.system().failures[process as usize].level;
        let count = self.system().topology.count(level);
        let c = self.rng.random_range(0..count);
        if self.component_in_service(level, c) {
            self.destroy(process, c, sim);
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
            self.destroy(process, c, sim);
        } else {
            // Gone with an ancestor: it returns new when the ancestor does.
            self.schedule_own_failure(process, c, sim);
        }
    }

    fn on_replaced(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let p = &self.system().failures[process as usize];
        self.destroyed[p.level as usize][c as usize] = false;
        if p.lifetime.exponential_rate().is_none() {
            self.schedule_own_failure(process, c, sim);
        }
        // Capacity is back: repairs that found no target try again now.
        for k in 0..self.options.len() {
            for (extent, slot) in std::mem::take(&mut self.options[k].blocked) {
                self.on_repaired(k, extent, slot, sim);
            }
        }
    }

    /// Destroys component `c` and every copy below it, then schedules repairs.
    fn destroy(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let p = &self.system().failures[process as usize];
        let (level, replace) = (p.level, p.replace);
        self.destroyed[level as usize][c as usize] = true;
        sim.schedule(
            replace,
            Event::Replaced {
                process,
                component: c,
            },
        );
        let detection = self.system().detection.sample(&mut self.rng);
        let disks = self.system().topology.disk_range(level, c);
        for k in 0..self.options.len() {
            let repair = RepairTiming::after(self.system(), detection, level, c);
            self.destroy_copies(k, disks.clone(), repair, sim);
        }
    }

    /// Marks every live copy of option `k` on `disks` destroyed and schedules
    /// its re-creation, in disk order: first the copies the plan placed, then
    /// those re-created there, oldest first.
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
        for disk in disks {
            let base = placement.on_disk(disk).iter();
            let added = state.added.remove(&disk).unwrap_or_default();
            for &(extent, slot) in base.chain(added.iter()) {
                let ext = state
                    .changed
                    .entry(extent)
                    .or_insert_with(|| fresh(placement.extent(extent)));
                let bit = 1u16 << slot;
                if ext.lost || ext.alive & bit == 0 || ext.disks[slot as usize] != disk {
                    continue;
                }
                ext.alive &= !bit;
                state.outcome.copies_destroyed += 1;
                if ext.alive.count_ones() < option.needed {
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
                let event = Event::Repaired {
                    option: k as u16,
                    extent,
                    slot,
                };
                sim.schedule(delay, event);
            }
        }
    }

    /// Re-creates a copy on a disk that keeps its group's placement rule.
    fn on_repaired(&mut self, k: usize, extent: u32, slot: u8, sim: &mut Scheduler<Event>) {
        let plan = self.plan;
        let topo = &plan.system.topology;
        let option = &plan.system.options[k];
        let state = &mut self.options[k];
        let Some(ext) = state.changed.get_mut(&extent) else {
            return;
        };
        if ext.lost {
            return;
        }
        let (g, group_slots) = option.group_of(slot);
        let group = &option.groups[g];
        let mut taken = [0; MAX_COPIES];
        let mut alive = 0;
        for s in group_slots.filter(|&s| ext.alive & (1 << s) != 0) {
            taken[alive] = ext.disks[s];
            alive += 1;
        }
        let taken = &taken[..alive];
        let old = ext.disks[slot as usize];
        let usable = Service(&self.destroyed, topo);
        let rng = &mut state.rng;
        // Anchor on a surviving copy of the group, else where the lost copy
        // was, else anywhere in the group's region that is in service.
        let anchor = match taken.first() {
            Some(&d) => Some(topo.ancestor(d, group.within)),
            None if usable.component(Level::Disk, old) => Some(topo.ancestor(old, group.within)),
            None => pick_anchor(topo, group, &usable, rng),
        };
        let picked = anchor.and_then(|a| pick_disk(topo, group, a, taken, &usable, rng));
        let Some(disk) = picked else {
            state.blocked.push((extent, slot));
            return;
        };
        ext.disks[slot as usize] = disk;
        ext.alive |= 1 << slot;
        state.added.entry(disk).or_default().push((extent, slot));
        state.outcome.copies_repaired += 1;
        if ext.repairing {
            start_next_repair(ext, &plan.system.repair, k, extent, rng, sim);
        }
    }
}

impl Model for World<'_, '_> {
    type Event = Event;

    fn handle(&mut self, event: Event, sim: &mut Scheduler<Event>) -> Flow {
        match event {
            Event::FleetFailure { process } => self.on_fleet_failure(process, sim),
            Event::Failure { process, component } => self.on_failure(process, component, sim),
            Event::Replaced { process, component } => self.on_replaced(process, component, sim),
            Event::Repaired {
                option,
                extent,
                slot,
            } => self.on_repaired(option as usize, extent, slot, sim),
        }
        Flow::Continue
    }
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

/// The service state of the fleet: destroyed flags per level.
struct Service<'a>(&'a [Vec<bool>; 6], &'a super::Topology);

impl Service<'_> {
    /// The widest destroyed component above or at `disk`, as (level, index).
    fn widest_destroyed(&self, disk: u32) -> Option<(Level, u32)> {
        let Service(destroyed, topo) = self;
        let anc = topo.ancestors(disk);
        Level::ALL
            .into_iter()
            .map(|l| (l, anc[l as usize]))
            .find(|&(l, c)| destroyed[l as usize][c as usize])
    }
}

impl InService for Service<'_> {
    fn component(&self, level: Level, c: u32) -> bool {
        let first_disk = self.1.disk_range(level, c).start;
        self.widest_destroyed(first_disk)
            .is_none_or(|(l, _)| l > level)
    }

    /// Skips whole destroyed subtrees: a lost facility costs one step.
    fn first_disk(&self, disks: Range<u32>) -> Option<u32> {
        let mut d = disks.start;
        while d < disks.end {
            match self.widest_destroyed(d) {
                None => return Some(d),
                Some((l, c)) => d = self.1.disk_range(l, c).end,
            }
        }
        None
    }
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
        let ext = &world.options[option].changed[&extent];
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
        let mut world = World::new(&plan, 0);
        let mut sim = Scheduler::default();
        world.destroy(0, 0, &mut sim);

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
}
