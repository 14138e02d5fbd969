//! Where copies go: the spread rule of a copy group, applied when data is
//! first placed and again when a lost copy is re-created.

use std::ops::Range;

use rand::{Rng, RngExt};

use super::copyset::Copysets;
use super::world::MAX_COPIES;
use super::{CopyGroup, Layout, Level, ReplicationOption, Topology};

/// Which components can take a new copy right now.
pub trait InService {
    /// Whether component `c` of `level` and all its ancestors are in service.
    fn component(&self, level: Level, c: u32) -> bool;

    /// The disks of the widest out-of-service component at or above `disk`,
    /// if any: the stretch a search for a usable disk can skip.
    fn out_range(&self, disk: u32) -> Option<Range<u32>>;

    /// The first in-service disk of `disks`, if any. Skips whole
    /// out-of-service subtrees, so a lost facility costs one step.
    #[inline]
    fn first_disk(&self, disks: Range<u32>) -> Option<u32> {
        let mut d = disks.start;
        while d < disks.end {
            match self.out_range(d) {
                None => return Some(d),
                Some(out) => d = out.end,
            }
        }
        None
    }
}

/// A fleet with nothing out of service: for the initial placement.
pub struct AllInService;

impl InService for AllInService {
    fn component(&self, _: Level, _: u32) -> bool {
        true
    }

    fn out_range(&self, _: u32) -> Option<Range<u32>> {
        None
    }
}

/// Where to re-create the lost copy `slot` of a group whose other live
/// copies are on `taken` and whose lost copy was on `old`: anchored on a
/// surviving copy, else where the lost copy was, else anywhere in service in
/// the group's region; then, for a group placed by `copysets`, a node
/// completing one of them with the surviving copies ([`copyset_disk`]), and
/// otherwise (or when no such node can take it) a disk that keeps the
/// spread rule. The fleet and the group model both call this, so they
/// re-place copies alike.
pub fn replacement_disk<S: InService + ?Sized, R: Rng + ?Sized>(
    topo: &Topology,
    group: &CopyGroup,
    copysets: Option<&Copysets>,
    taken: &[u32],
    old: u32,
    usable: &S,
    rng: &mut R,
) -> Option<u32> {
    let anchor = match taken.first() {
        Some(&d) => Some(topo.ancestor(d, group.within)),
        None if usable.component(Level::Disk, old) => Some(topo.ancestor(old, group.within)),
        None => pick_anchor(topo, group, usable, rng),
    }?;
    copysets
        .and_then(|sets| copyset_disk(topo, sets, anchor, taken, usable, rng))
        .or_else(|| pick_disk(topo, group, anchor, taken, usable, rng))
}

/// Whether the copy on `disk` shares its `group.spread` component with one
/// of the group's other live copies (`others`): it was placed against the
/// spread rule, relaxed for want of a free component, and is moved back
/// once a return makes room ([`room_after_return`]).
pub fn breaks_spread(topo: &Topology, group: &CopyGroup, disk: u32, others: &[u32]) -> bool {
    let c = topo.ancestor(disk, group.spread);
    others
        .iter()
        .any(|&d| d != disk && topo.ancestor(d, group.spread) == c)
}

/// Whether the return of component `c` of `level` (already back in
/// `usable`) can have made room at the `spread` level: it is a component
/// of that level or a wider one, or the component of that level above it
/// had no other usable disk before. A disk back inside a datacenter that
/// was taking copies anyway makes no new room: the fleet asks this once per
/// return and group before looking at each copy placed against its rule.
pub fn return_may_make_room<S: InService + ?Sized>(
    topo: &Topology,
    spread: Level,
    (level, c): (Level, u32),
    usable: &S,
) -> bool {
    if level <= spread {
        return true;
    }
    let above = topo.ancestor_of(level, c, spread);
    if !usable.component(spread, above) {
        return false;
    }
    let inside = topo.disk_range(spread, above);
    let mine = topo.disk_range(level, c);
    let before = usable
        .first_disk(inside.start..mine.start)
        .or_else(|| usable.first_disk(mine.end..inside.end));
    before.is_none()
}

/// Whether the return of `back` (a level and a component) gives a copy of
/// a group anchored at `anchor`, whose other live copies are on `others`,
/// a place that keeps the spread rule: a component of `group.spread` in
/// the anchor, within `back` or containing it, holding none of `others`
/// and able to take a copy. Draws nothing: most returns (a disk inside a
/// component already holding a copy) cannot help, and cost no draw.
pub fn room_after_return<S: InService + ?Sized>(
    topo: &Topology,
    group: &CopyGroup,
    (anchor, others): (u32, &[u32]),
    (level, c): (Level, u32),
    usable: &S,
) -> bool {
    let spread = group.spread;
    let near = topo.components_within(level, c, spread);
    let scope = topo.components_within(group.within, anchor, spread);
    let from = near.start.max(scope.start);
    let to = near.end.min(scope.end);
    (from..to).any(|s| {
        !others.iter().any(|&d| topo.ancestor(d, spread) == s) && can_take(topo, spread, s, usable)
    })
}

/// A usable disk for a new copy of a copyset group anchored at `anchor`
/// whose live copies are on `taken`: on a node completing, with their
/// nodes, a copyset of the anchor ([`completing_node`]); with no live copy,
/// on a node of a copyset of the anchor ([`open_copyset_node`]). None when
/// no such node can take it (all destroyed or down, or the live copies in
/// no common copyset after an earlier fallback), and then nothing is drawn.
fn copyset_disk<S: InService + ?Sized, R: Rng + ?Sized>(
    topo: &Topology,
    sets: &Copysets,
    anchor: u32,
    taken: &[u32],
    usable: &S,
    rng: &mut R,
) -> Option<u32> {
    let mut buffer = [0u32; MAX_COPIES];
    let held = &mut buffer[..taken.len().min(MAX_COPIES)];
    for (n, &d) in held.iter_mut().zip(taken) {
        *n = topo.ancestor(d, Level::Node);
    }
    let held = &*held;
    let free = |n: u32| !held.contains(&n) && can_take(topo, Level::Node, n, usable);
    let node = if held.is_empty() {
        open_copyset_node(sets.completing(anchor, held), free, rng)
    } else {
        completing_node(sets.completing(anchor, held), free, rng)
    }?;
    usable_disk(topo, Level::Node, node, usable, rng)
}

/// A node that can take the copy (`free`) among those of the copysets
/// `completing` the surviving copies, uniformly.
fn completing_node<'a, R: Rng + ?Sized>(
    completing: impl Iterator<Item = &'a [u32]>,
    free: impl Fn(u32) -> bool,
    rng: &mut R,
) -> Option<u32> {
    let mut nodes: Vec<u32> = completing
        .flat_map(|set| set.iter().copied())
        .filter(|&n| free(n))
        .collect();
    // A node may complete two copysets: each candidate counts once.
    nodes.sort_unstable();
    nodes.dedup();
    pick_one(&nodes, rng).copied()
}

/// A copyset drawn uniformly among the `sets` with a node that can take
/// the copy (`free`), then one such node of it, uniformly.
fn open_copyset_node<'a, R: Rng + ?Sized>(
    sets: impl Iterator<Item = &'a [u32]>,
    free: impl Fn(u32) -> bool,
    rng: &mut R,
) -> Option<u32> {
    let open: Vec<&[u32]> = sets.filter(|set| set.iter().any(|&n| free(n))).collect();
    let set = *pick_one(&open, rng)?;
    let nodes: Vec<u32> = set.iter().copied().filter(|&n| free(n)).collect();
    pick_one(&nodes, rng).copied()
}

/// An item of `items` uniformly at random; None, drawing nothing, if empty.
fn pick_one<'a, T, R: Rng + ?Sized>(items: &'a [T], rng: &mut R) -> Option<&'a T> {
    match items.len() {
        0 => None,
        n => items.get(rng.random_range(0..n)),
    }
}

/// Whether component `c` of `level` (with its ancestors) and one of its
/// disks are in service: it can take a copy.
#[inline]
fn can_take<S: InService + ?Sized>(topo: &Topology, level: Level, c: u32, usable: &S) -> bool {
    usable.component(level, c) && usable.first_disk(topo.disk_range(level, c)).is_some()
}

/// Chooses a disk for a new copy of a group anchored at `anchor` (a component
/// of `group.within`), on a component of `group.spread` that holds none of
/// the `taken` disks. If every such component is taken or out of service,
/// the rule is relaxed one level at a time (rack → node → disk): redundancy
/// degrades rather than the copy being refused. Only a disk already holding
/// a copy, or no usable disk at all, is never chosen.
pub fn pick_disk<S: InService + ?Sized, R: Rng + ?Sized>(
    topo: &Topology,
    group: &CopyGroup,
    anchor: u32,
    taken: &[u32],
    usable: &S,
    rng: &mut R,
) -> Option<u32> {
    if !usable.component(group.within, anchor) {
        return None;
    }
    let mut spread = group.spread;
    loop {
        if let Some(d) = pick_at_level(topo, group.within, anchor, spread, taken, usable, rng) {
            return Some(d);
        }
        if spread == Level::Disk {
            return None;
        }
        spread = spread.narrower();
    }
}

/// Picks uniformly among the untaken components of `spread` inside the
/// anchor that can take a copy, then a usable disk inside it; gives up when
/// none qualifies. The first random choice usually works; when it does not,
/// the candidates are listed in one pass, so that a mostly destroyed scope
/// costs linear rather than quadratic time.
#[inline]
fn pick_at_level<S: InService + ?Sized, R: Rng + ?Sized>(
    topo: &Topology,
    within: Level,
    anchor: u32,
    spread: Level,
    taken: &[u32],
    usable: &S,
    rng: &mut R,
) -> Option<u32> {
    let range = topo.components_within(within, anchor, spread);
    // On the stack: this runs for every copy placed or re-created.
    let mut buffer = [0u32; MAX_COPIES];
    let excluded = excluded_components(topo, spread, &range, taken, &mut buffer);
    let free = range.len() as u32 - excluded.len() as u32;
    if free == 0 {
        return None;
    }
    let first = nth_free(range.start, rng.random_range(0..free), excluded);
    let can_take = |c: u32| can_take(topo, spread, c, usable);
    if can_take(first) {
        return usable_disk(topo, spread, first, usable, rng);
    }
    let candidates: Vec<u32> = range
        .filter(|&c| c != first && excluded.binary_search(&c).is_err() && can_take(c))
        .collect();
    let &c = pick_one(&candidates, rng)?;
    usable_disk(topo, spread, c, usable, rng)
}

/// The components of `spread` in `range` holding one of the `taken` disks,
/// sorted and distinct, written into `buffer` (validation keeps a group
/// within `MAX_COPIES` copies).
#[inline]
fn excluded_components<'b>(
    topo: &Topology,
    spread: Level,
    range: &Range<u32>,
    taken: &[u32],
    buffer: &'b mut [u32; MAX_COPIES],
) -> &'b [u32] {
    // Insertion into a sorted prefix: a group has a handful of copies.
    let mut n = 0;
    for c in taken.iter().map(|&d| topo.ancestor(d, spread)) {
        if !range.contains(&c) || n == MAX_COPIES {
            continue;
        }
        if buffer[..n].contains(&c) {
            continue;
        }
        let mut at = n;
        while at > 0 && buffer[at - 1] > c {
            buffer[at] = buffer[at - 1];
            at -= 1;
        }
        buffer[at] = c;
        n += 1;
    }
    &buffer[..n]
}

/// The `n`-th component id from `start`, skipping the sorted `excluded` ids.
fn nth_free(start: u32, n: u32, excluded: &[u32]) -> u32 {
    let mut id = start + n;
    for &e in excluded {
        if e <= id {
            id += 1;
        } else {
            break;
        }
    }
    id
}

/// A uniformly chosen usable disk below a component, if any: a few random
/// probes, then the first usable disk from a random start, wrapping around.
#[inline]
fn usable_disk<S: InService + ?Sized, R: Rng + ?Sized>(
    topo: &Topology,
    level: Level,
    component: u32,
    usable: &S,
    rng: &mut R,
) -> Option<u32> {
    let disks = topo.disk_range(level, component);
    let n = disks.len() as u32;
    for _ in 0..4 {
        let d = disks.start + rng.random_range(0..n);
        if usable.component(Level::Disk, d) {
            return Some(d);
        }
    }
    let split = disks.start + rng.random_range(0..n);
    usable
        .first_disk(split..disks.end)
        .or_else(|| usable.first_disk(disks.start..split))
}

/// A random in-service component of `group.within` inside the group's
/// region, if there is one.
pub fn pick_anchor<S: InService + ?Sized, R: Rng + ?Sized>(
    topo: &Topology,
    group: &CopyGroup,
    usable: &S,
    rng: &mut R,
) -> Option<u32> {
    let range = topo.components_within(Level::Region, group.region, group.within);
    let first_try = range.start + rng.random_range(0..range.len() as u32);
    if usable.component(group.within, first_try) {
        return Some(first_try);
    }
    let mut live = range.filter(|&c| usable.component(group.within, c));
    let count = live.clone().count();
    if count == 0 {
        return None;
    }
    live.nth(rng.random_range(0..count))
}

/// The initial placement of every extent of one option: copy `s` of extent
/// `e` is on disk `copies[e * n + s]`.
#[derive(Clone, Debug)]
pub struct Placement {
    pub copies_per_extent: usize,
    pub copies: Vec<u32>,
    /// With `placement = "copyset"`, the copysets of each copy group, kept
    /// for re-created copies.
    copysets: Option<Vec<Copysets>>,
}

impl Placement {
    /// Places `extents` extents of `option` on an empty, fully working
    /// fleet; with `one_stamp`, every extent's copy group on the anchor its
    /// first extent drew (one account in one stamp).
    pub fn new<R: Rng + ?Sized>(
        topo: &Topology,
        option: &ReplicationOption,
        (extents, one_stamp): (u32, bool),
        rng: &mut R,
    ) -> Result<Self, String> {
        let n = option.copies() as usize;
        let mut copies = Vec::with_capacity(extents as usize * n);
        let copysets = match option.layout {
            Layout::Random => None,
            Layout::Copyset { scatter_width } => Some(
                option
                    .groups
                    .iter()
                    .map(|g| Copysets::build(topo, g, scatter_width, rng))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("option {}: placement = \"copyset\": {e}", option.name))?,
            ),
        };
        let mut stamps: Vec<Option<u32>> = vec![None; option.groups.len()];
        for _ in 0..extents {
            for (g, group) in option.groups.iter().enumerate() {
                let anchor = match stamps[g] {
                    Some(a) => a,
                    None => pick_anchor(topo, group, &AllInService, rng)
                        .ok_or_else(|| too_few_disks(option, group))?,
                };
                if one_stamp {
                    stamps[g] = Some(anchor);
                }
                if let Some(sets) = &copysets {
                    for &node in sets[g].pick(anchor, rng) {
                        let disks = topo.disk_range(Level::Node, node);
                        copies.push(rng.random_range(disks));
                    }
                    continue;
                }
                let first = copies.len();
                for _ in 0..group.copies {
                    let disk = pick_disk(topo, group, anchor, &copies[first..], &AllInService, rng)
                        .ok_or_else(|| too_few_disks(option, group))?;
                    copies.push(disk);
                }
            }
        }
        Ok(Self {
            copies_per_extent: n,
            copies,
            copysets,
        })
    }

    pub fn extent(&self, extent: u32) -> &[u32] {
        let n = self.copies_per_extent;
        &self.copies[extent as usize * n..(extent as usize + 1) * n]
    }

    /// The copysets of copy group `group`, if the option places by them.
    pub fn copysets(&self, group: usize) -> Option<&Copysets> {
        self.copysets.as_ref()?.get(group)
    }
}

/// The reverse of every option's placement: the copies each disk holds, by
/// option. Disk-major, so a failed disk's copies of all options sit
/// together, and with 4 bytes of bounds per disk (not per disk and option)
/// the bounds of a 100k-disk fleet fit in a core's L2 cache: reading a
/// failed disk's copies costs about one cache miss, which on a large fleet
/// is most of what destroying a disk costs.
#[derive(Clone, Debug)]
pub struct DiskIndex {
    /// CSR: the copies on disk d are `entries[starts[d]..starts[d + 1]]`.
    starts: Vec<u32>,
    /// By disk, then option, then extent.
    entries: Vec<DiskEntry>,
}

/// One copy in a [`DiskIndex`]: 8 bytes.
#[derive(Clone, Copy, Debug)]
struct DiskEntry {
    extent: u32,
    option: u16,
    slot: u8,
}

impl DiskIndex {
    /// Bytes per copy of the placements and their index: the copy's disk
    /// and its entry.
    pub const COPY_BYTES: u64 =
        (std::mem::size_of::<u32>() + std::mem::size_of::<DiskEntry>()) as u64;
    /// Bytes per disk of the index while it is built: its bounds and their
    /// running copy.
    pub const DISK_BYTES: u64 = 2 * std::mem::size_of::<u32>() as u64;

    pub fn new(disks: u32, placements: &[Placement]) -> Self {
        let mut starts = vec![0u32; disks as usize + 1];
        for p in placements {
            for &d in &p.copies {
                starts[d as usize + 1] += 1;
            }
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut fill = starts.clone();
        let blank = DiskEntry {
            extent: 0,
            option: 0,
            slot: 0,
        };
        let mut entries = vec![blank; starts[disks as usize] as usize];
        for (k, p) in placements.iter().enumerate() {
            let n = p.copies_per_extent;
            for (i, &d) in p.copies.iter().enumerate() {
                let at = &mut fill[d as usize];
                entries[*at as usize] = DiskEntry {
                    extent: (i / n) as u32,
                    option: k as u16,
                    slot: (i % n) as u8,
                };
                *at += 1;
            }
        }
        Self { starts, entries }
    }

    /// Every option's copies initially placed on `disk`, by option.
    fn of_disk(&self, disk: u32) -> &[DiskEntry] {
        let (a, b) = (self.starts[disk as usize], self.starts[disk as usize + 1]);
        &self.entries[a as usize..b as usize]
    }

    /// Copies of option `k` initially placed on `disk`, as (extent, slot),
    /// in extent order. A disk holds a few copies: a scan beats a search.
    pub fn on_disk(&self, k: usize, disk: u32) -> impl Iterator<Item = (u32, u8)> + '_ {
        let k = k as u16;
        let all = self.of_disk(disk).iter();
        let of_k = all
            .skip_while(move |e| e.option < k)
            .take_while(move |e| e.option == k);
        of_k.map(|e| (e.extent, e.slot))
    }

    /// Whether option `k` placed a copy on `disk`.
    pub fn holds(&self, k: usize, disk: u32) -> bool {
        let k = k as u16;
        self.of_disk(disk).iter().any(|e| e.option == k)
    }

    /// Every option's copies initially placed on `disk`, as (option,
    /// extent, slot), by option.
    pub fn copies_on(&self, disk: u32) -> impl Iterator<Item = (usize, u32, u8)> + '_ {
        self.of_disk(disk)
            .iter()
            .map(|e| (usize::from(e.option), e.extent, e.slot))
    }

    /// Starts loading where the copies on `disk` are: a first step, well
    /// ahead, so that [`DiskIndex::prefetch`] finds it in cache.
    #[inline]
    pub fn prefetch_bounds(&self, disk: u32) {
        crate::cache::prefetch(self.starts.as_ptr().wrapping_add(disk as usize));
    }

    /// Starts loading the copies on `disk` ([`crate::cache`]).
    #[inline]
    pub fn prefetch(&self, disk: u32) {
        if let Some(&start) = self.starts.get(disk as usize) {
            crate::cache::prefetch(self.entries.as_ptr().wrapping_add(start as usize));
        }
    }
}

fn too_few_disks(option: &ReplicationOption, group: &CopyGroup) -> String {
    format!(
        "option {}: a {} holds fewer than {} disks, so its copies cannot be placed",
        option.name,
        group.within.name(),
        group.copies
    )
}
