//! Rebalancing: a copy re-created against its group's spread rule (its
//! zone's only datacenter destroyed, no free zone) is moved back once the
//! datacenter returns, in the fleet and in the group model of the
//! rare-event method alike, so the two estimates of P(object lost) agree
//! where rebalancing decides it.
//!
//! The scenario: ZRS over three zones of one datacenter each; datacenters
//! burn at 1/yr and are replaced after 60 days; a lost copy takes 5 days
//! to re-create. A copy re-created while its zone is gone lands next to
//! another; left there, the next fire of that zone takes two copies at
//! once, so the extent is one fire from loss for 5 days. Moved back when
//! the zone returns, it needs three fires close together instead. Before
//! rebalancing the fleet gave 2.73e-1 [2.59e-1, 2.87e-1] at seed 1 and 4,000
//! trials; with it, 5.50e-2 [4.79e-2, 6.21e-2].

use rand::SeedableRng;
use replisim::estimate::Method;
use replisim::model::Level;
use replisim::model::group::{Group, Scripted};
use replisim::model::world::Plan;
use replisim::scenario;
use replisim::units::{DAY, Micros};

mod common;

const TEXT: &str = r#"
name = "rebalance"
options = ["ZRS"]
detection = "0s"
[[region]]
name = "a"
geography = "g"
[topology]
racks_per_facility = 4
nodes_per_rack = 2
disks_per_node = 2
[data]
size = "20GB"
[failures.disk]
afr = 0.0
[failures.facility]
afr = 1.0
replace = "60d"
[repair]
time = "5d"
"#;

fn zones(s: &scenario::Scenario, disks: &[u32]) -> usize {
    let mut z: Vec<u32> = disks
        .iter()
        .map(|&d| s.system.topology.ancestor(d, Level::Zone))
        .collect();
    z.sort_unstable();
    z.dedup();
    z.len()
}

/// Steps `group` under the true law until `until`.
fn run_until(group: &mut Group, until: Micros, rng: &mut rand_chacha::ChaCha8Rng) {
    while group.now < until {
        group.step_true(until, rng);
    }
}

#[test]
fn the_group_model_moves_a_relaxed_copy_back_when_its_zone_returns() {
    let s = scenario::parse("r.toml", TEXT, "r").unwrap();
    let plan = Plan::new(&s.system, 1).unwrap();
    let group = Group::new(&s.system, &plan.placements[0], 0, 0);
    let burnt = s
        .system
        .topology
        .ancestor(group.disks()[0], Level::Facility);
    // The one destruction is scripted; no process has a clock.
    let fire = Scripted {
        at: 0,
        level: Level::Facility,
        component: burnt,
        replace: 60 * DAY,
        subset: None,
    };
    let mut group = group.with_script(vec![fire], u32::MAX);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    run_until(&mut group, DAY, &mut rng);
    assert!(!group.is_whole(), "the copy is being re-created");
    run_until(&mut group, 6 * DAY, &mut rng);
    assert!(group.is_whole());
    assert_eq!(zones(&s, group.disks()), 2, "re-created next to another");
    // Back at day 60; the move takes the repair time (5 days).
    run_until(&mut group, 64 * DAY, &mut rng);
    assert_eq!(zones(&s, group.disks()), 2, "still moving");
    run_until(&mut group, 66 * DAY, &mut rng);
    assert!(group.is_whole());
    assert_eq!(zones(&s, group.disks()), 3, "moved back into its zone");
}

/// The fleet's and the rare-event method's P(object lost) of `text` at
/// seed 1 over 4,000 trials agree: their difference is under 3 standard
/// errors, from the two reported intervals.
fn assert_agree(text: &str) -> (f64, f64) {
    let plain = common::first_durability(text, 1, 4000, Method::Plain);
    let rare = common::first_durability(text, 1, 4000, Method::RareEvent);
    let half = |d: &replisim::estimate::Durability| (d.ci95[1] - d.ci95[0]) / 2.0;
    let se = (half(&plain).powi(2) + half(&rare).powi(2)).sqrt() / 1.96;
    let z = (plain.loss_probability - rare.loss_probability) / se;
    assert!(
        z.abs() < 3.0,
        "plain {} {:?}, rare {} {:?}: z = {z:.2}",
        plain.loss_probability,
        plain.ci95,
        rare.loss_probability,
        rare.ci95
    );
    (plain.ci95[1], rare.ci95[1])
}

#[test]
fn fleet_and_rare_event_method_agree_where_rebalancing_decides() {
    // Fixed 5-day repairs, so every move lands 5 days after the return:
    // plain 5.50e-2 [4.79e-2, 6.21e-2], rare 5.10e-2 [4.98e-2, 5.22e-2].
    let (plain, rare) = assert_agree(TEXT);
    // Left unmoved, the fleet gave 2.73e-1: rebalancing is what is tested.
    assert!(plain < 0.2 && rare < 0.2, "{plain} {rare}");
    // The bandwidth model: a datacenter's 192 TB at 500 MB/s, 4.4 days,
    // each copy (and each move) at a uniform point of that window: plain
    // 5.03e-2 [4.36e-2, 5.70e-2], rare 4.72e-2 [4.61e-2, 4.84e-2].
    let bandwidth = TEXT.replace("time = \"5d\"", "facility_bandwidth = \"500MB/s\"");
    let (plain, rare) = assert_agree(&bandwidth);
    assert!(plain < 0.2 && rare < 0.2, "{plain} {rare}");
}
