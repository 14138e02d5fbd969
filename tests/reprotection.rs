//! One story for GRS after a primary-site loss: the copies the burnt site
//! held come back when the account's re-protection ends (failover,
//! re-enabling geo-redundancy, the re-copy of the account over its link),
//! in the fleet, in the account and in the group model of the rare-event
//! estimator alike; and the durability that follows matches the closed form
//! of two sites exposed for that window.
//!
//! The model of one extent here: its two copy groups sit in two facilities,
//! each destroyed at rate f (replaced at once). Either loss starts an
//! episode of exactly L: a primary loss waits for the re-protection (L =
//! after + failover duration + reenable_after + re-copy), a secondary loss
//! for its re-seed (a fixed repair time, set to the same L). The extent is
//! lost when the other facility burns within the episode. For a new fleet
//! (`start = "new"`: the first episode starts at 0 at the earliest), to
//! leading order P(loss by T) = 2f²·L·(T − L/2); `renewal` solves the same
//! model exactly.

use replisim::estimate::Method;
use replisim::model::trace::What;
use replisim::model::world::Plan;
use replisim::scenario;
use replisim::units::{HOUR, SECOND, YEAR};

mod common;

/// Re-copying the 1 GB account at 100 MB/s: 10 s.
const RECOPY_S: u64 = 10;
/// after (1 h) + failover duration (1 h) + reenable_after (30 d) + re-copy.
const WINDOW_S: u64 = 3600 + 3600 + 30 * 86_400 + RECOPY_S;

/// GRS over two regions of two single-rack facilities; only facilities
/// fail (rate `afr`), a lost copy not waiting for re-protection takes
/// exactly the window to re-seed. `extra` is appended (faults).
fn text(afr: f64, extra: &str) -> String {
    let region = |name: &str, pair: &str| {
        format!(
            "[[region]]\nname = \"{name}\"\ngeography = \"g\"\npair = \"{pair}\"\nzones = 1\nfacilities_per_zone = 2\nracks_per_facility = 3\nnodes_per_rack = 1\ndisks_per_node = 1\n"
        )
    };
    format!(
        r#"name = "reprotection"
options = ["GRS"]
horizon = "1y"
start = "new"
detection = "0s"
{a}{b}
[data]
size = "1GB"
extent_size = "1GB"
[failures.disk]
afr = 0
[failures.facility]
afr = {afr}
replace = "0s"
[repair]
time = "{WINDOW_S}s"
[geo_replication]
bandwidth = "100MB/s"
[failover]
after = "1h"
duration = "1h"
reenable_after = "30d"
{extra}"#,
        a = region("a", "b"),
        b = region("b", "a"),
    )
}

/// P(loss by `t_years`) of the episode model above, solved on a grid of
/// `steps` per year: u(t) = ∫₀ᵗ 2f e^{−2fs} g(t−s) ds with
/// g(r) = 1 − e^{−f·min(L,r)} + e^{−fL}·u(r−L) for r > L.
fn renewal(f: f64, window_years: f64, t_years: f64, steps: usize) -> f64 {
    let h = 1.0 / steps as f64;
    let n = (t_years / h).round() as usize;
    let lag = (window_years / h).round() as usize;
    let mut u = vec![0.0; n + 1];
    let g = |u: &[f64], i: usize| -> f64 {
        let r = i as f64 * h;
        let exposed = 1.0 - (-f * r.min(window_years)).exp();
        let later = if i > lag {
            (-f * window_years).exp() * u[i - lag]
        } else {
            0.0
        };
        exposed + later
    };
    for i in 1..=n {
        // Trapezoid over s in [0, t_i]; g(0) = 0, so the s = t end is 0.
        let mut sum = 0.0;
        for j in 0..i {
            let weight = if j == 0 { 0.5 } else { 1.0 };
            let s = j as f64 * h;
            sum += weight * 2.0 * f * (-2.0 * f * s).exp() * g(&u, i - j);
        }
        u[i] = sum * h;
    }
    u[n]
}

fn closed_form(f: f64, window_years: f64, t_years: f64) -> f64 {
    2.0 * f * f * window_years * (t_years - window_years / 2.0)
}

fn window_years() -> f64 {
    (WINDOW_S * SECOND) as f64 / YEAR as f64
}

#[test]
fn after_a_primary_fire_the_copies_return_when_the_re_copy_ends() {
    let fire = "[[fault]]\nat = \"100d\"\nlevel = \"facility\"\ntarget = \"a/1/1\"\nkind = \"destroyed\"\nreplace = \"0s\"\n";
    // Which facility of region a holds the extent depends on the layout:
    // burn both, the second a second later, so the primary burns either way.
    let second = fire.replace("a/1/1", "a/1/2").replace("100d", "8640001s");
    let s = scenario::parse("fire.toml", &text(0.0, &format!("{fire}{second}")), "fire").unwrap();
    let plan = Plan::new(&s.system, 1).unwrap();
    let (outcome, trace) = plan.trace_trial(0);
    assert_eq!(outcome.options[0].lost_extents, 0);
    let fire_at = 100 * 86_400 * SECOND;
    let resynced = trace
        .iter()
        .find(|e| matches!(e.what, What::Failover { step, .. } if step.starts_with("the re-copy completed")))
        .expect("the account re-copies its data")
        .at;
    // The customer waits `after` from the first fire that emptied the
    // primary: 1 h, or 1 h + 1 s if the second one did.
    let expected = [fire_at, fire_at + SECOND].map(|t| t + WINDOW_S * SECOND);
    assert!(expected.contains(&resynced), "{resynced} vs {expected:?}");
    let recreated: Vec<u64> = trace
        .iter()
        .filter(|e| matches!(e.what, What::Recreated { .. }))
        .map(|e| e.at)
        .collect();
    // The three primary copies, all at the end of the re-protection, none
    // before: the copy model follows the account.
    assert_eq!(recreated, vec![resynced; 3]);
    assert!(resynced - fire_at >= 30 * 24 * HOUR);
}

/// Estimate and 95% interval of GRS's P(object lost) under `method`.
fn run(afr: f64, trials: u64, method: Method) -> (f64, [f64; 2]) {
    common::durability(&text(afr, ""), 7, trials, method)
}

#[test]
fn the_closed_form_is_the_leading_order_of_the_exact_renewal() {
    let (f, l) = (0.05, window_years());
    let exact = renewal(f, l, 1.0, 20_000);
    let approx = closed_form(f, l, 1.0);
    // Neglected: no episode starts during one (2fL), the surviving site's
    // e^{−fL} (fL/2), survival to the episode (< P): under 3fL relative.
    assert!(
        (approx - exact).abs() <= 3.0 * f * l * exact,
        "{approx} vs {exact}"
    );
}

#[test]
fn rare_event_durability_matches_two_sites_exposed_for_the_window() {
    let (f, l) = (0.05, window_years());
    let exact = renewal(f, l, 1.0, 20_000);
    let (p, ci) = run(f, 20_000, Method::RareEvent);
    assert!(ci[0] <= exact && exact <= ci[1], "{p} {ci:?} vs {exact}");
    // And the closed form, within the interval widened by its own bound.
    let approx = closed_form(f, l, 1.0);
    let slack = 3.0 * f * l * approx;
    assert!(ci[0] - slack <= approx && approx <= ci[1] + slack);
}

#[test]
fn fleet_durability_matches_two_sites_exposed_for_the_window() {
    let (f, l) = (0.5, window_years());
    let exact = renewal(f, l, 1.0, 20_000);
    let (p, ci) = run(f, 20_000, Method::Plain);
    assert!(ci[0] <= exact && exact <= ci[1], "{p} {ci:?} vs {exact}");
}

/// The time group 0 of the scenario `s` has its copies back after the
/// `level` component above copy `slot` fails at `now`.
fn group_repair_after(
    s: &scenario::Scenario,
    level: replisim::model::Level,
    slot: usize,
    now: u64,
) -> Option<u64> {
    use rand::SeedableRng;
    use replisim::model::group::Group;
    let plan = Plan::new(&s.system, 1).unwrap();
    let disks = plan.placements[0].extent(0);
    let component = s.system.topology.ancestor(disks[slot], level);
    let mut group = Group::new(&s.system, &plan.placements[0], 0, 0);
    let process = s.system.failures.iter().position(|p| p.level == level);
    let clock = group
        .clocks()
        .into_iter()
        .find(|c| Some(c.process as usize) == process && c.component == component)
        .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    group.now = now;
    group.fail(&clock, &mut rng);
    group.next_repair()
}

#[test]
fn the_group_model_brings_the_primary_back_at_the_same_instant() {
    use replisim::model::Level;
    let s = scenario::parse("g.toml", &text(1e-9, ""), "g").unwrap();
    let day_100 = 100 * 86_400 * SECOND;
    let back = group_repair_after(&s, Level::Facility, 0, day_100);
    assert_eq!(back, Some(day_100 + WINDOW_S * SECOND));
    // The secondary's facility, by contrast, is re-seeded by the repair model.
    let back = group_repair_after(&s, Level::Facility, 3, 0);
    assert_eq!(back, Some(WINDOW_S * SECOND));
}

#[test]
fn after_a_primary_region_loss_the_re_copy_waits_for_the_region() {
    use replisim::model::Level;
    // Rebuilt after 60 days, past the failover and re-enabling (30 d 2 h):
    // the re-copy starts when the region is back.
    let region = "[failures.region]\nafr = 1e-9\nreplace = \"60d\"\n";
    let s = scenario::parse("g.toml", &text(1e-9, region), "g").unwrap();
    let back = group_repair_after(&s, Level::Region, 0, 0);
    assert_eq!(back, Some((60 * 86_400 + RECOPY_S) * SECOND));
}
