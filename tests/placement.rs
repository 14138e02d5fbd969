//! Placement invariants for every option, over random topologies: copies sit
//! in their group's region, inside one component of `within`, on distinct
//! components of `spread`, on distinct disks; geo copies go to the pair.

use proptest::prelude::*;
use replisim::engine::trials::trial_rng;
use replisim::model::placement::Placement;
use replisim::model::{Level, Topology};
use replisim::scenario;

fn scenario_text(zones: u32, facilities: u32, racks: u32, nodes: u32, disks: u32) -> String {
    format!(
        r#"options = ["LRS", "ZRS", "GRS", "GZRS", "RA-GRS", "RA-GZRS"]
[[custom]]
name = "5-node"
copies = 5
within = "zone"
spread = "node"
secondary = {{ copies = 2, within = "region", spread = "facility" }}
[[region]]
name = "a"
pair = "b"
[[region]]
name = "b"
pair = "a"
zones = 3
[[region]]
name = "c"
[topology]
zones = {zones}
facilities_per_zone = {facilities}
racks_per_facility = {racks}
nodes_per_rack = {nodes}
disks_per_node = {disks}
[data]
size = "40GB"
"#
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn every_copy_keeps_its_group_rule(
        zones in 3u32..5, facilities in 2u32..4, racks in 3u32..6,
        nodes in 1u32..4, disks in 1u32..3, seed in any::<u64>(),
    ) {
        let text = scenario_text(zones, facilities, racks, nodes, disks);
        let s = scenario::parse("p.toml", &text, "p").unwrap();
        let topo = &s.system.topology;
        for (k, option) in s.system.options.iter().enumerate() {
            let mut rng = trial_rng(seed, 0, k as u32);
            let placement = Placement::new(topo, option, (s.system.extents, false), &mut rng).unwrap();
            for e in 0..s.system.extents {
                let copies = placement.extent(e);
                let mut start = 0;
                for group in &option.groups {
                    let disks = &copies[start..start + group.copies as usize];
                    start += group.copies as usize;
                    check_group(topo, group, disks);
                }
                prop_assert_eq!(start, copies.len());
            }
            if option.groups.len() == 2 {
                let (p, q) = (&option.groups[0], &option.groups[1]);
                prop_assert_eq!(topo.regions[p.region as usize].pair, Some(q.region));
                let geo = |r: u32| topo.regions[r as usize].geography.clone();
                prop_assert_eq!(geo(p.region), geo(q.region));
            }
        }
    }
}

fn check_group(topo: &Topology, group: &replisim::model::CopyGroup, disks: &[u32]) {
    let scope = topo.ancestor(disks[0], group.within);
    for (i, &d) in disks.iter().enumerate() {
        assert_eq!(
            topo.ancestor(d, Level::Region),
            group.region,
            "copy outside its region"
        );
        assert_eq!(
            topo.ancestor(d, group.within),
            scope,
            "copies span two {:?}",
            group.within
        );
        for &other in &disks[..i] {
            assert_ne!(
                topo.ancestor(d, group.spread),
                topo.ancestor(other, group.spread),
                "two copies share a {:?}",
                group.spread
            );
        }
    }
}

/// LRS and GRS under datacenter fires at 0.5 a year, nothing else failing,
/// a new fleet for a year; `stamp` as given.
fn fires(stamp: &str) -> scenario::Scenario {
    let text = format!(
        r#"options = ["LRS", "GRS"]
start = "new"
[[region]]
name = "a"
pair = "b"
[[region]]
name = "b"
pair = "a"
[topology]
zones = 3
racks_per_facility = 4
nodes_per_rack = 2
disks_per_node = 2
[data]
size = "100GB"
stamp = "{stamp}"
[failures.disk]
afr = 0
[failures.facility]
afr = 0.5
replace = "30d"
"#
    );
    scenario::parse("fires.toml", &text, "fires").unwrap()
}

/// P(any loss) of an LRS account is the chance that a datacenter holding
/// it burns: 1 − e^(−f) for one stamp, 1 − e^(−3f) when its extents are
/// spread over the region's three; each within the fleet trials' exact
/// Clopper–Pearson interval, widened from 95% to 99.9% for the four
/// checks.
#[test]
fn one_stamp_puts_an_account_in_one_datacenter() {
    use replisim::estimate::{Method, RunConfig, estimate};
    let config = RunConfig {
        seed: 3,
        trials: 4000,
        threads: 0,
        method: Method::Plain,
    };
    for (stamp, burning) in [("one", 1.0), ("per extent", 3.0)] {
        let s = fires(stamp);
        let topo = &s.system.topology;
        let plan = replisim::model::world::Plan::new(&s.system, config.seed).unwrap();
        let facilities: std::collections::BTreeSet<u32> = plan.placements[0]
            .copies
            .iter()
            .map(|&d| topo.ancestor(d, Level::Facility))
            .collect();
        assert_eq!(facilities.len() as f64, burning, "{stamp}: {facilities:?}");
        let summary = estimate(&s, config).unwrap();
        let lrs = &summary.options[0];
        let exact = 1.0 - f64::exp(-0.5 * burning);
        let d = &lrs.durability;
        assert!(
            within_widened(d.any_loss_ci95, exact),
            "{stamp}: P(any loss) {} {:?} against {exact}",
            d.any_loss_probability,
            d.any_loss_ci95
        );
        // The object-level figure does not depend on where the account is.
        let one = 1.0 - f64::exp(-0.5);
        assert!(
            within_widened(d.ci95, one),
            "{stamp}: P(object lost) {} {:?} against {one}",
            d.loss_probability,
            d.ci95
        );
    }
}

/// Whether `x` is inside the 95% interval `[lo, hi]` widened about its
/// centre to 99.9% (z 3.29 instead of 1.96).
fn within_widened([lo, hi]: [f64; 2], x: f64) -> bool {
    let (centre, half) = ((lo + hi) / 2.0, (hi - lo) / 2.0);
    (x - centre).abs() <= half * 3.29 / 1.96
}
