//! The service state of the fleet within a trial: which components are
//! destroyed (permanently, until replaced) and which are down (transiently,
//! with their data intact), and which inter-region links are down.
//!
//! Per level, a bit per component destroyed and a bit per component out of
//! service (destroyed or down); a scripted outage may overlap a random one,
//! so the outages under way are counted in a small map. A component is
//! usable only when it and every ancestor are in service, so the placement
//! check stays one bit per level, and only at levels with a component out.

use std::ops::Range;

use super::placement::InService;
use super::scratch::{Bits, IdMap};
use super::{Level, Topology};

#[derive(Clone, Debug, Default)]
pub struct Fleet {
    /// Per level, one bit per component destroyed.
    destroyed: [Bits; 6],
    /// Per level, one bit per component destroyed or down: lookups of
    /// service read only these. 100,000 disks take 12.5 KB, which stays in
    /// cache, where a state per component would cost a cache miss.
    out: [Bits; 6],
    /// Per level, the components out now.
    out_count: [u32; 6],
    /// Bit `l` set while some component of level `l` is out: lookups skip
    /// the other levels, which on a fleet with only disks out leaves one
    /// level of six.
    levels_out: u8,
    /// Outages under way per component down, by level.
    outages: [IdMap<u16>; 6],
    /// Per level, the components set out during the trial: the bits to
    /// clear at reset.
    touched: [Vec<u32>; 6],
    /// Outages under way per region-pair link, indexed by the lower region
    /// index of the pair.
    links: Vec<u16>,
    /// Components down now: while 0, every live copy is available.
    down: u32,
}

impl Fleet {
    pub fn new(topo: &Topology) -> Self {
        let mut fleet = Self::default();
        fleet.reset(topo);
        fleet
    }

    /// Back to every component in service and every link up, keeping the
    /// allocations: only the bits of components set out are cleared.
    pub fn reset(&mut self, topo: &Topology) {
        for l in Level::ALL {
            let (n, touched) = (topo.count(l), &mut self.touched[l as usize]);
            self.destroyed[l as usize].reset(n, touched.iter().copied());
            self.out[l as usize].reset(n, touched.drain(..));
            self.outages[l as usize].clear();
        }
        self.out_count = [0; 6];
        self.levels_out = 0;
        self.links.clear();
        self.links.resize(topo.regions.len(), 0);
        self.down = 0;
    }

    /// The levels from the widest down to `narrowest` with a component
    /// out of service, as a mask of bits by level.
    #[inline(always)]
    fn levels_out_to(&self, narrowest: Level) -> u8 {
        self.levels_out & ((2u16 << narrowest as u8) - 1) as u8
    }

    /// The widest level of `mask` at which `hit` says the ancestor of
    /// `disk` is, with that ancestor.
    #[inline(always)]
    fn widest(
        topo: &Topology,
        disk: u32,
        mut mask: u8,
        hit: impl Fn(usize, u32) -> bool,
    ) -> Option<(Level, u32)> {
        while mask != 0 {
            let level = Level::ALL[mask.trailing_zeros() as usize];
            mask &= mask - 1;
            let c = topo.ancestor(disk, level);
            if hit(level as usize, c) {
                return Some((level, c));
            }
        }
        None
    }

    /// Brings the out bit of component `c` up to date with its destroyed
    /// bit and outages.
    fn update_out(&mut self, level: Level, c: u32) {
        let l = level as usize;
        let out = self.destroyed[l].get(c) || self.outages[l].contains_key(&c);
        if out == self.out[l].get(c) {
            return;
        }
        self.out[l].set(c, out);
        if out {
            self.out_count[l] += 1;
            self.touched[l].push(c);
        } else {
            self.out_count[l] -= 1;
        }
        let bit = 1 << l;
        if self.out_count[l] == 0 {
            self.levels_out &= !bit;
        } else {
            self.levels_out |= bit;
        }
    }

    pub fn set_destroyed(&mut self, level: Level, c: u32, destroyed: bool) {
        self.destroyed[level as usize].set(c, destroyed);
        self.update_out(level, c);
    }

    /// Whether component `c` or one of its ancestors is destroyed.
    pub fn destroyed(&self, topo: &Topology, level: Level, c: u32) -> bool {
        let disk = topo.disk_range(level, c).start;
        let destroyed = |l: usize, c: u32| self.destroyed[l].get(c);
        Self::widest(topo, disk, self.levels_out_to(level), destroyed).is_some()
    }

    /// Whether component `c` itself has an outage under way.
    pub fn down(&self, level: Level, c: u32) -> bool {
        self.outages[level as usize].contains_key(&c)
    }

    /// Whether component `c` itself is destroyed or down.
    pub fn out(&self, level: Level, c: u32) -> bool {
        self.out[level as usize].get(c)
    }

    /// Starts an outage of `c`; true when it was up before.
    pub fn begin_outage(&mut self, level: Level, c: u32) -> bool {
        let count = self.outages[level as usize].entry(c).or_insert(0);
        let was_up = *count == 0;
        *count = count.saturating_add(1);
        self.update_out(level, c);
        self.down += u32::from(was_up);
        was_up
    }

    /// Ends an outage of `c`; true when no other outage keeps it down.
    pub fn end_outage(&mut self, level: Level, c: u32) -> bool {
        let outages = &mut self.outages[level as usize];
        let Some(count) = outages.get_mut(&c) else {
            return true;
        };
        *count -= 1;
        let up = *count == 0;
        if up {
            outages.remove(&c);
            self.update_out(level, c);
        }
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
        let out = |l: usize, c: u32| self.out[l].get(c);
        Self::widest(topo, disk, self.levels_out_to(narrowest), out)
    }

    /// Whether a copy on `disk` can be read now.
    pub fn disk_available(&self, topo: &Topology, disk: u32) -> bool {
        self.widest_out(topo, disk, Level::Disk).is_none()
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
    #[inline]
    fn component(&self, level: Level, c: u32) -> bool {
        // Usually nothing is out at `level` or above: no ancestor to look up.
        self.0.levels_out_to(level) == 0 || {
            let first_disk = self.1.disk_range(level, c).start;
            self.0.widest_out(self.1, first_disk, level).is_none()
        }
    }

    #[inline]
    fn out_range(&self, disk: u32) -> Option<Range<u32>> {
        let (l, c) = self.0.widest_out(self.1, disk, Level::Disk)?;
        Some(self.1.disk_range(l, c))
    }
}
