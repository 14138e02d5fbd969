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
use replisim::model::world::Plan;
use replisim::scenario;

/// 500 nodes (50 racks of 10, one disk each) in one facility, no random
/// failures, 5% of the nodes destroyed at once an hour in.
const SCENARIO: &str = r#"
start = "new"
horizon = "1d"
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
"#;

fn choose(n: u64, k: u64) -> f64 {
    (0..k).map(|i| (n - i) as f64 / (k - i) as f64).product()
}

#[test]
fn a_burst_of_5_percent_matches_the_copysets_closed_form() {
    let s = scenario::from_source("copysets.toml", SCENARIO).unwrap();
    let seed = 11;
    let plan = Plan::new(&s.system, seed).unwrap();
    let topo = &s.system.topology;
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
        let m = sets.len() as f64;
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
