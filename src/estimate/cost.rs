//! What a run will cost, before it starts: the expected events of one
//! trial from the scenario's rates, so that a run of hours or days (a
//! trial count or a rate mistyped by orders of magnitude) is caught up
//! front and run only when asked for.

use crate::model::{Scope, System};
use crate::units::HOUR;

/// Events above which a run asks for confirmation: about an hour on a
/// laptop core (a trial handles 1–10 M events per second).
pub const CONFIRM_EVENTS: f64 = 2e10;

/// Expected events of one fleet trial: each failure (and the replacement
/// of the failed component) with the repairs of the copies it held, each
/// outage's start and end, and the hourly profile's steps. Within a small
/// factor of what the trials handle (scenario, failover and rare-event
/// events are left out).
pub fn events_per_trial(system: &System) -> f64 {
    let topo = &system.topology;
    let horizon = system.horizon as f64;
    let copies: f64 = system
        .options
        .iter()
        .map(|o| f64::from(o.copies()) * f64::from(system.extents))
        .sum();
    let copies_per_disk = copies / f64::from(topo.disks().max(1));
    let failures: f64 = system
        .failures
        .iter()
        .map(|f| {
            let n = f64::from(topo.count(f.level));
            let disks_each = f64::from(topo.disks()) / n.max(1.0);
            let per_component = horizon / f.lifetime.mean().max(1.0);
            n * per_component * (2.0 + copies_per_disk * disks_each)
        })
        .sum();
    let outages: f64 = system
        .outages
        .iter()
        .map(|o| {
            let n = match o.scope {
                Scope::Component(level) => f64::from(topo.count(level)),
                Scope::Link => topo.regions.len() as f64 / 2.0,
            };
            let cycle = (o.between.mean() + o.duration.mean()).max(1.0);
            2.0 * n * horizon / cycle
        })
        .sum();
    let hours = if system.geo.diurnal() {
        horizon / HOUR as f64
    } else {
        0.0
    };
    failures + outages + hours
}

/// Expected events of `trials` trials, and whether that is past
/// [`CONFIRM_EVENTS`].
pub fn run_events(system: &System, trials: u64) -> (f64, bool) {
    let events = events_per_trial(system) * trials as f64;
    (events, events > CONFIRM_EVENTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;

    /// The bundled scenarios' events per trial, as their committed
    /// results count them, against the estimate.
    #[test]
    fn the_estimate_is_within_a_small_factor_of_the_bundled_runs() {
        let root = env!("CARGO_MANIFEST_DIR");
        for name in ["default", "grs", "region-disaster", "zone-outage"] {
            let path = format!("{root}/scenarios/{name}.toml");
            let s = scenario::load(std::path::Path::new(&path)).unwrap();
            let summary = std::fs::read_to_string(format!("{root}/results/{name}/summary.json"));
            let summary: serde_json::Value = serde_json::from_str(&summary.unwrap()).unwrap();
            let measured =
                summary["events"].as_f64().unwrap() / summary["trials"].as_f64().unwrap();
            let ratio = events_per_trial(&s.system) / measured;
            assert!(
                (0.25..4.0).contains(&ratio),
                "{name}: {ratio} of {measured}"
            );
        }
    }
}
