//! The service state of the fleet within a trial: which components are
//! destroyed (permanently, until replaced) and which are down (transiently,
//! with their data intact), and which inter-region links are down.
//!
//! One `u16` per component out of service: the top bit marks destruction,
//! the rest counts the outages under way there (a scripted outage may
//! overlap a random one). A component is usable only when it and every
//! ancestor read 0, so the placement check stays one lookup per level.

use std::ops::Range;

use super::placement::InService;
use super::scratch::{Bits, IdMap};
use super::{Level, Topology};

const DESTROYED: u16 = 1 << 15;

#[derive(Clone, Debug, Default)]
pub struct Fleet {
    /// Per level, the state of each component whose state is not 0. A
    /// fleet has few components out at a time (a 100k-disk fleet about 5
    /// disks), so a small map that stays in cache holds them, where a state
    /// per component would cost a cache miss per change.
    state: [IdMap<u16>; 6],
    /// Outages under way per region-pair link, indexed by the lower region
    /// index of the pair.
    links: Vec<u16>,
    /// Components down now: while 0, every live copy is available.
    down: u32,
    /// Per level, one bit per component whose state is not 0: lookups go
    /// to the map only where the bit is set. 100,000 disks take 12.5 KB.
    bits: [Bits; 6],
    /// Bit `l` set while some component of level `l` is out: lookups skip
    /// the other levels, which on a fleet with only disks out leaves one
    /// level of six.
    levels_out: u8,
}

impl Fleet {
    pub fn new(topo: &Topology) -> Self {
        let mut fleet = Self::default();
        fleet.reset(topo);
        fleet
    }

    /// Back to every component in service and every link up, keeping the
    /// allocations: only the bits of components out are cleared.
    pub fn reset(&mut self, topo: &Topology) {
        for l in Level::ALL {
            let state = &mut self.state[l as usize];
            self.bits[l as usize].reset(topo.count(l), state.keys().copied());
            state.clear();
        }
        self.links.clear();
        self.links.resize(topo.regions.len(), 0);
        self.down = 0;
        self.levels_out = 0;
    }

    /// The state of component `c` of level `l`.
    #[inline(always)]
    fn get(&self, l: usize, c: u32) -> u16 {
        if !self.bits[l].get(c) {
            0
        } else {
            self.state[l].get(&c).copied().unwrap_or(0)
        }
    }

    /// The levels from the widest down to `narrowest` with a component
    /// out of service, widest first.
    #[inline(always)]
    fn levels_out_to(&self, narrowest: Level) -> impl Iterator<Item = Level> {
        let mut mask = self.levels_out & ((2u16 << narrowest as u8) - 1) as u8;
        std::iter::from_fn(move || {
            let l = mask.trailing_zeros() as usize;
            mask &= mask.wrapping_sub(1);
            Level::ALL.get(l).copied()
        })
    }

    /// Sets the state of component `c`, keeping the bits.
    fn set(&mut self, level: Level, c: u32, new: u16) {
        let l = level as usize;
        self.bits[l].set(c, new != 0);
        if new == 0 {
            self.state[l].remove(&c);
        } else {
            self.state[l].insert(c, new);
        }
        if self.state[l].is_empty() {
            self.levels_out &= !(1 << l);
        } else {
            self.levels_out |= 1 << l;
        }
    }

    pub fn set_destroyed(&mut self, level: Level, c: u32, destroyed: bool) {
        let s = self.get(level as usize, c);
        let new = if destroyed {
            s | DESTROYED
        } else {
            s & !DESTROYED
        };
        self.set(level, c, new);
    }

    /// Whether component `c` or one of its ancestors is destroyed.
    pub fn destroyed(&self, topo: &Topology, level: Level, c: u32) -> bool {
        let disk = topo.disk_range(level, c).start;
        self.levels_out_to(level)
            .any(|l| self.get(l as usize, topo.ancestor(disk, l)) & DESTROYED != 0)
    }

    /// Whether component `c` itself has an outage under way.
    pub fn down(&self, level: Level, c: u32) -> bool {
        self.get(level as usize, c) & !DESTROYED != 0
    }

    /// Whether component `c` itself is destroyed or down.
    pub fn out(&self, level: Level, c: u32) -> bool {
        self.get(level as usize, c) != 0
    }

    /// Starts an outage of `c`; true when it was up before.
    pub fn begin_outage(&mut self, level: Level, c: u32) -> bool {
        let s = self.get(level as usize, c);
        let was_up = s & !DESTROYED == 0;
        self.set(level, c, s.saturating_add(1));
        self.down += u32::from(was_up);
        was_up
    }

    /// Ends an outage of `c`; true when no other outage keeps it down.
    pub fn end_outage(&mut self, level: Level, c: u32) -> bool {
        let s = self.get(level as usize, c);
        if s & !DESTROYED == 0 {
            return true;
        }
        self.set(level, c, s - 1);
        let up = (s - 1) & !DESTROYED == 0;
        self.down -= u32::from(up);
        up
    }

    /// Whether region `r` is neither destroyed nor down.
    pub fn region_up(&self, r: u32) -> bool {
        !self.out(Level::Region, r)
    }

    pub fn link_up(&self, link: u32) -> bool {
        self.links[link as usize] == 0
    }

    pub fn begin_link_outage(&mut self, link: u32) {
        self.links[link as usize] = self.links[link as usize].saturating_add(1);
    }

    pub fn end_link_outage(&mut self, link: u32) {
        self.links[link as usize] = self.links[link as usize].saturating_sub(1);
    }

    /// The widest out-of-service component above or at `disk`, looking at
    /// levels down to `narrowest` only.
    #[inline]
    fn widest_out(&self, topo: &Topology, disk: u32, narrowest: Level) -> Option<(Level, u32)> {
        self.levels_out_to(narrowest)
            .map(|l| (l, topo.ancestor(disk, l)))
            .find(|&(l, c)| self.get(l as usize, c) != 0)
    }

    /// Whether a copy on `disk` can be read now.
    pub fn disk_available(&self, topo: &Topology, disk: u32) -> bool {
        self.widest_out(topo, disk, Level::Disk).is_none()
    }

    /// Whether no component is down: every live copy is available.
    pub fn quiet(&self) -> bool {
        self.down == 0
    }

    /// Whether a live copy on `disk` can be read now. Live copies never sit
    /// on destroyed disks, so without outages every one can: no lookup.
    pub fn copy_available(&self, topo: &Topology, disk: u32) -> bool {
        self.down == 0 || self.disk_available(topo, disk)
    }
}

/// The link id of a region pair: its lower region index.
pub fn link_of(a: u32, b: u32) -> u32 {
    a.min(b)
}

/// Placement's view: a component takes new copies only when neither it nor
/// an ancestor is destroyed or down.
pub struct Service<'a>(pub &'a Fleet, pub &'a Topology);

impl InService for Service<'_> {
    fn component(&self, level: Level, c: u32) -> bool {
        let first_disk = self.1.disk_range(level, c).start;
        self.0.widest_out(self.1, first_disk, level).is_none()
    }

    fn out_range(&self, disk: u32) -> Option<Range<u32>> {
        let (l, c) = self.0.widest_out(self.1, disk, Level::Disk)?;
        Some(self.1.disk_range(l, c))
    }
}
