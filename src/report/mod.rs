//! Presents a [`Summary`]: a table for people, JSON and CSV for programs.
//! Files are written to a temporary name and renamed, so a failed run never
//! leaves a partial result behind.
//!
//! Beside it: [`compare`] (the comparison table and files), [`expect`] (the
//! verdict of `[expect]` on a summary), [`figures`] and [`plot`] (the
//! charts), [`html`] (`report.html`) and [`trace`] (one trial's events).

pub mod compare;
pub mod expect;
pub mod figures;
pub mod html;
pub mod plot;
pub mod result_set;
pub mod trace;

use std::io::Write;
use std::path::Path;

use crate::estimate::{Distribution, OptionSummary, Summary};
use crate::exact::analyze::Exact;
use crate::scenario::Scenario;

/// What every output of an interrupted run says of it: the table, the CSV
/// (its `partial` column), `report.html` and `summary.json`.
pub fn partial_note(trials: u64) -> String {
    format!(
        "PARTIAL: interrupted after {trials} trials; the figures are those of the trials finished"
    )
}

/// The summary as pretty JSON, ending with a newline.
pub fn json(summary: &Summary) -> Result<String, String> {
    pretty_json(summary, "the summary")
}

/// `value` as pretty JSON ending with a newline, as every JSON file of a
/// run is written; an error names `what` could not be encoded.
pub fn pretty_json<T: serde::Serialize + ?Sized>(value: &T, what: &str) -> Result<String, String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| format!("cannot encode {what} as JSON: {e}"))
}

/// One CSV row per option.
pub fn csv(summary: &Summary) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| format!("cannot encode the summary as CSV: {e}");
    let mut header = vec![
        "scenario",
        "option",
        "copies",
        "trials",
        "partial",
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
        "rebalance_bytes",
        "blocked_copy_days",
        "read_availability",
        "read_nines",
        "read_unavailable_minutes_per_year",
        "write_availability",
        "write_nines",
        "write_unavailable_minutes_per_year",
        "kept_read_availability",
        "kept_read_nines",
        "kept_read_unavailable_minutes_per_year",
        "failovers_per_year",
        "planned_failovers_per_year",
        "rpo_p50_s",
        "rpo_p99_s",
        "rpo_max_s",
        "rto_p50_s",
        "rto_p99_s",
        "rto_max_s",
        "failover_bytes_lost_per_year",
        "hours_without_geo_redundancy_per_year",
        "lag_mean_s",
        "lag_p50_s",
        "lag_p99_s",
        "lag_p99_9_s",
        "lag_max_s",
        "reliable",
        "pareto_k",
        "estimate_skewness",
    ];
    let caused = summary
        .options
        .iter()
        .any(|o| !o.durability.by_cause.is_empty());
    if caused {
        header.extend(CAUSE_COLUMNS);
    }
    let keyed = summary.options.iter().any(|o| o.keys.is_some());
    if keyed {
        header.extend(KEY_COLUMNS);
    }
    let deleting = summary.options.iter().any(|o| o.deletion.is_some());
    if deleting {
        header.extend(DELETION_COLUMNS);
    }
    let logical = summary.options.iter().any(|o| o.logical.is_some());
    if logical {
        header.extend(LOGICAL_COLUMNS);
    }
    let access = summary.options.iter().any(|o| o.access.is_some());
    if access {
        header.extend(ACCESS_COLUMNS);
    }
    let latent = summary.options.iter().any(|o| o.latent.is_some());
    if latent {
        header.extend(LATENT_COLUMNS);
    }
    w.write_record(header).map_err(fail)?;
    for o in &summary.options {
        let d = &o.durability;
        let mut record = vec![
            summary.scenario.clone(),
            o.option.clone(),
            o.copies.to_string(),
            o.trials.to_string(),
            summary.partial.to_string(),
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
            o.rebalance_bytes.mean.to_string(),
            o.blocked_copy_days.mean.to_string(),
        ];
        record.extend(availability_cells(o));
        let opt = |x: Option<f64>| x.map_or(String::new(), |x| x.to_string());
        record.extend([
            d.reliable.to_string(),
            opt(d.diagnostics.pareto_k),
            opt(d.diagnostics.estimate_skewness),
        ]);
        if caused {
            record.extend(cause_cells(o));
        }
        if keyed {
            record.extend(key_cells(o));
        }
        if deleting {
            record.extend(deletion_cells(o));
        }
        if logical {
            record.extend(logical_cells(o));
        }
        if access {
            record.extend(access_cells(o));
        }
        if latent {
            record.extend(latent_cells(o));
        }
        w.write_record(record).map_err(fail)?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// Columns of P(object lost) by cause ([`crate::estimate::rare::CAUSES`]),
/// present only when some option has the split (the rare-event method).
const CAUSE_COLUMNS: [&str; 9] = [
    "loss_hardware",
    "loss_hardware_ci95_lo",
    "loss_hardware_ci95_hi",
    "loss_site",
    "loss_site_ci95_lo",
    "loss_site_ci95_hi",
    "loss_region",
    "loss_region_ci95_lo",
    "loss_region_ci95_hi",
];

const _: () = assert!(CAUSE_COLUMNS.len() == 3 * crate::estimate::rare::CAUSES.len());

fn cause_cells(o: &OptionSummary) -> Vec<String> {
    let by_cause = &o.durability.by_cause;
    if by_cause.is_empty() {
        return vec![String::new(); CAUSE_COLUMNS.len()];
    }
    by_cause
        .iter()
        .flat_map(|c| [c.loss_probability, c.ci95[0], c.ci95[1]])
        .map(|x| x.to_string())
        .collect()
}

/// Columns of customer-managed keys, present only when the scenario has them.
const KEY_COLUMNS: [&str; 7] = [
    "key_unreadable_minutes_per_year",
    "read_availability_with_key",
    "key_loss_probability",
    "loss_probability_with_key",
    "loss_with_key_ci95_hi",
    "nines_with_key",
    "crypto_shred_days",
];

/// Columns of deletion, present only when the scenario has `[deletion]`.
const DELETION_COLUMNS: [&str; 5] = [
    "erasure_mean_s",
    "erasure_p50_s",
    "erasure_p99_s",
    "erasure_max_s",
    "resurrected_bytes_per_year",
];

fn deletion_cells(o: &OptionSummary) -> Vec<String> {
    let opt = |x: Option<f64>| x.map_or(String::new(), |x| x.to_string());
    let d = o.deletion.as_ref();
    let e = d.and_then(|d| d.erasure_seconds.as_ref());
    vec![
        opt(e.map(|e| e.mean)),
        opt(e.map(|e| e.p50)),
        opt(e.map(|e| e.p99)),
        opt(e.map(|e| e.max)),
        opt(d.map(|d| d.resurrected_bytes_per_year.mean)),
    ]
}

/// Columns of logical errors, present only when the scenario has `[logical]`.
const LOGICAL_COLUMNS: [&str; 7] = [
    "logical_loss_probability",
    "logical_loss_ci95_lo",
    "logical_loss_ci95_hi",
    "logical_nines",
    "loss_probability_with_logical",
    "loss_with_logical_ci95_hi",
    "nines_with_logical",
];

/// Columns of latent sector errors, present only with `[latent]`.
const LATENT_COLUMNS: [&str; 5] = [
    "latent_loss_probability",
    "latent_loss_ci95_lo",
    "latent_loss_ci95_hi",
    "latent_share_of_loss",
    "latent_undetected_probability",
];

fn latent_cells(o: &OptionSummary) -> Vec<String> {
    let Some(l) = &o.latent else {
        return vec![String::new(); LATENT_COLUMNS.len()];
    };
    let mut out: Vec<String> = [l.loss_probability, l.ci95[0], l.ci95[1], l.share_of_loss]
        .map(|x| x.to_string())
        .to_vec();
    out.push(
        l.undetected_probability
            .map_or(String::new(), |p| p.to_string()),
    );
    out
}

fn logical_cells(o: &OptionSummary) -> Vec<String> {
    let Some(l) = &o.logical else {
        return vec![String::new(); LOGICAL_COLUMNS.len()];
    };
    [
        l.loss_probability,
        l.ci95[0],
        l.ci95[1],
        l.nines,
        l.loss_probability_with_logical,
        l.ci95_with_logical[1],
        l.nines_with_logical,
    ]
    .map(|x| x.to_string())
    .to_vec()
}

/// Columns of Customer Lockbox, present only when the scenario has
/// `[access]` (empty for an option without a secondary).
const ACCESS_COLUMNS: [&str; 11] = [
    "approval_wait_share",
    "approval_wait_mean_s",
    "approval_wait_p50_s",
    "approval_wait_p99_s",
    "approval_wait_max_s",
    "granted_hours_per_year",
    "granted_hours_ci95_lo",
    "granted_hours_ci95_hi",
    "denials_per_year",
    "denials_ci95_lo",
    "denials_ci95_hi",
];

fn access_cells(o: &OptionSummary) -> Vec<String> {
    let Some(a) = &o.access else {
        return vec![String::new(); ACCESS_COLUMNS.len()];
    };
    let opt = |x: Option<f64>| x.map_or(String::new(), |x| x.to_string());
    let wait = a.approval_wait_seconds.as_ref();
    let (g, d) = (&a.granted_hours_per_year, &a.denials_per_year);
    let mut cells = vec![
        opt(a.approval_wait_share),
        opt(wait.map(|w| w.mean)),
        opt(wait.map(|w| w.p50)),
        opt(wait.map(|w| w.p99)),
        opt(wait.map(|w| w.max)),
    ];
    cells.extend(
        [g.mean, g.ci95[0], g.ci95[1], d.mean, d.ci95[0], d.ci95[1]].map(|x| x.to_string()),
    );
    cells
}

fn key_cells(o: &OptionSummary) -> Vec<String> {
    let Some(k) = &o.keys else {
        return vec![String::new(); KEY_COLUMNS.len()];
    };
    [
        k.unreadable_minutes_per_year.mean,
        k.read_with_key.fraction,
        k.key_loss_probability,
        k.loss_probability,
        k.ci95[1],
        k.nines,
        k.crypto_shred_days,
    ]
    .map(|x| x.to_string())
    .to_vec()
}

/// The CSV cells of availability, failover and lag (empty where they do
/// not apply).
fn availability_cells(o: &OptionSummary) -> Vec<String> {
    let opt = |x: Option<f64>| x.map_or(String::new(), |x| x.to_string());
    let a = &o.availability;
    let mut cells = Vec::new();
    for f in [&a.read, &a.write, &a.read_of_kept_data] {
        cells.push(f.fraction.to_string());
        cells.push(opt(f.nines));
        cells.push(f.unavailable_minutes_per_year.to_string());
    }
    let f = o.failover.as_ref();
    cells.push(opt(f.map(|f| f.count_per_year)));
    cells.push(opt(f.map(|f| f.planned_per_year)));
    for d in [
        f.and_then(|f| f.rpo_seconds.as_ref()),
        f.and_then(|f| f.rto_seconds.as_ref()),
    ] {
        cells.extend([
            opt(d.map(|d| d.p50)),
            opt(d.map(|d| d.p99)),
            opt(d.map(|d| d.max)),
        ]);
    }
    cells.push(opt(f.map(|f| f.bytes_lost_per_year.mean)));
    cells.push(opt(f.map(|f| f.hours_without_geo_redundancy_per_year.mean)));
    let lag = o
        .geo_replication
        .as_ref()
        .and_then(|g| g.lag_seconds.as_ref());
    cells.extend([
        opt(lag.map(|d| d.mean)),
        opt(lag.map(|d| d.p50)),
        opt(lag.map(|d| d.p99)),
        opt(lag.map(|d| d.p99_9)),
        opt(lag.map(|d| d.max)),
    ]);
    cells
}

/// A readable table of the durability of each option, then one of its
/// availability, failovers and replication lag.
pub fn table(summary: &Summary) -> String {
    use crate::units::count;
    let mut out = format!(
        "scenario {}: {} of {} {}, seed {}, {}, {} of {} per option ({})\n\n",
        summary.scenario,
        count(summary.trials as f64, "trial"),
        count(summary.horizon_years, "year"),
        start_words(summary.warmup_years),
        summary.seed,
        count(summary.disks as f64, "disk"),
        count(summary.extents as f64, "extent"),
        bytes(summary.extent_bytes as f64),
        summary.method,
    );
    if summary.partial {
        out += &format!("{}\n\n", partial_note(summary.trials));
    }
    let (header, rows) = durability_rows(summary);
    out += &grid(&header, &rows);
    if let Some((header, rows)) = cause_rows(summary) {
        out += "\n";
        out += &grid(&header, &rows);
    }
    out += "\n";
    let (header, rows) = service_rows(summary);
    out += &grid(&header, &rows);
    for (header, rows) in [
        key_rows(summary),
        deletion_rows(summary),
        logical_rows(summary),
        access_rows(summary),
        latent_rows(summary),
        placement_rows(summary),
    ]
    .into_iter()
    .flatten()
    {
        out += "\n";
        out += &grid(&header, &rows);
    }
    for o in &summary.options {
        for w in &o.warnings {
            out += &format!("note: {}: {w}\n", o.option);
        }
    }
    out
}

/// Header and rows of P(object lost) by cause, with 95% intervals: the
/// rare-event estimate split by what took the copies (no site event:
/// disks, nodes, racks; a facility or zone; a region). None when no option
/// has the split (plain Monte Carlo).
pub fn cause_rows(summary: &Summary) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let header = vec![
        "option",
        "lost by hardware (disk, node, rack)",
        "by site (facility, zone)",
        "by region",
    ];
    let cell = |c: &crate::estimate::CauseEstimate| {
        if c.loss_probability == 0.0 && c.ci95[1] == 0.0 {
            "0".to_string()
        } else {
            format!(
                "{} [{}, {}]",
                sci(c.loss_probability),
                sci(c.ci95[0]),
                sci(c.ci95[1])
            )
        }
    };
    let rows: Vec<Vec<String>> = summary
        .options
        .iter()
        .filter(|o| !o.durability.by_cause.is_empty())
        .map(|o| {
            let mut row = vec![o.option.clone()];
            row.extend(o.durability.by_cause.iter().map(cell));
            row
        })
        .collect();
    (!rows.is_empty()).then_some((header, rows))
}

/// Header and rows of the deletion table; None without `[deletion]`.
pub fn deletion_rows(summary: &Summary) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let header = vec![
        "option",
        "erasure mean",
        "erasure p50/p99/max",
        "resurrected/y",
    ];
    let rows: Vec<Vec<String>> = summary
        .options
        .iter()
        .filter_map(|o| {
            let d = o.deletion.as_ref()?;
            let (mean, spread) = match &d.erasure_seconds {
                Some(e) => (
                    duration(e.mean),
                    format!(
                        "{}/{}/{}",
                        duration(e.p50),
                        duration(e.p99),
                        duration(e.max)
                    ),
                ),
                None => ("-".into(), "-".into()),
            };
            Some(vec![
                o.option.clone(),
                mean,
                spread,
                bytes(d.resurrected_bytes_per_year.mean),
            ])
        })
        .collect();
    (!rows.is_empty()).then_some((header, rows))
}

/// Header and rows of the latent-error table; None without `[latent]`.
/// Header and rows of what the placement rule cost: copy-days a year that
/// lost copies waited for a place (no usable disk kept their rule), and
/// the bytes moved back to it once a return made room (rebalancing). None
/// when no option did either.
pub fn placement_rows(summary: &Summary) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let header = vec![
        "option",
        "re-creations waited for a place (copy-days/y)",
        "moved back to their spread rule",
    ];
    let rows: Vec<Vec<String>> = summary
        .options
        .iter()
        .filter(|o| !o.blocked_copy_days.is_zero() || !o.rebalance_bytes.is_zero())
        .map(|o| {
            let w = &o.blocked_copy_days;
            vec![
                o.option.clone(),
                if w.is_zero() {
                    "0".into()
                } else {
                    format!("{:.3} [{:.3}, {:.3}]", w.mean, w.ci95[0], w.ci95[1])
                },
                bytes(o.rebalance_bytes.mean),
            ]
        })
        .collect();
    (!rows.is_empty()).then_some((header, rows))
}

pub fn latent_rows(summary: &Summary) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let header = vec![
        "option",
        "P(loss via latent error)",
        "95% CI",
        "share of loss",
        "P(undetected) per slot",
    ];
    let rows: Vec<Vec<String>> = summary
        .options
        .iter()
        .filter_map(|o| {
            let l = o.latent.as_ref()?;
            Some(vec![
                o.option.clone(),
                sci(l.loss_probability),
                format!("[{}, {}]", sci(l.ci95[0]), sci(l.ci95[1])),
                format!("{:.1}%", 100.0 * l.share_of_loss),
                l.undetected_probability
                    .map_or_else(|| "grows with age (never scrubbed)".into(), sci),
            ])
        })
        .collect();
    (!rows.is_empty()).then_some((header, rows))
}

/// Header and rows of the logical-error table; None without `[logical]`.
pub fn logical_rows(summary: &Summary) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let header = vec![
        "option",
        "P(logical loss)",
        "95% CI",
        "nines",
        "P(object lost) with logical",
        "nines with logical",
    ];
    let rows: Vec<Vec<String>> = summary
        .options
        .iter()
        .filter_map(|o| {
            let l = o.logical.as_ref()?;
            Some(vec![
                o.option.clone(),
                sci(l.loss_probability),
                format!("[{}, {}]", sci(l.ci95[0]), sci(l.ci95[1])),
                format!("{:.1}", l.nines),
                sci(l.loss_probability_with_logical),
                format!("{:.1}", l.nines_with_logical),
            ])
        })
        .collect();
    (!rows.is_empty()).then_some((header, rows))
}

/// Header and rows of the Customer Lockbox table (options with a
/// secondary); None without `[access]`.
pub fn access_rows(summary: &Summary) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let header = vec![
        "option",
        "RTO waiting for approval",
        "approval wait p50/p99/max",
        "granted h/y",
        "95% CI",
        "denials/y",
        "95% CI",
    ];
    let interval = |m: &crate::estimate::Mean, digits: usize| {
        format!("[{:.digits$}, {:.digits$}]", m.ci95[0], m.ci95[1])
    };
    let rows: Vec<Vec<String>> = summary
        .options
        .iter()
        .filter_map(|o| {
            let a = o.access.as_ref()?;
            let wait = a.approval_wait_seconds.as_ref().map_or("-".into(), |w| {
                format!(
                    "{}/{}/{}",
                    duration(w.p50),
                    duration(w.p99),
                    duration(w.max)
                )
            });
            let (g, d) = (&a.granted_hours_per_year, &a.denials_per_year);
            Some(vec![
                o.option.clone(),
                a.approval_wait_share
                    .map_or("-".into(), |x| format!("{:.1}%", 100.0 * x)),
                wait,
                format!("{:.1}", g.mean),
                interval(g, 1),
                format!("{:.3}", d.mean),
                interval(d, 3),
            ])
        })
        .collect();
    (!rows.is_empty()).then_some((header, rows))
}

/// Header and rows of the customer-managed key table; None without keys.
pub fn key_rows(summary: &Summary) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let header = vec![
        "option",
        "key-unreadable min/y",
        "read avail with key",
        "P(key lost)",
        "P(object lost) with key",
        "nines with key",
        "crypto-shred",
    ];
    let rows: Vec<Vec<String>> = summary
        .options
        .iter()
        .filter_map(|o| {
            let k = o.keys.as_ref()?;
            let shred = duration(k.crypto_shred_days * 86_400.0);
            Some(vec![
                o.option.clone(),
                format!("{:.1}", k.unreadable_minutes_per_year.mean),
                percent(k.read_with_key.fraction),
                sci(k.key_loss_probability),
                sci(k.loss_probability),
                format!("{:.1}", k.nines),
                shred,
            ])
        })
        .collect();
    (!rows.is_empty()).then_some((header, rows))
}

/// Header and rows of the durability table: one row per option.
pub fn durability_rows(summary: &Summary) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "option",
        "copies",
        "P(object lost)",
        "95% CI",
        "nines",
        "P(any loss)",
        "bytes lost",
        "repair traffic",
    ];
    (
        header,
        summary.options.iter().map(|o| row(o).to_vec()).collect(),
    )
}

/// Header and rows of the service table: availability, failovers, lag.
/// The availability of the data not lost gets its column only when it
/// differs, as shown, from the read availability of some option: when a
/// loss, not an outage, is what made data unreadable.
pub fn service_rows(summary: &Summary) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let mut header = vec![
        "option",
        "read avail",
        "nines",
        "write avail",
        "nines",
        "down min/y (r/w)",
        "failovers/y",
        "RPO p50/p99/max",
        "RTO p50/p99/max",
        "lag p50/p99/max",
    ];
    let mut rows: Vec<Vec<String>> = summary.options.iter().map(service_row).collect();
    let kept: Vec<String> = summary
        .options
        .iter()
        .map(|o| percent(o.availability.read_of_kept_data.fraction))
        .collect();
    if rows.iter().zip(&kept).any(|(r, k)| r[1] != *k) {
        header.insert(3, "kept data read");
        for (r, k) in rows.iter_mut().zip(kept) {
            r.insert(3, k);
        }
    }
    (header, rows)
}

/// An availability as a percentage, with enough decimals to show the first
/// digit that is not a 9.
fn percent(f: f64) -> String {
    let down = 1.0 - f;
    if down <= 0.0 {
        return "100%".to_string();
    }
    let decimals = ((-down.log10()).ceil() as usize)
        .saturating_sub(1)
        .clamp(2, 10);
    format!("{:.decimals$}%", 100.0 * f)
}

/// Left-aligned columns, two spaces apart.
pub fn grid(header: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
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
    let mut out = line(header.to_vec());
    for r in rows {
        out += &line(r.iter().map(String::as_str).collect());
    }
    out
}

/// Availability, failovers and lag of one option ("-" where they do not apply).
fn service_row(o: &OptionSummary) -> Vec<String> {
    let a = &o.availability;
    let nines = |n: Option<f64>| n.map_or("-".to_string(), |n| format!("{n:.1}"));
    let spread = |d: Option<&Distribution>| {
        d.map_or("-".to_string(), |d| {
            format!(
                "{}/{}/{}",
                duration(d.p50),
                duration(d.p99),
                duration(d.max)
            )
        })
    };
    let f = o.failover.as_ref();
    vec![
        o.option.clone(),
        percent(a.read.fraction),
        nines(a.read.nines),
        percent(a.write.fraction),
        nines(a.write.nines),
        format!(
            "{:.1} / {:.1}",
            a.read.unavailable_minutes_per_year, a.write.unavailable_minutes_per_year
        ),
        f.map_or("-".to_string(), |f| format!("{:.3}", f.count_per_year)),
        spread(f.and_then(|f| f.rpo_seconds.as_ref())),
        spread(f.and_then(|f| f.rto_seconds.as_ref())),
        spread(
            o.geo_replication
                .as_ref()
                .and_then(|g| g.lag_seconds.as_ref()),
        ),
    ]
}

/// Seconds as a short duration: "30s", "2.0h".
fn duration(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0}s")
    } else if seconds < 7200.0 {
        format!("{:.0}m", seconds / 60.0)
    } else if seconds < 172_800.0 {
        format!("{:.1}h", seconds / 3600.0)
    } else {
        format!("{:.1}d", seconds / 86_400.0)
    }
}

fn row(o: &OptionSummary) -> [String; 8] {
    let d = &o.durability;
    let (p, nines) = if d.upper_bound_only {
        (format!("< {}", sci(d.ci95[1])), format!("> {:.1}", d.nines))
    } else {
        let end = |n: Option<f64>| n.map_or("inf".to_string(), |n| format!("{n:.1}"));
        let [lo, hi] = d.nines_ci95.map(end);
        let nines = if d.reliable {
            format!("{:.1} [{lo}, {hi}]", d.nines)
        } else {
            format!("{:.1} [unreliable]", d.nines)
        };
        (sci(d.loss_probability), nines)
    };
    let ci = format!("[{}, {}]", sci(d.ci95[0]), sci(d.ci95[1]));
    [
        o.option.clone(),
        o.copies.to_string(),
        p,
        if d.reliable {
            ci
        } else {
            format!("unreliable {ci}")
        },
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

pub(crate) fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x:.2e}")
    }
}

/// Bytes with a decimal unit, e.g. "1.2 TB".
pub(crate) use crate::units::format_bytes as bytes;

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
    set_mode(path, 0o644)
}

/// Gives a folder (a staging folder is created owner-only) the usual
/// rwxr-xr-x mode.
pub fn shareable_dir(path: &Path) -> std::io::Result<()> {
    set_mode(path, 0o755)
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// What "per horizon" means: a fleet in operation after a warm-up, or a
/// new fleet.
fn start_words(warmup_years: f64) -> String {
    if warmup_years > 0.0 {
        let days = warmup_years * 365.25;
        format!("after a {days:.0}-day warm-up (a fleet in operation)")
    } else {
        "of a new fleet".to_string()
    }
}

/// The exact figures of `analyze` as a table.
pub fn exact_table(s: &Scenario, exact: &[Exact]) -> String {
    let mut out = format!(
        "scenario {}: exact solution of the Markov chain of one extent, horizon {} {}\n\n",
        s.name,
        crate::units::count(crate::units::years(s.system.horizon), "year"),
        start_words(crate::units::years(s.system.warmup)),
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
