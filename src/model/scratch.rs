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
use super::placement::Placement;
use super::world::Event;
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

/// One bit per index (a component, a disk), for sets that are small but
/// looked up at random: 12.5 KB for 100,000 indices, which stays in cache.
#[derive(Clone, Debug, Default)]
pub struct Bits(Vec<u64>);

impl Bits {
    /// Empty, for indices below `n`. Only the words of `set` (the indices
    /// that may be set) are cleared when the size is unchanged.
    pub fn reset(&mut self, n: u32, set: impl Iterator<Item = u32>) {
        let words = (n as usize).div_ceil(64);
        if self.0.len() == words {
            set.for_each(|i| self.0[i as usize / 64] = 0);
        } else {
            self.0 = vec![0; words];
        }
    }

    #[inline(always)]
    pub fn get(&self, i: u32) -> bool {
        self.0[i as usize / 64] & (1 << (i % 64)) != 0
    }

    #[inline(always)]
    pub fn set(&mut self, i: u32, on: bool) {
        let word = &mut self.0[i as usize / 64];
        if on {
            *word |= 1 << (i % 64);
        } else {
            *word &= !(1 << (i % 64));
        }
    }

    /// Starts loading the word of `i` ([`crate::cache`]).
    #[inline]
    pub fn prefetch(&self, i: u32) {
        crate::cache::prefetch(self.0.as_ptr().wrapping_add(i as usize / 64));
    }
}

/// The end of a disk's chain in the log of [`AddedCopies`].
const NONE: u32 = u32::MAX;

/// Copies re-created on a disk during a trial, as (extent, slot), oldest
/// first: one log that a repair appends to, read back by disk when a disk
/// is destroyed or goes down. A bit per disk says whether it holds any:
/// most disks that fail hold none. For those that do, each disk's entries
/// are chained through the log, so reading a disk back costs its own
/// entries: an outage that outlasts detection re-homes every copy of a
/// datacenter, and a scan of the whole log per disk was then most of a
/// trial's time. A repair touches the log's end, a bit in a table that
/// stays in cache, and one small map of the disks that hold entries.
#[derive(Debug, Default)]
pub struct AddedCopies {
    /// One bit per disk, set while it holds entries.
    has: Bits,
    /// Every entry appended in the trial, oldest first; an entry of a disk
    /// taken since is no longer in any chain.
    log: Vec<Added>,
    /// Per disk holding entries: its first and last entry in `log`.
    chains: IdMap<(u32, u32)>,
    /// The copies of the disk last taken ([`AddedCopies::take`]).
    taken: Vec<(u32, u8)>,
}

/// One entry of the log: a copy and the next entry of the same disk.
#[derive(Clone, Copy, Debug)]
struct Added {
    extent: u32,
    slot: u8,
    next: u32,
}

impl AddedCopies {
    pub fn push(&mut self, disk: u32, extent: u32, slot: u8) {
        // One entry per re-creation event, and a trial's events are fewer
        // than `budget::MAX_EVENTS` = 2^32: an index fits in a u32.
        let at = self.log.len() as u32;
        assert!(
            self.log.len() < NONE as usize,
            "the log outgrew its u32 index"
        );
        self.log.push(Added {
            extent,
            slot,
            next: NONE,
        });
        match self.chains.get_mut(&disk) {
            Some((_, last)) => {
                self.log[*last as usize].next = at;
                *last = at;
            }
            None => {
                self.chains.insert(disk, (at, at));
            }
        }
        self.has.set(disk, true);
    }

    /// Starts loading the bit of `disk` ([`crate::cache`]).
    #[inline]
    pub fn prefetch(&self, disk: u32) {
        self.has.prefetch(disk);
    }

    /// Whether copies were re-created on `disk` (and not taken since).
    pub fn has(&self, disk: u32) -> bool {
        self.has.get(disk)
    }

    /// The first entry of `disk`'s chain, or `NONE`.
    fn first(&self, disk: u32) -> u32 {
        if !self.has(disk) {
            return NONE;
        }
        self.chains.get(&disk).map_or(NONE, |&(first, _)| first)
    }

    /// The entries of the chain that starts at `first`, oldest first.
    fn chain(&self, first: u32) -> impl Iterator<Item = &Added> + '_ {
        let log = &self.log;
        std::iter::successors((first != NONE).then(|| &log[first as usize]), move |e| {
            (e.next != NONE).then(|| &log[e.next as usize])
        })
    }

    /// The copies re-created on `disk`, oldest first.
    pub fn on(&self, disk: u32) -> impl Iterator<Item = (u32, u8)> + '_ {
        self.chain(self.first(disk)).map(|e| (e.extent, e.slot))
    }

    /// Takes away the copies of `disk` (it was destroyed) and returns them,
    /// oldest first.
    pub fn take(&mut self, disk: u32) -> &[(u32, u8)] {
        let first = self.first(disk);
        let mut taken = std::mem::take(&mut self.taken);
        taken.clear();
        taken.extend(self.chain(first).map(|e| (e.extent, e.slot)));
        self.taken = taken;
        if first != NONE {
            self.has.set(disk, false);
            self.chains.remove(&disk);
        }
        &self.taken
    }

    /// Empties the log, for a fleet of `disks` disks.
    fn clear(&mut self, disks: u32) {
        self.has.reset(disks, self.chains.keys().copied());
        self.chains.clear();
        self.log.clear();
    }
}

/// The state of one extent's copies within a trial, as they stand: 12
/// bytes (slot masks wide enough for 20-fragment codes), in a table
/// indexed by extent (120 KB per 10,000 extents), so that
/// the first touch of an extent is one write into a table that stays in
/// cache from one trial to the next (no hashing, no copy of its placement).
#[derive(Clone, Copy, Debug)]
pub struct ExtentState {
    /// The copies alive, one bit per slot.
    alive: u32,
    /// The live copies below a component that is down: alive but not
    /// available. Kept as components go down and come back, so that
    /// whether an extent serves is one mask, not a walk up the fleet's
    /// levels per copy (an outage of a datacenter asks it of every
    /// extent with a copy there). Always a subset of `alive`.
    out: u32,
    flags: u8,
    /// UNREADABLE | UNWRITABLE, when the extent cannot be read or written.
    impaired: u8,
}

const LOST: u8 = 1;
/// One-at-a-time repair: a re-creation is under way.
const REPAIRING: u8 = 2;
/// Written during the trial: to be restored when the next one starts.
const DIRTY: u8 = 4;
/// A copy has been re-created elsewhere: the disks are in `Extents::moved`.
const MOVED: u8 = 8;

impl ExtentState {
    /// An extent of `copies` copies as the plan placed it, all alive.
    fn pristine(copies: usize) -> Self {
        Self {
            alive: if copies >= 32 {
                u32::MAX
            } else {
                (1u32 << copies) - 1
            },
            out: 0,
            flags: 0,
            impaired: 0,
        }
    }

    /// The copies alive, one bit per slot.
    #[inline]
    pub fn alive(&self) -> u32 {
        self.alive
    }

    /// The copies alive and available now (none of their components down).
    #[inline]
    pub fn available(&self) -> u32 {
        self.alive & !self.out
    }

    /// Copy `slot` is gone (destroyed): neither alive nor out.
    pub fn kill(&mut self, slot: u8) {
        self.alive &= !(1 << slot);
        self.out &= !(1 << slot);
    }

    /// Copy `slot` lives again, on a disk in service (copies are placed
    /// only on usable disks).
    pub fn revive(&mut self, slot: u8) {
        self.alive |= 1 << slot;
        self.out &= !(1 << slot);
    }

    /// Whether copy `slot`, alive, is below a component that is down.
    pub fn is_out(&self, slot: u8) -> bool {
        self.out & (1 << slot) != 0
    }

    /// Copy `slot`, alive, is (`out`) or is no longer below a component
    /// that is down.
    pub fn set_out(&mut self, slot: u8, out: bool) {
        debug_assert!(self.alive & (1 << slot) != 0, "only a live copy is out");
        if out {
            self.out |= 1 << slot;
        } else {
            self.out &= !(1 << slot);
        }
    }

    pub fn lost(&self) -> bool {
        self.flags & LOST != 0
    }

    pub fn set_lost(&mut self) {
        self.flags |= LOST;
    }

    /// One-at-a-time repair: whether a re-creation is under way.
    pub fn repairing(&self) -> bool {
        self.flags & REPAIRING != 0
    }
}

/// One option's extents within a trial: a dense table of their states,
/// the disks of those whose copies moved, and the list of entries written,
/// so that a trial restores only what the last one touched.
#[derive(Debug, Default)]
pub struct Extents {
    states: Vec<ExtentState>,
    copies: usize,
    /// Per extent, while `MOVED`, its row of `moved`.
    rows: Vec<u32>,
    /// Per extent, while `REPAIRING`, the lost copies waiting for their
    /// turn (one-at-a-time repair).
    queued: Vec<u32>,
    /// The extents written during the trial.
    dirty: Vec<u32>,
    /// Rows of `copies` disks, one per extent with a copy re-created.
    moved: Vec<u32>,
    /// Extents impaired now.
    impaired: u32,
}

impl Extents {
    /// Bytes per extent of the dense tables, allocated when a thread runs
    /// its first trial: the state, the row of `moved`, the queued copies.
    pub const DENSE_BYTES: usize = std::mem::size_of::<ExtentState>()
        + std::mem::size_of::<u32>()
        + std::mem::size_of::<u32>(); // queued: a slot mask

    /// Bytes a trial can add per extent of `copies` copies at most, when it
    /// writes and moves every extent (a region lost): its entry in `dirty`
    /// and its row of `moved`.
    pub const fn touched_bytes(copies: usize) -> usize {
        std::mem::size_of::<u32>() * (1 + copies)
    }

    /// Every extent of a placement of `copies` copies per extent back as
    /// the plan placed it.
    fn reset(&mut self, extents: u32, copies: usize) {
        if self.states.len() == extents as usize && self.copies == copies {
            for &e in &self.dirty {
                self.states[e as usize] = ExtentState::pristine(copies);
            }
        } else {
            let n = extents as usize;
            self.states.clear();
            self.states.resize(n, ExtentState::pristine(copies));
            self.rows.resize(n, 0);
            self.queued.resize(n, 0);
            self.copies = copies;
        }
        self.dirty.clear();
        self.moved.clear();
        self.impaired = 0;
    }

    /// Starts loading `extent`'s state ([`crate::cache`]).
    #[inline]
    pub fn prefetch(&self, extent: u32) {
        crate::cache::prefetch(self.states.as_ptr().wrapping_add(extent as usize));
    }

    pub fn get(&self, extent: u32) -> &ExtentState {
        &self.states[extent as usize]
    }

    pub fn get_mut(&mut self, extent: u32) -> &mut ExtentState {
        let state = &mut self.states[extent as usize];
        if state.flags & DIRTY == 0 {
            state.flags |= DIRTY;
            self.dirty.push(extent);
        }
        state
    }

    /// The row of `moved` holding `extent`'s disks.
    fn row(&self, extent: u32) -> Option<usize> {
        (self.states[extent as usize].flags & MOVED != 0)
            .then(|| self.rows[extent as usize] as usize)
    }

    /// The disks of `extent`'s copies now (those not alive are where they
    /// were lost).
    pub fn disks<'a>(&'a self, placement: &'a Placement, extent: u32) -> &'a [u32] {
        match self.row(extent) {
            None => placement.extent(extent),
            Some(row) => &self.moved[row * self.copies..(row + 1) * self.copies],
        }
    }

    /// Whether copy `slot` of `extent`, alive, is on `disk`. For an extent
    /// whose copies never moved, only the plan's copies can be looked up,
    /// so the answer is yes without reading the placement.
    pub fn alive_on(&self, extent: u32, slot: u8, disk: u32) -> bool {
        self.states[extent as usize].alive & (1 << slot) != 0
            && self
                .row(extent)
                .is_none_or(|row| self.moved[row * self.copies + slot as usize] == disk)
    }

    /// Copy `slot` of `extent` now lives on `disk`.
    pub fn set_disk(&mut self, placement: &Placement, extent: u32, slot: u8, disk: u32) {
        let copies = self.copies;
        let row = match self.row(extent) {
            Some(row) => row,
            None => {
                let row = self.moved.len() / copies;
                self.moved.extend_from_slice(placement.extent(extent));
                self.rows[extent as usize] = row as u32;
                self.get_mut(extent).flags |= MOVED;
                row
            }
        };
        self.moved[row * copies + slot as usize] = disk;
    }

    /// One-at-a-time repair: a re-creation of `extent` starts, nothing
    /// waiting behind it.
    pub fn start_repairing(&mut self, extent: u32) {
        self.get_mut(extent).flags |= REPAIRING;
        self.queued[extent as usize] = 0;
    }

    /// One-at-a-time repair: lost copy `slot` waits for its turn.
    pub fn queue(&mut self, extent: u32, slot: u8) {
        self.queued[extent as usize] |= 1 << slot;
    }

    /// One-at-a-time repair: the next copy waiting, taken off the queue;
    /// when none, the extent's repairs are over.
    pub fn next_queued(&mut self, extent: u32) -> Option<u8> {
        let queued = &mut self.queued[extent as usize];
        if *queued == 0 {
            self.get_mut(extent).flags &= !REPAIRING;
            return None;
        }
        let slot = queued.trailing_zeros() as u8;
        *queued &= !(1 << slot);
        Some(slot)
    }

    /// The extent's impairment (0 when it can be read and written).
    pub fn impaired(&self, extent: u32) -> u8 {
        self.states[extent as usize].impaired
    }

    pub fn set_impaired(&mut self, extent: u32, flags: u8) {
        let old = self.states[extent as usize].impaired;
        self.impaired = self.impaired + u32::from(flags != 0) - u32::from(old != 0);
        self.get_mut(extent).impaired = flags;
    }

    /// Whether no extent is impaired.
    pub fn none_impaired(&self) -> bool {
        self.impaired == 0
    }
}

/// One option's tables within a trial.
#[derive(Debug, Default)]
pub struct Tables {
    /// Every extent's copies as they stand.
    pub extents: Extents,
    /// Copies re-created on a disk during the trial.
    pub added: AddedCopies,
    /// Repairs waiting for capacity to return, as (extent, slot), by the
    /// region of the copy's group.
    pub blocked: Vec<Vec<(u32, u8)>>,
    /// Copies of a serving group emptied by a destruction that fails the
    /// account over, as (extent, slot): re-created when the account's
    /// re-protection completes, not by the repair model.
    pub held: Vec<(u32, u8)>,
    /// Copies placed against their group's spread rule, by (extent, slot),
    /// with whether a move back is scheduled: looked at when a component
    /// returns (`world/rebalance.rs`). One entry per copy, in a sorted map
    /// so that the moves are scheduled in a fixed order; an entry may be
    /// stale (the copy lost since), and is dropped when next looked at.
    pub relaxed: std::collections::BTreeMap<(u32, u8), bool>,
    /// Extents lost in the warm-up, in order: not part of the data the
    /// measured horizon counts (neither lost nor unavailable in it).
    pub retired: Vec<u32>,
}

impl Tables {
    fn clear(&mut self, topo: &Topology, placement: &Placement) {
        let extents = (placement.copies.len() / placement.copies_per_extent.max(1)) as u32;
        self.extents.reset(extents, placement.copies_per_extent);
        self.added.clear(topo.disks());
        let regions = topo.regions.len();
        self.blocked.resize_with(regions, Vec::new);
        self.blocked.iter_mut().for_each(Vec::clear);
        self.held.clear();
        self.relaxed.clear();
        self.retired.clear();
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
    /// Per option, the copies below a component going down or coming back.
    pub below: Vec<Vec<(u32, u8)>>,
    pub repairs: Vec<(u64, u32, u8)>,
}

impl Scratch {
    /// Empties every table for a trial of options placed as `placements`
    /// on `topo` (the scheduler is reset by its user, who takes it out).
    pub fn clear(&mut self, topo: &Topology, placements: &[Placement]) {
        self.fleet.reset(topo);
        self.tables.resize_with(placements.len(), Tables::default);
        for (t, p) in self.tables.iter_mut().zip(placements) {
            t.clear(topo, p);
        }
        self.down.clear();
        self.copies.clear();
        self.below.resize_with(placements.len(), Vec::new);
        self.below.iter_mut().for_each(Vec::clear);
        self.repairs.clear();
    }
}
