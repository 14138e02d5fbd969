//! Outages, scripted faults, geo-replication and failover, against exact
//! expectations: what a scripted disaster must do to each option, and the
//! availability of a single up/down component against μ/(λ+μ).

use replisim::estimate::{Method, RunConfig, Summary, estimate};
use replisim::model::Level;
use replisim::model::world::{Plan, TrialOutcome};
use replisim::scenario::{self, Scenario};
use replisim::units::{HOUR, SECOND, YEAR};

fn parse(text: &str) -> Scenario {
    scenario::parse("t.toml", text, "t").unwrap_or_else(|e| panic!("{e}"))
}

fn run(s: &Scenario, seed: u64, trials: u64) -> Summary {
    let config = RunConfig {
        seed,
        trials,
        threads: 1,
        // Exact expectations about what a scripted trace did: the fleet
        // simulation itself, not an estimate of rare losses.
        method: Method::Plain,
    };
    estimate(s, config).unwrap()
}

/// Two small paired regions of three one-datacenter zones, no random
/// failures: only what the test scripts happens.
const BASE: &str = r#"
[[region]]
name = "westeurope"
pair = "northeurope"
[[region]]
name = "northeurope"
pair = "westeurope"
[topology]
racks_per_facility = 4
nodes_per_rack = 2
disks_per_node = 2
[data]
size = "300GB"
[failures.disk]
afr = 0
[repair]
time = "1h"
"#;

/// Extents of option `k` with a copy in component `c` of `level`.
fn extents_in(plan: &Plan, k: usize, level: Level, c: u32) -> Vec<u32> {
    let topo = &plan.system.topology;
    (0..plan.system.extents)
        .filter(|&e| {
            let copies = plan.placements[k].extent(e);
            copies.iter().any(|&d| topo.ancestor(d, level) == c)
        })
        .collect()
}

fn trials(s: &Scenario, seed: u64, n: u64) -> Vec<TrialOutcome> {
    let plan = Plan::new(&s.system, seed).unwrap();
    (0..n).map(|t| plan.run_trial(t)).collect()
}

#[test]
fn a_scripted_region_loss_loses_exactly_lag_times_rate() {
    let text = format!(
        r#"options = ["LRS", "ZRS", "GRS", "GZRS", "RA-GRS"]
{BASE}
[[fault]]
at = "100d"
level = "region"
target = "westeurope"
kind = "destroyed"
[geo_replication]
write_rate = "1MB/s"
bandwidth = "100MB/s"
latency = "30s"
[failover]
after = "1h"
duration = "1h"
"#
    );
    let s = parse(&text);
    let extents = s.system.extents;
    for outcome in trials(&s, 7, 8) {
        let [lrs, zrs, geo @ ..] = &outcome.options[..] else {
            panic!("five options")
        };
        assert_eq!(lrs.lost_extents, extents, "LRS loses everything");
        assert_eq!(zrs.lost_extents, extents, "ZRS loses everything");
        for o in geo {
            assert_eq!(o.lost_extents, 0);
            let [f] = &o.account.failovers[..] else {
                panic!("one failover: {:?}", o.account.failovers)
            };
            // The link kept up: the backlog is the last 30 s of writes.
            assert_eq!(f.bytes_lost, 30.0 * 1e6, "lag × rate");
            assert_eq!(f.rpo, 30 * SECOND);
            assert_eq!(f.rto, Some(2 * HOUR), "an hour's wait, an hour's failover");
        }
    }
    let summary = run(&s, 7, 8);
    let grs = &summary.options[2];
    let f = grs.failover.as_ref().unwrap();
    assert_eq!(f.count_per_year, 1.0);
    let rpo = f.rpo_seconds.as_ref().unwrap();
    assert_eq!(
        (rpo.p50, rpo.p99, rpo.max, rpo.mean),
        (30.0, 30.0, 30.0, 30.0)
    );
    assert_eq!(f.bytes_lost_per_year.mean, 30e6);
    let lag = grs
        .geo_replication
        .as_ref()
        .unwrap()
        .lag_seconds
        .as_ref()
        .unwrap();
    // 30 s, until the disaster freezes replication for the hour before the
    // failover starts.
    assert_eq!((lag.p50, lag.max), (30.0, 3630.0));
    // RA-GRS reads the secondary until the failover starts: an hour less.
    let down = |k: usize| {
        summary.options[k]
            .availability
            .read
            .unavailable_minutes_per_year
    };
    assert_eq!(YEAR / 60_000_000, 525_960, "minutes in a year");
    assert!((down(2) - 120.0).abs() < 1e-6, "{}", down(2));
    assert!(
        (down(2) - down(4) - 60.0).abs() < 1e-6,
        "{} {}",
        down(2),
        down(4)
    );
}

#[test]
fn a_zone_outage_leaves_zrs_as_available_as_its_surviving_zones() {
    let text = format!(
        r#"options = ["LRS", "ZRS", "GZRS"]
{BASE}
[[fault]]
at = "30d"
level = "zone"
target = "westeurope/2"
kind = "down"
duration = "6h"
"#
    );
    let s = parse(&text);
    let plan = Plan::new(&s.system, 3).unwrap();
    let zone = 1; // westeurope/2
    let lrs_there = extents_in(&plan, 0, Level::Zone, zone).len() as u128;
    assert!(lrs_there > 0);
    for outcome in (0..4).map(|t| plan.run_trial(t)) {
        let [lrs, zrs, gzrs] = &outcome.options[..] else {
            panic!("three options")
        };
        // Two zones up hold a copy of every ZRS extent: nothing unavailable.
        for o in [zrs, gzrs] {
            assert_eq!((o.account.unreadable, o.account.unwritable), (0, 0));
            assert_eq!(o.lost_extents, 0);
        }
        // Every LRS extent of the dark zone, for exactly six hours.
        let six_hours = u128::from(6 * HOUR);
        assert_eq!(lrs.account.unreadable, lrs_there * six_hours);
        assert_eq!(lrs.account.unwritable, lrs_there * six_hours);
        assert_eq!(lrs.lost_extents, 0, "an outage destroys nothing");
    }
}

#[test]
fn a_facility_destruction_loses_all_lrs_data_there_and_none_of_zrs_gzrs() {
    let text = format!(
        r#"options = ["LRS", "ZRS", "GZRS", "GRS"]
{BASE}
[[fault]]
at = "10d"
level = "facility"
target = "westeurope/1/1"
kind = "destroyed"
"#
    );
    let s = parse(&text);
    let plan = Plan::new(&s.system, 5).unwrap();
    let lrs_there = extents_in(&plan, 0, Level::Facility, 0);
    assert!(!lrs_there.is_empty());
    for outcome in (0..4).map(|t| plan.run_trial(t)) {
        let o = &outcome.options;
        assert_eq!(
            o[0].lost_extents as usize,
            lrs_there.len(),
            "all LRS data there"
        );
        assert_eq!(
            (o[1].lost_extents, o[2].lost_extents, o[3].lost_extents),
            (0, 0, 0)
        );
        assert_eq!(o[3].account.failovers.len(), 1, "GRS needs a failover");
        assert!(o[2].account.failovers.is_empty(), "GZRS does not");
    }
    // With its region a single datacenter, LRS loses every extent.
    let single = "options = [\"LRS\"]\n[[region]]\nname = \"solo\"\nzones = 1\n[topology]\nracks_per_facility = 3\nnodes_per_rack = 1\ndisks_per_node = 2\n[data]\nsize = \"50GB\"\n[failures.disk]\nafr = 0\n[[fault]]\nat = \"1d\"\nlevel = \"facility\"\ntarget = \"solo/1/1\"\nkind = \"destroyed\"\n";
    let s = parse(single);
    let outcome = Plan::new(&s.system, 1).unwrap().run_trial(0);
    assert_eq!(outcome.options[0].lost_extents, s.system.extents);
}

#[test]
fn ra_grs_reads_at_least_as_well_as_grs_in_every_seeded_run() {
    let text = format!(
        r#"options = ["GRS", "RA-GRS", "GZRS", "RA-GZRS"]
{BASE}
[outages.region]
rate = 3
duration = {{ dist = "lognormal", median = "3h", sigma = 1.0 }}
[outages.zone]
rate = 4
duration = {{ dist = "exponential", mean = "2h" }}
[outages.link]
rate = 12
duration = "20m"
[failures.region]
afr = 0.3
"#
    );
    let s = parse(&text);
    let mut strictly = 0;
    for seed in 1..=6 {
        let summary = run(&s, seed, 48);
        for (plain, ra) in [(0, 1), (2, 3)] {
            let read = |k: usize| summary.options[k].availability.read.fraction;
            assert!(
                read(ra) >= read(plain),
                "seed {seed}: {} < {}",
                read(ra),
                read(plain)
            );
            strictly += usize::from(read(ra) > read(plain));
            let write = |k: usize| summary.options[k].availability.write.fraction;
            assert_eq!(write(ra), write(plain), "RA changes reads only");
        }
    }
    assert!(strictly > 0, "the secondary must sometimes help");
}

#[test]
fn single_component_availability_matches_mu_over_lambda_plus_mu() {
    // One disk in one facility whose outages come at λ = 20/year and last
    // an exponential 2 days (μ = 182.625/year).
    let text = r#"
options = []
horizon = "10y"
[[custom]]
name = "single"
copies = 1
[[region]]
name = "solo"
zones = 1
racks_per_facility = 1
nodes_per_rack = 1
disks_per_node = 1
[data]
size = "1GB"
[failures.disk]
afr = 0
[outages.facility]
rate = 20
duration = { dist = "exponential", mean = "2d" }
"#;
    let s = parse(text);
    let summary = run(&s, 1, 2000);
    let read = &summary.options[0].availability.read;
    let (lambda, mu): (f64, f64) = (20.0, 365.25 / 2.0);
    let steady = mu / (lambda + mu);
    // Starting up, a finite horizon sees slightly more availability.
    let t: f64 = 10.0;
    let exact = steady + lambda / ((lambda + mu).powi(2) * t) * (1.0 - (-(lambda + mu) * t).exp());
    for expected in [steady, exact] {
        assert!(
            read.ci95[0] <= expected && expected <= read.ci95[1],
            "{expected} outside {:?} (estimate {})",
            read.ci95,
            read.fraction
        );
    }
    assert_eq!(read, &summary.options[0].availability.write);
}

/// One facility holding all of LRS's data: down for 10 days from day 50
/// (nowhere to re-create its copies), destroyed at day 200. Reads fail for
/// 10 + 165 of the 365 days; of the data not lost, for 10 of the 200 days
/// it existed.
#[test]
fn availability_of_the_data_kept_leaves_out_the_time_after_its_loss() {
    let s = parse(
        r#"
start = "new"
horizon = "365d"
options = ["LRS"]
[[region]]
name = "westeurope"
[topology]
zones = 1
facilities_per_zone = 1
racks_per_facility = 4
nodes_per_rack = 2
disks_per_node = 2
[data]
size = "20GB"
[failures.disk]
afr = 0
[[fault]]
at = "50d"
level = "facility"
target = "westeurope/1/1"
kind = "down"
duration = "10d"
[[fault]]
at = "200d"
level = "facility"
target = "westeurope/1/1"
kind = "destroyed"
"#,
    );
    let summary = run(&s, 1, 3);
    let a = &summary.options[0].availability;
    let close = |x: f64, y: f64| (x - y).abs() < 1e-12;
    assert!(close(a.read.fraction, 1.0 - 175.0 / 365.0), "{a:?}");
    assert!(
        close(a.read_of_kept_data.fraction, 1.0 - 10.0 / 200.0),
        "{a:?}"
    );
    assert_eq!(summary.options[0].durability.trials_with_loss, 3);
}
