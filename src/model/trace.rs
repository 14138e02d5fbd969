//! The event timeline of one trial, as the world records it when asked
//! (`replisim trace`). Recording draws nothing and decides nothing: a traced
//! trial is the same trial `run` simulates.

use serde::Serialize;

use super::Level;
use crate::units::Micros;

/// A live copy of a deleted extent overwritten `after` µs from the delete
/// becoming final: after the lag for the other region's copies, after its
/// component is back (`held`) for a copy that is down, then the reclaim.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Reclaimed {
    pub slot: u8,
    pub disk: u32,
    pub after: Micros,
    pub held: bool,
}

/// One thing that happened, at simulated time `at` (µs).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceEvent {
    pub at: Micros,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// A component was destroyed with every copy below it; its copies are
    /// re-created from `detected` on. Per option (scenario order): copies
    /// destroyed and extents lost by it.
    Destroyed {
        level: Level,
        component: u32,
        detected: Micros,
        copies: Vec<u32>,
        lost: Vec<u32>,
    },
    /// A destroyed component is back in service, empty.
    Replaced {
        level: Level,
        component: u32,
    },
    /// An extent of an option lost its last copy (too few to rebuild it).
    Lost {
        option: u16,
        extent: u32,
    },
    /// An extent is down to the fewest copies it can survive on: one more
    /// failure among them loses it.
    LastCopy {
        option: u16,
        extent: u32,
    },
    /// A copy was re-created on `disk`: after its loss, or (`rehomed`)
    /// because it was unavailable for long.
    Recreated {
        option: u16,
        extent: u32,
        slot: u8,
        disk: u32,
        rehomed: bool,
    },
    /// A copy placed against its group's spread rule was moved to `disk`,
    /// where the rule puts it (rebalancing).
    Moved {
        option: u16,
        extent: u32,
        slot: u8,
        disk: u32,
    },
    /// A component went down (its copies unavailable) until `until` at the
    /// latest.
    Down {
        level: Level,
        component: u32,
        until: Micros,
    },
    /// A component is up again.
    Up {
        level: Level,
        component: u32,
    },
    /// A component stayed down past the detection delay: its copies are
    /// re-created elsewhere.
    MarkedOut {
        level: Level,
        component: u32,
    },
    /// The link between a region pair (named by its lower region) failed.
    LinkDown {
        region: u32,
    },
    LinkUp {
        region: u32,
    },
    /// The customer-managed key's vault can (or can no longer) be reached
    /// from the accounts; storage serves with its cached key meanwhile.
    Vault {
        reachable: bool,
    },
    /// Audit: Microsoft's operators were granted just-in-time access to an
    /// option's account for `length` µs, after `waited` µs of requests.
    Grant {
        option: u16,
        length: u64,
        waited: u64,
    },
    /// A delete of `extent` became final (`[deletion]`'s probe), requested
    /// `requested` µs before (the soft-delete retention): when each remnant
    /// of it goes, in µs from now, and when the last does (`erased`).
    Deleted {
        option: u16,
        extent: u32,
        requested: Micros,
        copies: Vec<Reclaimed>,
        /// Failed hardware holding a remnant is shredded (`[decommission]`).
        shredded: Option<Micros>,
        erased: Micros,
    },
    /// A step of an option's failover procedure: the timer that fired and
    /// what the account does now; `serving` is the region it serves from.
    Failover {
        option: u16,
        step: &'static str,
        now: &'static str,
        serving: u32,
    },
}
