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
//! Repairs follow the simulator's order: in parallel, or one at a time with
//! the copy in repair never interrupted (the chain then also tracks which
//! copy is in repair; the next is the lowest-numbered lost copy).
//!
//! [`ExtentChain`] is shared with the rare-event method, which solves the
//! fast (disk, node, rack) process of one extent exactly between scripted
//! site events when the scenario is Markovian.

use serde::Serialize;

use crate::exact::markov::{Ctmc, MarkovError};
use crate::model::{
    Code, CopyGroup, FaultKind, Latent, Level, Repair, RepairDiscipline, ReplicationOption, System,
    pattern_probability, repair,
};
use crate::units::{self, YEAR};

/// Up to this many copies the chain has a state per subset of live copies
/// (2^copies; mean time to loss is solved densely); wider options are
/// lumped by symmetry ([`symmetric`]).
const MAX_EXACT_COPIES: u32 = 8;

mod symmetric;

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
pub(crate) struct Remover {
    pub rate: f64,
    pub copies: u32,
}

/// A burst process (`[[burst]]`) as it strikes one scope component holding
/// the copies `slots`, each on its own component of the `n` of the burst's
/// level below the scope: at `rate` (per year) it strikes a count drawn
/// from `law` of the `n`, uniformly, so that any given `s` of the `m` live
/// copies' components are exactly those struck with probability
/// [`pattern_probability`] (as the group model strikes it).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BurstStrike {
    pub rate: f64,
    pub slots: u32,
    pub n: u32,
    pub law: Vec<(u32, f64)>,
}

impl BurstStrike {
    /// The rate (per year) at which, with the copies of `live` alive, the
    /// struck live copies are exactly those of `hit` (a non-empty subset of
    /// `live & slots`).
    fn rate_of(&self, live: u32, hit: u32) -> f64 {
        let m = (live & self.slots).count_ones();
        let s = hit.count_ones();
        let p: f64 = self
            .law
            .iter()
            .map(|&(count, w)| w * pattern_probability(m, s, self.n, count))
            .sum();
        self.rate * p
    }
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
        let removers = removers(system, option, 0)?;
        let bursts = burst_strikes(system, option)?;
        let chain = option_chain(system, option, (&removers, &bursts), repair_rate)?;
        let loss = chain.loss;
        // A fleet in operation: lost within the horizon that follows the
        // warm-up, P(loss by warm-up + horizon) − P(loss by warm-up).
        let by = |t: u64| {
            chain
                .ctmc
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
        let mttdl = chain
            .ctmc
            .mean_time_to_absorption(0, &[loss])
            .map_err(solver)?;
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

/// One extent's chain and its loss state: a state per subset of live
/// copies up to `MAX_EXACT_COPIES`, lumped by symmetry past that.
fn option_chain(
    system: &System,
    option: &ReplicationOption,
    (removers, bursts): (&[Remover], &[BurstStrike]),
    mu: f64,
) -> Result<ExtentChain, NotMarkovian> {
    // Under scrubbing a latent check has one probability wherever it falls.
    let latent = system
        .latent
        .filter(|l| l.scrub_interval.is_some())
        .map(|l| (l, option.slot_bytes(system.extent_bytes)));
    if option.copies() > MAX_EXACT_COPIES {
        if !bursts.is_empty() {
            return refuse(
                "burst",
                format!(
                    "the exact chain of an option of more than {MAX_EXACT_COPIES} slots ({}) is lumped by symmetry, which does not follow a burst's pattern over its slots",
                    option.name
                ),
            );
        }
        if latent.is_some() {
            return refuse(
                "latent",
                format!(
                    "the exact chain of an option of more than {MAX_EXACT_COPIES} slots ({}) is lumped by symmetry, which does not split its transitions by a latent check",
                    option.name
                ),
            );
        }
        return symmetric::build(option, removers, mu);
    }
    ExtentChain::build(option, (removers, bursts), mu, system.discipline, latent).map_err(solver)
}

/// The chain of option `k`'s extent without the failure processes whose
/// bit is set in `scripted` (their events are scripted by the caller, and
/// must leave every copy's place as it was: `replace = "0s"`), for the
/// rare-event method; refused, naming the field, as `analyze` refuses.
pub(crate) fn fast_chain(
    system: &System,
    k: usize,
    scripted: u32,
) -> Result<ExtentChain, NotMarkovian> {
    let repair_rate = check_markovian(system)?;
    if !system.bursts.is_empty() {
        // Bursts are strata of the rare-event method, struck as scripted
        // random patterns; the solver maps each scripted strike to one
        // state, so those group trials are simulated.
        return refuse(
            "burst",
            "the rare-event method's exact solver strikes site events as maps of states, not a burst's random pattern",
        );
    }
    if system.latent.is_some() {
        // The solver strikes site events as maps of states, with no split
        // by a latent check: the rare-event method simulates these groups.
        return refuse(
            "latent",
            "the rare-event method's exact solver does not split its site strikes by a latent check",
        );
    }
    let option = &system.options[k];
    for (p, process) in system.failures.iter().enumerate() {
        if scripted & (1 << p) != 0 && process.replace > 0 {
            return refuse(
                format!("failures.{}.replace", process.level.name()),
                "a scripted site event solved exactly must leave copies in place (replace = \"0s\")",
            );
        }
    }
    for f in &system.faults {
        if let crate::model::FaultKind::Destroyed { replace } = f.kind {
            if replace > 0 {
                return refuse(
                    "fault.replace",
                    "a scripted destruction solved exactly must leave copies in place",
                );
            }
        }
    }
    if option.copies() > MAX_EXACT_COPIES {
        check_whole_group_strikes(system, option, scripted)?;
    }
    let removers = removers(system, option, scripted)?;
    option_chain(system, option, (&removers, &[]), repair_rate)
}

/// A lumped chain ([`symmetric`]) knows how many slots of a class failed,
/// not which: a scripted strike must take whole copy groups, as a strike at
/// or above every group's `within` level does.
fn check_whole_group_strikes(
    system: &System,
    option: &ReplicationOption,
    scripted: u32,
) -> Result<(), NotMarkovian> {
    let coarsest = option.groups.iter().map(|g| g.within).min();
    let partial = |level: Level| coarsest.is_some_and(|w| level > w);
    let struck = system
        .failures
        .iter()
        .enumerate()
        .filter(|&(p, _)| scripted & (1 << p) != 0)
        .map(|(_, p)| p.level);
    let faults = system.faults.iter().filter_map(|f| match f.scope {
        crate::model::Scope::Component(level) => Some(level),
        crate::model::Scope::Link => None,
    });
    if let Some(level) = struck.chain(faults).find(|&l| partial(l)) {
        return refuse(
            format!("failures.{}", level.name()),
            format!(
                "option {}: {} slots are solved by counts per class, and a scripted {} strike may take part of a class",
                option.name,
                option.copies(),
                level.name()
            ),
        );
    }
    Ok(())
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
    let mut found = system_blockers(system);
    for option in &system.options {
        if option.layout != crate::model::Layout::Random {
            found.push(refusal(
                "custom.placement",
                format!(
                    "option {}: the exact chain assumes random placement",
                    option.name
                ),
            ));
        }
    }
    for option in &system.options {
        for group in &option.groups {
            found.extend(check_group(system, option, group));
        }
        found.extend(removers(system, option, 0).err());
        found.extend(burst_strikes(system, option).err());
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|b| seen.insert((b.field.clone(), b.reason.clone())));
    found
}

/// The repair rate per year, or the first scenario-wide condition the chain
/// does not meet: what `fast_chain` needs before any option's own checks.
fn check_markovian(system: &System) -> Result<f64, NotMarkovian> {
    match system_blockers(system).into_iter().next() {
        Some(first) => Err(first),
        None => repair_rate(system),
    }
}

/// The conditions on the whole scenario (lifetimes, detection, repair), in
/// that order, each once.
fn system_blockers(system: &System) -> Vec<NotMarkovian> {
    let mut found = Vec::new();
    // These also keep the rare-event method's exact fast solver away: its
    // group trials are then simulated, latent checks included (bursts are
    // refused by `fast_chain` itself: `analyze` solves them).
    if system.faults.iter().any(|f| f.subset.is_some()) {
        found.push(refusal(
            "fault.fraction",
            "the exact chain does not represent a fault striking a random subset of components",
        ));
    }
    if system.latent.is_some_and(|l| l.scrub_interval.is_none()) {
        found.push(refusal(
            "latent.scrub_interval",
            "without scrubbing the chance that a copy holds an undetected error grows with its age, which a Markov chain of live copies does not track; give a scrub_interval, or run `replisim run`",
        ));
    }
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

/// The removers of option `k` without the processes whose bit is set in
/// `skip`, with the repair rate (per year).
#[cfg(test)]
pub(crate) fn removers_of(
    system: &System,
    k: usize,
    skip: u32,
) -> Result<(Vec<Remover>, f64), NotMarkovian> {
    let mu = check_markovian(system)?;
    Ok((removers(system, &system.options[k], skip)?, mu))
}

/// The copy-removing events of one option: one per failure process and
/// distinct component, with the copies it holds. Components below a group's
/// spread level hold one copy each; those at or above its `within` level
/// hold the whole group; a level in between is refused unless it has one
/// component per `within` scope (then it holds the whole group too).
/// Processes whose bit is set in `skip` are left out.
fn removers(
    system: &System,
    option: &ReplicationOption,
    skip: u32,
) -> Result<Vec<Remover>, NotMarkovian> {
    let mut out = Vec::new();
    for (g, group) in option.groups.iter().enumerate() {
        if let Some(first) = check_group(system, option, group).into_iter().next() {
            return Err(first);
        }
        for (i, p) in system.failures.iter().enumerate() {
            let rate = p.lifetime.exponential_rate().unwrap_or(0.0) * YEAR as f64;
            if rate == 0.0 || skip & (1 << i) != 0 {
                continue;
            }
            let field = || format!("failures.{}", p.level.name());
            let held = held_together(system, option, g, p.level, field)?;
            out.extend(held.into_iter().map(|copies| Remover { rate, copies }));
        }
    }
    Ok(out)
}

/// The slots of copy group `g` of `option` that one component of `level`
/// holds, one mask per component holding any: each copy alone for a level
/// at or below the group's spread, the whole group for one at or above its
/// `within` (or one per `within` component). A level in between may or may
/// not hold several copies, as placement drew them, so the chain has no
/// fixed structure: refused, naming `field`.
fn held_together(
    system: &System,
    option: &ReplicationOption,
    g: usize,
    level: Level,
    field: impl FnOnce() -> String,
) -> Result<Vec<u32>, NotMarkovian> {
    let group = &option.groups[g];
    let slots = option.group_slots(g);
    if level >= group.spread {
        Ok((0..32)
            .filter(|s| slots & (1 << s) != 0)
            .map(|s| 1 << s)
            .collect())
    } else if level <= group.within || one_per_scope(&system.topology, group, level) {
        Ok(vec![slots])
    } else {
        refuse(
            field(),
            format!(
                "option {}: copies spread over {}s within a {} may or may not share a {}, so the chain has no fixed structure",
                option.name,
                group.spread.name(),
                group.within.name(),
                level.name()
            ),
        )
    }
}

/// The strikes of the scenario's bursts on one extent of `option`: per
/// burst process and copy group, one [`BurstStrike`] for the scope
/// component holding the whole group (a scope at or above the group's
/// `within`, or one per `within`), or one per copy (a scope at or below the
/// group's `spread`). Refused, naming the field: an outage burst (the chain
/// follows destruction), a burst level at or above a group's `spread` (two
/// copies could be struck as one component, and a re-created copy would
/// have to share a component), and a scope between `spread` and `within`.
fn burst_strikes(
    system: &System,
    option: &ReplicationOption,
) -> Result<Vec<BurstStrike>, NotMarkovian> {
    let topo = &system.topology;
    let mut out = Vec::new();
    if !system.bursts.is_empty() && system.latent.is_some() {
        // The simulators check latent errors component by component as a
        // burst strikes; the chain would check the pattern at once.
        return refuse(
            "latent",
            "the exact chain does not split a burst's strike by latent-error checks",
        );
    }
    for (i, b) in system.bursts.iter().enumerate() {
        if let FaultKind::Down { .. } = b.kind {
            return refuse(
                format!("burst[{i}].kind"),
                "the exact chain follows destruction, not outages: give kind = \"destroyed\", or run `replisim run`",
            );
        }
        for (g, group) in option.groups.iter().enumerate() {
            if b.level <= group.spread {
                return refuse(
                    format!("burst[{i}].level"),
                    format!(
                        "option {}: a burst of {}s strikes the copies of its {}-spread group as shared components, which the chain does not follow; strike a narrower level",
                        option.name,
                        b.level.name(),
                        group.spread.name()
                    ),
                );
            }
            let scope = topo
                .components_within(Level::Region, group.region, b.scope)
                .start;
            let n = topo.components_within(b.scope, scope, b.level).len() as u32;
            let strike = |slots: u32| BurstStrike {
                rate: b.rate_per_year,
                slots,
                n,
                law: b.size.count_law(n),
            };
            let field = || format!("burst[{i}].scope");
            let held = held_together(system, option, g, b.scope, field)?;
            out.extend(held.into_iter().map(strike));
        }
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
    let geo = option.groups.len() > 1;
    for p in &system.failures {
        let fails = p.lifetime.exponential_rate().unwrap_or(0.0) > 0.0;
        // A destroyed component holding every place the group could use in
        // its region blocks re-creating the group's copies until it is
        // replaced (the simulator waits; the chain would not): a region,
        // or a zone or facility that is the only one of its region.
        let only_one = p.level <= group.within
            && topo
                .components_within(Level::Region, group.region, p.level)
                .len()
                == 1;
        if geo && fails && p.replace > 0 && only_one {
            found.push(refusal(
                format!("failures.{}.replace", p.level.name()),
                format!(
                    "option {}: a destroyed {} leaves no place in its region for the group's copies until it is replaced (the simulator waits for it), which the chain cannot hold; set replace = \"0s\" to analyze",
                    option.name,
                    p.level.name()
                ),
            ));
        }
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
    if option.copies() > MAX_EXACT_COPIES && system.discipline == RepairDiscipline::OneAtATime {
        found.push(refusal(
            "repair.discipline",
            format!(
                "option {}: {} copies; past {MAX_EXACT_COPIES} the exact chain counts failed copies per class, which needs parallel repair (one at a time repairs the lowest-numbered copy first)",
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

/// No copy in repair (one-at-a-time repair with every copy alive).
const NONE: u8 = u8::MAX;

/// One extent as a continuous-time Markov chain: a state is which copies are
/// alive (with enough of them) and, under one-at-a-time repair, which copy
/// is in repair; the last state is loss. State 0 is every copy alive.
#[derive(Clone, Debug)]
pub(crate) struct ExtentChain {
    pub ctmc: Ctmc,
    /// (alive mask, copy in repair or [`NONE`]) of each transient state.
    pub states: Vec<(u32, u8)>,
    pub loss: usize,
    code: Code,
    discipline: RepairDiscipline,
    /// Past `MAX_EXACT_COPIES`: states are counts per class of slots
    /// (`states` is then empty).
    lumped: Option<symmetric::Lumped>,
}

impl ExtentChain {
    /// The chain of `option` under `removers`, each lost copy repaired at
    /// rate `mu` (per year) under `discipline`. With `latent` (scrubbed, a
    /// slot's bytes), a removal that leaves the extent decodable but makes
    /// slots critical loses it with their chance of an undetected error,
    /// as the simulator checks them (`Code::newly_critical`).
    pub fn build(
        option: &ReplicationOption,
        (removers, bursts): (&[Remover], &[BurstStrike]),
        mu: f64,
        discipline: RepairDiscipline,
        latent: Option<(Latent, f64)>,
    ) -> Result<Self, MarkovError> {
        let n = option.copies() as usize;
        let full = ((1u64 << n) - 1) as u32;
        let mut states = Vec::new();
        for mask in (0..=full).rev() {
            if !option.code.decodable(mask) {
                continue;
            }
            let dead = full & !mask;
            match discipline {
                RepairDiscipline::Parallel => states.push((mask, NONE)),
                RepairDiscipline::OneAtATime if dead == 0 => states.push((mask, NONE)),
                RepairDiscipline::OneAtATime => {
                    for s in (0..n as u8).filter(|&s| dead & (1 << s) != 0) {
                        states.push((mask, s));
                    }
                }
            }
        }
        let loss = states.len();
        let mut chain = Self {
            ctmc: Ctmc::new(loss + 1),
            states,
            loss,
            code: option.code,
            discipline,
            lumped: None,
        };
        let mut ctmc = Ctmc::new(loss + 1);
        for from in 0..loss {
            // A removal of `hit` at `rate`, split by the latent check of
            // the slots it makes critical.
            let strike = |ctmc: &mut Ctmc, hit: u32, rate: f64| -> Result<(), MarkovError> {
                let to = chain.after_loss_of(from, hit);
                if to == from || rate == 0.0 {
                    return Ok(());
                }
                let q = match latent {
                    Some((l, bytes)) if to != loss => {
                        let newly = option
                            .code
                            .newly_critical(chain.states[from].0, chain.states[to].0);
                        l.any_undetected(bytes, newly, |_| 0)
                    }
                    _ => 0.0,
                };
                if q > 0.0 {
                    ctmc.add_rate(from, loss, rate * q)?;
                    ctmc.add_rate(from, to, rate * (1.0 - q))
                } else {
                    ctmc.add_rate(from, to, rate)
                }
            };
            for r in removers {
                strike(&mut ctmc, r.copies, r.rate)?;
            }
            let live = chain.states[from].0;
            for b in bursts {
                // Every non-empty pattern of the live copies it holds.
                let held = live & b.slots;
                let mut hit = held;
                while hit != 0 {
                    strike(&mut ctmc, hit, b.rate_of(live, hit))?;
                    hit = (hit - 1) & held;
                }
            }
            let (mask, inflight) = chain.states[from];
            let dead = full & !mask;
            match discipline {
                RepairDiscipline::Parallel => {
                    for s in (0..n).filter(|s| dead & 1 << s != 0) {
                        let to = chain.index(mask | 1 << s, NONE);
                        ctmc.add_rate(from, to, mu)?;
                    }
                }
                RepairDiscipline::OneAtATime if inflight != NONE => {
                    // The copy in repair is done; the lowest other lost copy
                    // starts (the simulator never interrupts a repair).
                    let back = mask | 1 << inflight;
                    let rest = full & !back;
                    let next = if rest == 0 {
                        NONE
                    } else {
                        rest.trailing_zeros() as u8
                    };
                    ctmc.add_rate(from, chain.index(back, next), mu)?;
                }
                RepairDiscipline::OneAtATime => {}
            }
        }
        chain.ctmc = ctmc;
        Ok(chain)
    }

    fn index(&self, mask: u32, inflight: u8) -> usize {
        self.states
            .iter()
            .position(|&s| s == (mask, inflight))
            .unwrap_or(self.loss)
    }

    /// The state reached from `state` when the copies in `hit` are
    /// destroyed at once (the loss state when too few remain), as the
    /// simulator does it: under one-at-a-time repair the lowest copy lost
    /// starts its repair if none is in repair, the others wait.
    pub fn after_loss_of(&self, state: usize, hit: u32) -> usize {
        if state == self.loss {
            return self.loss;
        }
        if let Some(lumped) = &self.lumped {
            return lumped.after_strike(state, hit, self.loss);
        }
        let (mask, inflight) = self.states[state];
        let killed = mask & hit;
        if killed == 0 {
            return state;
        }
        let next = mask & !killed;
        if !self.code.decodable(next) {
            return self.loss;
        }
        let inflight = match self.discipline {
            RepairDiscipline::Parallel => NONE,
            RepairDiscipline::OneAtATime if inflight == NONE => killed.trailing_zeros() as u8,
            RepairDiscipline::OneAtATime => inflight,
        };
        self.index(next, inflight)
    }
}
