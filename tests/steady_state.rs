//! "Per year" means a year of a fleet in operation: by default a warm-up is
//! simulated before the measured horizon, so the degraded backlog is that
//! of a running fleet; `start = "new"` measures a new fleet from its start.
//! For an exponential replica group both are Markov chains: steady state is
//! P(loss by warm-up + T) − P(loss by warm-up) from all copies up (the
//! chain's rate once stationary), new is the transient P(loss by T). The
//! case is chosen so the two differ by a factor of ~2: two copies, a repair
//! as long as the horizon.

use replisim::estimate::Method;
use replisim::exact::markov::{RepairDiscipline, replica_group};
use replisim::scenario;

mod common;

const AFR: f64 = 0.5;
const REPAIR_DAYS: f64 = 30.0;
const HORIZON_DAYS: f64 = 30.0;
const WARMUP_DAYS: f64 = 365.0;

fn text(start: &str) -> String {
    common::replica_group(
        2,
        1,
        &format!("afr = {AFR}"),
        &format!("{REPAIR_DAYS}d"),
        RepairDiscipline::Parallel,
        &format!("{HORIZON_DAYS}d"),
    )
    .replace("start = \"new\"", &format!("start = \"{start}\""))
}

/// P(loss by `days`) of the chain, from both copies up.
fn chain_by(days: f64) -> f64 {
    let chain = replica_group(2, 1, AFR, 365.25 / REPAIR_DAYS, RepairDiscipline::Parallel).unwrap();
    chain.loss_probability(days / 365.25).unwrap().probability
}

/// (estimate, 95% interval) of P(object lost) for `start` under `method`.
fn simulate(start: &str, method: Method, trials: u64) -> (f64, [f64; 2]) {
    common::durability(&text(start), 3, trials, method)
}

#[test]
fn steady_state_matches_the_stationary_chain_and_new_the_transient() {
    let steady = chain_by(WARMUP_DAYS + HORIZON_DAYS) - chain_by(WARMUP_DAYS);
    let new = chain_by(HORIZON_DAYS);
    assert!(
        steady > 1.5 * new,
        "the case must tell them apart: {steady} vs {new}"
    );
    // Both estimators, both meanings; four intervals together at 99%.
    let widen = common::bonferroni_99(4);
    for method in [Method::RareEvent, Method::Plain] {
        for (start, exact) in [("steady", steady), ("new", new)] {
            let trials = if method == Method::Plain {
                200_000
            } else {
                2_000
            };
            let (p, ci) = simulate(start, method, trials);
            let half = (ci[1] - ci[0]) / 2.0 * widen;
            assert!(
                (p - exact).abs() <= half,
                "{method:?} {start}: {p} {ci:?} vs exact {exact}"
            );
        }
    }
}

#[test]
fn analyze_reports_the_same_meaning_as_run() {
    let s = scenario::parse("s.toml", &text("steady"), "s").unwrap();
    let exact = replisim::exact::analyze::analyze(&s.system).unwrap();
    let steady = chain_by(WARMUP_DAYS + HORIZON_DAYS) - chain_by(WARMUP_DAYS);
    assert!((exact[0].loss_probability - steady).abs() <= 1e-12 * steady);
    let s = scenario::parse("s.toml", &text("new"), "s").unwrap();
    let exact = replisim::exact::analyze::analyze(&s.system).unwrap();
    assert!((exact[0].loss_probability - chain_by(HORIZON_DAYS)).abs() <= 1e-12);
}
