//! Loading ahead: the memory an event will read is brought into cache
//! before it is handled, while other work goes on. On a 100k-disk fleet
//! most of a trial's time is spent waiting for memory at random addresses
//! (a failed disk's copies, an extent's state and placement row); loading
//! them ahead overlaps those waits with the work of the events before.
//! Three steps for a disk's failure: when it is scheduled,
//! [`World::load_early`]; when it is next in the queue
//! ([`crate::engine::Model::prepare`]), [`World::load_ahead`]; when it
//! strikes, [`World::load_copies`].

use super::{Event, World};
use crate::model::Level;

impl World<'_, '_> {
    /// Starts loading where the copies of component `c` are listed, and
    /// whether copies were re-created there, for a failure due a few events
    /// from now.
    pub(super) fn load_early(&self, level: Level, c: u32) {
        if level == Level::Disk {
            self.plan.by_disk.prefetch_bounds(c);
            for state in &self.options {
                state.tables.added.prefetch(c);
            }
        }
    }

    /// Starts loading the state and placement row of every extent with a
    /// copy on `disk`, which is being destroyed: their cache misses overlap
    /// rather than come one by one. The rows are read again when the lost
    /// copies are re-created, which with detection in minutes and rebuilds
    /// in seconds is usually within the next few events: still in cache.
    pub(super) fn load_copies(&self, disk: u32) {
        for (k, extent, _) in self.plan.by_disk.copies_on(disk) {
            self.load_extent(k, extent);
        }
    }

    /// Starts loading option `k`'s state and placement row of `extent`.
    fn load_extent(&self, k: usize, extent: u32) {
        self.options[k].tables.extents.prefetch(extent);
        crate::cache::prefetch_slice(self.plan.placements[k].extent(extent));
    }

    /// Starts loading what handling `next` will read first.
    pub(super) fn load_ahead(&self, next: &Event) {
        match *next {
            Event::FleetFailure { process, component } | Event::Failure { process, component } => {
                let level = self.system().failures[process as usize].level;
                if level == Level::Disk {
                    self.plan.by_disk.prefetch(component);
                }
            }
            Event::Repaired { option, extent, .. }
            | Event::Rehomed { option, extent, .. }
            | Event::Moved { option, extent, .. } => {
                self.load_extent(option as usize, extent);
            }
            _ => {}
        }
    }
}
