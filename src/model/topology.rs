//! The physical hierarchy: region → zone → facility → rack → node → disk.
//!
//! Components of each level are numbered in tree order, so the disks below
//! any component form one contiguous range and each disk's ancestors follow
//! by division. This keeps failure handling and placement allocation-free.

use std::ops::Range;

use strength_reduce::StrengthReducedU32;

/// Levels of the hierarchy, from the widest to the narrowest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Region = 0,
    Zone = 1,
    Facility = 2,
    Rack = 3,
    Node = 4,
    Disk = 5,
}

impl Level {
    pub const ALL: [Level; 6] = [
        Level::Region,
        Level::Zone,
        Level::Facility,
        Level::Rack,
        Level::Node,
        Level::Disk,
    ];

    pub fn name(self) -> &'static str {
        ["region", "zone", "facility", "rack", "node", "disk"][self as usize]
    }

    pub fn parse(text: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == text)
    }

    /// The next narrower level (Disk stays Disk).
    pub fn narrower(self) -> Level {
        Level::ALL[(self as usize + 1).min(5)]
    }
}

/// How one region is built: counts below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub zones: u32,
    pub facilities_per_zone: u32,
    pub racks_per_facility: u32,
    pub nodes_per_rack: u32,
    pub disks_per_node: u32,
}

impl Shape {
    fn fanout(&self) -> [u32; 5] {
        [
            self.zones,
            self.facilities_per_zone,
            self.racks_per_facility,
            self.nodes_per_rack,
            self.disks_per_node,
        ]
    }

    /// Disks in one region of this shape; u64::MAX when the product
    /// overflows (five fan-outs of up to 2^32 can reach 2^160), so that a
    /// limit on the count refuses it instead of seeing a wrapped count.
    pub fn disks(&self) -> u64 {
        self.fanout()
            .iter()
            .try_fold(1u64, |product, &n| product.checked_mul(u64::from(n)))
            .unwrap_or(u64::MAX)
    }
}

/// Disks in all `regions`, saturating like [`Shape::disks`].
pub fn total_disks(regions: &[Region]) -> u64 {
    regions
        .iter()
        .fold(0u64, |sum, r| sum.saturating_add(r.shape.disks()))
}

/// A region as the scenario names it.
#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    pub name: String,
    pub geography: String,
    /// Index of the paired region, where geo-redundant copies go.
    pub pair: Option<u32>,
    pub shape: Shape,
}

/// Where one region's components sit in the numbering: every region is a
/// uniform tree, so a component's index follows from a disk's by division.
#[derive(Clone, Debug)]
struct RegionIndex {
    /// Per level, the index of the region's first component.
    first: [u32; 6],
    /// Per level, the disks below one component.
    disks_per: [u32; 6],
}

/// The built hierarchy.
///
/// Ancestors and disk ranges are computed, not stored: a table of them
/// would hold about 33 bytes per disk, and on a large fleet each lookup at a
/// random disk would miss the cache, where a division or two does not.
#[derive(Clone, Debug)]
pub struct Topology {
    pub regions: Vec<Region>,
    index: Vec<RegionIndex>,
    /// Per level, the components of the whole hierarchy.
    counts: [u32; 6],
    /// When every region has the same shape (the usual fleet), per level
    /// the disks below one component: then a component of level `l` covers
    /// disks `c * per[l]..(c + 1) * per[l]` across the whole fleet, and an
    /// ancestor is one division, with no search for the region. Held as
    /// reduced divisors (`strength_reduce`: a multiply and a shift, exact
    /// for every u32 numerator), since placement checks divide at every
    /// level of every candidate disk.
    uniform: Option<[StrengthReducedU32; 6]>,
    /// Bytes a disk holds.
    pub disk_bytes: u64,
}

impl Topology {
    /// Builds the hierarchy; fails if it exceeds u32 disk indices.
    pub fn build(regions: Vec<Region>, disk_bytes: u64) -> Result<Self, String> {
        let total = total_disks(&regions);
        if total > u64::from(u32::MAX) {
            // `total_disks` saturates: a product past 2^64 reads as u64::MAX.
            let count = match total {
                u64::MAX => "more than 2^64".to_string(),
                n => n.to_string(),
            };
            return Err(format!(
                "{count} disks (the product of the fan-outs); replisim supports at most 2^32"
            ));
        }
        let mut counts = [0u32; 6];
        let index = regions
            .iter()
            .map(|r| {
                let first = counts;
                let fanout = r.shape.fanout();
                let mut disks_per = [1u32; 6];
                let mut below = [1u32; 6];
                for l in (0..5).rev() {
                    disks_per[l] = disks_per[l + 1] * fanout[l];
                    below[l] = below[l + 1] * fanout[l];
                }
                // Components of level l in this region: the product of the
                // fanouts above it.
                for (l, count) in counts.iter_mut().enumerate() {
                    *count += below[0] / below[l];
                }
                RegionIndex { first, disks_per }
            })
            .collect::<Vec<RegionIndex>>();
        let uniform = regions
            .windows(2)
            .all(|w| w[0].shape == w[1].shape)
            .then(|| index.first())
            .flatten()
            .filter(|r| r.disks_per.iter().all(|&n| n > 0))
            .map(|r| r.disks_per.map(StrengthReducedU32::new));
        Ok(Topology {
            regions,
            index,
            counts,
            uniform,
            disk_bytes,
        })
    }

    pub fn disks(&self) -> u32 {
        self.counts[Level::Disk as usize]
    }

    pub fn count(&self, level: Level) -> u32 {
        self.counts[level as usize]
    }

    /// The region holding component `index` of `level`.
    fn region_of(&self, level: Level, index: u32) -> &RegionIndex {
        let r = self
            .index
            .partition_point(|r| r.first[level as usize] <= index);
        &self.index[r.saturating_sub(1)]
    }

    /// The disks below component `index` of `level`.
    #[inline]
    pub fn disk_range(&self, level: Level, index: u32) -> Range<u32> {
        if level == Level::Disk {
            return index..index + 1;
        }
        if let Some(per) = &self.uniform {
            let per = per[level as usize].get();
            let start = index * per;
            return start..start + per;
        }
        let r = self.region_of(level, index);
        let l = level as usize;
        let per = r.disks_per[l];
        let start = r.first[5] + (index - r.first[l]) * per;
        start..start + per
    }

    /// The ancestor of `disk` at `level`.
    #[inline]
    pub fn ancestor(&self, disk: u32, level: Level) -> u32 {
        if level == Level::Disk {
            return disk;
        }
        if let Some(per) = &self.uniform {
            return disk / per[level as usize];
        }
        let r = self.region_of(Level::Disk, disk);
        let l = level as usize;
        r.first[l] + (disk - r.first[5]) / r.disks_per[l]
    }

    /// The components of level `below` inside component `index` of `level`.
    #[inline]
    pub fn components_within(&self, level: Level, index: u32, below: Level) -> Range<u32> {
        let disks = self.disk_range(level, index);
        self.ancestor(disks.start, below)..self.ancestor(disks.end - 1, below) + 1
    }

    /// The ancestor at `level` of component `index` of a narrower level.
    #[inline]
    pub fn ancestor_of(&self, level: Level, index: u32, at: Level) -> u32 {
        let first_disk = self.disk_range(level, index).start;
        self.ancestor(first_disk, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(z: u32, f: u32, r: u32, n: u32, d: u32) -> Shape {
        Shape {
            zones: z,
            facilities_per_zone: f,
            racks_per_facility: r,
            nodes_per_rack: n,
            disks_per_node: d,
        }
    }

    /// A topology of one region per shape, unpaired.
    fn build(shapes: &[Shape]) -> Topology {
        let region = |(i, shape): (usize, &Shape)| Region {
            name: format!("r{i}"),
            geography: "geo".into(),
            pair: None,
            shape: *shape,
        };
        Topology::build(shapes.iter().enumerate().map(region).collect(), 1).unwrap()
    }

    fn assert_consistent(topo: &Topology) {
        for level in Level::ALL {
            let mut next = 0;
            for c in 0..topo.count(level) {
                let range = topo.disk_range(level, c);
                assert_eq!(range.start, next, "{level:?} {c} is contiguous");
                assert!(!range.is_empty());
                for d in range.clone() {
                    assert_eq!(topo.ancestor(d, level), c);
                }
                next = range.end;
            }
            assert_eq!(next, topo.disks());
        }
    }

    #[test]
    fn ranges_and_ancestors_agree() {
        let topo = build(&[shape(3, 2, 4, 2, 3), shape(1, 1, 5, 1, 2)]);
        assert!(topo.uniform.is_none());
        assert_eq!(topo.disks(), 3 * 2 * 4 * 2 * 3 + 10);
        assert_eq!(topo.count(Level::Zone), 4);
        assert_eq!(topo.count(Level::Rack), 3 * 2 * 4 + 5);
        assert_consistent(&topo);
        assert_eq!(topo.ancestor_of(Level::Rack, 24, Level::Region), 1);
    }

    #[test]
    fn uniform_regions_divide_directly() {
        let topo = build(&[shape(3, 1, 7, 5, 3); 3]);
        assert!(topo.uniform.is_some());
        assert_consistent(&topo);
        let general = Topology {
            uniform: None,
            ..topo.clone()
        };
        for level in Level::ALL {
            for c in 0..topo.count(level) {
                assert_eq!(topo.disk_range(level, c), general.disk_range(level, c));
            }
            for d in 0..topo.disks() {
                assert_eq!(topo.ancestor(d, level), general.ancestor(d, level));
            }
        }
    }
}
