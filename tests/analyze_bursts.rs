//! `replisim analyze` solves bursts (`[[burst]]`, destroying): a burst
//! strikes a random count of the nodes below its scope, and the chain
//! moves from the live copies to those left with the exact chance of each
//! pattern. Checked against an independent chain built here by hand (the
//! count of live copies; the count law integrated numerically over the
//! share), and against the fleet simulation.

use replisim::estimate::Method;
use replisim::exact::analyze::analyze;
use replisim::scenario;

mod common;

/// Three copies on distinct racks of a facility of 10 racks × 5 nodes;
/// only bursts destroy them: 2 a year, each striking a share of the 50
/// nodes uniform over 10–30%; each lost copy is re-created after an
/// exponential 10 days. A new fleet, a year.
const TEXT: &str = r#"
name = "bursts"
horizon = "1y"
start = "new"
options = []
detection = "0s"
[[region]]
name = "westeurope"
[topology]
zones = 1
facilities_per_zone = 1
racks_per_facility = 10
nodes_per_rack = 5
disks_per_node = 1
[data]
size = "200GB"
[failures.disk]
afr = 0
[repair]
time = { dist = "exponential", mean = "10d" }
[[custom]]
name = "random"
copies = 3
[[burst]]
rate = 2
scope = "facility"
kind = "destroyed"
fraction = 0.1
fraction_max = 0.3
"#;

const NODES: u32 = 50;

fn choose(n: u32, k: u32) -> f64 {
    if k > n {
        return 0.0;
    }
    (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1))
}

/// P(count = c) for a share uniform over 0.1–0.3 of 50 nodes, rounded:
/// by the midpoint rule over a million shares, independent of
/// `BurstSize::count_law`.
fn count_law() -> Vec<f64> {
    let steps = 1_000_000;
    let mut law = vec![0.0; NODES as usize + 1];
    for i in 0..steps {
        let share = 0.1 + 0.2 * (f64::from(i) + 0.5) / f64::from(steps);
        let c = ((share * f64::from(NODES)).round() as usize).clamp(1, NODES as usize);
        law[c] += 1.0 / f64::from(steps);
    }
    law
}

/// P(loss within a year) of the chain on the number of live copies
/// (3, 2, 1, lost), by uniformization: a burst takes `s` of the `m` live
/// copies' nodes with rate 2·C(m, s)·Σ_c P(c)·C(50 − m, c − s)/C(50, c),
/// each lost copy comes back at rate 365.25/10 a year.
fn independent_chain() -> f64 {
    let law = count_law();
    let (burst, mu) = (2.0, 365.25 / 10.0);
    // q[i][j], states 0..=3 as live copies 3, 2, 1, 0 (lost, absorbing).
    let mut q = [[0.0f64; 4]; 4];
    for live in 1..=3u32 {
        let from = (3 - live) as usize;
        for s in 1..=live {
            // Fewer than s struck cannot take s copies.
            let p: f64 = (s..=NODES)
                .map(|c| law[c as usize] * choose(NODES - live, c - s) / choose(NODES, c))
                .sum();
            let to = (3 - (live - s)) as usize;
            q[from][to] += burst * choose(live, s) * p;
        }
        if live < 3 {
            q[from][from - 1] += f64::from(3 - live) * mu;
        }
    }
    for (i, row) in q.iter_mut().enumerate() {
        let out: f64 = row.iter().sum();
        row[i] = -out;
    }
    let lambda = (0..4).map(|i| -q[i][i]).fold(0.0, f64::max) * 1.01;
    let mut p = [[0.0f64; 4]; 4];
    for i in 0..4 {
        for j in 0..4 {
            p[i][j] = q[i][j] / lambda + if i == j { 1.0 } else { 0.0 };
        }
    }
    // v(t) = Σ_k e^{−Λt}(Λt)^k/k! · v0·P^k, t = 1 year.
    let mut v = [1.0, 0.0, 0.0, 0.0];
    let (mut weight, mut total) = ((-lambda).exp(), [0.0f64; 4]);
    for k in 0..20_000 {
        for j in 0..4 {
            total[j] += weight * v[j];
        }
        let mut next = [0.0; 4];
        for i in 0..4 {
            for j in 0..4 {
                next[j] += v[i] * p[i][j];
            }
        }
        v = next;
        weight *= lambda / f64::from(k + 1);
    }
    total[3]
}

#[test]
fn analyze_solves_bursts_as_the_independent_chain_does() {
    let s = scenario::parse("bursts.toml", TEXT, "bursts").unwrap();
    let exact = &analyze(&s.system).unwrap()[0];
    let by_hand = independent_chain();
    println!(
        "analyze {} (± {}), by hand {by_hand}",
        exact.loss_probability, exact.error_bound
    );
    assert!(
        (exact.loss_probability - by_hand).abs() <= 1e-9 * by_hand,
        "analyze {} vs {by_hand}",
        exact.loss_probability
    );
}

#[test]
fn the_fleet_meets_analyze_under_bursts() {
    let s = scenario::parse("bursts.toml", TEXT, "bursts").unwrap();
    let exact = analyze(&s.system).unwrap()[0].loss_probability;
    let (p, ci) = common::durability(TEXT, 1, 4000, Method::Plain);
    println!("fleet {p} {ci:?}, exact {exact}");
    assert!(
        ci[0] <= exact && exact <= ci[1],
        "fleet {p} {ci:?} vs {exact}"
    );
}

#[test]
fn analyze_refuses_what_its_chain_does_not_follow() {
    let outage = TEXT.replace("kind = \"destroyed\"", "kind = \"down\"\nduration = \"1h\"");
    let racks = TEXT.replace(
        "scope = \"facility\"",
        "scope = \"facility\"\nlevel = \"rack\"",
    );
    for (text, field) in [(outage, "burst[0].kind"), (racks, "burst[0].level")] {
        let s = scenario::parse("bursts.toml", &text, "bursts").unwrap();
        let e = analyze(&s.system).unwrap_err();
        assert_eq!(e.field, field, "{e:?}");
    }
}
