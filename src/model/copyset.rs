//! Copyset Replication (Cidon et al., "Copysets: Reducing the Frequency of
//! Data Loss in Cloud Storage", USENIX ATC 2013): the nodes of each
//! `within` component are shuffled ⌈S/(R−1)⌉ times (S the scatter width, R
//! the group's copies), each permutation cut into groups of R, the
//! copysets; an extent's copies go to the nodes of one copyset. Data is
//! then lost only when all R nodes of a *used* copyset fail together, and
//! few copysets are used, where random placement uses about one per
//! extent.
//!
//! The group's spread rule holds inside each copyset: its nodes are on
//! distinct `spread` components (distinct nodes for a spread of disks).
//! Nodes are taken in permutation order, a node whose component the
//! copyset already holds is set aside for the next copyset (Cidon's paper
//! re-shuffles instead, which seldom succeeds with hundreds of racks); the
//! few left over at a permutation's end are in none of its copysets. When a
//! component has fewer than R distinct spread components, the rule relaxes
//! one level at a time down to nodes, as [`super::placement::pick_disk`]
//! does.

use std::collections::VecDeque;

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

use super::{CopyGroup, Level, Topology};

/// The copysets of one copy group, by `within` component of its region.
#[derive(Clone, Debug)]
pub struct Copysets {
    copies: usize,
    /// The first `within` component of the group's region.
    first: u32,
    /// Copysets of anchor `first + a`: `starts[a]..starts[a + 1]`, in sets.
    starts: Vec<u32>,
    /// The nodes of every copyset, `copies` each.
    nodes: Vec<u32>,
}

impl Copysets {
    /// Builds the copysets of `group` with scatter width `scatter_width`
    /// from `rng`; an error when some `within` component has fewer than
    /// `group.copies` nodes.
    pub fn build<R: Rng + ?Sized>(
        topo: &Topology,
        group: &CopyGroup,
        scatter_width: u32,
        rng: &mut R,
    ) -> Result<Self, String> {
        let copies = group.copies as usize;
        let permutations = permutations(scatter_width, group.copies);
        let anchors = topo.components_within(Level::Region, group.region, group.within);
        let mut out = Self {
            copies,
            first: anchors.start,
            starts: vec![0],
            nodes: Vec::new(),
        };
        for anchor in anchors {
            let nodes: Vec<u32> = topo
                .components_within(group.within, anchor, Level::Node)
                .collect();
            let before = out.nodes.len();
            let mut spread = group.spread.min(Level::Node);
            loop {
                for _ in 0..permutations {
                    let mut order = nodes.clone();
                    order.shuffle(rng);
                    cut(topo, spread, copies, order, &mut out.nodes);
                }
                if out.nodes.len() > before || spread == Level::Node {
                    break;
                }
                spread = spread.narrower();
            }
            if out.nodes.len() == before {
                return Err(format!(
                    "a {} holds {} nodes, fewer than the {copies} copies of a copyset",
                    group.within.name(),
                    nodes.len()
                ));
            }
            out.starts.push((out.nodes.len() / copies.max(1)) as u32);
        }
        Ok(out)
    }

    /// A copyset of `anchor` (a `within` component of the group's region),
    /// uniformly at random: its nodes.
    pub fn pick<R: Rng + ?Sized>(&self, anchor: u32, rng: &mut R) -> &[u32] {
        let a = (anchor - self.first) as usize;
        let (lo, hi) = (self.starts[a], self.starts[a + 1]);
        let set = rng.random_range(lo..hi) as usize;
        &self.nodes[set * self.copies..(set + 1) * self.copies]
    }

    /// Every copyset built, over all anchors.
    pub fn len(&self) -> usize {
        self.nodes.len() / self.copies.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// Permutations for scatter width `s` with `copies` copies: each gives a
/// node R − 1 partners, so ⌈S/(R−1)⌉ of them give it S (one for R = 1).
pub fn permutations(scatter_width: u32, copies: u32) -> u32 {
    match copies {
        0 | 1 => 1,
        r => scatter_width.div_ceil(r - 1).max(1),
    }
}

/// Cuts one permutation `order` into copysets of `copies` nodes on distinct
/// `spread` components, appended to `out`: nodes in order, one whose
/// component is taken set aside for the next copyset; stops when no full
/// copyset can be formed from what is left.
fn cut(topo: &Topology, spread: Level, copies: usize, order: Vec<u32>, out: &mut Vec<u32>) {
    let component = |node: u32| topo.ancestor_of(Level::Node, node, spread);
    let mut queue: VecDeque<u32> = order.into();
    let mut set: Vec<u32> = Vec::with_capacity(copies);
    let mut aside: Vec<u32> = Vec::new();
    loop {
        set.clear();
        aside.clear();
        while set.len() < copies {
            let Some(node) = queue.pop_front() else {
                break;
            };
            if set.iter().any(|&n| component(n) == component(node)) {
                aside.push(node);
            } else {
                set.push(node);
            }
        }
        if set.len() < copies {
            return;
        }
        out.extend_from_slice(&set);
        for &node in aside.iter().rev() {
            queue.push_front(node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Shape;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn topo(racks: u32, nodes: u32) -> Topology {
        let shape = Shape {
            zones: 1,
            facilities_per_zone: 1,
            racks_per_facility: racks,
            nodes_per_rack: nodes,
            disks_per_node: 2,
        };
        let region = crate::model::Region {
            name: "r".into(),
            geography: "g".into(),
            shape,
            pair: None,
        };
        Topology::build(vec![region], 1).unwrap()
    }

    fn group(copies: u32, spread: Level) -> CopyGroup {
        CopyGroup {
            copies,
            region: 0,
            within: Level::Facility,
            spread,
        }
    }

    #[test]
    fn scatter_width_two_is_one_permutation_of_disjoint_sets() {
        let t = topo(10, 30);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let sets = Copysets::build(&t, &group(3, Level::Rack), 2, &mut rng).unwrap();
        // 300 nodes in 10 racks of 30: one permutation, 100 sets but for
        // the few the rack rule leaves over.
        assert!(sets.len() <= 100 && sets.len() >= 95, "{}", sets.len());
        let mut seen = std::collections::HashSet::new();
        for s in sets.nodes.chunks(3) {
            let racks: std::collections::HashSet<u32> = s
                .iter()
                .map(|&n| t.ancestor_of(Level::Node, n, Level::Rack))
                .collect();
            assert_eq!(racks.len(), 3, "a copyset on distinct racks");
            assert!(s.iter().all(|&n| seen.insert(n)), "disjoint");
        }
    }

    #[test]
    fn scatter_width_sets_the_permutations() {
        assert_eq!(permutations(2, 3), 1);
        assert_eq!(permutations(4, 3), 2);
        assert_eq!(permutations(5, 3), 3);
        assert_eq!(permutations(7, 1), 1);
        let t = topo(10, 30);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let sets = Copysets::build(&t, &group(3, Level::Rack), 4, &mut rng).unwrap();
        assert!(sets.len() > 190 && sets.len() <= 200, "{}", sets.len());
    }

    #[test]
    fn too_few_racks_relaxes_to_nodes() {
        let t = topo(2, 4);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let sets = Copysets::build(&t, &group(3, Level::Rack), 2, &mut rng).unwrap();
        assert!(!sets.is_empty());
        for s in sets.nodes.chunks(3) {
            assert!(s[0] != s[1] && s[1] != s[2] && s[0] != s[2]);
        }
        let small = topo(1, 2);
        let refused = Copysets::build(&small, &group(3, Level::Rack), 2, &mut rng);
        assert!(refused.unwrap_err().contains("fewer than the 3 copies"));
    }
}
