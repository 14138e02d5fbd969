//! The Copysets result (Cidon et al., ATC 2013): a burst destroying F of
//! the N nodes at once loses data exactly when every node of some *used*
//! copyset (the node set holding one extent's R copies) is among the F.
//! Each R-set is struck with probability C(F,R)/C(N,R), so with M distinct
//! sets in use P(any loss) ≈ 1 − (1 − C(F,R)/C(N,R))^M (the sets' events
//! are nearly independent when disjoint or few). Random placement uses
//! about one set per extent; copyset placement with scatter width 2 uses
//! about N/R, so it loses data far less often. M is counted from the
//! run's actual placement, and the closed form must lie in the reported
//! 95% interval of P(any loss).
//!
//! Repairs keep the copysets: a re-created copy goes to a node completing
//! a copyset with the extent's surviving copies, in the fleet and in the
//! group model, and to the plain rule's disk only when no such node can
//! take it, so over a year of failures the node sets in use stay within
//! the copysets.

use std::collections::HashSet;

use rand::SeedableRng;
use replisim::estimate::{Method, RunConfig, estimate};
use replisim::model::group::{Group, Scripted, StepEnd};
use replisim::model::placement::Placement;
use replisim::model::trace::{TraceEvent, What};
use replisim::model::world::Plan;
use replisim::model::{Level, Topology};
use replisim::scenario;
use replisim::units::{DAY, HOUR};

mod common;

/// 500 nodes (50 racks of 10, one disk each) in one facility, no random
/// failures, 2,000 extents of `random` placement; top-level fields go
/// before it.
const FLEET: &str = r#"
start = "new"
options = []
[topology]
zones = 1
facilities_per_zone = 1
racks_per_facility = 50
nodes_per_rack = 10
disks_per_node = 1
[data]
size = "2000GB"
[failures.disk]
afr = 0
[[custom]]
name = "random"
copies = 3
"#;

/// The fleet for a day, with a copyset option beside the random one, and
/// 5% of the nodes destroyed at once an hour in.
fn one_burst() -> String {
    "horizon = \"1d\"".to_string()
        + FLEET
        + r#"
[[custom]]
name = "copyset"
copies = 3
placement = "copyset"
scatter_width = 2
[[fault]]
at = "1h"
level = "node"
target = "westeurope/1/1"
kind = "destroyed"
fraction = 0.05
"#
}

/// The distinct node sets holding an extent's copies under `placement`.
fn sets_in_use(s: &scenario::Scenario, placement: &Placement) -> usize {
    let topo = &s.system.topology;
    let sets: HashSet<Vec<u32>> = (0..s.system.extents)
        .map(|e| nodes_of(topo, placement.extent(e)))
        .collect();
    sets.len()
}

fn choose(n: u64, k: u64) -> f64 {
    (0..k).map(|i| (n - i) as f64 / (k - i) as f64).product()
}

#[test]
fn a_burst_of_5_percent_matches_the_copysets_closed_form() {
    let s = scenario::from_source("copysets.toml", &one_burst()).unwrap();
    let seed = 11;
    let plan = Plan::new(&s.system, seed).unwrap();
    let (n, f, r) = (500u64, 25u64, 3u64);
    let p_set = choose(f, r) / choose(n, r);
    let config = RunConfig {
        seed,
        trials: 4000,
        threads: 0,
        method: Method::RareEvent,
    };
    let summary = estimate(&s, config).unwrap();
    let mut used = Vec::new();
    for (k, placement) in plan.placements.iter().enumerate() {
        let m = sets_in_use(&s, placement) as f64;
        used.push(m);
        let closed = 1.0 - (1.0 - p_set).powf(m);
        let d = &summary.options[k].durability;
        let [lo, hi] = d.any_loss_ci95;
        println!(
            "{}: {m} sets used, closed form {closed:.5}, estimate {:.5} [{lo:.5}, {hi:.5}]",
            s.system.options[k].name, d.any_loss_probability
        );
        assert!(
            lo <= closed && closed <= hi,
            "closed form outside the interval"
        );
    }
    // Random placement uses about one set per extent; copysets at most N/R.
    assert!(used[0] > 1900.0 && used[1] <= (n / r) as f64, "{used:?}");
}

/// The same fleet under a burst *process*: once a year on average, 5% of
/// the facility's nodes destroyed at once, their copies rebuilt within
/// hours and the nodes replaced within days (so bursts are independent).
/// Bursts are Poisson(r·H) and each loses data with the one-burst chance
/// q, so P(any loss) = 1 − exp(−r·H·q).
#[test]
fn a_burst_process_loses_data_at_its_rate_times_the_chance_of_one_burst() {
    let text = "horizon = \"1y\"".to_string()
        + FLEET
        + r#"
[[region]]
name = "westeurope"
[[burst]]
rate = 1
scope = "facility"
kind = "destroyed"
fraction = 0.05
"#;
    let s = scenario::from_source("burst-process.toml", &text).unwrap();
    assert_eq!(s.system.bursts.len(), 1);
    assert!(s.system.faults.is_empty());
    let (n, f, r) = (500u64, 25u64, 3u64);
    let seeds = [1u64, 2, 3];
    let widen = common::bonferroni_99(seeds.len() as u32);
    for seed in seeds {
        let plan = Plan::new(&s.system, seed).unwrap();
        let m = sets_in_use(&s, &plan.placements[0]) as f64;
        let q = 1.0 - (1.0 - choose(f, r) / choose(n, r)).powf(m);
        let closed = 1.0 - (-q).exp();
        let config = RunConfig {
            seed,
            trials: 4000,
            threads: 0,
            method: Method::Plain,
        };
        let d = &estimate(&s, config).unwrap().options[0].durability;
        let p = d.any_loss_probability;
        let [lo, hi] = d.any_loss_ci95;
        let half = (hi - lo) / 2.0 * widen;
        println!("seed {seed}: closed form {closed:.5}, estimate {p:.5} [{lo:.5}, {hi:.5}]");
        assert!(
            (p - closed).abs() <= half,
            "seed {seed}: {p} vs {closed} ± {half}"
        );
    }
}

/// P(object lost) under a burst process, by the rare-event method: a burst
/// strikes an extent's three nodes with the hypergeometric chance
/// q = C(F,3)/C(N,3) whatever the placement, and the group model counts
/// that chance at each burst (conditional Monte Carlo) rather than
/// waiting to draw it, so a rate of 1e-3 a year (P ≈ 1.1e-7, never seen
/// by 400 fleet trials of 2,000 extents) is met as well as 1 a year.
/// Copies struck short of all three are rebuilt within hours, and bursts
/// come a year apart on average: P(loss in H) = 1 − exp(−r·H·q).
#[test]
fn the_rare_event_method_meets_the_burst_process_closed_form_down_to_rare_bursts() {
    let (n, f, r) = (500u64, 25u64, 3u64);
    let q = choose(f, r) / choose(n, r);
    let seeds = [1u64, 2, 3];
    let widen = common::bonferroni_99(2 * seeds.len() as u32);
    for rate in [1.0, 1e-3] {
        let text = "horizon = \"1y\"".to_string()
            + FLEET
            + &format!(
                "[[region]]\nname = \"westeurope\"\n[[burst]]\nrate = {rate}\nscope = \"facility\"\nkind = \"destroyed\"\nfraction = 0.05\n"
            );
        let s = scenario::from_source("burst-process.toml", &text).unwrap();
        let closed = -(-rate * q).exp_m1();
        for seed in seeds {
            let config = RunConfig {
                seed,
                trials: 400,
                threads: 0,
                method: Method::RareEvent,
            };
            let o = &estimate(&s, config).unwrap().options[0];
            let d = &o.durability;
            let half = (d.ci95[1] - d.ci95[0]) / 2.0 * widen;
            println!(
                "rate {rate}, seed {seed}: closed form {closed:.5e}, estimate {:.5e} [{:.5e}, {:.5e}]",
                d.loss_probability, d.ci95[0], d.ci95[1]
            );
            assert!(
                o.warnings.iter().all(|w| !w.contains("plain Monte Carlo")),
                "{:?}",
                o.warnings
            );
            assert!(d.reliable, "{d:?}");
            assert!(
                (d.loss_probability - closed).abs() <= half,
                "{} vs {closed} ± {half}",
                d.loss_probability
            );
        }
    }
}

/// A burst rate the rare-event method's group trials cannot follow is
/// refused before any trial, naming the field and the way out.
#[test]
fn a_burst_rate_past_what_group_trials_follow_is_refused_by_field() {
    let text = "horizon = \"1d\"".to_string()
        + FLEET
        + "[[region]]\nname = \"westeurope\"\n[[burst]]\nrate = 1e7\nscope = \"facility\"\nkind = \"destroyed\"\ncount = 1\nreplace = \"0s\"\n";
    let s = scenario::from_source("burst-rate.toml", &text).unwrap();
    let config = RunConfig {
        seed: 1,
        trials: 2,
        threads: 0,
        method: Method::RareEvent,
    };
    let e = estimate(&s, config).unwrap_err();
    assert!(e.starts_with("burst[0].rate: "), "{e}");
    assert!(e.contains("--method plain"), "{e}");
}

/// `FLEET` with 3 disks a node failing at `afr` a year, and a copyset
/// option of scatter width 2 (disjoint sets of three nodes) beside the
/// random one, for `horizon`, then `tail`.
fn repaired_fleet(horizon: &str, afr: u32, tail: &str) -> scenario::Scenario {
    let text = format!("horizon = \"{horizon}\"")
        + &FLEET
            .replace("disks_per_node = 1", "disks_per_node = 3")
            .replace("afr = 0", &format!("afr = {afr}"))
        + "[[custom]]\nname = \"copyset\"\ncopies = 3\nplacement = \"copyset\"\nscatter_width = 2\n"
        + tail;
    scenario::from_source("repaired.toml", &text).unwrap()
}

/// The option placed by copysets in `repaired_fleet`.
const COPYSET: usize = 1;

/// The `[[fault]]` target of disk `d` of a fleet of one facility, 10 nodes
/// a rack and 3 disks a node (numbered from 1 within each parent).
fn disk_target(d: u32) -> String {
    format!(
        "westeurope/1/1/{}/{}/{}",
        d / 30 + 1,
        d / 3 % 10 + 1,
        d % 3 + 1
    )
}

/// The sorted nodes of `disks`.
fn nodes_of(topo: &Topology, disks: &[u32]) -> Vec<u32> {
    let mut nodes: Vec<u32> = disks
        .iter()
        .map(|&d| topo.ancestor(d, Level::Node))
        .collect();
    nodes.sort_unstable();
    nodes
}

/// Whether the nodes of `disks` all lie in one copyset of `placement`'s
/// first copy group.
fn within_a_copyset(topo: &Topology, placement: &Placement, disks: &[u32]) -> bool {
    let sets = placement.copysets(0).expect("a copyset option");
    let anchor = topo.ancestor(disks[0], Level::Facility);
    sets.completing(anchor, &nodes_of(topo, disks))
        .next()
        .is_some()
}

/// The layout of option `k` at the end of the trial traced in `trace`: the
/// initial placement with every re-created copy moved to its new disk, and
/// how many were re-created.
fn layout_after(plan: &Plan, k: usize, trace: &[TraceEvent]) -> (Vec<u32>, usize) {
    let placement = &plan.placements[k];
    let mut copies = placement.copies.clone();
    let mut moved = 0;
    for event in trace {
        if let What::Recreated {
            option,
            extent,
            slot,
            disk,
            ..
        } = event.what
            && usize::from(option) == k
        {
            copies[extent as usize * placement.copies_per_extent + slot as usize] = disk;
            moved += 1;
        }
    }
    (copies, moved)
}

/// The fleet of `repaired_fleet` for three days, with the `level`
/// component `target` (a `[[fault]]` target) destroyed an hour in and
/// replaced after 30 days: the copyset option rebuilds a node's 36 TB from
/// its partners' 6 disks in 1.4 days.
fn one_destroyed(level: &str, target: &str) -> scenario::Scenario {
    let fault = format!(
        "[[fault]]\nat = \"1h\"\nlevel = \"{level}\"\ntarget = \"{target}\"\nkind = \"destroyed\"\nreplace = \"30d\"\n"
    );
    repaired_fleet("3d", 0, &fault)
}

/// The disk of the first copy of the copyset option's first extent: the
/// placement does not depend on the faults.
fn first_copy_disk() -> u32 {
    let s = repaired_fleet("1d", 0, "");
    Plan::new(&s.system, s.seed).unwrap().placements[COPYSET].extent(0)[0]
}

/// The copies of the option's extents on `disks` at the end of the
/// fleet's trial 0, as (extent, slot, the extent's disks then), after
/// checking that each was re-created once.
fn fleet_after(plan: &Plan, disks: std::ops::Range<u32>) -> Vec<(u32, u8, Vec<u32>)> {
    let held: Vec<(u32, u8)> = disks
        .flat_map(|d| plan.by_disk.on_disk(COPYSET, d))
        .collect();
    let (_, trace) = plan.trace_trial(0);
    let (after, moved) = layout_after(plan, COPYSET, &trace);
    println!("fleet: {} copies lost, {moved} re-created", held.len());
    assert_eq!(moved, held.len(), "every lost copy re-created once");
    let n = plan.placements[COPYSET].copies_per_extent;
    let at = |e: u32| after[e as usize * n..(e as usize + 1) * n].to_vec();
    held.into_iter().map(|(e, slot)| (e, slot, at(e))).collect()
}

/// The disks of the copyset option's extent 0 in the group model after
/// each of 20 trials of three days with the `level` component `component`
/// destroyed an hour in for 30 days; each trial ends whole.
fn group_after(s: &scenario::Scenario, plan: &Plan, level: Level, component: u32) -> Vec<Vec<u32>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let script = vec![Scripted {
        at: HOUR,
        level,
        component,
        replace: 30 * DAY,
        subset: None,
    }];
    let placement = &plan.placements[COPYSET];
    (0..20)
        .map(|_| {
            let mut group =
                Group::new(&s.system, placement, COPYSET, 0).with_script(script.clone(), 0);
            while group.step_true(3 * DAY, &mut rng) != StepEnd::Horizon {}
            assert!(group.is_whole(), "re-created before the third day's end");
            group.disks().to_vec()
        })
        .collect()
}

/// The distinct racks of `disks`.
fn racks_of(topo: &Topology, disks: &[u32]) -> usize {
    disks
        .iter()
        .map(|&d| topo.ancestor(d, Level::Rack))
        .collect::<HashSet<u32>>()
        .len()
}

/// The scripted loss of one disk holding copies of the copyset option:
/// every copy it held is re-created on the node it was on (another of its
/// disks), the one node completing its copyset with the two surviving
/// copies, in the fleet and in the group model alike. (The plain rule
/// would put it on a random rack.)
#[test]
fn a_copy_lost_with_its_disk_is_recreated_on_the_node_completing_its_copyset() {
    let disk = first_copy_disk();
    let s = one_destroyed("disk", &disk_target(disk));
    let topo = &s.system.topology;
    let plan = Plan::new(&s.system, s.seed).unwrap();
    let placement = &plan.placements[COPYSET];
    let node = topo.ancestor(disk, Level::Node);
    let fleet = fleet_after(&plan, disk..disk + 1);
    let group = group_after(&s, &plan, Level::Disk, disk);
    let slot0 = group.into_iter().map(|now| (0, 0, now));
    for (extent, slot, now) in fleet.into_iter().chain(slot0) {
        let new = now[slot as usize];
        assert_ne!(new, disk, "extent {extent}: not on the destroyed disk");
        assert_eq!(topo.ancestor(new, Level::Node), node, "extent {extent}");
        assert!(within_a_copyset(topo, placement, &now), "extent {extent}");
    }
}

/// The scripted loss of a whole node under scatter width 2: the only node
/// completing each copyset is the one destroyed, so its copies are placed
/// by the plain rule (a rack holding no other copy of the extent), in
/// the fleet and in the group model: a copy is never refused for want of
/// its copyset.
#[test]
fn with_the_completing_node_destroyed_the_plain_rule_places_the_copy() {
    let disk = first_copy_disk();
    let node_target = disk_target(disk).rsplit_once('/').unwrap().0.to_string();
    let s = one_destroyed("node", &node_target);
    let topo = &s.system.topology;
    let plan = Plan::new(&s.system, s.seed).unwrap();
    let node = topo.ancestor(disk, Level::Node);
    let fleet = fleet_after(&plan, topo.disk_range(Level::Node, node));
    let group = group_after(&s, &plan, Level::Node, node);
    let slot0 = group.into_iter().map(|now| (0, 0, now));
    for (extent, _, now) in fleet.into_iter().chain(slot0) {
        assert_eq!(racks_of(topo, &now), 3, "extent {extent}: the spread rule");
        assert!(!nodes_of(topo, &now).contains(&node), "extent {extent}");
    }
}

/// A year of disk failures at 100% a year (about 1,500 disks lost, 6,000
/// copies of each option re-created): every extent's nodes still lie in
/// one copyset, so the node sets in use stay the 166 copysets (the plain
/// rule took this trial to 1,945 node sets, 1,897 extents in none). Disks
/// come back in a day and a node has three, so the completing node has a
/// usable disk but after a rare double failure (none in this trial).
#[test]
fn a_year_of_disk_failures_keeps_every_extent_within_its_copyset() {
    let s = repaired_fleet("1y", 1, "");
    let topo = &s.system.topology;
    let plan = Plan::new(&s.system, s.seed).unwrap();
    let placement = &plan.placements[COPYSET];
    let n = placement.copies_per_extent;
    let sets_of = |copies: &[u32]| -> HashSet<Vec<u32>> {
        copies.chunks(n).map(|c| nodes_of(topo, c)).collect()
    };
    let before = sets_of(&placement.copies).len();
    let (_, trace) = plan.trace_trial(0);
    let (after, moved) = layout_after(&plan, COPYSET, &trace);
    let (random_after, random_moved) = layout_after(&plan, 0, &trace);
    let outside = after
        .chunks(n)
        .filter(|c| !within_a_copyset(topo, placement, c))
        .count();
    let used = sets_of(&after).len();
    let random_used = (
        sets_of(&plan.placements[0].copies).len(),
        sets_of(&random_after).len(),
    );
    println!(
        "copyset: {moved} re-created, node sets {before} -> {used} of {} copysets, {outside} outside; random: {random_moved} re-created, node sets {random_used:?}",
        placement.copysets(0).unwrap().len()
    );
    assert!(moved > 3000, "{moved}");
    assert_eq!(outside, 0);
    assert!(used <= placement.copysets(0).unwrap().len());
}

/// A copyset layout rebuilds a failed node's data from its partner nodes
/// only: with scatter width 2 and 3 disks a node, 6 disks at 50 MB/s
/// (300 MB/s) against the facility's cap of 50 GB/s under random
/// placement, so every re-creation window is 50e9 / 300e6 = 166.7 times
/// as long; a datacenter's loss has partners everywhere and is not
/// slowed. The largest of 20,000 uniform points of a window lies within
/// 0.1% of its end.
#[test]
fn a_copyset_layout_rebuilds_at_its_partners_bandwidth() {
    use replisim::model::repair::RepairTiming;
    let s = repaired_fleet("1d", 0, "");
    let system = &s.system;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut longest = |k: usize, level: Level| -> f64 {
        let timing = RepairTiming::after(system, &system.options[k], 0, (level, 0));
        (0..20_000)
            .map(|_| timing.delay(&system.repair, (true, 1), &mut rng))
            .max()
            .unwrap() as f64
    };
    let node_bytes = 3.0 * 16e12 * 0.75;
    let random = longest(0, Level::Node) / 1e6;
    let copyset = longest(COPYSET, Level::Node) / 1e6;
    assert!(
        (random / (node_bytes / 50e9) - 1.0).abs() < 1e-3,
        "{random} s"
    );
    assert!(
        (copyset / (node_bytes / 300e6) - 1.0).abs() < 1e-3,
        "{copyset} s"
    );
    let facility = longest(0, Level::Facility);
    let facility_copyset = longest(COPYSET, Level::Facility);
    assert!((facility_copyset / facility - 1.0).abs() < 2e-3);
}

/// The fleet and the group model both rebuild a copyset option's lost node
/// at its partners' bandwidth: a node's 36 TB from 6 disks takes 1.4 days
/// (the random option's takes 12 minutes at 50 GB/s), so its copies come
/// back over a day and more; the random option's within the hour.
#[test]
fn the_fleet_and_the_group_model_rebuild_a_copyset_node_from_its_partners() {
    let disk = first_copy_disk();
    let node_target = disk_target(disk).rsplit_once('/').unwrap().0.to_string();
    let s = one_destroyed("node", &node_target);
    let plan = Plan::new(&s.system, s.seed).unwrap();
    let (_, trace) = plan.trace_trial(0);
    let last = |k: u16| {
        trace
            .iter()
            .filter(|e| matches!(e.what, What::Recreated { option, .. } if option == k))
            .map(|e| e.at)
            .max()
            .unwrap()
    };
    assert!(last(0) < 2 * HOUR, "random: {} s", last(0) / 1_000_000);
    assert!(
        last(COPYSET as u16) > 12 * HOUR,
        "copyset: {} s",
        last(COPYSET as u16) / 1_000_000
    );
    // The group model: over 20 draws of the node's loss, the latest
    // re-creation is past what the facility's rate would allow.
    let topo = &s.system.topology;
    let node = topo.ancestor(disk, Level::Node);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let latest = (0..20)
        .map(|_| {
            let group = Group::new(&s.system, &plan.placements[COPYSET], COPYSET, 0);
            let script = vec![Scripted {
                at: 0,
                level: Level::Node,
                component: node,
                replace: 30 * DAY,
                subset: None,
            }];
            let mut group = group.with_script(script, u32::MAX);
            group.step_true(DAY, &mut rng);
            group.next_repair().unwrap()
        })
        .max()
        .unwrap();
    assert!(latest > 12 * HOUR, "group: {} s", latest / 1_000_000);
}
