//! The pictures of a run, SVG and PNG each: the nines of each option with
//! their 95% interval, P(object lost by t) against the horizon, read and
//! write availability, and the RPO and RTO distributions; and
//! `report.html`, one offline page with the tables, every figure and the
//! scenario that produced them. A figure with no data is not drawn, and the
//! page says so.

use std::path::{Path, PathBuf};

use crate::estimate::compare::Comparison;
use crate::estimate::{Availability, AvailabilityFigure, Distribution, OptionSummary, Summary};
use crate::report;
use crate::report::compare;
use crate::report::html::{self, Block, Section};
use crate::report::plot::{self, Bar, Cdf, Series};
use crate::scenario::Scenario;

/// A figure of the page: drawn (its SVG file), or why not.
enum Figure {
    Drawn(PathBuf, String),
    Skipped(String),
}

impl Figure {
    fn block(&self) -> Result<Block, String> {
        match self {
            Figure::Drawn(svg, caption) => Block::figure_from_file(svg, caption),
            Figure::Skipped(why) => Ok(Block::Text(why.clone())),
        }
    }
}

/// The figures of a run, by name.
struct Figures {
    nines: Figure,
    horizon: Figure,
    availability: Figure,
    rpo: Figure,
    rto: Figure,
}

/// Writes the figures and `report.html` (with the comparison table when
/// there is one) into `out`; returns the files written.
pub fn write(
    summary: &Summary,
    scenario: &Scenario,
    out: &Path,
    comparison: Option<&Comparison>,
) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let figures = Figures {
        nines: nines_figure(summary, out, &mut files)?,
        horizon: horizon_figure(summary, out, &mut files)?,
        availability: availability_figure(summary, out, &mut files)?,
        rpo: cdf_figure(summary, out, Recovery::Rpo, &mut files)?,
        rto: cdf_figure(summary, out, Recovery::Rto, &mut files)?,
    };
    let page = html::report(
        &format!("replisim: {}", summary.scenario),
        &sections(summary, scenario, &figures, comparison)?,
    );
    let path = out.join("report.html");
    html::write(&path, &page)?;
    files.push(path);
    Ok(files)
}

/// Keeps the files a chart wrote; its SVG is the page's figure.
fn drawn(files: &mut Vec<PathBuf>, written: Vec<PathBuf>, caption: &str) -> Result<Figure, String> {
    let svg = written
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "svg"))
        .cloned()
        .ok_or("a chart wrote no SVG")?;
    files.extend(written);
    Ok(Figure::Drawn(svg, caption.to_string()))
}

fn nines_figure(summary: &Summary, out: &Path, files: &mut Vec<PathBuf>) -> Result<Figure, String> {
    let written = plot::bars_with_ci(
        &out.join("nines"),
        &format!(
            "Durability per option over {}: nines of P(object lost)",
            crate::units::count(summary.horizon_years, "year")
        ),
        "nines (−log10 P)",
        &nines_bars(summary),
    )?;
    drawn(
        files,
        written,
        "Nines per option; whiskers are the 95% interval.",
    )
}

/// P(object lost by t), log scale; skipped when no option lost anything.
fn horizon_figure(
    summary: &Summary,
    out: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Figure, String> {
    let series: Vec<Series> = summary
        .options
        .iter()
        .filter(|o| o.loss_by_horizon.iter().any(|p| p.loss_probability > 0.0))
        .map(|o| Series {
            label: o.option.clone(),
            points: o
                .loss_by_horizon
                .iter()
                .map(|p| (p.years, p.loss_probability, p.ci95))
                .collect(),
        })
        .collect();
    if series.is_empty() {
        return Ok(Figure::Skipped(
            "No P(loss) against horizon chart: no option lost data in this run.".into(),
        ));
    }
    let written = plot::lines_with_bands(
        &out.join("loss_by_horizon"),
        "P(object lost by t) per option",
        "t (years)",
        "P(object lost by t)",
        &series,
        true,
    )?;
    drawn(
        files,
        written,
        "P(object lost by t), log scale; bands are the 95% interval at each point.",
    )
}

/// Read and write availability as nines, one bar each per option; skipped
/// when nothing was ever unavailable.
fn availability_figure(
    summary: &Summary,
    out: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Figure, String> {
    let mut bars = Vec::new();
    // Never unavailable is infinitely many nines: named in the title, not drawn.
    let mut never = Vec::new();
    for (i, o) in summary.options.iter().enumerate() {
        let a = &o.availability;
        for (kind, f) in [("read", &a.read), ("write", &a.write)] {
            if let Some(nines) = f.nines {
                let label = format!("{} {kind}", o.option);
                bars.push(availability_bar(&label, nines, f, i));
            }
        }
        never.extend(never_unavailable(&o.option, a));
    }
    if bars.is_empty() {
        return Ok(Figure::Skipped(
            "No availability chart: every extent could be read and written at all times.".into(),
        ));
    }
    let mut title = "Availability in nines".to_string();
    if !never.is_empty() {
        title += &format!(" (never unavailable: {})", never.join(", "));
    }
    let written = plot::bars_with_ci(
        &out.join("availability"),
        &title,
        "nines (−log10 unavailable fraction)",
        &bars,
    )?;
    drawn(
        files,
        written,
        "Read and write availability as nines; whiskers are the 95% interval. An option never unavailable has no bar.",
    )
}

/// How the title names an option that was never unreadable or never
/// unwritable: "ZRS" when neither, "ZRS read" when only never unreadable.
fn never_unavailable(option: &str, a: &Availability) -> Option<String> {
    match (a.read.nines, a.write.nines) {
        (None, None) => Some(option.to_string()),
        (None, Some(_)) => Some(format!("{option} read")),
        (Some(_), None) => Some(format!("{option} write")),
        (Some(_), Some(_)) => None,
    }
}

/// A bar of `nines` of the unavailable fraction, with its interval, in the
/// colour of option `option`.
fn availability_bar(label: &str, value: f64, f: &AvailabilityFigure, option: usize) -> Bar {
    let nines = |available: f64| -(1.0 - available).log10();
    Bar {
        label: label.to_string(),
        value,
        ci95: [nines(f.ci95[0]), nines(f.ci95[1])],
        at_least: false,
        colour: option,
    }
}

#[derive(Clone, Copy)]
enum Recovery {
    Rpo,
    Rto,
}

impl Recovery {
    fn of(self, o: &OptionSummary) -> Option<&Distribution> {
        let f = o.failover.as_ref()?;
        match self {
            Recovery::Rpo => f.rpo_seconds.as_ref(),
            Recovery::Rto => f.rto_seconds.as_ref(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Recovery::Rpo => "RPO",
            Recovery::Rto => "RTO",
        }
    }
}

/// A unit for times up to `max` seconds, and its length in seconds.
fn time_unit(max: f64) -> (&'static str, f64) {
    if max >= 7200.0 {
        ("hours", 3600.0)
    } else if max >= 120.0 {
        ("minutes", 60.0)
    } else {
        ("seconds", 1.0)
    }
}

/// The CDF of RPO or RTO per option with failovers; skipped without one.
fn cdf_figure(
    summary: &Summary,
    out: &Path,
    which: Recovery,
    files: &mut Vec<PathBuf>,
) -> Result<Figure, String> {
    let curves: Vec<Cdf> = summary
        .options
        .iter()
        .filter_map(|o| {
            which.of(o).map(|d| Cdf {
                label: o.option.clone(),
                quantiles: d.quantiles.iter().map(|&[q, v]| (q, v)).collect(),
            })
        })
        .collect();
    let name = which.name();
    if curves.is_empty() {
        return Ok(Figure::Skipped(format!(
            "No {name} chart: no unplanned failover in this run."
        )));
    }
    let values = || curves.iter().flat_map(|c| c.quantiles.iter().map(|q| q.1));
    let (lo, hi) = values().fold((f64::INFINITY, 0.0_f64), |(l, h), v| (l.min(v), h.max(v)));
    // A log axis only when every value can sit on it and they span decades.
    let log_x = lo > 0.0 && hi > 100.0 * lo;
    let (unit, seconds) = time_unit(hi);
    let curves: Vec<Cdf> = curves
        .into_iter()
        .map(|c| Cdf {
            quantiles: c.quantiles.iter().map(|&(q, v)| (q, v / seconds)).collect(),
            ..c
        })
        .collect();
    let written = plot::cdf(
        &out.join(name.to_lowercase()),
        &format!("{name} of unplanned failovers per option (CDF)"),
        &format!("{name} ({unit})"),
        &curves,
        log_x,
    )?;
    // In the axis's unit: an RTO of hours is drawn in hours.
    let caption =
        format!("{name} per unplanned failover: the height at x is the fraction within x {unit}.");
    drawn(files, written, &caption)
}

fn nines_bars(summary: &Summary) -> Vec<Bar> {
    summary
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let d = &o.durability;
            let [lo, hi] = d.nines_ci95;
            Bar {
                label: o.option.clone(),
                value: d.nines,
                ci95: [lo.unwrap_or(d.nines), hi.unwrap_or(d.nines)],
                at_least: d.upper_bound_only,
                colour: i,
            }
        })
        .collect()
}

fn sections(
    summary: &Summary,
    scenario: &Scenario,
    figures: &Figures,
    comparison: Option<&Comparison>,
) -> Result<Vec<Section>, String> {
    let table = |(header, rows): (Vec<&str>, Vec<Vec<String>>)| Block::Table {
        header: header.into_iter().map(String::from).collect(),
        rows,
    };
    let methods = summary
        .options
        .iter()
        .map(|o| format!("{}: {}", o.option, o.durability.method));
    let warnings = summary
        .options
        .iter()
        .flat_map(|o| o.warnings.iter().map(move |w| format!("{}: {w}", o.option)));
    let mut durability = vec![Block::Text(format!(
        "{} of {}, seed {}, {}, {} per option.",
        crate::units::count(summary.trials as f64, "trial"),
        crate::units::count(summary.horizon_years, "year"),
        summary.seed,
        crate::units::count(summary.disks as f64, "disk"),
        crate::units::count(summary.extents as f64, "extent")
    ))];
    if summary.partial {
        durability.push(Block::Text(report::partial_note(summary.trials)));
    }
    durability.push(table(report::durability_rows(summary)));
    if let Some(rows) = report::cause_rows(summary) {
        durability.push(Block::Text(
            "P(object lost) by cause: losses where no site event took a copy (disks, nodes, racks), where a datacenter or zone did, and where a region did (docs/method.md).".into(),
        ));
        durability.push(table(rows));
    }
    durability.extend([figures.nines.block()?, figures.horizon.block()?]);
    durability.extend(methods.chain(warnings).map(Block::Text));
    let mut sections = Vec::new();
    if let Some(c) = comparison {
        sections.push(Section {
            heading: format!("Comparison with {}", c.baseline),
            blocks: vec![
                Block::Text(
                    "Differences from the baseline, with 95% intervals from paired samples: every option saw the same failures in each trial (common random numbers).".into(),
                ),
                table(compare::table_rows(c)),
            ],
        });
    }
    sections.push(Section {
        heading: "Durability".into(),
        blocks: durability,
    });
    sections.push(Section {
        heading: "Availability, failover and geo-replication".into(),
        blocks: vec![
            table(report::service_rows(summary)),
            figures.availability.block()?,
            figures.rpo.block()?,
            figures.rto.block()?,
        ],
    });
    if let Some(rows) = report::key_rows(summary) {
        sections.push(Section {
            heading: "Customer-managed key".into(),
            blocks: vec![
                Block::Text(
                    "Minutes a year intact data could not be read for want of the key, P(object lost) counting the key's loss (one key for every copy), and the time from deleting the key to the data being beyond reading (docs/data-protection.md).".into(),
                ),
                table(rows),
            ],
        });
    }
    if let Some(rows) = report::deletion_rows(summary) {
        sections.push(Section {
            heading: "Erasure of deleted data".into(),
            blocks: vec![
                Block::Text(
                    "From a delete to no readable remnant on any copy (the soft-delete retention included), and the deleted bytes a year that unplanned failovers bring back (docs/data-protection.md).".into(),
                ),
                table(rows),
            ],
        });
    }
    if let Some(rows) = report::logical_rows(summary) {
        sections.push(Section {
            heading: "Logical errors".into(),
            blocks: vec![
                Block::Text(
                    "P(a logical error — a bug, an operator's mistake, a bad delete — beyond recovery within the horizon): noticed after both the restore window and the time the secondary held the good data (the geo-replication lag), and P(object lost) counting it (docs/data-protection.md).".into(),
                ),
                table(rows),
            ],
        });
    }
    if let Some(rows) = report::access_rows(summary) {
        sections.push(Section {
            heading: "Customer Lockbox".into(),
            blocks: vec![
                Block::Text(
                    "Each unplanned failover waits for the customer to approve just-in-time insider access: the share of the RTO spent waiting (Σ wait / Σ RTO over the failovers that completed), the hours of access granted a year and the requests denied a year, with 95% intervals (docs/data-protection.md).".into(),
                ),
                table(rows),
            ],
        });
    }
    if let Some(rows) = report::latent_rows(summary) {
        sections.push(Section {
            heading: "Latent sector errors".into(),
            blocks: vec![
                Block::Text(
                    "P(object lost through a latent sector error): an undetected error on the copy or fragment a failure had left critical, found by the repair's read or the next scrub with no other source (docs/method.md). Part of P(object lost) above, from the fleet trials.".into(),
                ),
                table(rows),
            ],
        });
    }
    sections.push(Section {
        heading: format!("Scenario {}", scenario.file),
        blocks: vec![Block::Pre(scenario.text.clone())],
    });
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(nines: Option<f64>) -> AvailabilityFigure {
        AvailabilityFigure {
            fraction: 1.0 - nines.map_or(0.0, |n| 10f64.powf(-n)),
            ci95: [0.99, 1.0],
            nines,
            unavailable_minutes_per_year: 0.0,
        }
    }

    #[test]
    fn the_title_names_what_was_never_unavailable() {
        let named = |read, write| {
            let a = Availability {
                read: figure(read),
                write: figure(write),
                read_of_kept_data: figure(read),
            };
            never_unavailable("ZRS", &a)
        };
        assert_eq!(named(None, None).as_deref(), Some("ZRS"));
        assert_eq!(named(None, Some(4.0)).as_deref(), Some("ZRS read"));
        assert_eq!(named(Some(5.0), None).as_deref(), Some("ZRS write"));
        assert_eq!(named(Some(5.0), Some(4.0)), None);
    }
}
