//! Availability: whether each extent can be read and written now, and
//! what the accounts see of it (serving group, failover decisions, hours of
//! the write profile).

use super::*;

/// The trace's step when a failover waiting for access is called off.
const WITHDRAWN: &str =
    "the primary serves again before the Lockbox approval: the request is withdrawn, no failover";

impl World<'_, '_> {
    /// Whether a live copy on `disk` can be read now.
    pub(super) fn usable(&self, disk: u32) -> bool {
        self.fleet.copy_available(&self.system().topology, disk)
    }

    /// Every option's live copies on the disks below `c`, into `below`, by
    /// option, in disk order: on each disk the copies the plan placed, then
    /// those re-created there, oldest first. One pass over the disks for
    /// all options: a datacenter has thousands of disks, and the plan's
    /// copies of a disk sit together whatever their option.
    pub(super) fn collect_below(&mut self, level: Level, c: u32) {
        let below = &mut self.below;
        below.iter_mut().for_each(Vec::clear);
        let options = &self.options;
        for disk in self.plan.system.topology.disk_range(level, c) {
            for (k, extent, slot) in self.plan.by_disk.copies_on(disk) {
                if options[k].tables.extents.alive_on(extent, slot, disk) {
                    below[k].push((extent, slot));
                }
            }
            for (k, state) in options.iter().enumerate() {
                let tables = &state.tables;
                if tables.added.has(disk) {
                    let live = tables.added.on(disk);
                    let live = live.filter(|&(e, s)| tables.extents.alive_on(e, s, disk));
                    below[k].extend(live);
                }
            }
        }
    }

    /// Component `c` went down: every live copy below it is out, and every
    /// option's extents with a copy there are looked at again.
    pub(super) fn mark_below(&mut self, level: Level, c: u32) {
        self.collect_below(level, c);
        for k in 0..self.options.len() {
            let extents = &mut self.options[k].tables.extents;
            for &(extent, slot) in &self.below[k] {
                extents.get_mut(extent).set_out(slot, true);
            }
            self.refresh_listed(k, false);
        }
    }

    /// Component `c` is back: the live copies below it with no other
    /// component down above them are available again, and extents impaired
    /// now (the only ones that can change) are looked at again.
    pub(super) fn unmark_below(&mut self, level: Level, c: u32) {
        self.collect_below(level, c);
        let topo = &self.plan.system.topology;
        for k in 0..self.options.len() {
            let placement = &self.plan.placements[k];
            let extents = &mut self.options[k].tables.extents;
            for &(extent, slot) in &self.below[k] {
                let disk = extents.disks(placement, extent)[slot as usize];
                let out = !self.fleet.copy_available(topo, disk);
                extents.get_mut(extent).set_out(slot, out);
            }
            self.refresh_listed(k, true);
        }
    }

    /// [`Self::refresh_touched`] for the copies of option `k` in `below`.
    fn refresh_listed(&mut self, k: usize, improved: bool) {
        std::mem::swap(&mut self.scratch, &mut self.below[k]);
        self.refresh_touched(k, improved);
        std::mem::swap(&mut self.scratch, &mut self.below[k]);
    }

    /// Re-evaluates the extents listed in `scratch` for option `k`, when
    /// the copy that changed belongs to a group that serves it (or the
    /// extent is lost).
    pub(super) fn refresh_touched(&mut self, k: usize, improved: bool) {
        // Usually none: a disk failure rarely leaves an extent impaired.
        if self.scratch.is_empty() {
            return;
        }
        let touched = std::mem::take(&mut self.scratch);
        let option = &self.system().options[k];
        let account = &self.options[k].account;
        let (serve, any_group) = (account.serve(), account.reads_secondary());
        for &(extent, slot) in &touched {
            let state = &self.options[k];
            let extents = &state.tables.extents;
            let serving =
                any_group || option.group_of(slot).0 == serve || extents.get(extent).lost();
            if serving && (!improved || extents.impaired(extent) != 0) {
                self.refresh(k, extent);
            }
        }
        self.scratch = touched;
    }

    /// Re-evaluates whether extent `extent` of option `k` can be read and
    /// written, and tells the account of any change.
    pub(super) fn refresh(&mut self, k: usize, extent: u32) {
        let flags = self.impairment(k, extent);
        let state = &mut self.options[k];
        let old = state.tables.extents.impaired(extent);
        if flags == old {
            return;
        }
        state.tables.extents.set_impaired(extent, flags);
        let delta = |bit: u8| i32::from(flags & bit != 0) - i32::from(old & bit != 0);
        let now = self.now;
        state
            .account
            .change(now, delta(UNREADABLE), delta(UNWRITABLE));
    }

    /// Whether an extent can be read and written: enough available copies in
    /// the serving group (writes, and reads), or, for RA- options while
    /// geo-redundant, in the other group (reads only). A lost extent can do
    /// neither, unless it was lost in the warm-up (it is not measured).
    pub(super) fn impairment(&self, k: usize, extent: u32) -> u8 {
        let retired = &self.options[k].tables.retired;
        if !retired.is_empty() && retired.binary_search(&extent).is_ok() {
            return 0; // lost before the measured horizon: not measured
        }
        let account = &self.options[k].account;
        let serve = account.serve();
        if self.group_serves(k, extent, serve) {
            return 0;
        }
        let groups = self.system().options[k].groups.len();
        if groups > 1 && account.reads_secondary() && self.group_serves(k, extent, 1 - serve) {
            UNWRITABLE
        } else {
            UNREADABLE | UNWRITABLE
        }
    }

    /// Whether copy group `g` of option `k` has enough available copies of
    /// `extent` to serve it (a lost extent has none).
    pub(super) fn group_serves(&self, k: usize, extent: u32, g: usize) -> bool {
        let ext = self.options[k].tables.extents.get(extent);
        debug_assert_eq!(ext.available(), self.available_by_walk(k, extent));
        let option = &self.system().options[k];
        !ext.lost() && option.group_serves(g, ext.available() & option.group_slots(g))
    }

    /// The live copies of `extent` whose disks are usable, each looked up
    /// in the fleet: what `ExtentState::available` keeps without a walk
    /// (checked against it in debug builds).
    pub(super) fn available_by_walk(&self, k: usize, extent: u32) -> u32 {
        let (disks, alive, _) = copies_of(self.plan, &self.options[k], k, extent);
        (0..disks.len())
            .filter(|&s| alive & (1 << s) != 0 && self.usable(disks[s]))
            .fold(0, |m, s| m | 1 << s)
    }

    /// Whether the group option `k` does not serve from could serve at
    /// least `need` extents; stops as soon as the answer is known.
    pub(super) fn other_serves(&self, k: usize, need: u32) -> bool {
        let other = 1 - self.options[k].account.serve();
        let extents = self.system().extents;
        let (mut yes, mut no) = (0, 0);
        for e in 0..extents {
            if yes >= need || no > extents - need {
                break;
            }
            if self.group_serves(k, e, other) {
                yes += 1;
            } else {
                no += 1;
            }
        }
        yes >= need
    }

    /// Re-evaluates every extent of option `k` (its serving group or read
    /// access changed).
    pub(super) fn refresh_all(&mut self, k: usize) {
        for extent in 0..self.system().extents {
            self.refresh(k, extent);
        }
    }

    /// What the account of option `k` sees of its regions and link.
    pub(super) fn env(&self, k: usize) -> Env {
        let option = &self.system().options[k];
        let serve = self.options[k].account.serve();
        let region = |g: usize| option.groups.get(g).map(|g| g.region);
        let primary = region(serve).unwrap_or(0);
        let secondary = if option.groups.len() > 1 {
            region(1 - serve)
        } else {
            None
        };
        Env {
            other_better: false,
            other_as_good: false,
            primary_up: self.fleet.region_up(primary),
            secondary_up: secondary.is_some_and(|r| self.fleet.region_up(r)),
            link_up: secondary.is_some_and(|r| self.fleet.link_up(link_of(primary, r))),
        }
    }

    pub(super) fn on_failover(
        &mut self,
        k: usize,
        timer: Timer,
        epoch: u32,
        sim: &mut Scheduler<Event>,
    ) {
        let mut env = self.env(k);
        let deciding = matches!(
            timer,
            Timer::Customer | Timer::Provider | Timer::Failback | Timer::Planned
        );
        if deciding && self.options[k].account.timer_live(timer, epoch) {
            let writable = self.options[k].account.writable();
            let extents = self.system().extents;
            env.other_as_good = self.other_serves(k, writable);
            env.other_better = writable < extents && self.other_serves(k, writable + 1);
        }
        let now = self.now;
        let state = &mut self.options[k];
        let live = state.account.timer_live(timer, epoch);
        if state
            .account
            .on_timer(now, timer, epoch, env, &mut state.aux, sim)
        {
            if state.account.normal() {
                self.reprotected(k);
            }
            self.refresh_all(k);
        }
        if let Some(g) = self.options[k]
            .account
            .just_granted()
            .filter(|_| live && timer == Timer::Access)
        {
            self.record(|_| What::Grant {
                option: k as u16,
                length: g.length,
                waited: g.waited,
            });
        }
        if live {
            self.record_step(k, self.options[k].account.step(timer));
        }
    }

    /// Traces a step of option `k`'s failover procedure and what its
    /// account does now.
    fn record_step(&mut self, k: usize, step: &'static str) {
        self.record(|w| {
            let account = &w.options[k].account;
            let option = &w.system().options[k];
            What::Failover {
                option: k as u16,
                step,
                now: account.doing(),
                serving: option.groups[account.serve()].region,
            }
        });
    }

    pub(super) fn on_hour(&mut self, sim: &mut Scheduler<Event>) {
        let rate = self.system().geo.write_rate[hour_of(self.now)];
        let now = self.now;
        for state in &mut self.options {
            state.account.set_write_rate(now, rate);
        }
        self.schedule_rate_change(sim);
    }

    /// The next hour boundary at which the profile's write rate changes.
    pub(super) fn schedule_rate_change(&mut self, sim: &mut Scheduler<Event>) {
        let rates = &self.system().geo.write_rate;
        let hour = self.now / HOUR;
        let current = rates[hour_of(self.now)];
        let ahead = (1..=24).find(|&h| rates[((hour + h) % 24) as usize] != current);
        if let Some(h) = ahead {
            sim.schedule_at((hour + h) * HOUR, Event::Hour);
        }
    }

    /// After each event: accounts whose counts or surroundings changed
    /// update their replication and failover triggers.
    pub(super) fn settle(&mut self, sim: &mut Scheduler<Event>) {
        let all = std::mem::take(&mut self.env_changed);
        self.settle_vault(all, sim);
        for k in 0..self.options.len() {
            if all || self.options[k].account.dirty {
                self.settle_account(k, sim);
            }
        }
    }

    fn settle_account(&mut self, k: usize, sim: &mut Scheduler<Event>) {
        let env = self.env(k);
        if !self.options[k].account.settle(self.now, env, sim) {
            return;
        }
        // A failover waiting for access was called off: the primary serves
        // again, so copies held for its re-protection are due and every
        // extent is looked at from the primary (and an RA- secondary).
        self.reprotected(k);
        self.refresh_all(k);
        self.record_step(k, WITHDRAWN);
        // The counts just changed: the triggers see them at once, not at
        // the next event.
        let env = self.env(k);
        self.options[k].account.settle(self.now, env, sim);
    }
}
