//! The P(object lost by t) curve of summary.json: its last point is the
//! reported P(object lost), interval and all; it never decreases; and at
//! several t it agrees with the exact transient solution of the Markov
//! chain, under plain Monte Carlo and under the rare-event method.

use replisim::estimate::{HorizonPoint, Method, OptionSummary, RunConfig, estimate};
use replisim::exact::analyze::analyze;
use replisim::exact::markov::{RepairDiscipline, replica_group};
use replisim::scenario;

mod common;

/// Checkpoints compared with the exact chain: t = 0.25, 0.5, 0.75 and 1 year.
const CHECKED: [(usize, &str, f64); 4] = [
    (4, "0.25y", 0.25),
    (9, "0.5y", 0.5),
    (14, "0.75y", 0.75),
    (19, "1y", 1.0),
];

/// The last point is the reported estimate; the curve never decreases.
fn check_shape(o: &OptionSummary, horizon_years: f64) {
    let curve: &[HorizonPoint] = &o.loss_by_horizon;
    assert_eq!(curve.len(), 20);
    let last = curve.last().unwrap();
    let d = &o.durability;
    assert_eq!(last.loss_probability, d.loss_probability, "{}", o.option);
    assert_eq!(last.ci95, d.ci95, "{}", o.option);
    assert_eq!(last.years, horizon_years);
    for w in curve.windows(2) {
        assert!(w[0].years < w[1].years);
        assert!(
            w[0].loss_probability <= w[1].loss_probability,
            "{}: {:?} then {:?}",
            o.option,
            w[0],
            w[1]
        );
    }
}

/// |estimate − exact| within the 95% half-width widened by `widen`.
fn assert_covers(option: &str, p: &HorizonPoint, exact: f64, widen: f64) {
    let half = (p.ci95[1] - p.loss_probability) * widen;
    println!(
        "{option} t={}y: exact {exact:.4e}, estimate {:.4e} ± {half:.2e}",
        p.years, p.loss_probability
    );
    assert!(
        (p.loss_probability - exact).abs() <= half,
        "{option} at {} y: exact {exact:e} vs {:e} ± {half:e}",
        p.years,
        p.loss_probability
    );
}

#[test]
fn plain_monte_carlo_curve_matches_the_chain_at_four_times() {
    let text = common::replica_group(2, 1, "afr = 0.5", "14d", RepairDiscipline::Parallel, "1y");
    let s = scenario::parse("markov.toml", &text, "markov").unwrap();
    let config = RunConfig {
        seed: 11,
        trials: 40_000,
        threads: 0,
        method: Method::Plain,
    };
    let summary = estimate(&s, config).unwrap();
    let o = &summary.options[0];
    check_shape(o, 1.0);
    let chain = replica_group(2, 1, 0.5, 365.25 / 14.0, RepairDiscipline::Parallel).unwrap();
    // Four points at once: a family-wise 99% (Bonferroni, z = Φ⁻¹(1 − 0.01/8)).
    let widen = common::bonferroni_99(4);
    for (c, _, years) in CHECKED {
        let exact = chain.loss_probability(years).unwrap().probability;
        assert_covers(&o.option, &o.loss_by_horizon[c], exact, widen);
    }
}

#[test]
fn rare_event_curve_matches_analyze_at_four_times_for_every_option() {
    let s = scenario::parse("exact.toml", &common::correlated("1y"), "exact").unwrap();
    let config = RunConfig {
        seed: 7,
        trials: 1500,
        threads: 0,
        method: Method::RareEvent,
    };
    let summary = estimate(&s, config).unwrap();
    // 16 points at once: a family-wise 99% (Bonferroni, z = Φ⁻¹(1 − 0.01/32)).
    let widen = common::bonferroni_99(16);
    for (c, horizon, _) in CHECKED {
        let at = scenario::parse("exact.toml", &common::correlated(horizon), "exact").unwrap();
        let exact = analyze(&at.system).unwrap();
        for (e, o) in exact.iter().zip(&summary.options) {
            assert_covers(&o.option, &o.loss_by_horizon[c], e.loss_probability, widen);
        }
    }
    for o in &summary.options {
        check_shape(o, 1.0);
        assert!(o.durability.method.starts_with("rare"), "{}", o.option);
    }
}
