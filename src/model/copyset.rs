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
//!
//! The copysets are kept for the run, indexed by node, so that a lost copy
//! is re-created on a node completing a copyset with the extent's surviving
//! copies ([`super::placement::replacement_disk`]): otherwise repairs would
//! place copies at random and the layout would drift back to random
//! placement over a trial.

use std::collections::VecDeque;
use std::ops::Range;

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
    /// The first node of the group's region.
    first_node: u32,
    /// The copysets holding node `first_node + i`, by index:
    /// `of_node[node_starts[i]..node_starts[i + 1]]` (a node is in at most
    /// one copyset per permutation).
    node_starts: Vec<u32>,
    of_node: Vec<u32>,
}

impl Copysets {
    /// Bytes kept per node and permutation: its place in a copyset and in
    /// the index by node.
    pub const NODE_BYTES: u64 = 2 * std::mem::size_of::<u32>() as u64;

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
        let region_nodes = topo.components_within(Level::Region, group.region, Level::Node);
        let mut out = Self {
            copies,
            first: anchors.start,
            starts: vec![0],
            nodes: Vec::new(),
            first_node: region_nodes.start,
            node_starts: Vec::new(),
            of_node: Vec::new(),
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
        out.index_nodes(region_nodes.len());
        Ok(out)
    }

    /// Builds the index of the copysets holding each of the region's
    /// `nodes` nodes (a counting sort: draws nothing).
    fn index_nodes(&mut self, nodes: usize) {
        let mut starts = vec![0u32; nodes + 1];
        for &n in &self.nodes {
            starts[(n - self.first_node) as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut fill = starts.clone();
        self.of_node = vec![0; self.nodes.len()];
        for (i, &n) in self.nodes.iter().enumerate() {
            let at = &mut fill[(n - self.first_node) as usize];
            self.of_node[*at as usize] = (i / self.copies) as u32;
            *at += 1;
        }
        self.node_starts = starts;
    }

    /// A copyset of `anchor` (a `within` component of the group's region),
    /// uniformly at random: its nodes.
    pub fn pick<R: Rng + ?Sized>(&self, anchor: u32, rng: &mut R) -> &[u32] {
        // Never empty: `build` refuses an anchor without a copyset.
        let sets = self.of_anchor(anchor);
        self.set(rng.random_range(sets))
    }

    /// The copysets of `anchor` that hold every node of `held`, each as its
    /// nodes: all of the anchor's when `held` is empty, else those among
    /// the copysets of `held[0]` (a few, however many the anchor has). An
    /// anchor or node outside the group's region has none.
    pub fn completing<'a>(
        &'a self,
        anchor: u32,
        held: &'a [u32],
    ) -> impl Iterator<Item = &'a [u32]> + 'a {
        let of_anchor = self.of_anchor(anchor);
        let (ids, all): (&[u32], Range<u32>) = match held.first() {
            Some(&node) => (self.of_node(node), 0..0),
            None => (&[], of_anchor.clone()),
        };
        ids.iter()
            .copied()
            .chain(all)
            .filter(move |s| of_anchor.contains(s))
            .map(|s| self.set(s))
            .filter(move |set| held.iter().all(|n| set.contains(n)))
    }

    /// The indices of the copysets of `anchor`.
    fn of_anchor(&self, anchor: u32) -> Range<u32> {
        let a = anchor.wrapping_sub(self.first) as usize;
        match (self.starts.get(a), self.starts.get(a + 1)) {
            (Some(&lo), Some(&hi)) => lo..hi,
            _ => 0..0,
        }
    }

    /// The indices of the copysets holding `node`.
    fn of_node(&self, node: u32) -> &[u32] {
        let i = node.wrapping_sub(self.first_node) as usize;
        match (self.node_starts.get(i), self.node_starts.get(i + 1)) {
            (Some(&lo), Some(&hi)) => &self.of_node[lo as usize..hi as usize],
            _ => &[],
        }
    }

    /// The nodes of copyset `set`.
    fn set(&self, set: u32) -> &[u32] {
        let at = set as usize * self.copies;
        &self.nodes[at..at + self.copies]
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
    use crate::model::placement::InService;
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

    /// Nodes out of service, every disk of the others in service.
    struct NodesOut(Topology, Vec<u32>);

    impl InService for NodesOut {
        fn component(&self, level: Level, c: u32) -> bool {
            level < Level::Node || !self.1.contains(&self.0.ancestor_of(level, c, Level::Node))
        }

        fn out_range(&self, disk: u32) -> Option<Range<u32>> {
            let node = self.0.ancestor(disk, Level::Node);
            self.1
                .contains(&node)
                .then(|| self.0.disk_range(Level::Node, node))
        }
    }

    /// Copysets of scatter width 4 for groups of `copies` on distinct
    /// racks of a facility of 10 racks of 30 nodes, from `seed`.
    fn fixture(copies: u32, seed: u64) -> (Topology, CopyGroup, Copysets) {
        let t = topo(10, 30);
        let g = group(copies, Level::Rack);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sets = Copysets::build(&t, &g, 4, &mut rng).unwrap();
        (t, g, sets)
    }

    /// The partners of `node` in its copysets: the nodes a copy re-created
    /// beside a surviving copy on `node` may go to.
    fn partners(sets: &Copysets, anchor: u32, node: u32) -> Vec<u32> {
        let mut nodes: Vec<u32> = sets
            .completing(anchor, &[node])
            .flatten()
            .copied()
            .filter(|&n| n != node)
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    }

    #[test]
    fn the_index_finds_every_copyset_of_a_node_and_no_other() {
        let t = topo(10, 30);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let sets = Copysets::build(&t, &group(3, Level::Rack), 6, &mut rng).unwrap();
        for node in 0..300 {
            let by_scan: Vec<&[u32]> = sets.nodes.chunks(3).filter(|s| s.contains(&node)).collect();
            let held = [node];
            let by_index: Vec<&[u32]> = sets.completing(0, &held).collect();
            assert_eq!(by_index, by_scan, "node {node}");
            assert!(by_index.len() <= 3, "one copyset per permutation");
        }
        assert_eq!(sets.completing(0, &[]).count(), sets.len());
        assert_eq!(sets.completing(1, &[]).count(), 0, "not an anchor");
        assert_eq!(sets.completing(0, &[9999]).count(), 0, "not a node");
    }

    #[test]
    fn a_copy_beside_a_survivor_goes_to_one_of_its_partners_uniformly() {
        use crate::model::placement::{AllInService, replacement_disk};
        let (t, g, sets) = fixture(2, 5);
        let mut rng = ChaCha8Rng::seed_from_u64(50);
        let survivor = sets.nodes[0];
        let taken = [t.disk_range(Level::Node, survivor).start];
        let expected = partners(&sets, 0, survivor);
        assert!(expected.len() >= 2, "{expected:?}");
        let mut hits = vec![0u32; expected.len()];
        for _ in 0..4000 {
            let d = replacement_disk(&t, &g, Some(&sets), &taken, 0, &AllInService, &mut rng)
                .expect("placed");
            let node = t.ancestor(d, Level::Node);
            let i = expected.binary_search(&node).expect("a partner");
            hits[i] += 1;
        }
        // Uniform: each of the 3 or 4 partners near 4000 / n (within 5 σ).
        let mean = 4000.0 / expected.len() as f64;
        for h in &hits {
            assert!((f64::from(*h) - mean).abs() < 5.0 * mean.sqrt(), "{hits:?}");
        }
    }

    #[test]
    fn with_every_partner_out_the_plain_rule_places_the_copy() {
        use crate::model::placement::{pick_disk, replacement_disk};
        let (t, g, sets) = fixture(3, 6);
        let (a, b) = (sets.nodes[0], sets.nodes[1]);
        let taken = [a, b].map(|n| t.disk_range(Level::Node, n).start);
        let mut out: Vec<u32> = sets.completing(0, &[a, b]).flatten().copied().collect();
        out.retain(|&n| n != a && n != b);
        assert!(!out.is_empty());
        let usable = NodesOut(t.clone(), out.clone());
        for seed in 0..50 {
            let mut with = ChaCha8Rng::seed_from_u64(seed);
            let mut plain = ChaCha8Rng::seed_from_u64(seed);
            let d = replacement_disk(&t, &g, Some(&sets), &taken, 0, &usable, &mut with);
            let expected = pick_disk(&t, &g, 0, &taken, &usable, &mut plain);
            assert!(d.is_some(), "the copy is placed");
            assert_eq!(d, expected, "the plain rule, drawing what it draws alone");
            assert!(!out.contains(&t.ancestor(d.unwrap(), Level::Node)));
        }
    }

    #[test]
    fn with_no_survivor_a_copyset_with_a_usable_node_is_chosen() {
        use crate::model::placement::replacement_disk;
        let (t, g, sets) = fixture(3, 7);
        let mut rng = ChaCha8Rng::seed_from_u64(70);
        // Every node out but one node of a copyset (and those in none).
        let keep = sets.nodes[4];
        let out: Vec<u32> = (0..300)
            .filter(|&n| n != keep && !sets.of_node(n).is_empty())
            .collect();
        let usable = NodesOut(t.clone(), out);
        for _ in 0..20 {
            let d = replacement_disk(&t, &g, Some(&sets), &[], 0, &usable, &mut rng);
            assert_eq!(d.map(|d| t.ancestor(d, Level::Node)), Some(keep));
        }
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
