//! Outages and scripted faults: components and links going down and up,
//! copies marked out and re-homed, scripted destructions and outages.

use super::*;

/// Which stream a detection delay is drawn from.
#[derive(Clone, Copy)]
pub(super) enum DetectionDraw {
    /// Random outages and scripted faults: the outage stream.
    Outages,
    /// Bursts: their own stream ([`BURSTS`]).
    Bursts,
}

impl World<'_, '_> {
    /// Components (or links) an outage process can strike.
    pub(super) fn scope_count(&self, scope: Scope) -> u32 {
        match scope {
            Scope::Component(level) => self.system().topology.count(level),
            Scope::Link => self.links.len() as u32,
        }
    }

    /// The fleet-wide clock of a memoryless outage process; thinning (a pick
    /// already down or destroyed is ignored) keeps the rate of up components.
    pub(super) fn schedule_fleet_outage(&mut self, process: u16, sim: &mut Scheduler<Event>) {
        let p = &self.system().outages[process as usize];
        let rate = p.between.exponential_rate().unwrap_or(0.0);
        let total = rate * f64::from(self.scope_count(p.scope));
        let wait = self.outage_rng.sample::<f64, _>(Exp1) / total;
        if wait.is_finite() {
            sim.schedule(
                crate::units::ceil_micros(wait),
                Event::FleetOutage { process },
            );
        }
    }

    pub(super) fn on_fleet_outage(&mut self, process: u16, sim: &mut Scheduler<Event>) {
        let scope = self.system().outages[process as usize].scope;
        let c = self.outage_rng.random_range(0..self.scope_count(scope));
        if self.can_go_down(scope, c) {
            self.begin_random_outage(process, c, sim);
        }
        self.schedule_fleet_outage(process, sim);
    }

    pub(super) fn schedule_own_outage(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let between = &self.system().outages[process as usize].between;
        let at = between.sample(&mut self.outage_rng);
        let event = Event::Outage {
            process,
            component: c,
        };
        sim.schedule(at, event);
    }

    pub(super) fn on_own_outage(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let scope = self.system().outages[process as usize].scope;
        if self.can_go_down(scope, c) {
            self.begin_random_outage(process, c, sim);
        } else {
            self.schedule_own_outage(process, c, sim);
        }
    }

    /// Whether a random outage can start: the target is up and in service.
    pub(super) fn can_go_down(&self, scope: Scope, c: u32) -> bool {
        match scope {
            Scope::Component(level) => {
                !self.fleet.down(level, c) && self.component_in_service(level, c)
            }
            Scope::Link => self.fleet.link_up(self.links[c as usize]),
        }
    }

    pub(super) fn begin_random_outage(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let p = &self.system().outages[process as usize];
        let duration = p.duration.sample(&mut self.outage_rng);
        self.begin_outage(p.scope, c, duration, DetectionDraw::Outages, sim);
        let end = Event::OutageEnd {
            process,
            component: c,
        };
        sim.schedule(duration, end);
    }

    pub(super) fn on_outage_end(&mut self, process: u16, c: u32, sim: &mut Scheduler<Event>) {
        let p = &self.system().outages[process as usize];
        self.end_outage(p.scope, c, sim);
        if p.between.exponential_rate().is_none() {
            self.schedule_own_outage(process, c, sim);
        }
    }

    /// Takes `c` down for `duration`: its copies become unavailable; if it
    /// is still down after the detection delay, they are re-created elsewhere.
    /// The delay is drawn from the stream of what took it down, so a burst
    /// leaves the draws of the random outages as they were.
    pub(super) fn begin_outage(
        &mut self,
        scope: Scope,
        c: u32,
        duration: Micros,
        from: DetectionDraw,
        sim: &mut Scheduler<Event>,
    ) {
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
        let detection = &self.system().detection;
        let detection = match (from, self.burst_rng.as_mut()) {
            (DetectionDraw::Bursts, Some(rng)) => detection.sample(rng),
            _ => detection.sample(&mut self.outage_rng),
        };
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
        self.mark_below(level, c);
        let until = self.measured(back);
        self.record(|_| What::Down {
            level,
            component: c,
            until,
        });
    }

    /// Ends an outage of `c`: its copies are available again unless another
    /// outage keeps it down.
    pub(super) fn end_outage(&mut self, scope: Scope, c: u32, sim: &mut Scheduler<Event>) {
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
        self.unmark_below(level, c);
        self.record(|_| What::Up {
            level,
            component: c,
        });
        self.retry_blocked(level, c, sim);
        self.rebalance(level, c, sim);
    }

    /// The outage of `c` outlasted detection: each unavailable copy below it
    /// is re-created elsewhere from an available one, if that can finish
    /// before `c` is due back (the return cancels re-creation under way).
    /// None inside a region outage: the group has nowhere to go in its region.
    pub(super) fn on_mark_out(&mut self, level: Level, c: u32, sim: &mut Scheduler<Event>) {
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
        self.collect_below(level, c);
        for k in 0..self.options.len() {
            let repair = RepairTiming::after(system, &system.options[k], 0, (level, c));
            let copies = std::mem::take(&mut self.below[k]);
            for &(extent, slot) in &copies {
                let Some(source) = self.rehome_source(k, extent, slot) else {
                    continue;
                };
                let aux = &mut self.options[k].aux;
                let delay = repair.delay(&system.repair, source, aux);
                if self.now.saturating_add(delay) >= back {
                    continue;
                }
                let option = k as u16;
                let event = Event::Rehomed {
                    option,
                    extent,
                    slot,
                };
                schedule_within(sim, system.end(), delay, event);
            }
            self.below[k] = copies;
        }
    }

    /// Where an unavailable copy can be re-created from, and the slots its
    /// rebuild reads: Some((true, _)) from an available copy of its own
    /// group, Some((false, _)) from the other group's (over the geo link),
    /// None from nowhere, or when the group's scope is out (an LRS group
    /// stays in its datacenter).
    pub(super) fn rehome_source(&self, k: usize, extent: u32, slot: u8) -> Option<(bool, u32)> {
        let (disks, alive, lost) = copies_of(self.plan, &self.options[k], k, extent);
        if lost {
            return None;
        }
        let available = self.options[k].tables.extents.get(extent).available();
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
        let others = alive & !(1u32 << slot);
        if option.code.fragments().is_some() {
            // A fragment is rebuilt by decoding: the available slots must
            // decode the extent (a code has one group, so the source is local).
            let up = others & available;
            let reads = option.code.repair_reads(up, slot);
            return option.code.decodable(up).then_some((true, reads));
        }
        // A whole copy is copied from any one available copy, its own
        // group's first.
        if others & available & option.group_mask(slot) != 0 {
            Some((true, 1))
        } else {
            (others & available != 0).then_some((false, 1))
        }
    }

    /// Re-creates an unavailable copy elsewhere, unless it is back (or gone).
    pub(super) fn on_rehomed(&mut self, k: usize, extent: u32, slot: u8) {
        let plan = self.plan;
        let state = &mut self.options[k];
        let placement = &plan.placements[k];
        let extents = &mut state.tables.extents;
        let ext = *extents.get(extent);
        let bit = 1u32 << slot;
        // Only a live copy is out: one gone or back needs nothing.
        if ext.lost() || !ext.is_out(slot) {
            return;
        }
        if ext.available() & !bit == 0 {
            return; // no source
        }
        let picked = pick_for_slot(plan, &self.fleet, k, extents, extent, slot, &mut state.aux);
        let Some(disk) = picked else {
            return;
        };
        extents.set_disk(placement, extent, slot, disk);
        extents.get_mut(extent).set_out(slot, false);
        self.recreated(k, (extent, slot), disk, true);
    }

    // ----- scripted faults -----

    pub(super) fn on_fault(&mut self, f: u16, sim: &mut Scheduler<Event>) {
        let fault = &self.system().faults[f as usize];
        if fault.subset.is_some() {
            return self.on_subset_fault(f, sim);
        }
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
                self.begin_outage(scope, c, duration, DetectionDraw::Outages, sim);
                sim.schedule(duration, Event::FaultOver { fault: f });
            }
        }
    }

    pub(super) fn on_fault_over(&mut self, f: u16, sim: &mut Scheduler<Event>) {
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
    pub(super) fn scope_index(&self, scope: Scope, id: u32) -> u32 {
        match scope {
            Scope::Component(_) => id,
            Scope::Link => self.links.iter().position(|&l| l == id).unwrap_or(0) as u32,
        }
    }
}
