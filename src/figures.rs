//! The pictures of a run: the nines of each option with their 95% interval
//! (SVG and PNG), and `report.html`, one offline page with the table, the
//! figure and the scenario that produced them.

use std::path::{Path, PathBuf};

use crate::estimate::Summary;
use crate::html::{self, Block, Section};
use crate::plot::{self, Bar};
use crate::report;
use crate::scenario::Scenario;

/// Writes `nines.svg`, `nines.png` and `report.html` into `out`; returns
/// the files written.
pub fn write(summary: &Summary, scenario: &Scenario, out: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = plot::bars_with_ci(
        &out.join("nines"),
        &format!(
            "Durability per option over {} year(s): nines of P(object lost)",
            summary.horizon_years
        ),
        "nines (−log10 P)",
        &nines_bars(summary),
    )?;
    let page = html::report(
        &format!("replisim: {}", summary.scenario),
        &sections(summary, scenario, &files[0])?,
    );
    let path = out.join("report.html");
    html::write(&path, &page)?;
    files.push(path);
    Ok(files)
}

fn nines_bars(summary: &Summary) -> Vec<Bar> {
    summary
        .options
        .iter()
        .map(|o| {
            let d = &o.durability;
            let [lo, hi] = d.nines_ci95;
            Bar {
                label: o.option.clone(),
                value: d.nines,
                ci95: [lo.unwrap_or(d.nines), hi.unwrap_or(d.nines)],
                at_least: d.upper_bound_only,
            }
        })
        .collect()
}

fn sections(summary: &Summary, scenario: &Scenario, svg: &Path) -> Result<Vec<Section>, String> {
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
    let mut durability = vec![
        Block::Text(format!(
            "{} trials of {} year(s), seed {}, {} disks, {} extents per option.",
            summary.trials, summary.horizon_years, summary.seed, summary.disks, summary.extents
        )),
        table(report::durability_rows(summary)),
        Block::figure_from_file(svg, "Nines per option; whiskers are the 95% interval.")?,
    ];
    durability.extend(methods.chain(warnings).map(Block::Text));
    Ok(vec![
        Section {
            heading: "Durability".into(),
            blocks: durability,
        },
        Section {
            heading: "Availability, failover and geo-replication".into(),
            blocks: vec![table(report::service_rows(summary))],
        },
        Section {
            heading: format!("Scenario {}", scenario.file),
            blocks: vec![Block::Pre(scenario.text.clone())],
        },
    ])
}
