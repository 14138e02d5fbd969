//! Rebalancing: a copy placed against its group's spread rule (the rule
//! relaxed because every free component was destroyed or down) is moved
//! where the rule puts it once a return makes room, as a store's
//! rebalancer restores its fault domains; its traffic is counted apart
//! from repair's (`OptionOutcome::copies_moved`). The group model
//! (`model::group`) moves its copies by the same rule and timing.

use super::*;
use crate::model::placement::{breaks_spread, return_may_make_room, room_after_return};

impl World<'_, '_> {
    /// Notes the copy of option `k`'s (extent, slot), just placed on `disk`,
    /// if it shares a component of its group's spread level with another
    /// live copy of the group. A move already scheduled for the slot (its
    /// earlier copy was lost meanwhile) now moves this one, as in the group
    /// model.
    pub(super) fn note_if_relaxed(&mut self, k: usize, (extent, slot): (u32, u8), disk: u32) {
        let plan = self.plan;
        let option = &plan.system.options[k];
        let group = &option.groups[option.group_of(slot).0];
        let tables = &mut self.options[k].tables;
        let (others, n) = group_others(plan, &tables.extents, k, extent, slot);
        if breaks_spread(&plan.system.topology, group, disk, &others[..n]) {
            tables.relaxed.entry((extent, slot)).or_insert(false);
        }
    }

    /// Component `c` of `level` is back in service (replaced, or up): each
    /// copy placed against its rule for which it makes room is moved at a
    /// point of `c`'s rebuild window ([`RepairTiming`]: moving the data
    /// back into it is a rebuild of it), from the option's re-homing stream.
    /// Returns that cannot make room for a group (most: a disk inside a
    /// component that already holds a copy) skip its copies and draw nothing.
    pub(super) fn rebalance(&mut self, level: Level, c: u32, sim: &mut Scheduler<Event>) {
        let plan = self.plan;
        let system = &plan.system;
        let topo = &system.topology;
        let usable = Service(&self.fleet, topo);
        for (k, state) in self.options.iter_mut().enumerate() {
            if state.tables.relaxed.is_empty() {
                continue;
            }
            let option = &system.options[k];
            let may: Vec<bool> = option
                .groups
                .iter()
                .map(|g| return_may_make_room(topo, g.spread, (level, c), &usable))
                .collect();
            if !may.contains(&true) {
                continue;
            }
            let timing = RepairTiming::after(system, option, 0, (level, c));
            let mut relaxed = std::mem::take(&mut state.tables.relaxed);
            relaxed.retain(|&(extent, slot), moving| {
                let Some((others, n, disk)) =
                    relaxed_copy(plan, &state.tables.extents, k, extent, slot)
                else {
                    return false;
                };
                let g = option.group_of(slot).0;
                if *moving || !may[g] {
                    return true;
                }
                let group = &option.groups[g];
                let anchor = topo.ancestor(disk, group.within);
                if room_after_return(topo, group, (anchor, &others[..n]), (level, c), &usable) {
                    let delay = timing.delay(&system.repair, (true, 1), &mut state.aux);
                    let event = Event::Moved {
                        option: k as u16,
                        extent,
                        slot,
                    };
                    schedule_within(sim, system.end(), delay, event);
                    *moving = true;
                }
                true
            });
            state.tables.relaxed = relaxed;
        }
    }

    /// Moves option `k`'s copy (extent, slot) where its group's rule puts
    /// it, if it still breaks the rule, is available to be copied, and a
    /// disk keeping the rule is usable now; otherwise it waits for the next
    /// return. The copy stays readable throughout: the old one is dropped
    /// once the new is written.
    pub(super) fn on_moved(&mut self, k: usize, extent: u32, slot: u8) {
        let plan = self.plan;
        let topo = &plan.system.topology;
        let option = &plan.system.options[k];
        let group = &option.groups[option.group_of(slot).0];
        let state = &mut self.options[k];
        let Some((others, n, _)) = relaxed_copy(plan, &state.tables.extents, k, extent, slot)
        else {
            state.tables.relaxed.remove(&(extent, slot));
            return;
        };
        let extents = &state.tables.extents;
        // A move copies the copy itself: one below a component that is
        // down waits (re-homing, not rebalancing, deals with it).
        let available = !extents.get(extent).is_out(slot);
        let picked = available
            .then(|| pick_for_slot(plan, &self.fleet, k, extents, extent, slot, &mut state.aux))
            .flatten()
            .filter(|&d| !breaks_spread(topo, group, d, &others[..n]));
        let Some(disk) = picked else {
            state.tables.relaxed.insert((extent, slot), false);
            return;
        };
        state.tables.relaxed.remove(&(extent, slot));
        let extents = &mut state.tables.extents;
        extents.set_disk(&plan.placements[k], extent, slot, disk);
        state.outcome.copies_moved += 1;
        self.installed(k, (extent, slot), disk);
        let option = k as u16;
        self.record(|_| What::Moved {
            option,
            extent,
            slot,
            disk,
        });
    }
}

/// Option `k`'s copy (extent, slot) if it is alive and breaks its group's
/// spread rule: the disks of the group's other live copies, how many, and
/// its own disk.
fn relaxed_copy(
    plan: &Plan,
    extents: &Extents,
    k: usize,
    extent: u32,
    slot: u8,
) -> Option<([u32; MAX_COPIES], usize, u32)> {
    let state = extents.get(extent);
    if state.lost() || state.alive() & (1 << slot) == 0 {
        return None;
    }
    let option = &plan.system.options[k];
    let group = &option.groups[option.group_of(slot).0];
    let disk = extents.disks(&plan.placements[k], extent)[slot as usize];
    let (others, n) = group_others(plan, extents, k, extent, slot);
    breaks_spread(&plan.system.topology, group, disk, &others[..n]).then_some((others, n, disk))
}
