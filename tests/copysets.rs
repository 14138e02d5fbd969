//! The Copysets result (Cidon et al., ATC 2013): a burst destroying F of
//! the N nodes at once loses data exactly when every node of some *used*
//! copyset (the node set holding one extent's R copies) is among the F.
//! Each R-set is struck with probability C(F,R)/C(N,R), so with M distinct
//! sets in use P(any loss) ≈ 1 − (1 − C(F,R)/C(N,R))^M (the sets' events
//! are nearly independent when disjoint or few). Random placement uses
//! about one set per extent; copyset placement with scatter width 2 uses
//! about N/R, so it loses data far less often. M is counted from the
//! run's actual placement, and the closed form must lie in the reported
//! 95% interval of P(any loss).

use std::collections::HashSet;

use replisim::estimate::{Method, RunConfig, estimate};
use replisim::model::Level;
use replisim::model::placement::Placement;
use replisim::model::world::Plan;
use replisim::scenario;

mod common;

/// 500 nodes (50 racks of 10, one disk each) in one facility, no random
/// failures, 2,000 extents of `random` placement; top-level fields go
/// before it.
const FLEET: &str = r#"
start = "new"
options = []
[topology]
zones = 1
facilities_per_zone = 1
racks_per_facility = 50
nodes_per_rack = 10
disks_per_node = 1
[data]
size = "2000GB"
[failures.disk]
afr = 0
[[custom]]
name = "random"
copies = 3
"#;

/// The fleet for a day, with a copyset option beside the random one, and
/// 5% of the nodes destroyed at once an hour in.
fn one_burst() -> String {
    "horizon = \"1d\"".to_string()
        + FLEET
        + r#"
[[custom]]
name = "copyset"
copies = 3
placement = "copyset"
scatter_width = 2
[[fault]]
at = "1h"
level = "node"
target = "westeurope/1/1"
kind = "destroyed"
fraction = 0.05
"#
}

/// The distinct node sets holding an extent's copies under `placement`.
fn sets_in_use(s: &scenario::Scenario, placement: &Placement) -> usize {
    let topo = &s.system.topology;
    let sets: HashSet<Vec<u32>> = (0..s.system.extents)
        .map(|e| {
            let mut nodes: Vec<u32> = placement
                .extent(e)
                .iter()
                .map(|&d| topo.ancestor(d, Level::Node))
                .collect();
            nodes.sort_unstable();
            nodes
        })
        .collect();
    sets.len()
}

fn choose(n: u64, k: u64) -> f64 {
    (0..k).map(|i| (n - i) as f64 / (k - i) as f64).product()
}

#[test]
fn a_burst_of_5_percent_matches_the_copysets_closed_form() {
    let s = scenario::from_source("copysets.toml", &one_burst()).unwrap();
    let seed = 11;
    let plan = Plan::new(&s.system, seed).unwrap();
    let (n, f, r) = (500u64, 25u64, 3u64);
    let p_set = choose(f, r) / choose(n, r);
    let config = RunConfig {
        seed,
        trials: 4000,
        threads: 0,
        method: Method::RareEvent,
    };
    let summary = estimate(&s, config).unwrap();
    let mut used = Vec::new();
    for (k, placement) in plan.placements.iter().enumerate() {
        let m = sets_in_use(&s, placement) as f64;
        used.push(m);
        let closed = 1.0 - (1.0 - p_set).powf(m);
        let d = &summary.options[k].durability;
        let [lo, hi] = d.any_loss_ci95;
        println!(
            "{}: {m} sets used, closed form {closed:.5}, estimate {:.5} [{lo:.5}, {hi:.5}]",
            s.system.options[k].name, d.any_loss_probability
        );
        assert!(
            lo <= closed && closed <= hi,
            "closed form outside the interval"
        );
    }
    // Random placement uses about one set per extent; copysets at most N/R.
    assert!(used[0] > 1900.0 && used[1] <= (n / r) as f64, "{used:?}");
}

/// The same fleet under a burst *process*: once a year on average, 5% of
/// the facility's nodes destroyed at once, their copies rebuilt within
/// hours and the nodes replaced within days (so bursts are independent).
/// Bursts are Poisson(r·H) and each loses data with the one-burst chance
/// q, so P(any loss) = 1 − exp(−r·H·q).
#[test]
fn a_burst_process_loses_data_at_its_rate_times_the_chance_of_one_burst() {
    let text = "horizon = \"1y\"".to_string()
        + FLEET
        + r#"
[[region]]
name = "westeurope"
[[burst]]
rate = 1
scope = "facility"
kind = "destroyed"
fraction = 0.05
"#;
    let s = scenario::from_source("burst-process.toml", &text).unwrap();
    assert_eq!(s.system.bursts.len(), 1);
    assert!(s.system.faults.is_empty());
    let (n, f, r) = (500u64, 25u64, 3u64);
    let seeds = [1u64, 2, 3];
    let widen = common::bonferroni_99(seeds.len() as u32);
    for seed in seeds {
        let plan = Plan::new(&s.system, seed).unwrap();
        let m = sets_in_use(&s, &plan.placements[0]) as f64;
        let q = 1.0 - (1.0 - choose(f, r) / choose(n, r)).powf(m);
        let closed = 1.0 - (-q).exp();
        let config = RunConfig {
            seed,
            trials: 4000,
            threads: 0,
            method: Method::Plain,
        };
        let d = &estimate(&s, config).unwrap().options[0].durability;
        let p = d.any_loss_probability;
        let [lo, hi] = d.any_loss_ci95;
        let half = (hi - lo) / 2.0 * widen;
        println!("seed {seed}: closed form {closed:.5}, estimate {p:.5} [{lo:.5}, {hi:.5}]");
        assert!(
            (p - closed).abs() <= half,
            "seed {seed}: {p} vs {closed} ± {half}"
        );
    }
}

/// P(object lost) under a burst process, by the rare-event method: a burst
/// strikes an extent's three nodes with the hypergeometric chance
/// q = C(F,3)/C(N,3) whatever the placement, and the group model counts
/// that chance at each burst (conditional Monte Carlo) rather than
/// waiting to draw it, so a rate of 1e-3 a year (P ≈ 1.1e-7, never seen
/// by 400 fleet trials of 2,000 extents) is met as well as 1 a year.
/// Copies struck short of all three are rebuilt within hours, and bursts
/// come a year apart on average: P(loss in H) = 1 − exp(−r·H·q).
#[test]
fn the_rare_event_method_meets_the_burst_process_closed_form_down_to_rare_bursts() {
    let (n, f, r) = (500u64, 25u64, 3u64);
    let q = choose(f, r) / choose(n, r);
    let seeds = [1u64, 2, 3];
    let widen = common::bonferroni_99(2 * seeds.len() as u32);
    for rate in [1.0, 1e-3] {
        let text = "horizon = \"1y\"".to_string()
            + FLEET
            + &format!(
                "[[region]]\nname = \"westeurope\"\n[[burst]]\nrate = {rate}\nscope = \"facility\"\nkind = \"destroyed\"\nfraction = 0.05\n"
            );
        let s = scenario::from_source("burst-process.toml", &text).unwrap();
        let closed = -(-rate * q).exp_m1();
        for seed in seeds {
            let config = RunConfig {
                seed,
                trials: 400,
                threads: 0,
                method: Method::RareEvent,
            };
            let o = &estimate(&s, config).unwrap().options[0];
            let d = &o.durability;
            let half = (d.ci95[1] - d.ci95[0]) / 2.0 * widen;
            println!(
                "rate {rate}, seed {seed}: closed form {closed:.5e}, estimate {:.5e} [{:.5e}, {:.5e}]",
                d.loss_probability, d.ci95[0], d.ci95[1]
            );
            assert!(
                o.warnings.iter().all(|w| !w.contains("plain Monte Carlo")),
                "{:?}",
                o.warnings
            );
            assert!(d.reliable, "{d:?}");
            assert!(
                (d.loss_probability - closed).abs() <= half,
                "{} vs {closed} ± {half}",
                d.loss_probability
            );
        }
    }
}

/// A burst rate the rare-event method's group trials cannot follow is
/// refused before any trial, naming the field and the way out.
#[test]
fn a_burst_rate_past_what_group_trials_follow_is_refused_by_field() {
    let text = "horizon = \"1d\"".to_string()
        + FLEET
        + "[[region]]\nname = \"westeurope\"\n[[burst]]\nrate = 1e7\nscope = \"facility\"\nkind = \"destroyed\"\ncount = 1\nreplace = \"0s\"\n";
    let s = scenario::from_source("burst-rate.toml", &text).unwrap();
    let config = RunConfig {
        seed: 1,
        trials: 2,
        threads: 0,
        method: Method::RareEvent,
    };
    let e = estimate(&s, config).unwrap_err();
    assert!(e.starts_with("burst[0].rate: "), "{e}");
    assert!(e.contains("--method plain"), "{e}");
}
