//! The customer-managed key's vault: its random and scripted outages, and
//! whether the accounts can reach it (no outage under way and one of its
//! regions up). The accounts time their cached key from each change
//! (`Account::set_key_reachable`). Vault outages draw from their own stream
//! ([`KEYS`]), so adding them leaves every other draw of the trial as it was.

use super::*;

/// Stream of the vault's outages (after the options' failover streams
/// [`AUX`] + k, below the rare-event streams).
pub const KEYS: u32 = 2050;

/// The vault as a trial sees it.
#[derive(Debug)]
pub(super) struct Vault {
    rng: ChaCha8Rng,
    /// Outages under way (random and scripted ones may overlap).
    down: u32,
    /// What the accounts were last told.
    reachable: bool,
    /// An outage began or ended: look again after this event.
    changed: bool,
}

impl Vault {
    pub(super) fn new(seed: u64, trial: u64) -> Self {
        Self {
            rng: trial_rng(seed, trial, KEYS),
            down: 0,
            reachable: true,
            changed: false,
        }
    }
}

impl World<'_, '_> {
    /// The first random vault outage and the scripted ones (their times
    /// count from the measured horizon).
    pub(super) fn start_vault(&mut self, sim: &mut Scheduler<Event>) {
        let Some(keys) = &self.system().keys else {
            return;
        };
        let warmup = self.system().warmup;
        for (f, &(at, _)) in keys.faults.iter().enumerate() {
            let event = Event::VaultOutage {
                fault: Some(f as u16),
            };
            sim.schedule_at(warmup.saturating_add(at), event);
        }
        self.schedule_vault_outage(sim);
    }

    fn schedule_vault_outage(&mut self, sim: &mut Scheduler<Event>) {
        let keys = self.system().keys.as_ref();
        let (Some((between, _)), Some(vault)) =
            (keys.and_then(|k| k.outages.as_ref()), &mut self.vault)
        else {
            return;
        };
        let wait = between.sample(&mut vault.rng);
        let horizon = self.system().end();
        schedule_within(sim, horizon, wait, Event::VaultOutage { fault: None });
    }

    /// A vault outage starts: scripted (`fault`) or random.
    pub(super) fn on_vault_outage(&mut self, fault: Option<u16>, sim: &mut Scheduler<Event>) {
        let (Some(keys), Some(vault)) = (&self.plan.system.keys, &mut self.vault) else {
            return;
        };
        let duration = match fault {
            Some(f) => keys.faults[f as usize].1,
            None => keys
                .outages
                .as_ref()
                .map_or(0, |(_, d)| d.sample(&mut vault.rng)),
        };
        vault.down += 1;
        vault.changed = true;
        let random = fault.is_none();
        sim.schedule(duration, Event::VaultBack { random });
    }

    /// A vault outage is over; after a random one, the next is timed.
    pub(super) fn on_vault_back(&mut self, random: bool, sim: &mut Scheduler<Event>) {
        if let Some(vault) = &mut self.vault {
            vault.down = vault.down.saturating_sub(1);
            vault.changed = true;
        }
        if random {
            self.schedule_vault_outage(sim);
        }
    }

    /// After an event that may change it (a vault outage, a region's
    /// state): tells every account whether the vault can be reached.
    pub(super) fn settle_vault(&mut self, regions_changed: bool, sim: &mut Scheduler<Event>) {
        let Some(vault) = &mut self.vault else {
            return;
        };
        if !std::mem::take(&mut vault.changed) && !regions_changed {
            return;
        }
        let down = vault.down;
        let regions = self
            .plan
            .system
            .keys
            .as_ref()
            .map_or(&[][..], |k| &k.vault_regions);
        let reachable = down == 0 && regions.iter().any(|&r| self.fleet.region_up(r));
        let Some(vault) = &mut self.vault else {
            return;
        };
        if reachable == vault.reachable {
            return;
        }
        vault.reachable = reachable;
        let now = self.now;
        for state in &mut self.options {
            state.account.set_key_reachable(now, reachable, sim);
        }
        self.record(|_| What::Vault { reachable });
    }
}
