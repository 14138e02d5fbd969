//! The exact answer for the Markovian version of a scenario: exponential
//! lifetimes, exponential repairs and no detection delay. One extent of an
//! option is then a continuous-time Markov chain over which of its copies
//! are alive; a component shared by several copies (the facility of an LRS
//! group, the region of a ZRS group) removes them together. P(loss by the
//! horizon) comes from uniformization with its error bound ([`crate::exact::markov`]).
//!
//! The chain assumes, as the placement rules make true for the scenarios it
//! accepts, that a re-created copy takes the lost copy's place in the
//! sharing structure and that re-creation never waits for a replacement.

use serde::Serialize;

use crate::exact::markov::{Ctmc, MarkovError};
use crate::model::{CopyGroup, Level, Repair, RepairDiscipline, ReplicationOption, System, repair};
use crate::units::{self, YEAR};

/// The chain has 2^copies states; mean time to loss is solved densely.
const MAX_EXACT_COPIES: u32 = 8;

/// Why a scenario has no exact chain: the field to change and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct NotMarkovian {
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for NotMarkovian {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.field, self.reason)
    }
}

/// The exact figures for one option.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exact {
    pub option: String,
    /// P(a given extent is lost within the horizon, after the warm-up).
    pub loss_probability: f64,
    /// Bound on the absolute error of `loss_probability`.
    pub error_bound: f64,
    pub nines: f64,
    /// Mean time to data loss of one extent, in years.
    pub mttdl_years: f64,
    /// States of the chain, loss included.
    pub states: usize,
}

/// Something that removes copies: its rate (per year) and the copies it holds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Remover {
    rate: f64,
    copies: u16,
}

/// Solves every option of `system`; refuses with the first of its
/// [`blockers`].
pub fn analyze(system: &System) -> Result<Vec<Exact>, NotMarkovian> {
    if let Some(first) = blockers(system).into_iter().next() {
        return Err(first);
    }
    let repair_rate = repair_rate(system)?;
    let mut out = Vec::new();
    for option in &system.options {
        let removers = removers(system, option)?;
        let (chain, loss) =
            build_chain(option, &removers, repair_rate, system.discipline).map_err(solver)?;
        // A fleet in operation: lost within the horizon that follows the
        // warm-up, P(loss by warm-up + horizon) − P(loss by warm-up).
        let by = |t: u64| {
            chain
                .absorption_probability(0, &[loss], units::years(t))
                .map_err(solver)
        };
        let end = by(system.end())?;
        let (probability, error_bound) = if system.warmup == 0 {
            (end.probability, end.error_bound)
        } else {
            let before = by(system.warmup)?;
            let rounding = f64::EPSILON * end.probability;
            (
                (end.probability - before.probability).max(0.0),
                end.error_bound + before.error_bound + rounding,
            )
        };
        let mttdl = chain.mean_time_to_absorption(0, &[loss]).map_err(solver)?;
        out.push(Exact {
            option: option.name.clone(),
            loss_probability: probability,
            error_bound,
            nines: crate::stats::nines(probability),
            mttdl_years: mttdl,
            states: loss + 1,
        });
    }
    Ok(out)
}

fn solver(e: MarkovError) -> NotMarkovian {
    NotMarkovian {
        field: "options".into(),
        reason: format!("the exact solver failed: {e}"),
    }
}

fn refuse<T>(field: impl Into<String>, reason: impl Into<String>) -> Result<T, NotMarkovian> {
    Err(refusal(field, reason))
}

fn refusal(field: impl Into<String>, reason: impl Into<String>) -> NotMarkovian {
    NotMarkovian {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Everything that keeps `system` from an exact chain, each once, so that a
/// user can change them all in one go: the scenario-wide conditions, then
/// each option's.
pub fn blockers(system: &System) -> Vec<NotMarkovian> {
    let mut found = Vec::new();
    for p in &system.failures {
        if p.lifetime.exponential_rate().is_none() {
            found.push(refusal(
                format!("failures.{}.lifetime", p.level.name()),
                "the exact chain needs exponential lifetimes (give `afr`)",
            ));
        }
    }
    if system.detection.mean() != 0.0 {
        found.push(refusal(
            "detection",
            "the exact chain needs repair to start at once: set detection = \"0s\"",
        ));
    }
    found.extend(repair_rate(system).err());
    for option in &system.options {
        for group in &option.groups {
            found.extend(check_group(system, option, group));
        }
        found.extend(removers(system, option).err());
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|b| seen.insert((b.field.clone(), b.reason.clone())));
    found
}

/// The repair rate per year: an exponential repair time's.
fn repair_rate(system: &System) -> Result<f64, NotMarkovian> {
    match &system.repair {
        Repair::Time(d) => match d.exponential_rate() {
            Some(rate) => Ok(rate * YEAR as f64),
            None => refuse(
                "repair.time",
                "the exact chain needs an exponential repair time, e.g. { dist = \"exponential\", mean = \"1d\" }",
            ),
        },
        Repair::Bandwidth { .. } => refuse(
            "repair.time",
            "bandwidth-limited rebuilds take a uniform share of a window, not an exponential time; give an exponential `repair.time`",
        ),
    }
}

/// The copy-removing events of one option: one per failure process and
/// distinct component, with the copies it holds. Components below a group's
/// spread level hold one copy each; those at or above its `within` level
/// hold the whole group; a level in between is refused unless it has one
/// component per `within` scope (then it holds the whole group too).
fn removers(system: &System, option: &ReplicationOption) -> Result<Vec<Remover>, NotMarkovian> {
    let topo = &system.topology;
    let mut out = Vec::new();
    let mut first = 0usize;
    for group in &option.groups {
        if let Some(first) = check_group(system, option, group).into_iter().next() {
            return Err(first);
        }
        let slots = (first..first + group.copies as usize).fold(0u16, |m, s| m | 1 << s);
        for p in &system.failures {
            let rate = p.lifetime.exponential_rate().unwrap_or(0.0) * YEAR as f64;
            if rate == 0.0 {
                continue;
            }
            if p.level >= group.spread {
                out.extend((first..first + group.copies as usize).map(|s| Remover {
                    rate,
                    copies: 1 << s,
                }));
            } else if p.level <= group.within || one_per_scope(topo, group, p.level) {
                out.push(Remover {
                    rate,
                    copies: slots,
                });
            } else {
                return refuse(
                    format!("failures.{}", p.level.name()),
                    format!(
                        "option {}: copies spread over {}s within a {} may or may not share a {}, so the chain has no fixed structure",
                        option.name,
                        group.spread.name(),
                        group.within.name(),
                        p.level.name()
                    ),
                );
            }
        }
        first += group.copies as usize;
    }
    Ok(out)
}

/// Whether each `within` component of the group's region holds one `level`
/// component only.
fn one_per_scope(topo: &crate::model::Topology, group: &CopyGroup, level: Level) -> bool {
    let scope = topo
        .components_within(Level::Region, group.region, group.within)
        .start;
    topo.components_within(group.within, scope, level).len() == 1
}

/// What the chain cannot represent for a group.
fn check_group(
    system: &System,
    option: &ReplicationOption,
    group: &CopyGroup,
) -> Vec<NotMarkovian> {
    let topo = &system.topology;
    let mut found = Vec::new();
    let scope = topo
        .components_within(Level::Region, group.region, group.within)
        .start;
    if (topo
        .components_within(group.within, scope, group.spread)
        .len() as u32)
        < group.copies
    {
        found.push(refusal(
            "topology",
            format!(
                "option {}: fewer {}s than copies, so copies would share them",
                option.name,
                group.spread.name()
            ),
        ));
    }
    let units = topo
        .components_within(group.within, scope, group.spread)
        .len() as u32;
    for p in &system.failures {
        let covers_unit =
            p.level <= group.spread || topo.components_within(group.spread, 0, p.level).len() == 1;
        let rate = p.lifetime.exponential_rate().unwrap_or(0.0);
        if units == group.copies
            && covers_unit
            && p.level > group.within
            && p.replace > 0
            && rate > 0.0
        {
            found.push(refusal(
                format!("failures.{}.replace", p.level.name()),
                format!(
                    "option {}: while a {} is replaced, its copy is re-created in a {} that already holds one, which the chain (copies return to their place) does not follow; set replace = \"0s\" to analyze",
                    option.name,
                    p.level.name(),
                    group.spread.name()
                ),
            ));
        }
    }
    let region_fails = system
        .failures
        .iter()
        .any(|p| p.level == Level::Region && p.lifetime.exponential_rate().unwrap_or(0.0) > 0.0);
    if region_fails && option.groups.len() > 1 {
        found.push(refusal(
            "failures.region",
            "a destroyed region blocks re-creating its copies until it is replaced (a fixed delay), which the chain cannot hold",
        ));
    }
    let primary = &option.groups[0];
    let fails_over = system.failures.iter().any(|p| {
        let first = topo
            .components_within(Level::Region, primary.region, p.level)
            .start;
        p.level >= primary.within
            && p.lifetime.exponential_rate().unwrap_or(0.0) > 0.0
            && repair::failover_wait(system, p.level, first).is_some()
    });
    if option.groups.len() > 1 && fails_over {
        found.push(refusal(
            "failover.policy",
            format!(
                "option {}: losing its primary group makes the account fail over, and its copies return after fixed delays (the switch, reenable_after, the re-copy), which the chain cannot hold; set [failover] policy = \"none\" to analyze",
                option.name
            ),
        ));
    }
    if option.copies() > MAX_EXACT_COPIES {
        found.push(refusal(
            "options",
            format!(
                "option {}: {} copies; the exact chain (2^copies states) takes at most {MAX_EXACT_COPIES}",
                option.name,
                option.copies()
            ),
        ));
    }
    if option
        .groups
        .iter()
        .filter(|g| g.region == group.region)
        .count()
        > 1
    {
        found.push(refusal(
            "custom",
            format!("option {}: two copy groups in one region", option.name),
        ));
    }
    found
}

/// The chain over alive-copy masks; the last state is loss.
fn build_chain(
    option: &ReplicationOption,
    removers: &[Remover],
    mu: f64,
    discipline: RepairDiscipline,
) -> Result<(Ctmc, usize), MarkovError> {
    let n = option.copies() as usize;
    let full = (1usize << n) - 1;
    // States: the masks with enough copies alive, all-alive first; loss last.
    let masks: Vec<usize> = (0..=full)
        .rev()
        .filter(|m| m.count_ones() >= option.needed)
        .collect();
    let mut index = vec![usize::MAX; full + 1];
    for (i, &m) in masks.iter().enumerate() {
        index[m] = i;
    }
    let loss = masks.len();
    let mut chain = Ctmc::new(loss + 1);
    for &mask in &masks {
        let from = index[mask];
        for r in removers {
            let hit = mask & r.copies as usize;
            if hit == 0 {
                continue;
            }
            let next = mask & !hit;
            let to = if next.count_ones() < option.needed {
                loss
            } else {
                index[next]
            };
            chain.add_rate(from, to, r.rate)?;
        }
        let dead = full & !mask;
        match discipline {
            RepairDiscipline::Parallel => {
                for s in (0..n).filter(|s| dead & 1 << s != 0) {
                    chain.add_rate(from, index[mask | 1 << s], mu)?;
                }
            }
            RepairDiscipline::OneAtATime if dead != 0 => {
                let s = dead.trailing_zeros();
                chain.add_rate(from, index[mask | 1 << s], mu)?;
            }
            RepairDiscipline::OneAtATime => {}
        }
    }
    Ok((chain, loss))
}
