//! How long re-creating a lost copy takes: the detection delay, then either
//! a draw from the repair-time distribution or a uniform point of the
//! bandwidth-limited rebuild window of the failed component; and, when a
//! destruction empties a serving copy group, the account's re-protection
//! (failover, re-enabling geo-redundancy, the re-copy of the account). The
//! one place that times a rebuild: shared by the fleet simulation, the
//! account (`failover`) and the placement-group model of the rare-event
//! method, so all three tell the same story.

use rand::{Rng, RngExt};

use super::{Initiator, Layout, Level, Repair, ReplicationOption, System};
use crate::units::{Micros, SECOND};

/// When the copies lost in one destruction are re-created.
#[derive(Clone, Copy, Debug)]
pub struct RepairTiming {
    detection: Micros,
    /// Rebuild windows (µs): from a local copy, from the paired region.
    windows: (f64, f64),
}

impl RepairTiming {
    /// Timing for `option`'s copies lost when component `c` of `level`
    /// failed, detected after `detection`: the rebuild windows of that
    /// component, the local one stretched by the option's layout
    /// ([`layout_slowdown`]).
    pub fn after(
        system: &System,
        option: &ReplicationOption,
        detection: Micros,
        (level, c): (Level, u32),
    ) -> Self {
        let (local, geo) = rebuild_windows(system, level, c);
        Self {
            detection,
            windows: (local * layout_slowdown(system, option, level, c), geo),
        }
    }

    /// Delay until one lost copy is re-created; `local_source` says whether
    /// a copy of its own group survives (else it comes over the geo link).
    /// `reads` is the rebuild's read amplification (slots read per slot
    /// rebuilt, [`super::Code::repair_reads`]: 1 for a copy): a bandwidth
    /// window moving the failed component's bytes stretches by that factor,
    /// as the rebuild reads that many bytes per byte it writes. A
    /// repair-time distribution is taken as given (it is the time of one
    /// slot's rebuild, whatever it reads).
    pub fn delay<R: Rng + ?Sized>(
        &self,
        repair: &Repair,
        (local_source, reads): (bool, u32),
        rng: &mut R,
    ) -> Micros {
        let duration = match repair {
            Repair::Time(dist) => dist.sample(rng),
            Repair::Bandwidth { .. } => {
                let window = if local_source {
                    self.windows.0 * f64::from(reads)
                } else {
                    self.windows.1
                };
                crate::units::round_micros(rng.random::<f64>() * window)
            }
        };
        self.detection.saturating_add(duration)
    }
}

/// One-at-a-time repair: the duration of the next copy in line, which was
/// detected when it was lost. Validation allows that discipline with a
/// repair-time distribution only; a bandwidth model re-creates at once.
pub fn next_in_line<R: Rng + ?Sized>(repair: &Repair, rng: &mut R) -> Micros {
    match repair {
        Repair::Time(dist) => dist.sample(rng),
        Repair::Bandwidth { .. } => 0,
    }
}

/// How much longer than the facility's rate a layout takes to rebuild the
/// data of component `c` of `level` from local copies (1: no longer).
/// Random placement scatters a component's data over its whole facility,
/// so every disk there helps rebuild it; a copyset layout scatters each
/// node's data over its `scatter_width` partner nodes only, and a rebuild
/// reads from (and writes to) those: "each node's data [is] scattered
/// across several nodes for parallel data recovery" (Cidon et al., ATC
/// 2013, whose scatter width is that number of nodes). Its rate is then
/// min(per-disk bandwidth × the partners' disks, facility bandwidth): the
/// price of copysets in recovery time. For a rack, nodes × S counts a
/// partner shared by two of its nodes twice: an upper bound of the
/// partners, so a rack is never made slower than it is. A facility or
/// wider has partners throughout, and a repair-time distribution is taken
/// as given, so neither changes.
fn layout_slowdown(system: &System, option: &ReplicationOption, level: Level, c: u32) -> f64 {
    let Layout::Copyset { scatter_width } = option.layout else {
        return 1.0;
    };
    let Repair::Bandwidth {
        disk_bytes_per_s,
        facility_bytes_per_s,
    } = system.repair
    else {
        return 1.0;
    };
    let topo = &system.topology;
    let facility = topo.ancestor_of(level, c, Level::Facility);
    let facility_disks = topo.disk_range(Level::Facility, facility).len() as f64;
    let nodes = topo.components_within(level, c, Level::Node);
    let disks_per_node = topo.disk_range(Level::Node, nodes.start).len() as f64;
    let partners = nodes.len() as f64 * f64::from(scatter_width) * disks_per_node;
    let full = (disk_bytes_per_s * facility_disks).min(facility_bytes_per_s);
    let narrow = (disk_bytes_per_s * partners.min(facility_disks)).min(facility_bytes_per_s);
    debug_assert!(narrow > 0.0 && narrow <= full, "{narrow} of {full}");
    full / narrow
}

/// Rebuild windows (µs) after component `c` of `level` fails: (from a
/// surviving copy in the same group, from the other region over the geo
/// link). The data of each affected facility is rebuilt at
/// min(per-disk bandwidth × disks of a facility, facility bandwidth); an
/// account's data below `c` is re-seeded over the account's link
/// (`geo_replication.bandwidth`), as re-enabling geo-redundancy re-copies it.
fn rebuild_windows(system: &System, level: Level, c: u32) -> (f64, f64) {
    let Repair::Bandwidth {
        disk_bytes_per_s,
        facility_bytes_per_s,
    } = system.repair
    else {
        return (0.0, 0.0);
    };
    let topo = &system.topology;
    let disks = topo.disk_range(level, c).len() as f64;
    let bytes = disks * topo.disk_bytes as f64;
    let facility = topo.ancestor_of(level, c, Level::Facility);
    let facility_disks = topo.disk_range(Level::Facility, facility).len() as f64;
    let facilities = if level <= Level::Facility {
        topo.components_within(level, c, Level::Facility).len() as f64
    } else {
        1.0
    };
    let local_rate = (disk_bytes_per_s * facility_disks).min(facility_bytes_per_s);
    let per_second = SECOND as f64;
    let account_bytes = data_bytes(system) as f64 * data_share(system, level, c);
    let link = system.geo.link_bytes_per_s.max(1) as f64;
    (
        bytes / facilities / local_rate * per_second,
        account_bytes / link * per_second,
    )
}

/// Bytes stored under each option (the same for every option).
fn data_bytes(system: &System) -> u64 {
    u64::from(system.extents).saturating_mul(system.extent_bytes)
}

/// The share of an option's data below component `c` of `level`: its disks
/// over its region's (placement spreads an option's data evenly over the
/// disks of the region it uses).
fn data_share(system: &System, level: Level, c: u32) -> f64 {
    let topo = &system.topology;
    let region = topo.ancestor_of(level, c, Level::Region);
    let below = topo.disk_range(level, c).len() as f64;
    below / topo.disk_range(Level::Region, region).len().max(1) as f64
}

/// Time (µs, rounded up) to copy `byte_micros` (bytes × 10⁶, in any common
/// scale with the rate) at `bytes_per_s`: the re-copy of an account over
/// its link. The account's re-copy and the group model's both use it.
pub fn copy_micros(byte_micros: u128, bytes_per_s: u128) -> Micros {
    let micros = byte_micros.div_ceil(bytes_per_s.max(1));
    micros.min(u128::from(Micros::MAX)) as Micros
}

/// The re-copy of an option's whole data set over the account's link, when
/// geo-redundancy is re-enabled after an unplanned failover (µs).
pub fn recopy_micros(system: &System) -> Micros {
    let bytes = u128::from(data_bytes(system)) * u128::from(SECOND);
    copy_micros(bytes, u128::from(system.geo.link_bytes_per_s))
}

/// How long the account of an option waits, after the destruction of
/// component `c` of `level` empties the serving copy group of some of its
/// extents, before it starts an unplanned failover: `after` when the share
/// of its data below `c` reaches `unavailable_fraction` (customer policy),
/// `provider_after` when `c` is a whole region (provider, and the
/// customer's backstop); None when neither fails the account over (the
/// copies are then re-seeded from the other region as any lost copy is).
/// The fleet's account decides on its own counts; this is the same rule
/// for a group alone, and the fleet uses it to hold copies for the
/// re-protection that follows.
pub fn failover_wait(system: &System, level: Level, c: u32) -> Option<Micros> {
    let policy = &system.failover;
    let customer = policy.initiator == Initiator::Customer
        && data_share(system, level, c) >= policy.unavailable_fraction;
    let provider = policy.initiator != Initiator::Never && level == Level::Region;
    match (customer, provider) {
        (true, true) => Some(policy.after.min(policy.provider_after)),
        (true, false) => Some(policy.after),
        (false, true) => Some(policy.provider_after),
        (false, false) => None,
    }
}

/// From the destruction of a serving group to the end of its
/// re-protection, when the account fails over after `wait`
/// ([`failover_wait`]): the switch (a draw of `failover.duration`), the
/// customer re-enabling geo-redundancy (`reenable_after`), and the re-copy
/// of the account's data ([`recopy_micros`]), which starts only once the
/// old primary region is back (`region_back`: its replacement delay when
/// the region itself was destroyed, else 0). The window during which the
/// data has one copy group.
pub fn reprotection_delay<R: Rng + ?Sized>(
    system: &System,
    wait: Micros,
    region_back: Micros,
    rng: &mut R,
) -> Micros {
    let switch = system.failover.duration.sample(rng);
    let reenabled = wait
        .saturating_add(switch)
        .saturating_add(system.failover.reenable_after);
    reenabled
        .max(region_back)
        .saturating_add(recopy_micros(system))
}
