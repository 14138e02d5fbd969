//! Presents a [`Summary`]: a table for people, JSON and CSV for programs.
//! Files are written to a temporary name and renamed, so a failed run never
//! leaves a partial result behind.

use std::io::Write;
use std::path::Path;

use crate::analyze::Exact;
use crate::estimate::{OptionSummary, Summary};
use crate::scenario::Scenario;

/// The summary as pretty JSON, ending with a newline.
pub fn json(summary: &Summary) -> Result<String, String> {
    serde_json::to_string_pretty(summary)
        .map(|s| s + "\n")
        .map_err(|e| format!("cannot encode the summary as JSON: {e}"))
}

/// One CSV row per option.
pub fn csv(summary: &Summary) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| format!("cannot encode the summary as CSV: {e}");
    w.write_record([
        "scenario",
        "option",
        "copies",
        "trials",
        "horizon_years",
        "loss_probability",
        "ci95_lo",
        "ci95_hi",
        "nines",
        "upper_bound_only",
        "trials_with_loss",
        "any_loss_probability",
        "any_loss_ci95_hi",
        "bytes_lost",
        "repair_bytes",
    ])
    .map_err(fail)?;
    for o in &summary.options {
        let d = &o.durability;
        w.write_record([
            summary.scenario.clone(),
            o.option.clone(),
            o.copies.to_string(),
            o.trials.to_string(),
            summary.horizon_years.to_string(),
            d.loss_probability.to_string(),
            d.ci95[0].to_string(),
            d.ci95[1].to_string(),
            d.nines.to_string(),
            d.upper_bound_only.to_string(),
            d.trials_with_loss.to_string(),
            d.any_loss_probability.to_string(),
            d.any_loss_ci95[1].to_string(),
            d.bytes_lost.mean.to_string(),
            o.repair_bytes.mean.to_string(),
        ])
        .map_err(fail)?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// A readable table of the durability of each option.
pub fn table(summary: &Summary) -> String {
    let mut out = format!(
        "scenario {}: {} trials of {} year(s), seed {}, {} disks, {} extents of {} per option ({})\n\n",
        summary.scenario,
        summary.trials,
        summary.horizon_years,
        summary.seed,
        summary.disks,
        summary.extents,
        bytes(summary.extent_bytes as f64),
        summary.method,
    );
    if summary.partial {
        out += &format!("PARTIAL: interrupted after {} trials\n\n", summary.trials);
    }
    let header = [
        "option",
        "copies",
        "P(object lost)",
        "95% CI",
        "nines",
        "P(any loss)",
        "bytes lost",
        "repair traffic",
    ];
    let rows: Vec<[String; 8]> = summary.options.iter().map(row).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    out += &line(header.to_vec());
    for r in &rows {
        out += &line(r.iter().map(String::as_str).collect());
    }
    for o in &summary.options {
        for w in &o.warnings {
            out += &format!("note: {}: {w}\n", o.option);
        }
    }
    out
}

fn row(o: &OptionSummary) -> [String; 8] {
    let d = &o.durability;
    let (p, nines) = if d.upper_bound_only {
        (format!("< {}", sci(d.ci95[1])), format!("> {:.1}", d.nines))
    } else {
        let end = |n: Option<f64>| n.map_or("inf".to_string(), |n| format!("{n:.1}"));
        let [lo, hi] = d.nines_ci95.map(end);
        (
            sci(d.loss_probability),
            format!("{:.1} [{lo}, {hi}]", d.nines),
        )
    };
    [
        o.option.clone(),
        o.copies.to_string(),
        p,
        format!("[{}, {}]", sci(d.ci95[0]), sci(d.ci95[1])),
        nines,
        if d.trials_with_loss == 0 {
            format!("< {}", sci(d.any_loss_ci95[1]))
        } else {
            sci(d.any_loss_probability)
        },
        bytes(d.bytes_lost.mean),
        bytes(o.repair_bytes.mean),
    ]
}

fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.2e}")
    }
}

/// Bytes with a decimal unit, e.g. "1.2 TB".
fn bytes(b: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut value = b;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Writes `contents` to `path` atomically: a temporary file in the same
/// directory, renamed over the target once complete.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), String> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(contents.as_bytes()).map_err(fail)?;
    shareable(tmp.path()).map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Gives a temporary file (created owner-only) the usual rw-r--r-- mode, so
/// that results can be shared and served once renamed into place.
pub fn shareable(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The exact figures of `analyze` as a table.
pub fn exact_table(s: &Scenario, exact: &[Exact]) -> String {
    let mut out = format!(
        "scenario {}: exact solution of the Markov chain of one extent, horizon {} year(s)\n\n",
        s.name,
        crate::units::years(s.system.horizon)
    );
    out += &format!(
        "{:<10} {:>14} {:>12} {:>7} {:>14} {:>7}\n",
        "option", "P(loss)", "error bound", "nines", "MTTDL (years)", "states"
    );
    for e in exact {
        out += &format!(
            "{:<10} {:>14.6e} {:>12.1e} {:>7.2} {:>14.4e} {:>7}\n",
            e.option, e.loss_probability, e.error_bound, e.nines, e.mttdl_years, e.states
        );
    }
    out
}
