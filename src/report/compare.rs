//! The comparison of options (`replisim compare`) for people and files: the
//! table, `compare.json` and `compare.csv`. The paired differences
//! themselves are estimated in [`crate::estimate::compare`].

use crate::estimate::compare::{Comparison, Metric};
use crate::report;

/// The table's label, unit included.
fn label(m: Metric) -> &'static str {
    match m {
        Metric::ObjectLoss => "P(object lost)",
        Metric::BytesLost => "bytes lost",
        Metric::ReadDown => "read down (min/y)",
        Metric::WriteDown => "write down (min/y)",
        Metric::Failovers => "failovers/y",
        Metric::RepairBytes => "repair traffic",
        Metric::LogicalLoss => "P(logical loss)",
        Metric::ApprovalWaitShare => "RTO waiting for approval",
        Metric::GrantedHours => "granted h/y",
        Metric::Denials => "denials/y",
    }
}

/// How a number of this metric is printed.
fn show(m: Metric, x: f64) -> String {
    match m {
        Metric::ObjectLoss | Metric::LogicalLoss => report::sci(x),
        Metric::BytesLost | Metric::RepairBytes => report::bytes(x),
        Metric::ApprovalWaitShare => format!("{:.1}%", x * 100.0),
        Metric::ReadDown
        | Metric::WriteDown
        | Metric::Failovers
        | Metric::GrantedHours
        | Metric::Denials => format!("{x:.4}"),
    }
}

const HEADER: [&str; 7] = [
    "metric",
    "option",
    "estimate",
    "− baseline",
    "95% CI of difference",
    "ratio",
    "pairs",
];

/// One row per option and metric it has, grouped by metric; a figure not
/// paired says why in the pairs column.
fn rows(c: &Comparison) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for &m in &c.metrics {
        for o in &c.options {
            let Some(d) = o.differences.iter().find(|d| d.metric == m.name()) else {
                continue;
            };
            let ci = d.difference_ci95.map_or("-".to_string(), |[lo, hi]| {
                format!("[{}, {}]", show(m, lo), show(m, hi))
            });
            let pairs = match d.difference {
                Some(_) => format!("{} by {}", d.pairs, d.paired_by),
                None => d.paired_by.clone(),
            };
            rows.push(vec![
                label(m).to_string(),
                o.option.clone(),
                show(m, d.value),
                d.difference.map_or("-".to_string(), |x| show(m, x)),
                ci,
                d.ratio.map_or("-".to_string(), ratio),
                pairs,
            ]);
        }
    }
    rows
}

/// A ratio readable whether it is near 1 or many decades away.
fn ratio(r: f64) -> String {
    if (0.01..1000.0).contains(&r) {
        format!("{r:.3}")
    } else {
        report::sci(r)
    }
}

/// Header and rows of the comparison table.
pub fn table_rows(c: &Comparison) -> (Vec<&'static str>, Vec<Vec<String>>) {
    (HEADER.to_vec(), rows(c))
}

/// The break-even regional risks, a line each: the region-loss rate at
/// which an option and the baseline swap order in P(object lost); empty
/// when no option has one.
fn break_even_lines(c: &Comparison) -> String {
    let found: Vec<_> = c
        .options
        .iter()
        .filter_map(|o| Some((o.option.as_str(), o.break_even.as_ref()?)))
        .collect();
    let Some((_, first)) = found.first() else {
        return String::new();
    };
    let lines: Vec<String> = found
        .iter()
        .map(|(option, b)| {
            let range = b.range.map_or_else(
                || "; the causes' 95% intervals do not settle it".to_string(),
                |[lo, hi]| {
                    format!(
                        " ({} to {} from the causes' 95% intervals)",
                        report::sci(lo),
                        report::sci(hi)
                    )
                },
            );
            format!(
                "{} and {option} swap order at about {} regions lost a year{range}; below it {} is safer",
                c.baseline,
                report::sci(b.region_loss_per_year),
                b.better_below,
            )
        })
        .collect();
    format!(
        "\nbreak-even regional risk (first order in the region-loss rate, from the loss by cause at this scenario's {} a year):\n{}\n",
        report::sci(first.measured_at_per_year),
        lines.join("\n")
    )
}

/// The comparison as a text table.
pub fn table(c: &Comparison) -> String {
    format!(
        "compare {}: {} of {}, seed {}, baseline {} ({})\n\
         differences from paired samples under common random numbers\n\n{}{}",
        c.scenario,
        crate::units::count(c.trials as f64, "trial"),
        crate::units::count(c.horizon_years, "year"),
        c.seed,
        c.baseline,
        c.method,
        report::grid(&HEADER, &rows(c)),
        break_even_lines(c)
    )
}

/// compare.json.
pub fn json(c: &Comparison) -> Result<String, String> {
    report::pretty_json(c, "the comparison")
}

/// compare.csv: one line per option and metric, numbers in full.
pub fn csv(c: &Comparison) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let bad = |e: csv::Error| format!("cannot encode the comparison: {e}");
    w.write_record([
        "metric",
        "unit",
        "option",
        "baseline_option",
        "value",
        "baseline",
        "difference",
        "difference_ci95_lo",
        "difference_ci95_hi",
        "ratio",
        "pairs",
        "paired_by",
    ])
    .map_err(bad)?;
    for o in &c.options {
        for d in &o.differences {
            let opt = |x: Option<f64>| x.map_or(String::new(), |x| x.to_string());
            w.write_record([
                d.metric.to_string(),
                d.unit.to_string(),
                o.option.clone(),
                c.baseline.clone(),
                d.value.to_string(),
                opt(d.baseline),
                opt(d.difference),
                opt(d.difference_ci95.map(|c| c[0])),
                opt(d.difference_ci95.map(|c| c[1])),
                opt(d.ratio),
                d.pairs.to_string(),
                d.paired_by.to_string(),
            ])
            .map_err(bad)?;
        }
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}
