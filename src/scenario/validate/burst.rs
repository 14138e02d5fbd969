//! Correlated bursts: the `[[burst]]` processes, and a `[[fault]]` that
//! strikes a random `fraction` or `count` of the components below its
//! target.

use super::{FieldError, Result, component_target, err, fault_kind, level};
use crate::model::{BurstProcess, BurstSize, Level, Scope, Subset, Topology};
use crate::scenario::schema::{BurstSpec, FaultSpec, ScenarioFile};

/// At most this many `[[burst]]` processes (each has a clock).
const MAX_BURSTS: usize = 256;

/// The scope component of a subset fault (its `target`, at the level its
/// path names) and the subset: `count` or `fraction` of the `level`
/// components below it.
pub(super) fn subset_target(
    f: &FaultSpec,
    struck: Level,
    topo: &Topology,
    path: &str,
) -> Result<(u32, Subset)> {
    let depth = f.target.split('/').count() - 1;
    let within = match Level::ALL.get(depth) {
        Some(&l) if l < struck => l,
        _ => {
            return err(
                format!("{path}.target"),
                format!(
                    "a fault on a `fraction` or `count` of {}s names the component they are drawn from, wider than a {} (e.g. a region: \"{}\")",
                    struck.name(),
                    struck.name(),
                    topo.regions[0].name
                ),
            );
        }
    };
    let component = component_target(&f.target, within, topo, path)?;
    let below = topo.components_within(within, component, struck).len() as u32;
    let one = |x: Option<f64>| x.map(|v| (v, v));
    let size = size(
        (one(f.fraction.map(|x| x.0)), f.count.map(|c| (c.0, c.0))),
        below,
        path,
    )?;
    Ok((component, Subset { within, size }))
}

/// The `[[burst]]` processes.
pub(super) fn bursts(file: &ScenarioFile, topo: &Topology) -> Result<Vec<BurstProcess>> {
    if file.bursts.len() > MAX_BURSTS {
        return err("burst", format!("at most {MAX_BURSTS} burst processes"));
    }
    let mut out = Vec::new();
    for (i, b) in file.bursts.iter().enumerate() {
        out.push(burst(b, topo, &format!("burst[{i}]"))?);
    }
    Ok(out)
}

fn burst(b: &BurstSpec, topo: &Topology, path: &str) -> Result<BurstProcess> {
    let scope = level(&b.scope, &format!("{path}.scope"))?;
    let struck = level(
        b.level.as_deref().unwrap_or("node"),
        &format!("{path}.level"),
    )?;
    if struck <= scope {
        // With `level` left at its default, the `scope` is what to change.
        let field = if b.level.is_some() { "level" } else { "scope" };
        return err(
            format!("{path}.{field}"),
            format!(
                "a burst strikes {}s inside one {}: `level` (default \"node\") must be narrower than `scope`",
                struck.name(),
                scope.name()
            ),
        );
    }
    // Regions may differ in shape: the size must fit the smallest scope.
    let below = (0..topo.regions.len() as u32)
        .map(|r| {
            let first = topo.components_within(Level::Region, r, scope).start;
            topo.components_within(scope, first, struck).len() as u32
        })
        .min()
        .unwrap_or(0);
    let fraction = b
        .fraction
        .map(|lo| (lo.0, b.fraction_max.map_or(lo.0, |h| h.0)));
    let count = b.count.map(|lo| (lo.0, b.count_max.map_or(lo.0, |h| h.0)));
    let orphan = match (b.fraction, b.fraction_max, b.count, b.count_max) {
        (None, Some(_), _, _) => Some("fraction_max"),
        (_, _, None, Some(_)) => Some("count_max"),
        _ => None,
    };
    if let Some(field) = orphan {
        let base = field.trim_end_matches("_max");
        return err(
            format!("{path}.{field}"),
            format!("`{field}` is the top of a range that starts at `{base}`: give `{base}` too"),
        );
    }
    let size = size((fraction, count), below, path)?;
    let durations = (b.duration.map(|d| d.0), b.replace.map(|r| r.0));
    let kind = fault_kind(&b.kind, durations, Scope::Component(struck), path)?;
    Ok(BurstProcess {
        rate_per_year: b.rate.0,
        scope,
        level: struck,
        size,
        kind,
    })
}

/// A range of a size as given: (bottom, top).
type Range<T> = Option<(T, T)>;

/// A burst's size from its (fraction range, count range), against the
/// `below` components it is drawn from.
fn size((fraction, count): (Range<f64>, Range<u32>), below: u32, path: &str) -> Result<BurstSize> {
    let field = |name: &str| format!("{path}.{name}");
    match (fraction, count) {
        (Some(_), Some(_)) => err(
            field("count"),
            "give either `fraction` or `count` of the components struck, not both",
        ),
        (None, None) => err(
            field("fraction"),
            "say how many components it strikes: `fraction` (e.g. 0.01 or \"1%\") or `count`",
        ),
        (Some((lo, hi)), None) => {
            if !(lo > 0.0 && hi <= 1.0 && lo <= hi) {
                return err(
                    field("fraction"),
                    format!(
                        "{}: a share from above 0 to 1, the top not below the bottom",
                        range_text(lo, hi)
                    ),
                );
            }
            if (lo * f64::from(below)).round() < 1.0 {
                return err(
                    field("fraction"),
                    format!("{lo} of {below} components strikes none: give a larger share"),
                );
            }
            Ok(BurstSize::Fraction { lo, hi })
        }
        (None, Some((lo, hi))) => {
            if lo > hi || hi > below {
                // The bottom is `count`; a top above it came from `count_max`.
                let name = if lo != hi { "count_max" } else { "count" };
                return Err(FieldError {
                    path: field(name),
                    message: format!(
                        "{} components: at most the {below} there are, the top not below the bottom",
                        range_text(lo, hi)
                    ),
                });
            }
            Ok(BurstSize::Count { lo, hi })
        }
    }
}

/// A range as the user wrote it: one value, or "lo to hi".
fn range_text<T: PartialEq + std::fmt::Display>(lo: T, hi: T) -> String {
    if lo == hi {
        format!("{lo}")
    } else {
        format!("{lo} to {hi}")
    }
}
