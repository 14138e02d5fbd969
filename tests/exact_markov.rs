//! The simulator against exact answers: for exponential disk failures and
//! exponential repairs, a replica group is a birth–death Markov chain whose
//! P(loss by T) the `markov` module computes by uniformization. The
//! simulator's reported 95% interval must cover it.

use replisim::estimate::{RunConfig, estimate};
use replisim::markov::{RepairDiscipline, replica_group};
use replisim::scenario;

/// One extent of `copies` copies in a facility of 8 single-disk racks;
/// only disks fail. `lifetime` is the [failures.disk] body.
fn scenario_text(copies: u32, lifetime: &str, repair_mean: &str) -> String {
    format!(
        r#"name = "markov-check"
options = []
detection = "0s"
[[custom]]
name = "group"
copies = {copies}
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
"#
    )
}

/// Runs the scenario and checks the exact value lies in the reported CI.
fn check(copies: u32, lifetime: &str, rate_per_year: f64, repair_days: f64, seed: u64) {
    let text = scenario_text(copies, lifetime, &format!("{repair_days}d"));
    let s = scenario::parse("markov.toml", &text, "markov").unwrap();
    let config = RunConfig {
        seed,
        trials: 40_000,
        threads: 0,
    };
    let summary = estimate(&s, config).unwrap();
    let d = &summary.options[0].durability;
    let mu = 365.25 / repair_days;
    let chain = replica_group(copies, 1, rate_per_year, mu, RepairDiscipline::Parallel).unwrap();
    let exact = chain.loss_probability(1.0).unwrap().probability;
    println!(
        "{copies} copies: exact {exact:.5e}, simulated {:.5e} {:?}",
        d.loss_probability, d.ci95
    );
    assert!(
        d.ci95[0] <= exact && exact <= d.ci95[1],
        "exact {exact:e} outside the reported 95% CI {:?} (estimate {:e})",
        d.ci95,
        d.loss_probability
    );
    // The interval is informative, not vacuous.
    assert!(d.relative_error.unwrap() < 0.2, "{d:?}");
}

#[test]
fn three_copies_exponential_lifetimes_fleet_clock() {
    check(3, "afr = 2.0", 2.0, 7.0, 1);
}

#[test]
fn two_copies_exponential_lifetimes_fleet_clock() {
    check(2, "afr = 0.5", 0.5, 14.0, 2);
}

#[test]
fn three_copies_per_component_clocks() {
    // A Weibull of shape 1 is exponential, but runs on per-component clocks.
    check(
        3,
        "lifetime = { dist = \"weibull\", shape = 1.0, mean = \"0.5y\" }",
        2.0,
        7.0,
        3,
    );
}
