//! Loading ahead ([`crate::engine::Model::prepare`]): while one event is
//! handled, the memory the next one will read is brought into cache. On a
//! 100k-disk fleet most of a trial's time is spent waiting for memory at
//! random addresses (a failed disk's copies, an extent's state and
//! placement row), which this overlaps with the work of the event before.

use super::{Event, World, draw_component};
use crate::model::Level;

impl World<'_, '_> {
    /// Starts loading what handling `next` will read first.
    pub(super) fn load_ahead(&self, next: &Event) {
        match *next {
            Event::FleetFailure { process } => {
                // The component is drawn when the event fires, from the
                // world's stream: draw it now from a copy. The guess is
                // right unless the event handled before draws from that
                // stream too; then only the hint is wasted.
                let level = self.system().failures[process as usize].level;
                let count = self.system().topology.count(level);
                let c = draw_component(&mut self.rng.clone(), count);
                self.load_component(level, c);
            }
            Event::Failure { process, component } | Event::Replaced { process, component } => {
                self.load_component(self.system().failures[process as usize].level, component);
            }
            Event::Repaired { option, extent, .. } | Event::Rehomed { option, extent, .. } => {
                let k = option as usize;
                self.options[k].tables.extents.prefetch(extent);
                crate::cache::prefetch_slice(self.plan.placements[k].extent(extent));
            }
            _ => {}
        }
    }

    /// Component `c`'s state and, for a disk, the copies it holds.
    fn load_component(&self, level: Level, c: u32) {
        self.fleet.prefetch(level, c);
        if level == Level::Disk {
            self.plan.by_disk.prefetch(c);
        }
    }
}
