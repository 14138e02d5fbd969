use super::outages::DetectionDraw;
use super::*;
use crate::model::Topology;
use crate::scenario;

/// Three zones of one facility each, in two paired regions; no random
/// failures (the facility process exists only to be triggered by hand).
const TEXT: &str = r#"
options = ["LRS", "ZRS", "GRS"]
detection = "0s"
[topology]
racks_per_facility = 4
nodes_per_rack = 1
disks_per_node = 2
[data]
size = "60GB"
[failures.disk]
afr = 0
[failures.facility]
afr = 1e-9
replace = "1y"
[repair]
time = "1h"
"#;

fn extents_with_a_copy_in(plan: &Plan, option: usize, facility: u32) -> Vec<u32> {
    let topo = &plan.system.topology;
    (0..plan.system.extents)
        .filter(|&e| {
            let copies = plan.placements[option].extent(e);
            copies
                .iter()
                .any(|&d| topo.ancestor(d, Level::Facility) == facility)
        })
        .collect()
}

fn alive_disks(world: &World, option: usize, extent: u32) -> Vec<u32> {
    let extents = &world.options[option].tables.extents;
    let alive = extents.get(extent).alive();
    let disks = extents.disks(&world.plan.placements[option], extent);
    (0..disks.len())
        .filter(|&s| alive & (1 << s) != 0)
        .map(|s| disks[s])
        .collect()
}

fn facility_of(topo: &Topology, d: u32) -> u32 {
    topo.ancestor(d, Level::Facility)
}

#[test]
fn a_destroyed_facility_kills_lrs_there_and_zrs_grs_recover() {
    let s = scenario::parse("t.toml", TEXT, "t").unwrap();
    let plan = Plan::new(&s.system, 5).unwrap();
    let topo = &s.system.topology;
    let mut world = World::new(&plan, 0, Scratch::default());
    let mut sim = Scheduler::default();
    world.destroy_by(0, 0, &mut sim);

    let lrs_there = extents_with_a_copy_in(&plan, 0, 0);
    let zrs_there = extents_with_a_copy_in(&plan, 1, 0);
    let grs_there = extents_with_a_copy_in(&plan, 2, 0);
    assert!(!lrs_there.is_empty() && !grs_there.is_empty());
    assert_eq!(
        zrs_there.len() as u32,
        s.system.extents,
        "ZRS has a copy in every zone"
    );
    let outcome = |w: &World, k: usize| w.options[k].outcome.clone();
    assert_eq!(outcome(&world, 0).lost_extents, lrs_there.len() as u32);
    assert_eq!(outcome(&world, 1).lost_extents, 0);
    assert_eq!(outcome(&world, 2).lost_extents, 0);
    assert_eq!(
        outcome(&world, 1).copies_destroyed,
        u64::from(s.system.extents)
    );

    let limits = Limits::new(s.system.horizon, 1_000_000);
    engine::run(&mut world, &mut sim, limits);
    assert_eq!(
        outcome(&world, 1).copies_repaired,
        u64::from(s.system.extents)
    );
    assert_eq!(
        outcome(&world, 2).copies_repaired,
        3 * grs_there.len() as u64
    );
    for &e in &zrs_there {
        let disks = alive_disks(&world, 1, e);
        assert_eq!(disks.len(), 3, "ZRS extent {e} is whole again");
        assert!(disks.iter().all(|&d| facility_of(topo, d) != 0));
        let mut racks: Vec<u32> = disks
            .iter()
            .map(|&d| topo.ancestor(d, Level::Rack))
            .collect();
        racks.dedup();
        assert_eq!(
            racks.len(),
            3,
            "with a zone gone, copies still spread over racks"
        );
    }
    for &e in &grs_there {
        let disks = alive_disks(&world, 2, e);
        let primary: Vec<u32> = disks[..3].iter().map(|&d| facility_of(topo, d)).collect();
        assert!(
            primary.iter().all(|&f| f == primary[0] && f != 0 && f < 3),
            "{primary:?}"
        );
    }
}

/// A node of westeurope down for `down`, detected after 15 minutes;
/// repairs take a minute.
fn node_outage(down: &str) -> String {
    format!(
        r#"options = ["LRS", "ZRS"]
detection = "15m"
[topology]
racks_per_facility = 4
nodes_per_rack = 2
disks_per_node = 2
[data]
size = "60GB"
[failures.disk]
afr = 0
[repair]
time = "1m"
[[fault]]
at = "1d"
level = "node"
target = "westeurope/1/1/1/1"
kind = "down"
duration = "{down}"
"#
    )
}

#[test]
fn a_short_outage_repairs_nothing_and_a_long_one_rehomes_its_copies() {
    let short = scenario::parse("t.toml", &node_outage("10m"), "t").unwrap();
    let plan = Plan::new(&short.system, 2).unwrap();
    let outcome = plan.run_trial(0);
    for o in &outcome.options {
        assert_eq!(
            (o.copies_repaired, o.copies_destroyed, o.lost_extents),
            (0, 0, 0)
        );
        assert_eq!(o.account.unreadable, 0, "two other copies serve");
    }

    let long = scenario::parse("t.toml", &node_outage("2h"), "t").unwrap();
    let plan = Plan::new(&long.system, 2).unwrap();
    let topo = &long.system.topology;
    let mut world = World::new(&plan, 0, Scratch::default());
    let mut sim = Scheduler::default();
    world.start(&mut sim);
    let limits = Limits::new(long.system.end(), 1_000_000);
    engine::run(&mut world, &mut sim, limits);
    for k in 0..2 {
        let on_node: Vec<u32> = (0..long.system.extents)
            .filter(|&e| plan.placements[k].extent(e).iter().any(|&d| d < 2))
            .collect();
        assert!(!on_node.is_empty());
        let o = &world.options[k].outcome;
        assert_eq!(
            o.copies_repaired,
            on_node.len() as u64,
            "each re-created once"
        );
        for &e in &on_node {
            let disks = alive_disks(&world, k, e);
            assert_eq!(disks.len(), 3);
            assert!(disks.iter().all(|&d| d >= 2), "moved off the node");
            let mut racks: Vec<u32> = disks
                .iter()
                .map(|&d| topo.ancestor(d, Level::Rack))
                .collect();
            racks.sort_unstable();
            racks.dedup();
            assert_eq!(racks.len(), 3, "still on distinct racks");
        }
    }
}

/// [`TEXT`] with GRS alone and one facility per region: when the
/// primary's facility burns, the account fails over and re-protects, but
/// the copies have nowhere to go until the facility is replaced, 30 days
/// later.
fn one_facility() -> scenario::Scenario {
    let set = [
        r#"options=["GRS"]"#,
        "topology.zones=1",
        "data.size=20GB",
        "failures.facility.replace=30d",
    ];
    let set: Vec<_> = set
        .map(|a| scenario::overrides::Override::parse(a).unwrap())
        .into();
    scenario::overrides::apply("t.toml", TEXT, &set).unwrap()
}

#[test]
fn repairs_with_no_target_wait_for_the_replacement_then_run() {
    let s = one_facility();
    let plan = Plan::new(&s.system, 3).unwrap();
    let topo = &s.system.topology;
    let mut world = World::new(&plan, 0, Scratch::default());
    let mut sim = Scheduler::default();
    let primary = facility_of(topo, plan.placements[0].extent(0)[0]);
    world.destroy_by(0, primary, &mut sim);
    // As after any event: the account sees its primary gone and fails over;
    // the copies wait for its re-protection, then for the replacement.
    world.settle(&mut sim);
    let lost = 3 * u64::from(s.system.extents);
    assert_eq!(world.options[0].outcome.copies_destroyed, lost);

    let until = |horizon| Limits::new(horizon, 1_000_000);
    engine::run(&mut world, &mut sim, until(29 * crate::units::DAY));
    assert_eq!(world.options[0].outcome.copies_repaired, 0);
    assert_eq!(world.blocked as u64, lost, "every lost copy waits");
    // All were blocked at one instant, when the re-protection ended.
    let blocked_at = world.options[0].blocked_since;
    assert!(blocked_at > 0 && blocked_at < 29 * crate::units::DAY);

    // Each waited from then to the replacement at day 30.
    engine::run(&mut world, &mut sim, until(100 * crate::units::DAY));
    assert_eq!(world.options[0].outcome.copies_repaired, lost);
    assert_eq!(world.blocked, 0);
    let waited = lost * (30 * crate::units::DAY - blocked_at);
    assert_eq!(world.options[0].outcome.blocked_copy_us, waited);
    // All of it in the warm-up, which the measured horizon leaves out
    // (this harness starts no clocks, so the warm-up's end is called here).
    assert!(s.system.warmup > 100 * crate::units::DAY);
    world.now = sim.now();
    world.on_measure();
    assert_eq!(world.options[0].outcome.blocked_copy_us, 0);
    for e in 0..s.system.extents {
        let disks = alive_disks(&world, 0, e);
        assert_eq!(disks.len(), 6, "extent {e} is whole again");
        assert!(disks[..3].iter().all(|&d| facility_of(topo, d) == primary));
    }
}

/// `[latent]`: which slots a loss leaves critical, and the probability one
/// of them holds an undetected error.
#[test]
fn critical_slots_and_the_chance_one_holds_a_latent_error() {
    use crate::model::{Code, Latent};
    let copies = Code::Copies { needed: 1 };
    assert_eq!(copies.critical(0b111), 0);
    assert_eq!(copies.critical(0b100), 0b100);
    let rs = Code::Rs { k: 6, m: 3 };
    assert_eq!(rs.critical(0b1_1111_1100), 0, "7 of 9: none critical");
    assert_eq!(rs.critical(0b1_1111_1000), 0b1_1111_1000, "6 of 9: all");
    // LRC(12,2,2) without both globals: each local group may still lose
    // one slot to its parity, so none is critical alone... until a group
    // has lost one, when its other members are.
    let lrc = Code::Lrc { k: 12, l: 2, r: 2 };
    let all = (1u32 << 16) - 1;
    let no_globals = all & !(0b11 << 14);
    assert_eq!(lrc.critical(no_globals), 0);
    let group0 = 0b11_1111 | 1 << 12;
    let lost_one = no_globals & !1;
    assert_eq!(lrc.critical(lost_one), group0 & !1);
    let latent = Latent {
        rate_per_tb_year: 10.0,
        scrub_interval: Some(crate::units::YEAR / 10),
    };
    let check = LatentCheck::new(latent, 1e12);
    let p = (-1.0f64).exp();
    assert!((latent.undetected(1e12, 0) - p).abs() < 1e-12);
    let six = check.any_undetected(0, 0b11_1111, 0);
    assert!((six - (1.0 - (1.0 - p).powi(6))).abs() < 1e-12);
    let never = Latent {
        scrub_interval: None,
        ..latent
    };
    let mut check = LatentCheck::new(never, 1e11);
    check.written.insert((3, 1), crate::units::YEAR);
    let at = 2 * crate::units::YEAR;
    // Slot 0 written at the start (age 2 y), slot 1 re-created a year ago.
    let both = check.any_undetected(3, 0b11, at);
    let want = 1.0 - (-2.0f64).exp() * (-1.0f64).exp();
    assert!((both - want).abs() < 1e-12, "{both} vs {want}");
}

/// Disks failing, nested outages of regions, zones, racks and nodes, and a
/// code beside the replicas: the scenario the out masks must follow.
const OUTAGES: &str = r#"
options = ["LRS", "ZRS", "GRS", "GZRS"]
start = "new"
horizon = "180d"
detection = "15m"
[[custom]]
name = "rs"
code = "rs(4,2)"
within = "region"
spread = "rack"
[topology]
racks_per_facility = 4
nodes_per_rack = 2
disks_per_node = 2
[data]
size = "40GB"
[failures.disk]
afr = 2.0
replace = "1d"
[repair]
time = "2h"
[outages.region]
rate = 4
duration = "3h"
[outages.zone]
rate = 6
duration = "5h"
[outages.rack]
rate = 8
duration = "1h"
[outages.node]
rate = 8
duration = "40m"
"#;

/// Every extent's out mask (its live copies below a component that is
/// down) equals what a walk up the fleet finds, hour after hour: the
/// debug check of `group_serves`, made in every build.
#[test]
fn out_masks_follow_the_fleet_through_nested_outages() {
    let s = scenario::parse("outages.toml", OUTAGES, "outages").unwrap();
    let plan = Plan::new(&s.system, 5).unwrap();
    let mut world = World::new(&plan, 0, Scratch::default());
    let mut sim = Scheduler::default();
    world.start(&mut sim);
    let (mut checked, mut out) = (0u64, 0u64);
    for hour in 1..=s.system.end() / crate::units::HOUR {
        let limits = Limits::new(hour * crate::units::HOUR, 10_000_000);
        engine::run(&mut world, &mut sim, limits);
        for k in 0..world.options.len() {
            for e in 0..s.system.extents {
                let kept = world.options[k].tables.extents.get(e).available();
                let walked = world.available_by_walk(k, e);
                assert_eq!(kept, walked, "hour {hour}, option {k}, extent {e}");
                let alive = world.options[k].tables.extents.get(e).alive();
                out += u64::from((alive & !kept) != 0);
                checked += 1;
            }
        }
    }
    assert!(
        out > 1000,
        "outages made copies unavailable: {out} of {checked}"
    );
}

/// Rebalancing: a ZRS copy re-created next to another (its zone's only
/// datacenter destroyed, no free zone) is moved back into the zone when
/// the datacenter returns, so every extent spans three zones again, and
/// each move is counted as rebalancing traffic, not repair.
#[test]
fn a_relaxed_copy_moves_back_when_its_zone_returns() {
    let text = TEXT.replace("replace = \"1y\"", "replace = \"30d\"");
    let s = scenario::parse("t.toml", &text, "t").unwrap();
    let plan = Plan::new(&s.system, 5).unwrap();
    let topo = &s.system.topology;
    let mut world = World::new(&plan, 0, Scratch::default());
    let mut sim = Scheduler::default();
    world.destroy_by(0, 0, &mut sim);
    let extents = s.system.extents;
    let zones = |w: &World, e: u32| {
        let mut z: Vec<u32> = alive_disks(w, 1, e)
            .iter()
            .map(|&d| topo.ancestor(d, Level::Zone))
            .collect();
        z.sort_unstable();
        z.dedup();
        z.len()
    };

    // Re-created within the hour, in the two zones left: every extent has
    // two copies in one zone, noted for a move.
    let day = 24 * HOUR;
    engine::run(&mut world, &mut sim, Limits::new(day, 1_000_000));
    assert_eq!(world.options[1].outcome.copies_repaired, u64::from(extents));
    assert!((0..extents).all(|e| zones(&world, e) == 2));
    assert_eq!(world.options[1].tables.relaxed.len(), extents as usize);
    assert_eq!(world.options[1].outcome.copies_moved, 0);

    // Back at day 30; each move takes the repair time (an hour).
    let back = 30 * day;
    engine::run(
        &mut world,
        &mut sim,
        Limits::new(back + HOUR / 2, 1_000_000),
    );
    assert_eq!(
        world.options[1].outcome.copies_moved, 0,
        "not before its time"
    );
    engine::run(&mut world, &mut sim, Limits::new(31 * day, 1_000_000));
    let zrs = &world.options[1].outcome;
    assert_eq!(zrs.copies_moved, u64::from(extents));
    assert_eq!(
        zrs.copies_repaired,
        u64::from(extents),
        "a move is not a repair"
    );
    assert!((0..extents).all(|e| zones(&world, e) == 3));
    // LRS never breaks its rule (its racks stay), so it moves nothing.
    assert_eq!(world.options[0].outcome.copies_moved, 0);
    // Once moved, nothing is left to move at the next return.
    world.rebalance(Level::Facility, 0, &mut sim);
    assert!(world.options[1].tables.relaxed.is_empty());
}

/// A move due after a return whose room has gone again (the datacenter
/// burnt a second time before the moves landed) waits for the next
/// return: each relaxed copy keeps one entry, moves once, and only when
/// its zone is back.
#[test]
fn a_move_whose_room_went_again_waits_for_the_next_return() {
    let text = TEXT.replace("replace = \"1y\"", "replace = \"30d\"");
    let s = scenario::parse("t.toml", &text, "t").unwrap();
    let plan = Plan::new(&s.system, 5).unwrap();
    let mut world = World::new(&plan, 0, Scratch::default());
    let mut sim = Scheduler::default();
    let extents = s.system.extents as usize;
    let day = 24 * HOUR;
    world.destroy_by(0, 0, &mut sim);
    // Back at day 30, moves due at 30 d + 1 h; burnt again at 30 d + 30 min.
    engine::run(
        &mut world,
        &mut sim,
        Limits::new(30 * day + HOUR / 2, 1_000_000),
    );
    assert_eq!(world.options[1].tables.relaxed.len(), extents);
    assert!(
        world.options[1]
            .tables
            .relaxed
            .values()
            .all(|&moving| moving)
    );
    world.now = sim.now();
    world.destroy_by(0, 0, &mut sim);
    engine::run(&mut world, &mut sim, Limits::new(31 * day, 1_000_000));
    let zrs = &world.options[1];
    assert_eq!(zrs.outcome.copies_moved, 0, "no room: nothing moved");
    assert_eq!(zrs.tables.relaxed.len(), extents, "one entry per copy");
    assert!(zrs.tables.relaxed.values().all(|&moving| !moving));
    // The second return (day 60 + 30 min) moves each copy once.
    engine::run(&mut world, &mut sim, Limits::new(62 * day, 1_000_000));
    let zrs = &world.options[1];
    assert_eq!(zrs.outcome.copies_moved, extents as u64);
    assert!(zrs.tables.relaxed.is_empty());
}

/// A relaxed copy whose own zone is down is not moved: a move copies the
/// copy itself, and it has nothing to copy from (re-homing, not
/// rebalancing, handles unavailable copies).
#[test]
fn an_unavailable_relaxed_copy_is_not_moved() {
    let text = TEXT.replace("replace = \"1y\"", "replace = \"30d\"");
    let s = scenario::parse("t.toml", &text, "t").unwrap();
    let plan = Plan::new(&s.system, 5).unwrap();
    let mut world = World::new(&plan, 0, Scratch::default());
    let mut sim = Scheduler::default();
    let day = 24 * HOUR;
    world.destroy_by(0, 0, &mut sim);
    engine::run(&mut world, &mut sim, Limits::new(day, 1_000_000));
    // The two surviving datacenters go down for 100 days at day 1.
    world.now = sim.now();
    for f in [1, 2] {
        let scope = Scope::Component(Level::Facility);
        world.begin_outage(scope, f, 100 * day, DetectionDraw::Outages, &mut sim);
    }
    engine::run(&mut world, &mut sim, Limits::new(40 * day, 1_000_000));
    let zrs = &world.options[1];
    assert_eq!(zrs.outcome.copies_moved, 0);
    let extents = s.system.extents;
    let available = (0..extents)
        .filter(|&e| zrs.tables.extents.get(e).available() != 0)
        .count();
    assert_eq!(
        available, 0,
        "nothing readable while both datacenters are down"
    );
}
