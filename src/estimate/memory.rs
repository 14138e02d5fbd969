//! What a run will hold in memory, before it allocates: the placement, its
//! copysets and its index, each thread's tables, the pending repairs of the largest
//! component a scenario can strike, the results of a wave of blocks. A
//! run planned past the limit (`--max-memory`, 8 GiB by default) is
//! refused before anything is placed, naming the field that makes it
//! large, rather than aborting mid-run. The plan is an upper bound of the
//! peak that `tests/memory.rs` measures against real runs.

use crate::engine::{entry_bytes, trials};
use crate::model::copyset::{self, Copysets};
use crate::model::placement::DiskIndex;
use crate::model::scratch::Extents;
use crate::model::world::Event;
use crate::model::{Layout, Level, Scope, System};

/// The limit of a run unless `--max-memory` says otherwise.
pub const DEFAULT_LIMIT_BYTES: u64 = 8 << 30;

/// The process before a run allocates anything: code, the bundled font,
/// the allocator's arenas and the thread stacks (measured 6–11 MB of
/// resident memory for runs of a few extents).
const BASELINE_BYTES: u64 = 32 << 20;

/// One block's accumulator per option: the sums, the loss curve and the
/// RPO, RTO and lag histograms (measured 70 KB under plain Monte Carlo and
/// 91 KB with the rare-event sums, from the growth of a run's peak between
/// 256 and 65,536 trials of four options).
const RESULT_BYTES_PER_OPTION: u64 = 128 << 10;

/// A vector grown by doubling holds up to twice what it is filled with.
const GROWTH: u64 = 2;

/// A planned part of a run's memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub what: &'static str,
    /// The scenario field that makes this part large.
    pub field: &'static str,
    pub bytes: u64,
}

/// The memory a run of a system on some threads plans for.
#[derive(Clone, Debug, PartialEq)]
pub struct Footprint {
    pub parts: Vec<Part>,
    pub threads: u64,
}

impl Footprint {
    pub fn total_bytes(&self) -> u64 {
        self.parts
            .iter()
            .fold(BASELINE_BYTES, |sum, p| sum.saturating_add(p.bytes))
    }

    /// The largest part.
    fn largest(&self) -> &Part {
        let by_size = |a: &&Part, b: &&Part| a.bytes.cmp(&b.bytes);
        self.parts
            .iter()
            .max_by(by_size)
            .expect("a footprint has parts")
    }

    /// Ok when the plan fits `limit_bytes`; otherwise the field to change
    /// and a message with the parts.
    pub fn check(&self, limit_bytes: u64) -> Result<(), (String, String)> {
        let total = self.total_bytes();
        if total <= limit_bytes {
            return Ok(());
        }
        let largest = self.largest();
        let parts: Vec<String> = self
            .parts
            .iter()
            .filter(|p| p.bytes > 0)
            .map(|p| format!("{} {}", p.what, gib(p.bytes)))
            .collect();
        let message = format!(
            "this run needs about {} of memory on {} threads ({}), over the {} limit; \
             most of it is {}: make it smaller (`{}`), use fewer --threads, or raise \
             --max-memory if the machine has the memory",
            gib(total),
            self.threads,
            parts.join(", "),
            gib(limit_bytes),
            largest.what,
            largest.field,
        );
        Err((largest.field.to_string(), message))
    }
}

/// `bytes` in GiB, as the messages print it.
pub fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// The plan of a run of `system` on `threads` threads (0: every core).
pub fn footprint(system: &System, threads: usize) -> Footprint {
    let threads = trials::threads_used(threads) as u64;
    let per_thread = |bytes: u64| bytes.saturating_mul(threads);
    let extents = u64::from(system.extents);
    let copies: u64 = system.options.iter().map(|o| u64::from(o.copies())).sum();
    let options = system.options.len() as u64;
    let disks = u64::from(system.topology.disks());
    let tables: u64 = system
        .options
        .iter()
        .map(|o| Extents::DENSE_BYTES + Extents::touched_bytes(o.copies() as usize))
        .map(|b| (b as u64).saturating_mul(extents))
        .fold(0, u64::saturating_add);
    let remnants = match system.deletion {
        Some(_) => extents.saturating_mul(options).saturating_mul(8),
        None => 0,
    };
    let wave = trials::wave_blocks(threads as usize);
    let parts = vec![
        Part {
            what: "the placement",
            field: "data.extent_size",
            bytes: extents
                .saturating_mul(copies)
                .saturating_mul(DiskIndex::COPY_BYTES),
        },
        Part {
            what: "the copysets",
            field: "custom.scatter_width",
            bytes: copyset_bytes(system),
        },
        Part {
            what: "the disks' index",
            field: "topology",
            bytes: (disks + 1).saturating_mul(DiskIndex::DISK_BYTES),
        },
        Part {
            what: "each thread's extent tables",
            field: "data.extent_size",
            bytes: per_thread(tables.saturating_add(remnants)),
        },
        Part {
            what: "each thread's fleet state",
            field: "topology",
            bytes: per_thread(disks),
        },
        Part {
            what: "the repairs of the largest component struck",
            field: "data.extent_size",
            bytes: per_thread(struck_copies(system).saturating_mul(repair_bytes())),
        },
        Part {
            what: "a wave of results",
            field: "options",
            bytes: (wave * options).saturating_mul(RESULT_BYTES_PER_OPTION),
        },
    ];
    Footprint { parts, threads }
}

/// Bytes the copysets of the copyset options take for the run: per copy
/// group, each node of its region once per permutation, and the index's
/// bounds by node.
fn copyset_bytes(system: &System) -> u64 {
    let topo = &system.topology;
    let mut bytes = 0u64;
    for option in &system.options {
        let Layout::Copyset { scatter_width } = option.layout else {
            continue;
        };
        for group in &option.groups {
            let nodes = topo
                .components_within(Level::Region, group.region, Level::Node)
                .len() as u64;
            let per_node = u64::from(copyset::permutations(scatter_width, group.copies))
                .saturating_mul(Copysets::NODE_BYTES)
                .saturating_add(4);
            bytes = bytes.saturating_add(nodes.saturating_mul(per_node));
        }
    }
    bytes
}

/// Bytes one copy waiting for its repair takes: its pending event in a
/// heap that may have doubled, its entry in the lists of copies held or
/// blocked (both (extent, slot) pairs), and in the list of copies placed
/// against their spread rule (`Tables::relaxed`), which a re-created copy
/// may join and whose move back is a pending event again.
fn repair_bytes() -> u64 {
    let relaxed = std::mem::size_of::<(u32, u8, bool)>() as u64;
    2 * GROWTH * entry_bytes::<Event>() as u64 + GROWTH * (8 + relaxed)
}

/// Copies on the largest component that a failure process, an outage
/// process or a fault can strike, each of which waits for its repair at
/// once (all of a region's with `[data] stamp = "one"`, whose account may
/// sit in one datacenter): twice the copies of a component under even
/// placement, a margin
/// for placement's spread (anchors are drawn uniformly, so a component's
/// share is binomial and close to its mean wherever the count is large
/// enough to matter).
fn struck_copies(system: &System) -> u64 {
    let topo = &system.topology;
    let failures = system.failures.iter().map(|f| f.level);
    let outages = system.outages.iter().filter_map(|o| level(o.scope));
    let faults = system.faults.iter().filter_map(|f| level(f.scope));
    let levels: Vec<Level> = failures.chain(outages).chain(faults).collect();
    let mut worst = 0u64;
    for r in 0..topo.regions.len() as u32 {
        let held: u64 = system
            .options
            .iter()
            .flat_map(|o| &o.groups)
            .filter(|g| g.region == r)
            .map(|g| u64::from(g.copies))
            .sum::<u64>()
            .saturating_mul(u64::from(system.extents));
        for &l in &levels {
            let components = topo.components_within(Level::Region, r, l).len() as u64;
            // One stamp: a datacenter (or any component inside the stamp's
            // anchor) may hold every copy of the region.
            let share = if system.one_stamp {
                held
            } else {
                held.div_ceil(components.max(1))
            };
            worst = worst.max(share.saturating_mul(GROWTH).min(held));
        }
    }
    worst
}

fn level(scope: Scope) -> Option<Level> {
    match scope {
        Scope::Component(l) => Some(l),
        Scope::Link => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;

    fn system(sets: &str) -> System {
        let text = format!("{sets}\n");
        scenario::from_source("t.toml", &text).unwrap().system
    }

    fn part(f: &Footprint, what: &str) -> u64 {
        f.parts.iter().find(|p| p.what == what).unwrap().bytes
    }

    #[test]
    fn the_plan_grows_with_the_data_and_the_threads() {
        // 1 PB of 1 GB extents under the four standard options (3 + 3 + 6
        // + 6 copies): 18M copies.
        let one = footprint(&system("[data]\nsize = \"1PB\""), 1);
        assert_eq!(
            part(&one, "the placement"),
            18_000_000 * DiskIndex::COPY_BYTES
        );
        let two = footprint(&system("[data]\nsize = \"1PB\""), 2);
        let tables = "each thread's extent tables";
        assert_eq!(part(&two, tables), 2 * part(&one, tables));
        assert_eq!(part(&two, "the placement"), part(&one, "the placement"));
        assert!(two.check(DEFAULT_LIMIT_BYTES).is_ok());
    }

    #[test]
    fn a_plan_past_the_limit_names_its_largest_part() {
        let f = footprint(&system("[data]\nsize = \"2PB\"\nextent_size = \"1MB\""), 2);
        let (field, message) = f.check(DEFAULT_LIMIT_BYTES).unwrap_err();
        assert_eq!(field, "data.extent_size");
        assert!(message.contains("over the 8.00 GiB limit"), "{message}");
        assert!(message.contains("--max-memory"), "{message}");
    }
}
