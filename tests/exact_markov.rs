//! The simulator against exact answers: for exponential disk failures and
//! exponential repairs, a replica group is a birth–death Markov chain whose
//! P(loss by T) the `markov` module computes by uniformization. The
//! simulator's reported 95% interval must cover it.

use replisim::estimate::{Method, RunConfig, estimate};
use replisim::exact::markov::{RepairDiscipline, replica_group};
use replisim::scenario;

mod common;

/// A replica group under test: copies, copies needed, repair discipline.
#[derive(Clone, Copy)]
struct Group {
    copies: u32,
    needed: u32,
    discipline: RepairDiscipline,
}

const fn plain(copies: u32) -> Group {
    Group {
        copies,
        needed: 1,
        discipline: RepairDiscipline::Parallel,
    }
}

fn scenario_text(g: Group, lifetime: &str, repair_mean: &str) -> String {
    common::replica_group(
        g.copies,
        g.needed,
        lifetime,
        repair_mean,
        g.discipline,
        "1y",
    )
}

/// Runs the scenario and checks the exact value lies in the reported CI.
fn check(g: Group, lifetime: &str, rate_per_year: f64, repair_days: f64, seed: u64) {
    let text = scenario_text(g, lifetime, &format!("{repair_days}d"));
    let s = scenario::parse("markov.toml", &text, "markov").unwrap();
    let config = RunConfig {
        seed,
        trials: 40_000,
        threads: 0,
        method: Method::Plain,
    };
    let summary = estimate(&s, config).unwrap();
    let d = &summary.options[0].durability;
    let mu = 365.25 / repair_days;
    let chain = replica_group(g.copies, g.needed, rate_per_year, mu, g.discipline).unwrap();
    let exact = chain.loss_probability(1.0).unwrap().probability;
    println!(
        "{} of {} copies: exact {exact:.5e}, simulated {:.5e} {:?}",
        g.needed, g.copies, d.loss_probability, d.ci95
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
    check(plain(3), "afr = 2.0", 2.0, 7.0, 1);
}

#[test]
fn two_copies_exponential_lifetimes_fleet_clock() {
    check(plain(2), "afr = 0.5", 0.5, 14.0, 2);
}

#[test]
fn three_copies_per_component_clocks() {
    // A Weibull of shape 1 is exponential, but runs on per-component clocks.
    check(
        plain(3),
        "lifetime = { dist = \"weibull\", shape = 1.0, mean = \"0.5y\" }",
        2.0,
        7.0,
        3,
    );
}

#[test]
fn three_copies_repaired_one_at_a_time() {
    let g = Group {
        discipline: RepairDiscipline::OneAtATime,
        ..plain(3)
    };
    check(g, "afr = 2.0", 2.0, 10.0, 4);
}

#[test]
fn two_of_four_copies_needed() {
    let g = Group {
        needed: 2,
        ..plain(4)
    };
    check(g, "afr = 3.0", 3.0, 10.0, 5);
}
