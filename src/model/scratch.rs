//! The allocations of a fleet trial, kept from one trial to the next on the
//! same thread. A trial of a large fleet touches few extents, but building
//! its tables from nothing costs a fleet-sized allocation, hash tables grown
//! from empty and a vector per disk that receives a copy; clearing them
//! instead keeps their capacity. Nothing here carries over in content: every
//! table is empty (and the fleet fully in service) when a trial starts.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::Topology;
use super::fleet::Fleet;
use super::world::{Event, ExtentState};
use crate::engine::Scheduler;

/// A map keyed by extent or disk index.
pub type IdMap<V> = HashMap<u32, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing: one multiplication per u32 key. Keys are indices, not
/// adversarial input, so SipHash's protection buys nothing here.
#[derive(Default)]
pub struct IdHasher(u64);

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

/// End of a chain in [`AddedCopies`].
const NONE: u32 = u32::MAX;

/// Copies re-created on each disk during a trial, as (extent, slot), oldest
/// first: one arena of entries chained per disk, so a repair allocates
/// nothing once the arena has grown. Entries of a disk taken away stay in the
/// arena, unreachable, until the trial ends.
#[derive(Debug, Default)]
pub struct AddedCopies {
    /// Per disk with entries, its first and last entry.
    ends: IdMap<(u32, u32)>,
    /// (extent, slot, next entry of the same disk or `NONE`).
    entries: Vec<(u32, u8, u32)>,
}

impl AddedCopies {
    pub fn push(&mut self, disk: u32, extent: u32, slot: u8) {
        let new = self.entries.len() as u32;
        self.entries.push((extent, slot, NONE));
        match self.ends.get_mut(&disk) {
            Some((_, last)) => {
                self.entries[*last as usize].2 = new;
                *last = new;
            }
            None => {
                self.ends.insert(disk, (new, new));
            }
        }
    }

    /// The copies re-created on `disk`, oldest first.
    pub fn on(&self, disk: u32) -> Chain<'_> {
        let first = self.ends.get(&disk).map_or(NONE, |&(first, _)| first);
        Chain {
            entries: &self.entries,
            next: first,
        }
    }

    /// Forgets the copies of `disk` (it was destroyed); returns where its
    /// chain starts, to be read with [`AddedCopies::chain`].
    pub fn take(&mut self, disk: u32) -> u32 {
        self.ends.remove(&disk).map_or(NONE, |(first, _)| first)
    }

    /// The chain starting at entry `first` (from [`AddedCopies::take`]).
    pub fn chain(&self, first: u32) -> Chain<'_> {
        Chain {
            entries: &self.entries,
            next: first,
        }
    }

    fn clear(&mut self) {
        self.ends.clear();
        self.entries.clear();
    }
}

/// The copies of one disk's chain, oldest first.
pub struct Chain<'a> {
    entries: &'a [(u32, u8, u32)],
    next: u32,
}

impl Iterator for Chain<'_> {
    type Item = (u32, u8);

    fn next(&mut self) -> Option<(u32, u8)> {
        let &(extent, slot, next) = self.entries.get(self.next as usize)?;
        self.next = next;
        Some((extent, slot))
    }
}

/// One option's tables within a trial.
#[derive(Debug, Default)]
pub struct Tables {
    /// Extents touched by a failure or outage; the others are as the plan
    /// placed them.
    pub changed: IdMap<ExtentState>,
    /// Copies re-created on a disk during the trial.
    pub added: AddedCopies,
    /// Repairs waiting for capacity to return, as (extent, slot), by the
    /// region of the copy's group.
    pub blocked: Vec<Vec<(u32, u8)>>,
    /// Extents that cannot be read or written now (UNREADABLE | UNWRITABLE).
    pub impaired: IdMap<u8>,
}

impl Tables {
    fn clear(&mut self, regions: usize) {
        self.changed.clear();
        self.added.clear();
        self.blocked.resize_with(regions, Vec::new);
        self.blocked.iter_mut().for_each(Vec::clear);
        self.impaired.clear();
    }
}

/// Everything a trial allocates, empty between trials.
#[derive(Debug, Default)]
pub struct Scratch {
    pub sim: Scheduler<Event>,
    pub fleet: Fleet,
    pub tables: Vec<Tables>,
    /// Components down, with when they are marked out and due back.
    pub down: HashMap<(super::Level, u32), super::world::Down>,
    pub copies: Vec<(u32, u8)>,
    pub repairs: Vec<(u64, u32, u8)>,
}

impl Scratch {
    /// Empties every table for a trial of `options` options on `topo`
    /// (the scheduler is reset by its user, who takes it out).
    pub fn clear(&mut self, topo: &Topology, options: usize) {
        self.fleet.reset(topo);
        self.tables.resize_with(options, Tables::default);
        self.tables
            .iter_mut()
            .for_each(|t| t.clear(topo.regions.len()));
        self.down.clear();
        self.copies.clear();
        self.repairs.clear();
    }
}
