//! How long re-creating a lost copy takes: the detection delay, then either
//! a draw from the repair-time distribution or a uniform point of the
//! bandwidth-limited rebuild window of the failed component. Shared by the
//! fleet simulation and the placement-group model of the rare-event method.

use rand::{Rng, RngExt};

use super::{Level, Repair, System};
use crate::units::{Micros, SECOND};

/// When the copies lost in one destruction are re-created.
#[derive(Clone, Copy, Debug)]
pub struct RepairTiming {
    detection: Micros,
    /// Rebuild windows (µs): from a local copy, from the paired region.
    windows: (f64, f64),
}

impl RepairTiming {
    /// Timing for the copies lost when component `c` of `level` failed,
    /// detected after `detection`.
    pub fn after(system: &System, detection: Micros, level: Level, c: u32) -> Self {
        Self {
            detection,
            windows: rebuild_windows(system, level, c),
        }
    }

    /// Delay until one lost copy is re-created; `local_source` says whether
    /// a copy of its own group survives (else it comes over the geo link).
    pub fn delay<R: Rng + ?Sized>(
        &self,
        repair: &Repair,
        local_source: bool,
        rng: &mut R,
    ) -> Micros {
        let duration = match repair {
            Repair::Time(dist) => dist.sample(rng),
            Repair::Bandwidth { .. } => {
                let window = if local_source {
                    self.windows.0
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

/// Rebuild windows (µs) after component `c` of `level` fails: (from a
/// surviving copy in the same group, from the other region over the geo
/// link). The data of each affected facility is rebuilt at
/// min(per-disk bandwidth × disks of a facility, facility bandwidth).
fn rebuild_windows(system: &System, level: Level, c: u32) -> (f64, f64) {
    let Repair::Bandwidth {
        disk_bytes_per_s,
        facility_bytes_per_s,
        geo_bytes_per_s,
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
    (
        bytes / facilities / local_rate * per_second,
        bytes / geo_bytes_per_s * per_second,
    )
}
