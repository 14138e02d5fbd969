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
            let placement = Placement::new(topo, option, s.system.extents, &mut rng).unwrap();
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
