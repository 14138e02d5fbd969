//! The storage model: a validated description of a system ([`System`]) and
//! its simulation ([`world`]). It knows nothing of files or the command line;
//! the `scenario` module builds a `System` from a scenario file.

pub mod code;
pub mod copyset;
pub mod group;
pub mod placement;
pub mod repair;
pub mod scratch;
pub mod topology;
pub mod trace;
pub mod world;
// Outages, geo-replication and failover.
pub mod failover;
pub mod fleet;
pub mod geo;
// Logical errors (`[logical]`): the common-mode loss geo-replication copies.
pub mod logical;

use crate::dist::Dist;
use crate::units::Micros;
pub use code::Code;
pub use topology::{Level, Region, Shape, Topology};

/// Copies of data kept together under one placement rule.
#[derive(Clone, Debug, PartialEq)]
pub struct CopyGroup {
    pub copies: u32,
    /// Index of the region holding this group.
    pub region: u32,
    /// All copies of the group stay within one component of this level.
    pub within: Level,
    /// Copies go to distinct components of this (narrower) level.
    pub spread: Level,
}

/// A replication option: LRS, ZRS, GRS, GZRS, their RA- variants or custom.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicationOption {
    pub name: String,
    /// Primary group first, then the geo-secondary group if any.
    pub groups: Vec<CopyGroup>,
    /// Reads may be served by the secondary (RA-GRS, RA-GZRS).
    pub read_access_secondary: bool,
    /// How the copies make up an extent: whole copies of which some must
    /// survive, or the fragments of an erasure code; data is lost once the
    /// surviving slots no longer decode ([`Code::decodable`]).
    pub code: Code,
    /// How the initial copies are laid out over the nodes.
    pub layout: Layout,
}

/// How an option's copies are first laid out, within its groups' rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Each extent on its own random choice of disks (the default).
    Random,
    /// Copyset Replication (Cidon et al., ATC 2013): per `within`
    /// component, ⌈S/(R−1)⌉ random permutations of its nodes are cut into
    /// groups of R (the copysets), and each extent's copies go to the nodes
    /// of one copyset; S is the scatter width.
    Copyset { scatter_width: u32 },
}

impl ReplicationOption {
    pub fn copies(&self) -> u32 {
        self.groups.iter().map(|g| g.copies).sum()
    }

    /// The copy group holding copy `slot`, and the slots of that group.
    pub fn group_of(&self, slot: u8) -> (usize, std::ops::Range<usize>) {
        let mut start = 0;
        for (g, group) in self.groups.iter().enumerate() {
            let end = start + group.copies as usize;
            if (slot as usize) < end {
                return (g, start..end);
            }
            start = end;
        }
        (self.groups.len(), start..start)
    }

    /// The slots of the group holding `slot`, as a bit mask.
    pub fn group_mask(&self, slot: u8) -> u32 {
        let (_, slots) = self.group_of(slot);
        slot_range_mask(slots)
    }

    /// The slots of copy group `g`, as a bit mask.
    pub fn group_slots(&self, g: usize) -> u32 {
        let start: u32 = self.groups[..g].iter().map(|g| g.copies).sum();
        slot_range_mask(start as usize..(start + self.groups[g].copies) as usize)
    }

    /// Whether the live slots `group_alive` of copy group `g` (no other
    /// group's bits set: callers mask with [`Self::group_slots`], once, out
    /// of their loops) let it serve the extent: for whole copies, `needed`
    /// of them (or all the group has, if fewer); for a code (one group),
    /// the slots decode.
    #[inline]
    pub fn group_serves(&self, g: usize, group_alive: u32) -> bool {
        match self.copies_to_serve(g) {
            Some(n) => group_alive.count_ones() >= n,
            None => self.code.decodable(group_alive),
        }
    }

    /// For whole copies, how many live copies of group `g` serve the
    /// extent: `needed`, or all the group has if fewer (a count, which hot
    /// loops take without building a mask); None for a code, whose live
    /// fragments must decode ([`Code::decodable`]).
    #[inline]
    pub fn copies_to_serve(&self, g: usize) -> Option<u32> {
        match self.code {
            Code::Copies { needed } => Some(needed.min(self.groups[g].copies)),
            _ => None,
        }
    }

    /// Bytes of one slot: a whole copy holds the extent, a fragment 1/k of it.
    pub fn slot_bytes(&self, extent_bytes: u64) -> f64 {
        extent_bytes as f64 / f64::from(self.code.data_fragments())
    }
}

/// The bit mask of the slots in `slots` (at most 32).
fn slot_range_mask(slots: std::ops::Range<usize>) -> u32 {
    let below = |n: usize| if n >= 32 { u32::MAX } else { (1u32 << n) - 1 };
    below(slots.end) & !below(slots.start)
}

/// A permanent-failure process of one class of component.
#[derive(Clone, Debug, PartialEq)]
pub struct FailureProcess {
    pub level: Level,
    /// Time to failure of one component (renewed after replacement).
    pub lifetime: Dist,
    /// Time until a destroyed component is back in service, empty.
    pub replace: Micros,
}

/// How long re-creating a lost copy takes.
#[derive(Clone, Debug, PartialEq)]
pub enum Repair {
    /// Bandwidth-limited re-replication: the data of a failed component is
    /// rebuilt at min(per-disk bandwidth × disks of the facility, facility
    /// bandwidth); each lost copy is done at a uniform point of that window.
    /// A group re-seeded from the other region comes over the account's
    /// link (`GeoReplication::link_bytes_per_s`).
    Bandwidth {
        disk_bytes_per_s: f64,
        facility_bytes_per_s: f64,
    },
    /// Each lost copy takes an independent draw from this distribution.
    Time(Dist),
}

/// How the lost copies of one extent are re-created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepairDiscipline {
    /// Every lost copy is re-created at once, independently.
    Parallel,
    /// One lost copy at a time, in slot order.
    OneAtATime,
}

/// Everything a run needs, validated.
#[derive(Clone, Debug)]
pub struct System {
    pub topology: Topology,
    /// Size of one extent (placement group), the unit of replication.
    pub extent_bytes: u64,
    /// Extents of data stored under each option.
    pub extents: u32,
    /// Whether each option's data is one account in one stamp (`[data]
    /// stamp = "one"`): every extent's copy group anchored on the same
    /// `within` component, as Azure places an account; else each extent's
    /// anchor is drawn on its own, as data spread over many accounts.
    pub one_stamp: bool,
    pub options: Vec<ReplicationOption>,
    pub failures: Vec<FailureProcess>,
    /// Delay from a failure to the start of repair.
    pub detection: Dist,
    pub repair: Repair,
    pub discipline: RepairDiscipline,
    /// The measured time of a trial: probabilities are "by its end".
    pub horizon: Micros,
    /// Simulated before the measured horizon, so that it sees a fleet in
    /// operation (its repair, replacement and re-protection backlog); 0
    /// measures a new fleet from its start.
    pub warmup: Micros,
    /// Transient outages per class: copies unavailable, not destroyed.
    pub outages: Vec<OutageProcess>,
    /// Faults at fixed times, on top of the random processes.
    pub faults: Vec<Fault>,
    /// Correlated bursts: many components of one scope struck at once.
    pub bursts: Vec<BurstProcess>,
    /// The write workload and link of asynchronous geo-replication.
    pub geo: GeoReplication,
    pub failover: FailoverPolicy,
    /// Customer-managed keys; None: Microsoft-managed keys, which never
    /// keep data from being read.
    pub keys: Option<KeyPolicy>,
    /// Support-assisted recovery under Customer Lockbox (`[access]`);
    /// None: no recovery waits for insider access.
    pub access: Option<AccessPolicy>,
    /// A deletion workload and how deleted data is erased; None: no
    /// deletion metrics (and nothing of the run changes).
    pub deletion: Option<Deletion>,
    /// Logical errors (bugs, operator error, bad deletes); None: none, and
    /// nothing of the run changes.
    pub logical: Option<logical::LogicalErrors>,
    /// Latent sector errors and scrubbing (`[latent]`); None: none, and
    /// nothing of the run changes.
    pub latent: Option<Latent>,
}

impl System {
    /// Simulated time at which a trial ends: the warm-up, then the horizon.
    pub fn end(&self) -> Micros {
        self.warmup.saturating_add(self.horizon)
    }

    /// Whether any burst strikes (a `[[burst]]` process, or a `[[fault]]`
    /// striking a random subset): the group model and the exact chain do
    /// not represent them.
    pub fn has_bursts(&self) -> bool {
        !self.bursts.is_empty() || self.faults.iter().any(|f| f.subset.is_some())
    }
}

/// What an outage or a fault strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Components of one level of the hierarchy.
    Component(Level),
    /// The links between paired regions (one per pair).
    Link,
}

/// A transient-outage process of one class: the component is unavailable
/// for a while, its copies intact.
#[derive(Clone, Debug, PartialEq)]
pub struct OutageProcess {
    pub scope: Scope,
    /// Time from the end of one outage of a component to the start of its
    /// next (exponential: one fleet-wide clock).
    pub between: Dist,
    pub duration: Dist,
}

/// What a scripted fault does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// Destroys the component and its copies; back in service, empty, after `replace`.
    Destroyed { replace: Micros },
    /// Takes the component (or link) down for `duration`, copies intact.
    Down { duration: Micros },
}

/// A fault at a fixed time, from the scenario's `[[fault]]` list.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub at: Micros,
    pub scope: Scope,
    /// Component index at the scope's level, or the link's id (the lower
    /// region index of the pair); with `subset`, the index at its level.
    pub component: u32,
    pub kind: FaultKind,
    /// Strike a random subset of the scope's components below `component`
    /// instead of one: drawn per trial.
    pub subset: Option<Subset>,
}

/// A random subset struck at once: `count` distinct components of the
/// struck level below one component of level `within`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Subset {
    pub within: Level,
    pub size: BurstSize,
}

/// How many components a burst strikes, of the `n` below its scope.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BurstSize {
    /// A count, uniform over lo..=hi (lo = hi: fixed).
    Count { lo: u32, hi: u32 },
    /// A share of the n, uniform over lo..=hi, rounded to the nearest
    /// count (at least 1).
    Fraction { lo: f64, hi: f64 },
}

/// P(exactly the given `s` of `m` marked components are among `count`
/// drawn uniformly from `n`): C(n − m, count − s) / C(n, count), as a
/// product of at most m ratios (0 where the pattern cannot happen). The
/// group model strikes bursts with it, and `analyze` builds their
/// transitions from it.
pub fn pattern_probability(m: u32, s: u32, n: u32, count: u32) -> f64 {
    debug_assert!(s <= m && m <= n);
    let (n, count) = (f64::from(n), f64::from(count));
    let mut p = 1.0;
    for i in 0..s {
        p *= (count - f64::from(i)).max(0.0);
    }
    for i in 0..m - s {
        p *= (n - count - f64::from(i)).max(0.0);
    }
    for i in 0..m {
        p /= n - f64::from(i);
    }
    p
}

/// A correlated-burst process (`[[burst]]`): at `rate_per_year` per
/// component of `scope`, a burst strikes a random subset of the `level`
/// components below one of them at once.
#[derive(Clone, Debug, PartialEq)]
pub struct BurstProcess {
    pub rate_per_year: f64,
    pub scope: Level,
    pub level: Level,
    pub size: BurstSize,
    pub kind: FaultKind,
}

impl BurstProcess {
    /// Bursts per µs in one scope component.
    pub fn rate_per_us(&self) -> f64 {
        self.rate_per_year / crate::units::YEAR as f64
    }
}

/// Asynchronous geo-replication: a write workload shipped over a link.
#[derive(Clone, Debug, PartialEq)]
pub struct GeoReplication {
    /// Bytes per second written, per hour of the day (hour 0 first).
    pub write_rate: [u64; 24],
    /// Link bandwidth, bytes per second.
    pub link_bytes_per_s: u64,
    /// Delay from a write to its shipping (the lag of an idle link).
    pub latency: Micros,
}

impl GeoReplication {
    /// Whether the write rate changes over the day.
    pub fn diurnal(&self) -> bool {
        self.write_rate.iter().any(|&r| r != self.write_rate[0])
    }
}

/// Who starts an unplanned failover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiator {
    /// The customer, once the primary has been unwritable for `after`; the
    /// provider's failover remains the backstop.
    Customer,
    /// Only the provider, after a region-wide outage or loss.
    Provider,
    /// Nobody: the option waits for its primary.
    Never,
}

/// How options with a secondary fail over and back.
#[derive(Clone, Debug, PartialEq)]
pub struct FailoverPolicy {
    pub initiator: Initiator,
    /// The customer fails over once at least `unavailable_fraction` of the
    /// data has been unwritable for `after`.
    pub after: Micros,
    pub unavailable_fraction: f64,
    /// Duration of an unplanned failover (both endpoints unavailable).
    pub duration: Dist,
    /// The provider fails over once the primary region has been down this long.
    pub provider_after: Micros,
    /// From the end of an unplanned failover to re-enabling geo-redundancy.
    pub reenable_after: Micros,
    /// Fail back (planned) this long after geo-redundancy is back; None: never.
    pub failback_after: Option<Micros>,
    /// Planned failovers (drills) at these times.
    pub planned_at: Vec<Micros>,
    /// Duration of the switch of a planned failover, after the sync.
    pub planned_duration: Dist,
}

/// Encryption with a customer-managed key held in a key vault: one key for
/// every copy of the account's data, so losing it loses them all, and while
/// the vault cannot be reached (past the key cached by storage) intact data
/// cannot be read.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyPolicy {
    /// Regions holding the vault: the primary, and its pair when the vault
    /// is replicated there. It answers while any of them is up.
    pub vault_regions: Vec<u32>,
    /// How long storage keeps serving with its cached key once the vault
    /// cannot be reached.
    pub cache: Micros,
    /// Random vault outages: time between them and their duration.
    pub outages: Option<(Dist, Dist)>,
    /// Scripted vault outages: (start, duration), from the measured horizon.
    pub faults: Vec<(Micros, Micros)>,
    /// Keys deleted or disabled and not recovered, per year.
    pub loss_rate_per_year: f64,
    /// Deleted keys cannot be purged before `soft_delete` has passed.
    pub purge_protection: bool,
    /// How long a deleted key can still be recovered.
    pub soft_delete: Micros,
}

impl KeyPolicy {
    /// P(the key is lost within `horizon`): a Poisson process of rate q,
    /// 1 − e^(−qT), computed without cancellation for tiny qT.
    pub fn loss_probability(&self, horizon: Micros) -> f64 {
        let years = horizon as f64 / crate::units::YEAR as f64;
        -(-self.loss_rate_per_year * years).exp_m1()
    }

    /// From deleting the key on purpose to no one being able to read the
    /// data (crypto-shredding): storage stops serving once its cached key
    /// expires, and the key is beyond recovery once purged, which purge
    /// protection forbids before the soft-delete retention ends (without
    /// it, the customer purges at once).
    pub fn crypto_shred(&self) -> Micros {
        let purge = if self.purge_protection {
            self.soft_delete
        } else {
            0
        };
        purge.max(self.cache)
    }
}

/// Deleting data, and how long its remnants last: a delete is final after
/// the soft-delete retention, then each copy's space is reclaimed
/// (overwritten) after `reclaim`; the secondary's copies get the delete
/// after the geo-replication lag; a copy on a component that is down is
/// reclaimed once it is back; a copy on failed hardware lasts until the
/// hardware is wiped or shredded, `destroy_after` after the failure.
#[derive(Clone, Debug, PartialEq)]
pub struct Deletion {
    /// Bytes deleted per second (deletes are writes: they replicate
    /// asynchronously, and those after the Last Sync Time are undone by an
    /// unplanned failover).
    pub bytes_per_s: f64,
    pub soft_delete: Micros,
    pub reclaim: Micros,
    /// From a disk, node or rack failure to its media being destroyed.
    pub destroy_after: Micros,
    /// A delete's erasure is sampled this often (one extent each time).
    pub probe_every: Micros,
}

/// Latent sector errors and scrubbing (`[latent]`): a copy (or fragment)
/// of `s` TB gets undetected errors as a Poisson process of rate
/// `rate_per_tb_year`·s a year, and a scrub re-verifies every byte once per
/// `scrub_interval` (uniform phase), repairing what it finds. No sector is
/// simulated: the world asks [`Latent::undetected`] once when a slot
/// becomes critical (its loss alone would lose the extent).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latent {
    /// Latent errors per TB of a slot's bytes per year.
    pub rate_per_tb_year: f64,
    /// Every byte is re-verified once per interval; None: never.
    pub scrub_interval: Option<Micros>,
}

impl Latent {
    /// P(a slot of `bytes` holds an undetected latent error): at a uniform
    /// point of the scrub cycle, 1 − (1 − e^(−x))/x with x = rate·s·T;
    /// without scrubbing, 1 − e^(−rate·s·age) for a slot written `age` ago.
    pub fn undetected(&self, bytes: f64, age: Micros) -> f64 {
        let rate = self.rate_per_tb_year * bytes / 1e12;
        match self.scrub_interval {
            Some(t) => {
                let x = rate * crate::units::years(t);
                // Series below 1e-4 (the closed form cancels): x/2 − x²/6 + x³/24.
                if x < 1e-4 {
                    x / 2.0 - x * x / 6.0 + x * x * x / 24.0
                } else {
                    1.0 + (-x).exp_m1() / x
                }
            }
            None => -(-rate * crate::units::years(age)).exp_m1(),
        }
    }

    /// P(at least one of the slots set in `newly` holds an undetected
    /// error), each of `bytes`, slot s written `age(s)` ago (read only
    /// without scrubbing: under it every slot is alike).
    pub fn any_undetected(&self, bytes: f64, newly: u32, age: impl Fn(u8) -> Micros) -> f64 {
        if newly == 0 {
            return 0.0;
        }
        if self.scrub_interval.is_some() {
            let p = self.undetected(bytes, 0);
            return -(f64::from(newly.count_ones()) * (-p).ln_1p()).exp_m1();
        }
        let mut clean = 1.0;
        let mut rest = newly;
        while rest != 0 {
            let slot = rest.trailing_zeros() as u8;
            rest &= rest - 1;
            clean *= 1.0 - self.undetected(bytes, age(slot));
        }
        1.0 - clean
    }
}

/// Support-assisted recovery (`[access]`): an unplanned failover that needs
/// Microsoft's operators waits for an access request, the customer's
/// approval under Customer Lockbox, and then holds a just-in-time grant.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessPolicy {
    /// From the failover getting stuck to the request reaching the customer.
    pub request: Micros,
    /// The customer's time to answer a request.
    pub approval: Dist,
    /// P(a request is denied).
    pub denial_probability: f64,
    /// After a denial, the wait before the next request.
    pub retry_after: Micros,
    /// Denials at most per recovery; the request after them is approved
    /// (the customer's escalation path: an assumption, so the wait is bounded).
    pub max_denials: u32,
    /// Length of the just-in-time grant.
    pub grant: Micros,
    /// Per option (scenario order): its failovers need access. Only options
    /// with a secondary (the others never fail over).
    pub options: Vec<bool>,
}

impl AccessPolicy {
    /// Whether option `k`'s failovers wait for insider access.
    pub fn covers(&self, k: usize) -> bool {
        self.options.get(k).copied().unwrap_or(false)
    }
}
