//! Erasure codes (`code = "rs(k,m)"`, `"lrc(k,l,r)"`): `analyze`'s lumped
//! chain against independent chains, the simulator against `analyze`, and
//! repair traffic against the codes' read amplification.

use replisim::estimate::{Method, compare::Metrics};
use replisim::exact::analyze::analyze;
use replisim::exact::markov::{Ctmc, RepairDiscipline, replica_group};
use replisim::model::Code;
use replisim::model::world::Plan;
use replisim::scenario;

mod common;

/// Per-fragment failure rate and repair rate, per year.
const LAMBDA: f64 = 0.5;
const MU: f64 = 365.25 / 10.0;

/// One option with `slots` (`code = "..."` or `copies = n`) in a facility of
/// 24 single-disk racks: only disks fail (exponential, `LAMBDA`), repairs
/// exponential of mean 10 days, a new fleet over one year.
fn scenario_text(slots: &str, extents: u32) -> String {
    format!(
        r#"name = "codes"
options = []
detection = "0s"
horizon = "1y"
start = "new"
[[custom]]
name = "coded"
{slots}
within = "facility"
spread = "rack"
[[region]]
name = "r"
zones = 1
facilities_per_zone = 1
racks_per_facility = 24
nodes_per_rack = 1
disks_per_node = 1
[data]
size = "{extents} GB"
extent_size = "1GB"
[failures.disk]
afr = {LAMBDA}
[repair]
time = {{ dist = "exponential", mean = "10d" }}
[failover]
policy = "none"
"#
    )
}

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

#[test]
fn rs_matches_the_k_of_n_birth_death_chain() {
    for (k, m) in [(6, 3), (17, 3), (4, 2)] {
        let text = scenario_text(&format!("code = \"rs({k},{m})\""), 1);
        let s = scenario::parse("c.toml", &text, "c").unwrap();
        let exact = &analyze(&s.system).unwrap()[0];
        // Fragments fail alone and are repaired in parallel: the number
        // failed is a birth-death chain, lost at m + 1.
        let hand = replica_group(k + m, k, LAMBDA, MU, RepairDiscipline::Parallel).unwrap();
        let p = hand.loss_probability(1.0).unwrap().probability;
        assert!(
            rel(exact.loss_probability, p) < 1e-9,
            "rs({k},{m}): {exact:?} vs {p}"
        );
        assert!(rel(exact.mttdl_years, hand.mttdl().unwrap()) < 1e-9);
    }
}

/// P(loss within `years`) of `code` from a chain with one state per set of
/// live fragments (2^n, no symmetry used), each fragment failing at
/// `LAMBDA` and repaired at `MU`, loss where `Code::decodable` says so
/// (itself checked against generator-matrix ranks in the unit tests).
fn subset_chain(code: Code, years: f64) -> f64 {
    let n = code.fragments().unwrap();
    let full = (1u32 << n) - 1;
    let loss = (full + 1) as usize;
    let mut ctmc = Ctmc::new(loss + 1);
    for alive in (0..=full).filter(|&a| code.decodable(a)) {
        let from = (full - alive) as usize;
        for s in 0..n {
            let bit = 1 << s;
            let (next, rate) = if alive & bit != 0 {
                (alive & !bit, LAMBDA)
            } else {
                (alive | bit, MU)
            };
            let to = if code.decodable(next) {
                (full - next) as usize
            } else {
                loss
            };
            ctmc.add_rate(from, to, rate).unwrap();
        }
    }
    ctmc.absorption_probability(0, &[loss], years)
        .unwrap()
        .probability
}

#[test]
fn lrc_matches_the_chain_over_every_subset_of_fragments() {
    let text = scenario_text("code = \"lrc(12,2,2)\"", 1);
    let s = scenario::parse("c.toml", &text, "c").unwrap();
    let exact = &analyze(&s.system).unwrap()[0];
    // 8 × 8 × 3 counts (failed per local group, failed globals), less the
    // undecodable ones, plus loss.
    assert!(exact.states < 8 * 8 * 3 + 1, "{exact:?}");
    let p = subset_chain(Code::Lrc { k: 12, l: 2, r: 2 }, 1.0);
    assert!(rel(exact.loss_probability, p) < 1e-9, "{exact:?} vs {p}");
    // The recoverable 4-failure patterns matter: treating every 4th
    // failure as loss (a code tolerating exactly 3) gives a larger answer.
    let three = replica_group(16, 13, LAMBDA, MU, RepairDiscipline::Parallel).unwrap();
    assert!(three.loss_probability(1.0).unwrap().probability > p * 1.01);
}

#[test]
fn the_simulator_covers_the_exact_answer() {
    let codes = ["rs(6,3)", "lrc(12,2,2)", "rs(17,3)"];
    let bonferroni = common::bonferroni_99(codes.len() as u32);
    for code in codes {
        let text = scenario_text(&format!("code = \"{code}\""), 100);
        let s = scenario::parse("c.toml", &text, "c").unwrap();
        let exact = analyze(&s.system).unwrap()[0].loss_probability;
        // The group trials simulated (episode splitting, failure biasing):
        // the reported 95% interval, widened so that the three together
        // cover with 99% probability.
        let (p, [lo, hi]) = common::durability(&text, 11, 400, Method::Simulated);
        let half = (hi - lo) / 2.0 * bonferroni;
        assert!(
            (p - exact).abs() <= half,
            "{code}: {p} [{lo}, {hi}] vs {exact}"
        );
        // The rare-event method's exact fast solver, on the lumped chain.
        let (p, _) = common::durability(&text, 11, 50, Method::RareEvent);
        assert!(rel(p, exact) < 1e-9, "{code}: {p} vs {exact}");
    }
}

/// Repairs after one scripted destruction of the first rack (nothing else
/// fails): every extent loses at most one fragment. Returns (fragments
/// rebuilt, slots they read, the repair traffic reported, bytes of a slot,
/// and the slots a lone loss of each fragment on that rack reads by the
/// code's rule).
fn after_one_rack(slots: &str) -> (u64, u64, f64, f64, u64) {
    let text = scenario_text(slots, 50).replace("afr = 0.5", "afr = 0")
        + "[[fault]]\nat = \"1d\"\nlevel = \"rack\"\ntarget = \"r/1/1/1\"\nkind = \"destroyed\"\n";
    let s = scenario::parse("c.toml", &text, "c").unwrap();
    let plan = Plan::new(&s.system, 3).unwrap();
    let o = &plan.run_trial(0).options[0];
    let option = &s.system.options[0];
    let all = (1u32 << option.copies()) - 1;
    let expected: u64 = plan
        .by_disk
        .on_disk(0, 0)
        .map(|(_, slot)| u64::from(option.code.repair_reads(all & !(1 << slot), slot)))
        .sum();
    let traffic = Metrics::of(&s.system, 0, o).repair_bytes;
    let slot_bytes = option.slot_bytes(s.system.extent_bytes);
    (
        o.copies_repaired,
        o.slots_read,
        traffic,
        slot_bytes,
        expected,
    )
}

#[test]
fn repair_traffic_per_rebuilt_byte_is_the_read_amplification() {
    // (option, slots read per slot rebuilt for a data fragment's lone loss)
    for (slots, data_reads) in [
        ("code = \"rs(6,3)\"", 6),
        ("code = \"lrc(12,2,2)\"", 6),
        ("code = \"rs(17,3)\"", 17),
        ("copies = 3", 1),
    ] {
        let (rebuilt, read, traffic, slot_bytes, expected) = after_one_rack(slots);
        assert!(rebuilt > 0, "{slots}: nothing rebuilt");
        assert_eq!(read, expected, "{slots}");
        // Traffic per rebuilt byte is the code's read amplification.
        let per_rebuilt_byte = traffic / (rebuilt as f64 * slot_bytes);
        let amplification = expected as f64 / rebuilt as f64;
        assert!(rel(per_rebuilt_byte, amplification) < 1e-12, "{slots}");
        if !slots.contains("lrc") {
            assert_eq!(read, data_reads * rebuilt, "{slots}");
        } else {
            // LRC(12,2,2): 6 for the 14 fragments of the local groups, 12
            // for the 2 global parities.
            assert!(
                read >= 6 * rebuilt && read < 12 * rebuilt,
                "{read} / {rebuilt}"
            );
        }
    }
}

#[test]
fn lrc_rebuilds_read_the_local_group_or_k() {
    // With random failures an LRC rebuild reads 6 (its group whole) or 12.
    let text = scenario_text("code = \"lrc(12,2,2)\"", 200).replace("afr = 0.5", "afr = 5");
    let s = scenario::parse("c.toml", &text, "c").unwrap();
    let plan = Plan::new(&s.system, 5).unwrap();
    let o = &plan.run_trial(0).options[0];
    assert!(o.slots_read >= 6 * o.copies_repaired);
    assert!(o.slots_read <= 12 * o.copies_repaired);
    assert!(
        o.slots_read > 6 * o.copies_repaired,
        "no rebuild from k at afr 500%"
    );
}

#[test]
fn wide_options_with_one_at_a_time_repair_are_refused_naming_the_field() {
    let text = scenario_text("code = \"rs(6,3)\"", 1).replace(
        "mean = \"10d\" }",
        "mean = \"10d\" }\ndiscipline = \"one-at-a-time\"",
    );
    let s = scenario::parse("c.toml", &text, "c").unwrap();
    let refusal = analyze(&s.system).unwrap_err();
    assert_eq!(refusal.field, "repair.discipline", "{refusal}");
    // The same code with parallel repair, and 8 whole copies one at a time,
    // are solved.
    let parallel = scenario_text("code = \"rs(6,3)\"", 1);
    assert!(analyze(&scenario::parse("c.toml", &parallel, "c").unwrap().system).is_ok());
    let eight = text.replace("code = \"rs(6,3)\"", "copies = 8");
    assert!(analyze(&scenario::parse("c.toml", &eight, "c").unwrap().system).is_ok());
}
