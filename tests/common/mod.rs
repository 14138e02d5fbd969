//! Scenario text shared by the tests that check the simulator against exact
//! Markov chains.
// Each test file uses some of these.
#![allow(dead_code)]

pub mod http;

use replisim::estimate::{Durability, Method, RunConfig, estimate};
use replisim::exact::markov::RepairDiscipline;
use replisim::scenario;
use replisim::stats::{Z95, normal_quantile_two_sided};

/// The bundled scenario files, scenarios/*.toml, in name order.
pub fn bundled_scenarios() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the bundled scenarios, found {files:?}"
    );
    files
}

/// The factor that widens a reported 95% interval so that `n` intervals
/// cover their exact values together with 99% probability (Bonferroni:
/// z = Φ⁻¹(1 − 0.01/2n) instead of Φ⁻¹(0.975)).
pub fn bonferroni_99(n: u32) -> f64 {
    normal_quantile_two_sided(1.0 - 0.01 / f64::from(n)) / Z95
}

/// The first option's durability from `trials` trials of the scenario
/// `text` at `seed` under `method`.
pub fn first_durability(text: &str, seed: u64, trials: u64, method: Method) -> Durability {
    let s = scenario::parse("test.toml", text, "test").unwrap();
    let config = RunConfig {
        seed,
        trials,
        threads: 0,
        method,
    };
    estimate(&s, config)
        .unwrap()
        .options
        .swap_remove(0)
        .durability
}

/// The first option's P(object lost) and its 95% interval.
pub fn durability(text: &str, seed: u64, trials: u64, method: Method) -> (f64, [f64; 2]) {
    let d = first_durability(text, seed, trials, method);
    (d.loss_probability, d.ci95)
}

/// One extent of `copies` copies (lost once fewer than `needed` survive) in a
/// facility of 8 single-disk racks; only disks fail, with the
/// `[failures.disk]` body `lifetime`; exponential repairs of mean
/// `repair_mean`, no detection delay; a new fleet (`start = "new"`: the
/// chain's transient from all copies up).
pub fn replica_group(
    copies: u32,
    needed: u32,
    lifetime: &str,
    repair_mean: &str,
    discipline: RepairDiscipline,
    horizon: &str,
) -> String {
    let discipline = match discipline {
        RepairDiscipline::Parallel => "parallel",
        RepairDiscipline::OneAtATime => "one-at-a-time",
    };
    format!(
        r#"name = "markov-check"
options = []
detection = "0s"
horizon = "{horizon}"
start = "new"
[[custom]]
name = "group"
copies = {copies}
needed = {needed}
within = "facility"
spread = "rack"
[[region]]
name = "r"
zones = 1
facilities_per_zone = 1
racks_per_facility = 8
nodes_per_rack = 1
disks_per_node = 1
[data]
size = "1GB"
extent_size = "1GB"
[failures.disk]
{lifetime}
[repair]
time = {{ dist = "exponential", mean = "{repair_mean}" }}
discipline = "{discipline}"
"#
    )
}

/// All four standard options; disks and whole facilities fail, repairs are
/// exponential and immediate, a destroyed facility is back at once, and
/// nobody fails over (a lost primary group is re-seeded like any copy).
pub fn correlated(horizon: &str) -> String {
    format!(
        r#"
name = "exact"
horizon = "{horizon}"
start = "new"
detection = "0s"
options = ["LRS", "ZRS", "GRS", "GZRS"]
[failures.disk]
afr = 0.0157
[failures.facility]
afr = 0.001
replace = "0s"
[repair]
time = {{ dist = "exponential", mean = "1d" }}
[failover]
policy = "none"
"#
    )
}
