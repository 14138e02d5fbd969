//! The account view of one option: which copy group serves it, how much of
//! its data can be read and written over time, its asynchronous
//! geo-replication, and its failovers.
//!
//! The fleet simulation (`world`) says, per extent, whether it can be read
//! and written from the serving group; the account integrates those counts
//! over time and overrides them while it fails over. Failover follows the
//! public Azure procedure: unplanned (customer-started, or the provider's
//! after a region-wide loss) loses the writes after the Last Sync Time and
//! leaves the new primary without geo-redundancy until it is re-enabled and
//! the whole data set re-copied; planned (drills and failback) waits for the
//! secondary to catch up, so it loses nothing.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::geo::GeoQueue;
use super::logical::{Exposure, LogicalErrors};
use super::world::Event;
use super::{AccessPolicy, FailoverPolicy, GeoReplication, Initiator, ReplicationOption};
use crate::engine::Scheduler;
use crate::units::{HOUR, Micros};

/// Per-extent flags: the extent cannot be read / written.
pub const UNREADABLE: u8 = 1;
pub const UNWRITABLE: u8 = 2;

/// The timers of an account's failover procedure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The customer's patience with an unwritable primary ran out.
    Customer,
    /// The provider's wait after a region-wide outage ran out.
    Provider,
    /// The switch to the other region is complete.
    Switched,
    /// The customer re-enables geo-redundancy.
    Reenable,
    /// The re-copy over the link is complete.
    Resynced,
    /// Time to fail back to the original primary.
    Failback,
    /// A planned failover's secondary has caught up.
    Drained,
    /// A scripted planned failover (drill).
    Planned,
    /// The key storage cached ran out while the vault cannot be reached.
    KeyCache,
    /// The customer answered a Customer Lockbox request (`[access]`).
    Access,
}

const TIMERS: usize = 10;

impl Timer {
    /// What the timer's firing means, for a trace.
    pub fn name(self) -> &'static str {
        match self {
            Timer::Customer => "the customer gave up waiting",
            Timer::Provider => "the provider's wait ran out",
            Timer::Switched => "the switch completed",
            Timer::Reenable => "geo-redundancy re-enabled",
            Timer::Resynced => "the re-copy completed",
            Timer::Failback => "time to fail back",
            Timer::Drained => "the secondary caught up",
            Timer::Planned => "planned failover",
            Timer::KeyCache => "the cached key expired: data unreadable until the vault answers",
            Timer::Access => "the customer answered the Lockbox request",
        }
    }
}

/// What the account is doing.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// Serving from its primary, replicating to the secondary (if any).
    Normal,
    /// Planned failover: writes refused until the secondary has caught up.
    Draining,
    /// Failing over: neither endpoint answers.
    Switching { planned: bool },
    /// After an unplanned failover: no geo-redundancy yet.
    Single,
    /// Geo-redundancy re-enabled: the whole data set crosses the link.
    Resyncing { remaining: u128 },
}

/// The surroundings of an account, read from the fleet.
#[derive(Clone, Copy, Debug)]
pub struct Env {
    /// The serving group's region is neither down nor destroyed.
    pub primary_up: bool,
    pub secondary_up: bool,
    pub link_up: bool,
    /// Whether the other copy group could serve more of the data than the
    /// serving one (for an unplanned failover) or as much (for a planned
    /// one); filled in only for the timers that decide on a failover.
    pub other_better: bool,
    pub other_as_good: bool,
}

impl Env {
    fn shipping(&self) -> bool {
        self.primary_up && self.secondary_up && self.link_up
    }
}

/// One unplanned failover.
#[derive(Clone, Debug, PartialEq)]
pub struct FailoverRecord {
    /// Data-loss window: from the Last Sync Time to the newest lost write, µs.
    pub rpo: Micros,
    pub bytes_lost: f64,
    /// From the primary becoming unwritable to writable again, µs; None when
    /// the horizon came first.
    pub rto: Option<Micros>,
    /// Time spent waiting for insider access (requests, approvals, retries
    /// after denials), µs; 0 without `[access]`.
    pub approval_wait: Micros,
}

/// A failover that waited for insider access and was called off because
/// the primary served again first (`[access]`): no switch, no data lost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Withdrawn {
    /// From the primary becoming unwritable to writable again, µs: the
    /// outage's own length.
    pub rto: Micros,
    /// The wait for insider access until the request was withdrawn, µs.
    pub approval_wait: Micros,
}

/// One just-in-time grant of insider access, for the audit trail.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grant {
    pub at: Micros,
    pub length: Micros,
    /// From the first request of this recovery to the approval.
    pub waited: Micros,
}

/// What an account experienced in one trial.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountOutcome {
    /// ∫ (extents that cannot be read) dt, in extent·µs.
    pub unreadable: u128,
    pub unwritable: u128,
    pub failovers: Vec<FailoverRecord>,
    pub planned_failovers: u32,
    /// Geo-replication lag over time: (lag, time at that lag), both in ms.
    pub lag: Vec<(u64, u64)>,
    /// The largest lag reached, ms.
    pub lag_max: u64,
    /// Time without geo-redundancy after unplanned failovers, µs.
    pub without_geo: Micros,
    /// ∫ (extents readable but for the customer-managed key) dt, extent·µs.
    pub key_unreadable: u128,
    /// ∫ P(a logical error then is beyond recovery) dt, µs (`[logical]`).
    pub logical_exposure: f64,
    /// Just-in-time grants of insider access (`[access]`).
    pub grants: Vec<Grant>,
    /// Lockbox requests the customer denied.
    pub denials: u32,
    /// Failovers called off while waiting for access (`[access]`).
    pub withdrawn: Vec<Withdrawn>,
}

impl AccountOutcome {
    /// The RTO (None: cut short by the horizon) and the wait for insider
    /// access of every recovery from an unplanned outage: the failovers, and
    /// the failovers called off while waiting for access (their RTO is the
    /// outage's, and counts in the RTO as the failover's would have).
    pub fn recoveries(&self) -> impl Iterator<Item = (Option<Micros>, Micros)> + '_ {
        let failed_over = self.failovers.iter().map(|f| (f.rto, f.approval_wait));
        let withdrawn = self
            .withdrawn
            .iter()
            .map(|w| (Some(w.rto), w.approval_wait));
        failed_over.chain(withdrawn)
    }
}

pub struct Account<'s> {
    policy: &'s FailoverPolicy,
    workload: &'s GeoReplication,
    option: u16,
    extents: u32,
    data_bytes: u64,
    geo_option: bool,
    read_secondary: bool,
    /// Index of the serving copy group (0: the original primary).
    serve: usize,
    mode: Mode,
    /// Extents that cannot be read / written from the serving group.
    unreadable: u32,
    unwritable: u32,
    since: Micros,
    /// Set when counts or surroundings changed: `settle` must look.
    pub dirty: bool,
    geo: Option<GeoQueue>,
    /// Current write rate, bytes/s.
    write_rate: u64,
    shipping: bool,
    epochs: [u32; TIMERS],
    /// Since when the customer's and the provider's conditions hold.
    armed: [Option<Micros>; 2],
    /// Start of the outage that led to the failover under way (for the RTO).
    outage_start: Micros,
    no_geo_since: Option<Micros>,
    lag_carry: u64,
    /// With a customer-managed key: how long storage serves with its cached
    /// key once the vault cannot be reached.
    key_cache: Option<Micros>,
    /// The cached key has run out and the vault cannot be reached.
    key_lacking: bool,
    /// With `[logical]`: what a logical error's recovery depends on.
    logical: Option<Exposure<'s>>,
    /// With `[access]`: the policy, its own random stream, and the
    /// recovery waiting for access (see [`Asking`]).
    access: Option<(&'s AccessPolicy, ChaCha8Rng)>,
    asking: Asking,
    /// The replication queue of a failover waiting for access, kept (not
    /// recorded) in case the request is withdrawn and replication resumes.
    parked: Option<GeoQueue>,
    out: AccountOutcome,
}

/// A stuck failover's requests for insider access.
#[derive(Clone, Copy, Debug, Default)]
struct Asking {
    /// When the first request of this recovery was made.
    since: Micros,
    /// Denials so far in this recovery.
    denials: u32,
    /// The answer already drawn for the request under way.
    denied: bool,
    /// The last answer was a grant (for the trace's audit line).
    granted: bool,
    /// The failover still waits for an approval.
    open: bool,
}

impl<'s> Account<'s> {
    pub fn new(
        option: &ReplicationOption,
        k: u16,
        (extents, data_bytes): (u32, u64),
        policy: &'s FailoverPolicy,
        workload: &'s GeoReplication,
        key_cache: Option<Micros>,
    ) -> Self {
        let mut account = Self {
            policy,
            workload,
            option: k,
            extents,
            data_bytes,
            geo_option: option.groups.len() > 1,
            read_secondary: option.read_access_secondary,
            serve: 0,
            mode: Mode::Normal,
            unreadable: 0,
            unwritable: 0,
            since: 0,
            dirty: false,
            geo: None,
            write_rate: workload.write_rate[0],
            shipping: true,
            epochs: [0; TIMERS],
            armed: [None; 2],
            outage_start: 0,
            no_geo_since: None,
            lag_carry: 0,
            key_cache,
            key_lacking: false,
            logical: None,
            access: None,
            asking: Asking::default(),
            parked: None,
            out: AccountOutcome::default(),
        };
        if account.geo_option {
            account.geo = Some(account.fresh_queue(0));
        }
        account
    }

    /// Integrates the exposure to logical errors from now on: the secondary
    /// protects until the bad write ships (the lag, at least the latency).
    pub fn watch_logical(&mut self, errors: Option<&'s LogicalErrors>) {
        self.logical = errors.map(|e| Exposure::new(e, self.workload.latency));
    }

    /// Makes every unplanned failover wait for insider access under
    /// `policy`, drawing from `rng` (its own stream).
    pub fn need_access(
        &mut self,
        policy: Option<&'s AccessPolicy>,
        rng: impl FnOnce() -> ChaCha8Rng,
    ) {
        self.access = policy.map(|p| (p, rng()));
    }

    /// The grant just made, if the last timer made one (for the audit line).
    pub fn just_granted(&self) -> Option<Grant> {
        self.asking
            .granted
            .then(|| self.out.grants.last().copied())
            .flatten()
    }

    /// Schedules the scenario's planned failovers, at their times in the
    /// measured horizon (after `warmup`).
    pub fn start(&mut self, warmup: Micros, sim: &mut Scheduler<Event>) {
        if !self.geo_option {
            return;
        }
        for &at in &self.policy.planned_at {
            let event = self.event(Timer::Planned);
            sim.schedule_at(warmup.saturating_add(at), event);
        }
    }

    /// The measured horizon starts at `now`: what the account experienced
    /// in the warm-up is not counted; its state carries on (a failover
    /// under way is counted from here, without its RPO and RTO).
    pub fn begin_measuring(&mut self, now: Micros) {
        self.integrate(now);
        self.out = AccountOutcome::default();
        self.lag_carry = 0;
        if self.no_geo_since.is_some() {
            self.no_geo_since = Some(now);
        }
    }

    /// The geo-replication lag now (t − Last Sync Time), µs; 0 without a
    /// replication under way.
    pub fn lag(&self) -> Micros {
        self.geo.as_ref().map_or(0, |q| q.lag())
    }

    /// The copy group serving reads and writes.
    pub fn serve(&self) -> usize {
        self.serve
    }

    /// Whether a copy of group `g` lost with no source in its own group
    /// waits for the re-protection of an unplanned failover (instead of the
    /// repair model): the group being failed away from, or left behind
    /// without geo-redundancy; or, while serving normally, the serving
    /// group when the destruction fails the account over (`fails_over`).
    pub fn holds_for_reprotection(&self, g: usize, fails_over: bool) -> bool {
        match self.mode {
            Mode::Switching { planned: false } => g == self.serve,
            Mode::Single | Mode::Resyncing { .. } => g != self.serve,
            Mode::Normal => g == self.serve && fails_over,
            Mode::Draining | Mode::Switching { planned: true } => false,
        }
    }

    /// Geo-redundant and serving normally: copies held for re-protection
    /// are due now.
    pub fn normal(&self) -> bool {
        self.mode == Mode::Normal
    }

    /// Whether reads may fall back to the secondary (RA- options while
    /// geo-redundant).
    pub fn reads_secondary(&self) -> bool {
        self.read_secondary && matches!(self.mode, Mode::Normal | Mode::Draining)
    }

    /// Per-extent counts changed by `d_read`, `d_write` at `now`.
    pub fn change(&mut self, now: Micros, d_read: i32, d_write: i32) {
        self.integrate(now);
        self.unreadable = self.unreadable.saturating_add_signed(d_read);
        self.unwritable = self.unwritable.saturating_add_signed(d_write);
        self.dirty |= d_write != 0;
    }

    /// The write rate of the workload changed (hour of the day).
    pub fn set_write_rate(&mut self, now: Micros, rate: u64) {
        self.integrate(now);
        self.write_rate = rate;
        self.dirty = true;
    }

    /// Whether the key vault can be reached changed at `now`: storage keeps
    /// serving with its cached key for `key_cache`, then every extent that
    /// could otherwise be read cannot, until the vault answers again.
    pub fn set_key_reachable(&mut self, now: Micros, reachable: bool, sim: &mut Scheduler<Event>) {
        let Some(cache) = self.key_cache else {
            return;
        };
        self.integrate(now);
        // A new epoch cancels a cache expiry pending from an earlier loss.
        self.epochs[Timer::KeyCache as usize] += 1;
        self.key_lacking = false;
        if !reachable {
            self.set_timer(Timer::KeyCache, cache, sim);
        }
    }

    /// Brings replication and the failover triggers in line with the
    /// counts and surroundings at `now`. Returns true when a failover
    /// waiting for access was called off (the account serves from its
    /// primary again), so every extent must be looked at again.
    pub fn settle(&mut self, now: Micros, env: Env, sim: &mut Scheduler<Event>) -> bool {
        self.integrate(now);
        self.dirty = false;
        if !self.geo_option {
            return false;
        }
        let withdrawn = self.withdraw(now, env);
        let slope = self.write_slope();
        // A parked queue follows the link too, so it resumes where it would be.
        if let Some(q) = self.geo.as_mut().or(self.parked.as_mut()) {
            q.set_write_slope(slope);
            q.set_shipping(env.shipping());
        }
        if env.shipping() != self.shipping {
            self.shipping = env.shipping();
            self.plan_transfer(sim);
        }
        let normal = self.mode == Mode::Normal;
        let p = self.policy;
        let customer = p.initiator == Initiator::Customer && self.unwritable >= self.threshold();
        let provider = p.initiator != Initiator::Never && !env.primary_up;
        self.arm(0, normal && customer, p.after, now, sim);
        self.arm(1, normal && provider, p.provider_after, now, sim);
        withdrawn
    }

    /// Calls off a failover still waiting for insider access once the
    /// primary serves again (its region up, fewer extents unwritable than
    /// make the customer fail over): the Lockbox request is withdrawn,
    /// nothing is switched or lost, and replication resumes from the parked
    /// queue. Its RTO is the outage's; the wait so far stays a wait.
    fn withdraw(&mut self, now: Micros, env: Env) -> bool {
        if !self.asking.open || !env.primary_up || self.unwritable >= self.threshold() {
            return false;
        }
        self.asking.open = false;
        self.epochs[Timer::Access as usize] += 1;
        self.mode = Mode::Normal;
        self.geo = self.parked.take();
        // Geo-redundancy was never given up: the secondary kept its copy.
        self.no_geo_since = None;
        // A failover begun in the warm-up has no record (nor a withdrawal).
        if self.out.failovers.pop().is_some() {
            self.out.withdrawn.push(Withdrawn {
                rto: now - self.outage_start,
                approval_wait: now - self.asking.since,
            });
        }
        true
    }

    /// Extents the serving group can write now.
    pub fn writable(&self) -> u32 {
        self.extents - self.unwritable.min(self.extents)
    }

    /// What a timer that has just fired did, for a trace: a planned
    /// failover that could not start did nothing, and a student should not
    /// read "time to fail back" as a failback.
    pub fn step(&self, timer: Timer) -> &'static str {
        match (timer, &self.mode) {
            (Timer::Failback, Mode::Normal) => {
                "time to fail back, not possible yet (the original region cannot serve all the data, or a region or the link is down); tried again later"
            }
            (Timer::Planned, Mode::Normal) => {
                "planned failover drill skipped (a region or the link is down, or the other region cannot serve all the data)"
            }
            _ => timer.name(),
        }
    }

    /// What the account is doing now, for a trace.
    pub fn doing(&self) -> &'static str {
        match self.mode {
            Mode::Normal => "serving normally",
            Mode::Draining => "draining to the secondary",
            Mode::Switching { .. } => "failing over",
            Mode::Single => "serving without geo-redundancy",
            Mode::Resyncing { .. } => "re-copying to the other region",
        }
    }

    /// Whether a timer event is still the current one.
    pub fn timer_live(&self, timer: Timer, epoch: u32) -> bool {
        timer == Timer::Planned || self.epochs[timer as usize] == epoch
    }

    /// A failover timer fired. Returns true when the serving group or read
    /// access changed, so every extent must be looked at again.
    pub fn on_timer(
        &mut self,
        now: Micros,
        timer: Timer,
        epoch: u32,
        env: Env,
        rng: &mut ChaCha8Rng,
        sim: &mut Scheduler<Event>,
    ) -> bool {
        if !self.timer_live(timer, epoch) {
            return false;
        }
        self.integrate(now);
        self.dirty = true;
        match timer {
            Timer::Customer | Timer::Provider => self.trigger(timer, now, env, rng, sim),
            Timer::Switched => return self.switched(now, sim),
            Timer::Reenable => {
                let remaining = self.data_units();
                self.mode = Mode::Resyncing { remaining };
                self.plan_transfer(sim);
            }
            Timer::Resynced => {
                self.mode = Mode::Normal;
                self.geo = Some(self.fresh_queue(now));
                if let Some(since) = self.no_geo_since.take() {
                    self.out.without_geo += now - since;
                }
                self.plan_failback(sim);
                return true;
            }
            Timer::Failback | Timer::Planned => self.begin_planned(timer, env, sim),
            Timer::KeyCache => self.key_lacking = true,
            Timer::Access => self.answered(now, rng, sim),
            Timer::Drained => {
                self.mode = Mode::Switching { planned: true };
                self.out.planned_failovers += 1;
                let delay = self.policy.planned_duration.sample(rng);
                self.set_timer(Timer::Switched, delay, sim);
            }
        }
        false
    }

    /// Closes the trial at the horizon.
    pub fn finish(mut self, horizon: Micros) -> AccountOutcome {
        self.integrate(horizon);
        if let Some(since) = self.no_geo_since {
            self.out.without_geo += horizon - since;
        }
        self.out
    }

    /// Customer or provider trigger: fail over if there is somewhere to go.
    fn trigger(
        &mut self,
        timer: Timer,
        now: Micros,
        env: Env,
        rng: &mut ChaCha8Rng,
        sim: &mut Scheduler<Event>,
    ) {
        let which = timer as usize;
        let Some(since) = self.armed[which] else {
            return;
        };
        if self.mode != Mode::Normal {
            return;
        }
        if !env.secondary_up || !env.other_better {
            // The secondary would serve no better: look again after the same wait.
            self.set_timer(timer, self.policy.after, sim);
            return;
        }
        let queue = self.geo.take();
        let (rpo, lost) = queue.as_ref().map_or((0, 0), |q| (q.rpo(), q.unshipped()));
        let bytes_lost = self.to_bytes(lost);
        self.out.failovers.push(FailoverRecord {
            rpo,
            bytes_lost,
            rto: None,
            approval_wait: 0,
        });
        self.outage_start = since;
        self.no_geo_since = Some(now);
        self.disarm();
        self.mode = Mode::Switching { planned: false };
        if self.access.is_some() {
            // The failover is stuck until Microsoft's operators get access.
            self.asking = Asking {
                since: now,
                open: true,
                ..Asking::default()
            };
            self.parked = queue;
            self.request_access(0, sim);
            return;
        }
        let delay = self.policy.duration.sample(rng);
        self.set_timer(Timer::Switched, delay, sim);
    }

    /// A Lockbox request made after `wait`: its answer and the customer's
    /// delay are drawn now, from the access stream.
    fn request_access(&mut self, wait: Micros, sim: &mut Scheduler<Event>) {
        let Some((policy, rng)) = &mut self.access else {
            return;
        };
        let approval = policy.approval.sample(rng);
        let denied = rng.random::<f64>() < policy.denial_probability;
        self.asking.denied = denied && self.asking.denials < policy.max_denials;
        let delay = wait.saturating_add(policy.request).saturating_add(approval);
        self.set_timer(Timer::Access, delay, sim);
    }

    /// The customer answered: a denial asks again after `retry_after`; a
    /// grant lets the switch proceed.
    fn answered(&mut self, now: Micros, rng: &mut ChaCha8Rng, sim: &mut Scheduler<Event>) {
        let Some((policy, _)) = self.access else {
            return;
        };
        self.asking.granted = false;
        if self.mode != (Mode::Switching { planned: false }) {
            return;
        }
        if self.asking.denied {
            self.asking.denials += 1;
            self.out.denials += 1;
            self.request_access(policy.retry_after, sim);
            return;
        }
        let waited = now - self.asking.since;
        self.asking.granted = true;
        self.asking.open = false;
        // The switch goes ahead: the old replication is over.
        self.parked = None;
        self.out.grants.push(Grant {
            at: now,
            length: policy.grant,
            waited,
        });
        if let Some(f) = self.out.failovers.last_mut() {
            f.approval_wait = waited;
        }
        let delay = self.policy.duration.sample(rng);
        self.set_timer(Timer::Switched, delay, sim);
    }

    /// The switch is complete: the other group serves from now on.
    fn switched(&mut self, now: Micros, sim: &mut Scheduler<Event>) -> bool {
        let Mode::Switching { planned } = self.mode else {
            return false;
        };
        self.serve = 1 - self.serve;
        if planned {
            self.mode = Mode::Normal;
            self.geo = Some(self.fresh_queue(now));
            self.plan_failback(sim);
        } else {
            self.mode = Mode::Single;
            if let Some(f) = self.out.failovers.last_mut() {
                f.rto = Some(now - self.outage_start);
            }
            self.set_timer(Timer::Reenable, self.policy.reenable_after, sim);
        }
        true
    }

    /// Starts a planned failover if both regions and the link are up and the
    /// other group could serve as much of the data as the serving one; a
    /// failback not yet possible is tried again after the same wait.
    fn begin_planned(&mut self, timer: Timer, env: Env, sim: &mut Scheduler<Event>) {
        if self.mode != Mode::Normal || !env.shipping() || !env.other_as_good {
            if timer == Timer::Failback {
                self.plan_failback(sim);
            }
            return;
        }
        self.disarm();
        self.mode = Mode::Draining;
        if let Some(q) = &mut self.geo {
            q.set_write_slope(0);
        }
        self.plan_transfer(sim);
    }

    /// Unwritable extents that make the customer fail over (at least one).
    fn threshold(&self) -> u32 {
        let t = (self.policy.unavailable_fraction * f64::from(self.extents)).ceil() as u32;
        t.max(1)
    }

    fn plan_failback(&mut self, sim: &mut Scheduler<Event>) {
        if let (Some(after), true) = (self.policy.failback_after, self.serve != 0) {
            self.set_timer(Timer::Failback, after, sim);
        }
    }

    /// (Re)schedules the end of a transfer over the link: the re-copy of a
    /// resync, or the catch-up of a planned failover.
    fn plan_transfer(&mut self, sim: &mut Scheduler<Event>) {
        let now = self.since;
        match self.mode {
            Mode::Resyncing { remaining } => {
                self.epochs[Timer::Resynced as usize] += 1;
                if self.shipping {
                    let delay = super::repair::copy_micros(remaining, self.link_units());
                    self.set_timer(Timer::Resynced, delay, sim);
                }
            }
            Mode::Draining => {
                self.epochs[Timer::Drained as usize] += 1;
                if let Some(at) = self.geo.as_ref().and_then(|q| q.drained_at()) {
                    self.set_timer(Timer::Drained, at.saturating_sub(now), sim);
                }
            }
            _ => {}
        }
    }

    /// Arms trigger `which` when its condition starts holding, disarms it
    /// when the condition stops.
    fn arm(
        &mut self,
        which: usize,
        holds: bool,
        wait: Micros,
        now: Micros,
        sim: &mut Scheduler<Event>,
    ) {
        let timer = [Timer::Customer, Timer::Provider][which];
        match (self.armed[which], holds) {
            (None, true) => {
                self.armed[which] = Some(now);
                self.set_timer(timer, wait, sim);
            }
            (Some(_), false) => {
                self.armed[which] = None;
                self.epochs[timer as usize] += 1;
            }
            _ => {}
        }
    }

    fn disarm(&mut self) {
        for (which, timer) in [Timer::Customer, Timer::Provider].into_iter().enumerate() {
            self.armed[which] = None;
            self.epochs[timer as usize] += 1;
        }
    }

    fn event(&self, timer: Timer) -> Event {
        Event::Failover {
            option: self.option,
            timer,
            epoch: self.epochs[timer as usize],
        }
    }

    fn set_timer(&mut self, timer: Timer, delay: Micros, sim: &mut Scheduler<Event>) {
        self.epochs[timer as usize] += 1;
        let event = self.event(timer);
        sim.schedule(delay, event);
    }

    /// Integrates availability, replication and a re-copy up to `now`.
    fn integrate(&mut self, now: Micros) {
        let dt = now.saturating_sub(self.since);
        if dt == 0 {
            return;
        }
        let all = self.extents;
        let (read, write) = match self.mode {
            Mode::Switching { .. } => (all, all),
            Mode::Draining => (self.unreadable, all),
            _ => (self.unreadable, self.unwritable),
        };
        self.out.unreadable += u128::from(read) * u128::from(dt);
        self.out.unwritable += u128::from(write) * u128::from(dt);
        if self.key_lacking {
            // Only what could be read but for the key: an extent already
            // unreadable (copies down, a failover) is not counted twice.
            self.out.key_unreadable += u128::from(all - read.min(all)) * u128::from(dt);
        }
        let link = self.link_units();
        if let Mode::Resyncing { remaining } = &mut self.mode
            && self.shipping
        {
            *remaining = remaining.saturating_sub(link * u128::from(dt));
        }
        let logical = self.logical;
        if let Some(q) = &mut self.geo {
            let out = &mut self.out;
            let carry = &mut self.lag_carry;
            // The lag's own pieces: exact where it is constant.
            q.advance(now, &mut |lag_us, d| {
                record_lag(out, carry, lag_us, d);
                if let Some(x) = logical {
                    out.logical_exposure += x.geo(lag_us, d);
                }
            });
        } else if let Some(x) = logical {
            // No secondary with good data (none, or not yet re-copied).
            self.out.logical_exposure += x.local(dt);
        }
        if let Some(q) = &mut self.parked {
            // Not recorded: the wait is the failover's, as a switch is.
            q.advance(now, &mut |_, _| {});
        }
        self.since = now;
    }

    /// A queue in its steady state, as the scenario's workload has it now.
    fn fresh_queue(&self, now: Micros) -> GeoQueue {
        let latency = self.workload.latency;
        GeoQueue::steady(now, latency, self.link_units(), self.write_slope())
    }

    /// Accepted writes per µs, in queue units (1/(10⁶·extents) byte): the
    /// workload's rate scaled by the writable share of the data.
    fn write_slope(&self) -> u128 {
        if self.mode != Mode::Normal {
            return 0;
        }
        let writable = self.extents.saturating_sub(self.unwritable);
        u128::from(self.write_rate) * u128::from(writable)
    }

    fn link_units(&self) -> u128 {
        u128::from(self.workload.link_bytes_per_s) * u128::from(self.extents)
    }

    /// The whole data set in queue units: what re-enabling geo-redundancy
    /// re-copies. Written in the same unit as the queue (bytes × 10⁶ × extents).
    fn data_units(&self) -> u128 {
        u128::from(self.data_bytes) * 1_000_000 * u128::from(self.extents)
    }

    fn to_bytes(&self, units: u128) -> f64 {
        let per_byte = 1_000_000 * u128::from(self.extents);
        (units / per_byte) as f64 + (units % per_byte) as f64 / per_byte as f64
    }
}

/// Adds `d` µs at lag `lag_us` to the time-weighted record, in whole ms
/// (the sub-millisecond remainder carries over to the next stretch).
fn record_lag(out: &mut AccountOutcome, carry: &mut u64, lag_us: u64, d: u64) {
    let value = (lag_us + 500) / 1000;
    out.lag_max = out.lag_max.max(value);
    let total = *carry + d;
    *carry = total % 1000;
    let ms = total / 1000;
    if ms == 0 {
        return;
    }
    push_run(&mut out.lag, value, ms);
}

/// Entries a run-length record keeps at most in one trial. A lag that
/// changes all the time (writes far above the link: the backlog grows
/// without end) would otherwise add 256 entries per event, and a long
/// horizon adds one erasure time per hourly probe; real scenarios stay far
/// below.
const MAX_RUN_ENTRIES: usize = 1 << 16;

/// Adds `count` samples of `value` to a run-length record of (value,
/// count), the form the lag and erasure distributions are drawn from,
/// compacting it past [`MAX_RUN_ENTRIES`].
pub(super) fn push_run(runs: &mut Vec<(u64, u64)>, value: u64, count: u64) {
    match runs.last_mut() {
        Some((v, n)) if *v == value => *n += count,
        _ => runs.push((value, count)),
    }
    if runs.len() > MAX_RUN_ENTRIES {
        compact_runs(runs);
    }
}

/// Merges entries of equal value (the figures drawn from them do not
/// depend on order), and if that is not enough, rounds values to three
/// significant digits first, the precision of the distributions reported.
fn compact_runs(lag: &mut Vec<(u64, u64)>) {
    let merge = |lag: &mut Vec<(u64, u64)>| {
        lag.sort_unstable_by_key(|&(v, _)| v);
        lag.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 += later.1;
            }
            same
        });
    };
    merge(lag);
    if lag.len() > MAX_RUN_ENTRIES / 2 {
        for (v, _) in lag.iter_mut() {
            *v = three_digits(*v);
        }
        merge(lag);
    }
}

/// `v` rounded to three significant decimal digits.
fn three_digits(v: u64) -> u64 {
    let mut unit = 1u64;
    while v / unit >= 1000 {
        unit *= 10;
    }
    v.saturating_add(unit / 2) / unit * unit
}

/// Hours of the day are whole hours from time 0.
pub fn hour_of(t: Micros) -> usize {
    ((t / HOUR) % 24) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacting_the_lag_keeps_its_time_and_bounds_its_length() {
        // Equal lags merge exactly, whatever their order.
        let mut lag = vec![(5, 1), (7, 2), (5, 3), (7, 4), (9, 5)];
        compact_runs(&mut lag);
        assert_eq!(lag, [(5, 4), (7, 6), (9, 5)]);
        // A lag that never repeats (a backlog growing without end) stays
        // bounded, its time whole, its lags within 0.05% of what they were.
        let mut out = AccountOutcome::default();
        let mut carry = 0;
        for i in 0..1_000_000u64 {
            record_lag(&mut out, &mut carry, 1_000 * (1_000_000 + 7 * i), 1_000);
        }
        assert!(out.lag.len() <= MAX_RUN_ENTRIES);
        assert_eq!(out.lag.iter().map(|&(_, ms)| ms).sum::<u64>(), 1_000_000);
        assert_eq!(out.lag_max, 1_000_000 + 7 * 999_999);
        assert_eq!(three_digits(123_456), 123_000);
        assert_eq!(three_digits(999_600), 1_000_000);
        assert_eq!(three_digits(u64::MAX), 18_400_000_000_000_000_000);
    }
}
