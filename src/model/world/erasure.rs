//! Erasure of deleted data: at every probe (hourly) a delete becomes final
//! on one extent, and the time until no readable remnant of it is left on
//! any copy is recorded per option: the primary's copies after `reclaim`,
//! the other region's after the lag and `reclaim`, a copy on a component
//! that is down once it is back and reclaimed, a copy on failed hardware
//! when the hardware is destroyed (`destroy_after`). Probes draw nothing:
//! the extent of probe i is a fixed spread of i over the extents, so
//! adding deletion leaves every draw of the trial as it was.

use super::*;
use crate::model::Deletion;
use crate::model::failover::push_run;
use crate::model::trace::Reclaimed;

/// Spreads probe i over the extents (a multiplicative hash: consecutive
/// probes land far apart).
const SPREAD: u64 = 2_654_435_761;

impl World<'_, '_> {
    /// The first probe, one interval into the measured horizon.
    pub(super) fn start_erasure(&mut self, sim: &mut Scheduler<Event>) {
        if let Some(d) = &self.system().deletion {
            let at = self.system().warmup.saturating_add(d.probe_every);
            if at <= self.system().end() {
                sim.schedule_at(at, Event::ErasureProbe { index: 0 });
            }
        }
    }

    pub(super) fn on_erasure_probe(&mut self, index: u32, sim: &mut Scheduler<Event>) {
        let Some(d) = &self.plan.system.deletion else {
            return;
        };
        let extent =
            (u64::from(index).wrapping_mul(SPREAD) % u64::from(self.system().extents)) as u32;
        for k in 0..self.options.len() {
            if let Some(erase) = self.erasure_time(k, extent, d) {
                let ms = d.soft_delete.saturating_add(erase) / 1000;
                push_run(&mut self.options[k].outcome.erasure, ms, 1);
                self.record(|w| What::Deleted {
                    option: k as u16,
                    extent,
                    requested: d.soft_delete,
                    copies: w.reclaims(k, extent, d).collect(),
                    shredded: w.shred_in(k, extent),
                    erased: erase,
                });
            }
        }
        let horizon = self.system().end();
        let event = Event::ErasureProbe {
            index: index.wrapping_add(1),
        };
        schedule_within(sim, horizon, d.probe_every, event);
    }

    /// From the delete of `extent` becoming final now to its last remnant
    /// gone, for option `k`; None for an extent not measured or lost (there
    /// is nothing left to erase).
    fn erasure_time(&self, k: usize, extent: u32, d: &Deletion) -> Option<Micros> {
        let state = &self.options[k];
        let retired = &state.tables.retired;
        if state.tables.extents.get(extent).lost() || retired.binary_search(&extent).is_ok() {
            return None;
        }
        let copies = self.reclaims(k, extent, d).map(|c| c.after);
        let last = copies.chain(self.shred_in(k, extent));
        Some(last.fold(d.reclaim, Micros::max))
    }

    /// When each live copy of `extent` on option `k` is overwritten, from
    /// the delete becoming final now: the other group hears of it after the
    /// lag, a copy that is down once its component is back, then `reclaim`.
    fn reclaims<'a>(
        &'a self,
        k: usize,
        extent: u32,
        d: &'a Deletion,
    ) -> impl Iterator<Item = Reclaimed> + 'a {
        let state = &self.options[k];
        let option = &self.system().options[k];
        let account = &state.account;
        let (disks, alive, _) = copies_of(self.plan, state, k, extent);
        let copies = option.copies() as usize;
        let live = disks.iter().enumerate().take(copies);
        live.filter(move |&(slot, _)| alive & (1 << slot) != 0)
            .map(move |(slot, &disk)| {
                let lag = match option.group_of(slot as u8).0 == account.serve() {
                    true => 0,
                    false => account.lag(),
                };
                let back = self.back_in(disk);
                Reclaimed {
                    slot: slot as u8,
                    disk,
                    after: lag.max(back).saturating_add(d.reclaim),
                    held: back > 0,
                }
            })
    }

    /// How long until failed hardware holding a remnant of `extent` on
    /// option `k` is shredded (`[decommission]`); None when none is held.
    fn shred_in(&self, k: usize, extent: u32) -> Option<Micros> {
        let shred = self.options[k].remnants.as_ref()?[extent as usize];
        Some(shred.saturating_sub(self.now)).filter(|&t| t > 0)
    }

    /// How long until the component keeping `disk` down is back (0 when the
    /// disk is usable): the latest return of its ancestors' outages.
    fn back_in(&self, disk: u32) -> Micros {
        if self.usable(disk) {
            return 0;
        }
        let topo = &self.system().topology;
        Level::ALL
            .iter()
            .filter_map(|&level| self.down.get(&(level, topo.ancestor(disk, level))))
            .map(|down| down.back.saturating_sub(self.now))
            .max()
            .unwrap_or(0)
    }
}
