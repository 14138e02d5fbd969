//! A trial's budget: a limit on its events and on its wall time, so that a
//! scenario that explodes (a rate mistyped by orders of magnitude, outages
//! `0s` apart) ends with an error naming the field to look at, and a stop
//! signal ends a trial in flight within milliseconds. The events of a trial
//! are counted by where they come from, which is what names the field.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Event, World};
use crate::model::{Scope, System};
use crate::units::Micros;

/// What one trial may spend.
#[derive(Clone, Copy, Debug)]
pub struct TrialBudget<'a> {
    /// Events handled at most.
    pub max_events: u64,
    /// Wall time at most.
    pub max_time: Duration,
    /// Raised from outside (Ctrl-C, SIGTERM, a newer request): the trial
    /// ends at once, incomplete, and no error is made of it.
    pub stop: Option<&'a AtomicBool>,
}

/// Events of one trial at most by default: at ~10 M events/s, minutes.
pub const MAX_EVENTS: u64 = 1 << 32;
/// Wall time of one trial at most by default: a year of the largest fleet
/// replisim accepts takes well under a second; a minute means a runaway.
pub const MAX_TRIAL_TIME: Duration = Duration::from_secs(60);

impl Default for TrialBudget<'_> {
    fn default() -> Self {
        Self {
            max_events: MAX_EVENTS,
            max_time: MAX_TRIAL_TIME,
            stop: None,
        }
    }
}

impl TrialBudget<'_> {
    pub fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// The instant past which a trial started now is out of time.
    pub fn deadline(&self) -> Instant {
        let now = Instant::now();
        now.checked_add(self.max_time)
            .unwrap_or(now + MAX_TRIAL_TIME)
    }
}

/// Sources of events, in this order: each failure process, each outage
/// process, then the kinds below.
const REPAIR: usize = 0;
const REHOME: usize = 1;
const DETECTION: usize = 2;
const FAULT: usize = 3;
const HOUR: usize = 4;
const FAILOVER: usize = 5;
/// The end of the warm-up (one event a trial).
const MEASURE: usize = 6;
/// The key vault's outages.
const KEYS: usize = 7;
/// Correlated bursts (`[[burst]]`).
const BURST: usize = 8;
const KINDS: usize = 9;

/// Counts of a trial's events by source.
pub(super) fn new_counts(system: &System) -> Vec<u64> {
    vec![0; system.failures.len() + system.outages.len() + KINDS]
}

impl World<'_, '_> {
    /// Counts `event` under its source.
    #[inline(always)]
    pub(super) fn count(&mut self, event: &Event) {
        let failures = self.plan.system.failures.len();
        let kinds = failures + self.plan.system.outages.len();
        let source = match *event {
            Event::FleetFailure { process, .. }
            | Event::Failure { process, .. }
            | Event::Replaced { process, .. } => usize::from(process),
            Event::FleetOutage { process }
            | Event::Outage { process, .. }
            | Event::OutageEnd { process, .. } => failures + usize::from(process),
            Event::Repaired { .. } => kinds + REPAIR,
            Event::Rehomed { .. } | Event::Moved { .. } => kinds + REHOME,
            Event::MarkOut { .. } => kinds + DETECTION,
            Event::Fault { .. } | Event::FaultOver { .. } => kinds + FAULT,
            Event::Hour => kinds + HOUR,
            Event::Failover { .. } => kinds + FAILOVER,
            Event::Measure => kinds + MEASURE,
            Event::VaultOutage { .. } | Event::VaultBack { .. } => kinds + KEYS,
            Event::ErasureProbe { .. } => kinds + HOUR,
            Event::Burst { .. } | Event::BurstOver { .. } => kinds + BURST,
        };
        if let Some(n) = self.by_source.get_mut(source) {
            *n += 1;
        }
    }

    /// Why trial `trial` ran out of `what` (e.g. "its 60 s of wall time"):
    /// the scenario field most of its events came from, and what to check.
    ///
    /// Only sources that start chains of events count (failure and outage
    /// processes, faults, the hourly profile): repairs, re-homing and
    /// failover timers follow from them, and when each event is slow (an
    /// outage re-homing a zone's copies) the followers outnumber the cause.
    pub(super) fn runaway(&self, trial: u64, what: &str, events: u64, now: Micros) -> String {
        let system = self.plan.system;
        let kinds = system.failures.len() + system.outages.len();
        let is_root = |i: usize| i < kinds || [FAULT, HOUR, KEYS, BURST].contains(&(i - kinds));
        let (source, &n) = self
            .by_source
            .iter()
            .enumerate()
            .filter(|&(i, _)| is_root(i))
            .max_by_key(|&(i, n)| (n, std::cmp::Reverse(i)))
            .unwrap_or((0, &0));
        let roots: u64 = (0..self.by_source.len())
            .filter(|&i| is_root(i))
            .map(|i| self.by_source[i])
            .sum();
        let share = 100.0 * n as f64 / roots.max(1) as f64;
        let (field, hint) = source_field(system, source);
        format!(
            "trial {trial} ran out of {what} after {events} events, at {:.3} days of simulated time: \
             {share:.0}% of the failures, outages and faults that set them off came from `{field}`; {hint}",
            now as f64 / crate::units::DAY as f64
        )
    }
}

/// The scenario field behind event source `source`, and what to check there.
fn source_field(system: &System, source: usize) -> (String, &'static str) {
    let failures = system.failures.len();
    let outages = system.outages.len();
    let rate = "is its rate or time mistyped? (an `afr` of 1.57 is 157% a year; 1.57% is written \"1.57%\")";
    if source < failures {
        let level = system.failures[source].level.name();
        return (format!("failures.{level}"), rate);
    }
    if source < failures + outages {
        let scope = match system.outages[source - failures].scope {
            Scope::Component(level) => level.name(),
            Scope::Link => "link",
        };
        return (
            format!("outages.{scope}"),
            "is `between` (or `rate`) far too short?",
        );
    }
    match source - failures - outages {
        REPAIR => (
            "repair".into(),
            "do copies fail again faster than they are re-created?",
        ),
        REHOME | DETECTION => (
            "detection".into(),
            "are outages re-homing copies far too often?",
        ),
        FAULT => ("fault".into(), "are there very many scripted faults?"),
        HOUR => (
            "geo_replication.profile".into(),
            "is the write profile's multiplier implausibly large?",
        ),
        BURST => ("burst".into(), "is a burst's `rate` far too high?"),
        KEYS => (
            "keys.outages".into(),
            "is `rate` far too high, or `between` far too short?",
        ),
        _ => (
            "failover".into(),
            "are the failover delays implausibly short?",
        ),
    }
}
