//! `replisim trace`: the event timeline of one trial as readable text, JSON
//! and a timeline plot, for teaching. The trial is the one `run` simulates
//! with the same seed ([`Plan::trace_trial`]); this module only presents it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::trace::{Reclaimed, TraceEvent, What};
use crate::model::world::{Plan, TrialOutcome};
use crate::model::{Level, System, Topology};
use crate::report::plot::{Lane, timeline};
use crate::scenario::Scenario;
use crate::units::{DAY, HOUR, MINUTE, Micros, SECOND};

/// What to show and for which trial.
#[derive(Clone, Debug)]
pub struct TraceRequest {
    pub seed: u64,
    pub trial: u64,
    /// Only this option's copies, losses and failovers (by index).
    pub option: Option<usize>,
    /// Every event, repairs and quiet disk failures included.
    pub all: bool,
}

/// A traced trial: its outcome and its events in order.
#[derive(Clone, Debug, Serialize)]
pub struct Trace {
    pub format: &'static str,
    pub scenario: String,
    pub seed: u64,
    pub trial: u64,
    pub horizon: Micros,
    pub options: Vec<String>,
    pub outcome: Vec<OptionTally>,
    pub events: Vec<TraceEvent>,
}

/// One option's totals over the trial, as `run` counts them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OptionTally {
    pub option: String,
    pub lost_extents: u32,
    pub copies_destroyed: u64,
    pub copies_repaired: u64,
    /// Copies moved back where their spread rule puts them (rebalancing).
    #[serde(skip_serializing_if = "is_zero")]
    pub copies_moved: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Resolves `--option NAME` to an option index, or says which exist.
pub fn option_index(system: &System, name: &str) -> Result<usize, String> {
    let names: Vec<&str> = system.options.iter().map(|o| o.name.as_str()).collect();
    names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            format!(
                "no option `{name}` in this scenario; it has {}",
                names.join(", ")
            )
        })
}

/// Simulates trial `request.trial` of `scenario`, recording its events.
pub fn trace(scenario: &Scenario, request: &TraceRequest) -> Result<Trace, String> {
    if request.trial >= scenario.trials {
        return Err(format!(
            "trial {} is beyond the scenario's {} trials (numbered 0 to {})",
            request.trial,
            scenario.trials,
            scenario.trials.saturating_sub(1)
        ));
    }
    let system = &scenario.system;
    let plan = Plan::new(system, request.seed)?;
    let (outcome, events) = plan.trace_trial(request.trial);
    if let Some(why) = outcome.runaway {
        return Err(format!("{}: {why}", scenario.file));
    }
    Ok(Trace {
        format: "replisim-trace/1",
        scenario: scenario.name.clone(),
        seed: request.seed,
        trial: request.trial,
        horizon: system.horizon,
        options: system.options.iter().map(|o| o.name.clone()).collect(),
        outcome: tallies(system, &outcome),
        events,
    })
}

fn tallies(system: &System, outcome: &TrialOutcome) -> Vec<OptionTally> {
    let options = system.options.iter().zip(&outcome.options);
    options
        .map(|(option, o)| OptionTally {
            option: option.name.clone(),
            lost_extents: o.lost_extents,
            copies_destroyed: o.copies_destroyed,
            copies_repaired: o.copies_repaired,
            copies_moved: o.copies_moved,
        })
        .collect()
}

/// Simulated time as `day D HH:MM:SS`, day 1 being the first.
pub fn clock(at: Micros) -> String {
    let (day, rest) = (at / DAY, at % DAY);
    let (h, m, s) = (rest / HOUR, rest % HOUR / MINUTE, rest % MINUTE / SECOND);
    format!("day {:>3} {h:02}:{m:02}:{s:02}", day + 1)
}

/// How the topology names component `c` of `level`: its region, then its
/// 1-based index within each parent (as a scenario's `[[fault]]` target).
pub fn component_name(topo: &Topology, level: Level, c: u32) -> String {
    let disk = topo.disk_range(level, c).start;
    let region = topo.ancestor(disk, Level::Region);
    let mut name = topo
        .regions
        .get(region as usize)
        .map_or_else(|| format!("region {region}"), |r| r.name.clone());
    let mut parent = (Level::Region, region);
    for &l in &Level::ALL[1..=level as usize] {
        let here = topo.ancestor(disk, l);
        let first = topo.components_within(parent.0, parent.1, l).start;
        name.push_str(&format!("/{}", here - first + 1));
        parent = (l, here);
    }
    name
}

/// The trace as text: one line per event that matters to the story (or
/// every event with `all`), then per-month summaries of the rest and the
/// trial's totals.
pub fn text(system: &System, trace: &Trace, request: &TraceRequest) -> String {
    let names = &trace.options;
    let mut out = format!(
        "trial {} of scenario {} (seed {}): {} events recorded{}\n\n",
        trace.trial,
        trace.scenario,
        trace.seed,
        trace.events.len(),
        request
            .option
            .map_or(String::new(), |k| format!(", showing {}", names[k]))
    );
    let mut quiet = BTreeMap::<u64, Quiet>::new();
    let exposed = exposure_times(&trace.events, request.option);
    let mut i = 0;
    while i < trace.events.len() {
        let event = &trace.events[i];
        let shown = request.all
            || matters(event, request.option)
            || exposed.binary_search(&event.at).is_ok();
        let run = same_kind_run(&trace.events[i..]);
        i += 1;
        if shown && run.len() > SHOWN_EXTENTS {
            if let Some(line) = describe_run(names, run, request.option) {
                out.push_str(&format!("{}  {line}\n", clock(event.at)));
            }
            i += run.len() - 1;
            continue;
        }
        match describe(system, names, event, request.option) {
            Some(line) if shown => {
                out.push_str(&format!("{}  {line}\n", clock(event.at)));
            }
            Some(_) => quiet
                .entry(event.at / MONTH)
                .or_default()
                .add(event, request.option),
            None => {}
        }
    }
    let last_day = trace.horizon.div_ceil(DAY);
    if !out.contains("day ") {
        out.push_str("nothing but routine disk failures and their repairs in this trial:\n");
    }
    out.push_str(&summaries(&quiet, names, request.option, last_day));
    out.push_str(&totals(trace, request.option));
    out
}

/// Past this many extents lost (or left one failure from loss) by one
/// destruction, the text lists a few and counts the rest.
const SHOWN_EXTENTS: usize = 5;

/// The events from the first on that say the same of one option's extents
/// at the same time (losses, or last copies); empty for other events.
fn same_kind_run(events: &[TraceEvent]) -> &[TraceEvent] {
    let key = |e: &TraceEvent| match e.what {
        What::Lost { option, .. } => Some((e.at, option, true)),
        What::LastCopy { option, .. } => Some((e.at, option, false)),
        _ => None,
    };
    let Some(first) = events.first().and_then(key) else {
        return &[];
    };
    let n = events.iter().take_while(|e| key(e) == Some(first)).count();
    &events[..n]
}

/// A run of [`same_kind_run`] in one line: its count and its first
/// extents; None when the option filter hides it.
fn describe_run(names: &[String], run: &[TraceEvent], shown: Option<usize>) -> Option<String> {
    let extents: Vec<String> = run
        .iter()
        .filter_map(|e| match e.what {
            What::Lost { extent, .. } | What::LastCopy { extent, .. } => Some(extent.to_string()),
            _ => None,
        })
        .collect();
    let (option, lost) = match run[0].what {
        What::Lost { option, .. } => (option, true),
        What::LastCopy { option, .. } => (option, false),
        _ => (0, false),
    };
    if shown.is_some_and(|k| k != option as usize) {
        return None;
    }
    let what = if lost {
        "LOST: too few copies survive"
    } else {
        "one failure from loss"
    };
    Some(format!(
        "{} {} extents {what} ({} and {} more)",
        names[option as usize],
        run.len(),
        extents[..SHOWN_EXTENTS].join(", "),
        run.len() - SHOWN_EXTENTS
    ))
}

/// When a shown option lost an extent or was left one failure from losing
/// it, sorted: the destructions at those times belong in the story.
fn exposure_times(events: &[TraceEvent], option: Option<usize>) -> Vec<Micros> {
    let exposed = |e: &&TraceEvent| match e.what {
        What::Lost { option: o, .. } | What::LastCopy { option: o, .. } => {
            option.is_none_or(|k| k == o as usize)
        }
        _ => false,
    };
    let mut times: Vec<Micros> = events.iter().filter(exposed).map(|e| e.at).collect();
    times.dedup();
    times
}

/// A month of 30 days, the unit of the summaries.
const MONTH: Micros = 30 * DAY;

/// Whether an event belongs in the default story: destructions above a
/// disk, disk failures that lost data, outages, failovers, losses and the
/// deletes whose remnants wait for a component or a shredding (the hourly
/// routine ones are counted per month).
fn matters(event: &TraceEvent, option: Option<usize>) -> bool {
    match &event.what {
        What::Deleted {
            copies, shredded, ..
        } => shredded.is_some() || copies.iter().any(|c| c.held),
        What::Destroyed { level, lost, .. } => {
            *level != Level::Disk || picked(lost, option).iter().any(|&n| n > 0)
        }
        What::Recreated { .. }
        | What::Moved { .. }
        | What::Replaced {
            level: Level::Disk, ..
        } => false,
        _ => true,
    }
}

/// The per-option counts an option filter keeps.
fn picked(counts: &[u32], option: Option<usize>) -> Vec<u32> {
    match option {
        Some(k) => counts.get(k).copied().into_iter().collect(),
        None => counts.to_vec(),
    }
}

/// Disk failures and repairs left out of the story, per month.
#[derive(Default)]
struct Quiet {
    failures: u32,
    copies: Vec<u32>,
    repaired: Vec<u32>,
    /// Copies moved back where their spread rule puts them, per option.
    moved: Vec<u32>,
    replaced: u32,
    /// Routine deletes erased, per option.
    deletes: Vec<u32>,
}

impl Quiet {
    fn add(&mut self, event: &TraceEvent, option: Option<usize>) {
        let bump = |v: &mut Vec<u32>, k: usize, n: u32| {
            if v.len() <= k {
                v.resize(k + 1, 0);
            }
            v[k] += n;
        };
        match &event.what {
            What::Destroyed { copies, .. } => {
                self.failures += 1;
                for (k, &n) in copies.iter().enumerate() {
                    bump(&mut self.copies, k, n);
                }
            }
            What::Recreated { option: o, .. } if option.is_none_or(|k| k == *o as usize) => {
                bump(&mut self.repaired, *o as usize, 1);
            }
            What::Moved { option: o, .. } if option.is_none_or(|k| k == *o as usize) => {
                bump(&mut self.moved, *o as usize, 1);
            }
            What::Replaced { .. } => self.replaced += 1,
            What::Deleted { option: o, .. } if option.is_none_or(|k| k == *o as usize) => {
                bump(&mut self.deletes, *o as usize, 1);
            }
            _ => {}
        }
    }
}

fn summaries(
    quiet: &BTreeMap<u64, Quiet>,
    names: &[String],
    option: Option<usize>,
    last_day: u64,
) -> String {
    if quiet.is_empty() {
        return String::new();
    }
    let per_option = |v: &[u32]| -> String {
        let shown = |&(k, _): &(usize, &String)| option.is_none_or(|o| o == k);
        names
            .iter()
            .enumerate()
            .filter(shown)
            .map(|(k, n)| format!("{n} {}", v.get(k).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::from("\nnot shown above (--all shows each), per 30 days:\n");
    for (month, q) in quiet {
        let deletes = match q.deletes.iter().sum::<u32>() {
            0 => String::new(),
            n => format!(
                "; {n} deletes erased as routine ({})",
                per_option(&q.deletes)
            ),
        };
        let moved = match q.moved.iter().sum::<u32>() {
            0 => String::new(),
            n => format!(
                "; {n} copies moved back to their spread rule ({})",
                per_option(&q.moved)
            ),
        };
        out.push_str(&format!(
            "  days {:>3}-{:<3}  {} disk failures destroyed copies ({}); {} copies re-created ({}); {} disks replaced{moved}{deletes}\n",
            month * 30 + 1,
            (month * 30 + 30).min(last_day),
            q.failures,
            per_option(&q.copies),
            q.repaired.iter().sum::<u32>(),
            per_option(&q.repaired),
            q.replaced,
        ));
    }
    out
}

fn totals(trace: &Trace, option: Option<usize>) -> String {
    let mut out = String::from("\ntotals (as `run` counts this trial):\n");
    for (k, t) in trace.outcome.iter().enumerate() {
        if option.is_none_or(|o| o == k) {
            out.push_str(&format!(
                "  {:<8} {} extents lost, {} copies destroyed, {} re-created{}\n",
                t.option,
                t.lost_extents,
                t.copies_destroyed,
                t.copies_repaired,
                match t.copies_moved {
                    0 => String::new(),
                    n => format!(", {n} moved back to their spread rule"),
                }
            ));
        }
    }
    out
}

/// One event in words, or None when the option filter hides it.
fn describe(
    system: &System,
    names: &[String],
    event: &TraceEvent,
    option: Option<usize>,
) -> Option<String> {
    let topo = &system.topology;
    let thing =
        |level: Level, c: u32| format!("{} {}", level.name(), component_name(topo, level, c));
    let mine = |o: u16| option.is_none_or(|k| k == o as usize);
    let region = |r: u32| component_name(topo, Level::Region, r);
    let line = match &event.what {
        What::Destroyed {
            level,
            component,
            detected,
            copies,
            lost,
        } => {
            let counts = |v: &[u32]| -> String {
                let each =
                    |(k, n): (usize, &String)| format!("{n} {}", v.get(k).copied().unwrap_or(0));
                let shown = |(k, _): &(usize, &String)| option.is_none_or(|o| o == *k);
                let items: Vec<String> = names.iter().enumerate().filter(shown).map(each).collect();
                items.join(", ")
            };
            let losses = if lost.iter().any(|&n| n > 0) {
                format!("; extents LOST: {}", counts(lost))
            } else {
                String::new()
            };
            format!(
                "{} destroyed: copies destroyed {}{losses}; detected, repairs start {}",
                thing(*level, *component),
                counts(copies),
                clock(*detected)
            )
        }
        What::Replaced { level, component } => {
            format!(
                "{} replaced, back in service empty",
                thing(*level, *component)
            )
        }
        What::Lost { option: o, extent } if mine(*o) => {
            format!(
                "{} extent {extent} LOST: too few copies survive",
                names[*o as usize]
            )
        }
        What::LastCopy { option: o, extent } if mine(*o) => format!(
            "{} extent {extent} is one failure from loss: the copies it needs are all it has",
            names[*o as usize]
        ),
        What::Recreated {
            option: o,
            extent,
            slot,
            disk,
            rehomed,
        } if mine(*o) => format!(
            "{} extent {extent} copy {slot}{} re-created on disk {}",
            names[*o as usize],
            if *rehomed { " (unavailable)" } else { "" },
            component_name(topo, Level::Disk, *disk)
        ),
        What::Moved {
            option: o,
            extent,
            slot,
            disk,
        } if mine(*o) => format!(
            "{} extent {extent} copy {slot} moved back to its spread rule, on disk {}",
            names[*o as usize],
            component_name(topo, Level::Disk, *disk)
        ),
        What::Down {
            level,
            component,
            until,
        } => format!(
            "{} down: its copies are unavailable (back by {})",
            thing(*level, *component),
            clock(*until)
        ),
        What::Up { level, component } => format!("{} up again", thing(*level, *component)),
        What::MarkedOut { level, component } => format!(
            "{} still down past detection: its copies are re-created elsewhere",
            thing(*level, *component)
        ),
        What::LinkDown { region: r } => format!("link of region {} to its pair down", region(*r)),
        What::LinkUp { region: r } => format!("link of region {} to its pair up", region(*r)),
        What::Vault { reachable: false } => {
            "key vault unreachable: storage serves with its cached key until it expires".into()
        }
        What::Vault { reachable: true } => "key vault reachable again".into(),
        What::Grant {
            option: o,
            length,
            waited,
        } if mine(*o) => format!(
            "AUDIT {} account: just-in-time access granted to Microsoft operators for {} (Customer Lockbox approved after {})",
            names[*o as usize],
            crate::units::format_duration(*length),
            crate::units::format_duration(*waited)
        ),
        What::Deleted {
            option: o,
            extent,
            requested,
            copies,
            shredded,
            erased,
        } if mine(*o) => deleted(
            &names[*o as usize],
            *extent,
            *requested,
            copies,
            *shredded,
            *erased,
        ),
        What::Failover {
            option: o,
            step,
            now,
            serving,
        } if mine(*o) => format!(
            "{} account: {step}; now {now}, primary {}",
            names[*o as usize],
            region(*serving)
        ),
        _ => return None,
    };
    Some(line)
}

/// A delete's erasure milestones in one line: each copy reclaimed, failed
/// hardware shredded, the last remnant gone.
fn deleted(
    name: &str,
    extent: u32,
    requested: Micros,
    copies: &[Reclaimed],
    shredded: Option<Micros>,
    erased: Micros,
) -> String {
    let d = crate::units::format_duration;
    // Copies reclaimed alike (a region's, after the same lag) in one part.
    let alike = |a: &Reclaimed, b: &Reclaimed| (a.after, a.held) == (b.after, b.held);
    let each = |group: &[Reclaimed]| {
        let slots: Vec<String> = group.iter().map(|c| c.slot.to_string()).collect();
        let noun = if group.len() == 1 { "copy" } else { "copies" };
        let held = if group[0].held {
            " (down until then)"
        } else {
            ""
        };
        let after = d(group[0].after);
        format!("{noun} {} reclaimed in {after}{held}", slots.join(", "))
    };
    let mut steps: Vec<String> = copies.chunk_by(alike).map(each).collect();
    if let Some(t) = shredded {
        steps.push(format!("failed hardware shredded in {}", d(t)));
    }
    let retention = match requested {
        0 => "no soft delete".to_string(),
        t => format!("{} after the request", d(t)),
    };
    format!(
        "{name} extent {extent} delete final ({retention}): {}; fully erased in {}, {} after the request",
        steps.join(", "),
        d(erased),
        d(requested.saturating_add(erased))
    )
}

/// The trace's timeline: a lane per component destroyed above disk level
/// or down, one for disk failures, and per option one for its losses and
/// failover steps. Times in days.
pub fn lanes(system: &System, trace: &Trace, option: Option<usize>) -> Vec<Lane> {
    let topo = &system.topology;
    let day = |t: Micros| t as f64 / DAY as f64;
    let end = day(trace.horizon);
    let mut disks = Lane {
        label: "disk failures".into(),
        intervals: Vec::new(),
        events: Vec::new(),
    };
    let mut open: BTreeMap<(Level, u32), usize> = BTreeMap::new();
    let mut components: Vec<Lane> = Vec::new();
    let shown = |k: usize| option.is_none_or(|o| o == k);
    let mut per_option: Vec<(Lane, Lane)> = trace
        .options
        .iter()
        .map(|n| {
            let lane = |what: &str| Lane {
                label: format!("{n} {what}"),
                intervals: Vec::new(),
                events: Vec::new(),
            };
            (lane("losses"), lane("failover"))
        })
        .collect();
    for event in &trace.events {
        let at = day(event.at);
        match &event.what {
            What::Destroyed {
                level: Level::Disk, ..
            } => disks.events.push(at),
            What::Destroyed {
                level, component, ..
            }
            | What::Down {
                level, component, ..
            } => {
                let label = format!(
                    "{} {}",
                    level.name(),
                    component_name(topo, *level, *component)
                );
                let i = components
                    .iter()
                    .position(|l| l.label == label)
                    .unwrap_or_else(|| {
                        components.push(Lane {
                            label,
                            intervals: Vec::new(),
                            events: Vec::new(),
                        });
                        components.len() - 1
                    });
                components[i].intervals.push([at, end]);
                open.insert((*level, *component), i);
            }
            What::Replaced { level, component } | What::Up { level, component } => {
                if let Some(i) = open.remove(&(*level, *component)) {
                    if let Some(last) = components[i].intervals.last_mut() {
                        last[1] = at;
                    }
                }
            }
            What::Lost { option: o, .. } => per_option[*o as usize].0.events.push(at),
            What::Failover { option: o, .. } => per_option[*o as usize].1.events.push(at),
            _ => {}
        }
    }
    let mut lanes = vec![disks];
    lanes.extend(components);
    for (k, (losses, failover)) in per_option.into_iter().enumerate() {
        if shown(k) {
            lanes.push(losses);
            if !failover.events.is_empty() {
                lanes.push(failover);
            }
        }
    }
    lanes
}

/// Writes `trace.json`, `trace.svg` and `trace.png` into `dir`; returns the
/// paths written.
pub fn write(
    system: &System,
    trace: &Trace,
    option: Option<usize>,
    dir: &Path,
) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = dir.join("trace.json");
    let text = crate::report::pretty_json(trace, "the trace")?;
    crate::report::write_atomic(&json, &text)?;
    let title = format!(
        "{}: trial {} (seed {})",
        trace.scenario, trace.trial, trace.seed
    );
    let mut written = vec![json];
    written.extend(timeline(
        &dir.join("trace"),
        &title,
        &lanes(system, trace, option),
    )?);
    Ok(written)
}
