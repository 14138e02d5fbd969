//! `replisim sweep`: a scenario run over the grid of `--set PATH=V1,V2,...`
//! values. Each point is exactly [`estimate`] of the scenario with that
//! point's overrides, so a row equals `replisim run --set ...` at the point.
//! Writes `sweep.csv`, `sweep.json` and the chart `sweep.svg`/`sweep.png`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use std::sync::atomic::Ordering;

use crate::engine::trials::Controls;
use crate::estimate::{self, RunConfig, RunSums, Summary};
use crate::report;
use crate::report::plot::{self, Series};
use crate::report::result_set::ResultSet;
use crate::scenario::expect::split_number;
use crate::scenario::overrides::{self, Override};
use crate::scenario::{Scenario, ScenarioError, schema};
use crate::units;

/// One swept field and its values, from `--set PATH=V1,V2,...`.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub path: String,
    pub values: Vec<String>,
}

impl Axis {
    pub fn parse(arg: &str) -> Result<Self, String> {
        let o = Override::parse(arg)?;
        let values = overrides::split_values(&o.value);
        if values.iter().any(String::is_empty) {
            return Err(format!(
                "--set {arg}: an empty value; write PATH=V1,V2,... (quote a value holding a comma)"
            ));
        }
        Ok(Self {
            path: o.path,
            values,
        })
    }
}

/// The axes of `--set` arguments; a field may be swept once only.
pub fn axes(args: &[String]) -> Result<Vec<Axis>, String> {
    let axes = args
        .iter()
        .map(|a| Axis::parse(a))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, a) in axes.iter().enumerate() {
        if axes[..i].iter().any(|b| b.path == a.path) {
            return Err(format!(
                "--set {} is given twice: list all its values in one --set {}=V1,V2,...",
                a.path, a.path
            ));
        }
    }
    Ok(axes)
}

/// Every combination of the axes' values, the first axis varying slowest.
pub fn grid(axes: &[Axis]) -> Vec<Vec<Override>> {
    axes.iter().fold(vec![Vec::new()], |points, axis| {
        points
            .iter()
            .flat_map(|p| {
                axis.values.iter().map(move |v| {
                    let mut p = p.clone();
                    p.push(Override {
                        arg: format!("{}={v}", axis.path),
                        path: axis.path.clone(),
                        value: v.clone(),
                    });
                    p
                })
            })
            .collect()
    })
}

/// A point of the sweep and its result.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    /// The value of each axis, in axis order.
    pub values: Vec<String>,
    pub summary: Summary,
}

/// Validates every point of the grid, before anything runs: a mistake in
/// any value is found at once.
pub fn scenarios(file: &str, text: &str, axes: &[Axis]) -> Result<Vec<Scenario>, ScenarioError> {
    grid(axes)
        .iter()
        .map(|point| overrides::apply(file, text, point))
        .collect()
}

/// Runs each point with its configuration; `on_point(i, n)` is called
/// before point `i` of `n` starts. A stop (`controls.stop`) ends the sweep
/// after the point it cut short, whose summary is marked partial; the
/// points not started are left out.
pub fn run(
    points: &[Scenario],
    configs: &[RunConfig],
    axes: &[Axis],
    on_point: &dyn Fn(usize, usize),
    controls: &Controls<'_, RunSums>,
) -> Result<Vec<Point>, String> {
    let mut done = Vec::new();
    let stopped = || controls.stop.is_some_and(|s| s.load(Ordering::Relaxed));
    for (i, ((s, &config), point)) in points.iter().zip(configs).zip(grid(axes)).enumerate() {
        if stopped() {
            break;
        }
        on_point(i, points.len());
        let run = estimate::simulate(s, config, 0..config.trials, controls)?;
        let summary = estimate::summarize(s, config, &run.acc);
        let partial = summary.partial;
        done.push(Point {
            values: point.into_iter().map(|o| o.value).collect(),
            summary,
        });
        if partial {
            break;
        }
    }
    Ok(done)
}

/// The nines of each point and option, for people.
pub fn table(axes: &[Axis], points: &[Point]) -> String {
    let mut header: Vec<&str> = axes.iter().map(|a| a.path.as_str()).collect();
    header.extend(["option", "P(object lost)", "nines", "95% CI"]);
    let show = |n: Option<f64>| n.map_or("∞".into(), |n| format!("{n:.1}"));
    let mut rows = Vec::new();
    for p in points {
        for o in &p.summary.options {
            let d = &o.durability;
            let mut row = p.values.clone();
            row.extend([
                o.option.clone(),
                format!("{:.2e}", d.loss_probability),
                format!(
                    "{}{:.1}",
                    if d.upper_bound_only { "> " } else { "" },
                    d.nines
                ),
                format!("[{}, {}]", show(d.nines_ci95[0]), show(d.nines_ci95[1])),
            ]);
            rows.push(row);
        }
    }
    report::grid(&header, &rows)
}

/// Writes sweep.csv, sweep.json, sweep.svg and sweep.png into `out`;
/// returns the files written.
pub fn write(axes: &[Axis], points: &[Point], out: &Path) -> Result<Vec<PathBuf>, String> {
    let csv_text = csv(axes, points)?;
    let json_text = json(axes, points)?;
    let set = ResultSet::begin(out)?;
    let dir = set.dir().to_path_buf();
    report::write_atomic(&dir.join("sweep.csv"), &csv_text)?;
    report::write_atomic(&dir.join("sweep.json"), &json_text)?;
    let mut files = vec![dir.join("sweep.csv"), dir.join("sweep.json")];
    files.extend(chart(axes, points, &dir.join("sweep"))?);
    let out = set.commit()?;
    // The files as they are named once in place.
    Ok(files
        .iter()
        .filter_map(|f| Some(out.join(f.file_name()?)))
        .collect())
}

/// One row per point and option: the axes' values, then the columns of
/// `summary.csv`, with the nines' 95% interval after `nines`.
pub fn csv(axes: &[Axis], points: &[Point]) -> Result<String, String> {
    let fail = |e: csv::Error| format!("cannot encode the sweep as CSV: {e}");
    let mut w = csv::Writer::from_writer(Vec::new());
    for (i, p) in points.iter().enumerate() {
        // The run's own CSV, so a row is by construction a summary.csv row.
        let text = report::csv(&p.summary)?;
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().map_err(fail)?.clone();
        let at = header
            .iter()
            .position(|h| h == "nines")
            .map_or(header.len(), |k| k + 1);
        if i == 0 {
            let mut head: Vec<&str> = axes.iter().map(|a| a.path.as_str()).collect();
            head.extend(header.iter().take(at));
            head.extend(["nines_ci95_lo", "nines_ci95_hi"]);
            head.extend(header.iter().skip(at));
            w.write_record(head).map_err(fail)?;
        }
        for (record, o) in reader.records().zip(&p.summary.options) {
            let record = record.map_err(fail)?;
            let [lo, hi] = o
                .durability
                .nines_ci95
                .map(|n| n.map_or(String::new(), |n| n.to_string()));
            let mut row: Vec<String> = p.values.clone();
            row.extend(record.iter().take(at).map(String::from));
            row.extend([lo, hi]);
            row.extend(record.iter().skip(at).map(String::from));
            w.write_record(row).map_err(fail)?;
        }
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

#[derive(Serialize)]
struct SweepFile<'a> {
    parameters: Vec<&'a str>,
    points: &'a [Point],
}

/// The axes and every point's full summary, as pretty JSON.
pub fn json(axes: &[Axis], points: &[Point]) -> Result<String, String> {
    let file = SweepFile {
        parameters: axes.iter().map(|a| a.path.as_str()).collect(),
        points,
    };
    crate::report::pretty_json(&file, "the sweep")
}

/// The axis drawn as x: the first with more than one value.
fn x_axis(axes: &[Axis]) -> usize {
    axes.iter().position(|a| a.values.len() > 1).unwrap_or(0)
}

/// Nines against the x axis, one line per option and combination of the
/// other axes, with the 95% interval as a band.
fn chart(axes: &[Axis], points: &[Point], stem: &Path) -> Result<Vec<PathBuf>, String> {
    let k = x_axis(axes);
    let axis = &axes[k];
    let numeric = numeric_values(&axis.values);
    let x_of = |v: &str| {
        let i = axis.values.iter().position(|a| a == v).unwrap_or(0);
        numeric.as_ref().map_or(i as f64, |(xs, _)| xs[i])
    };
    let mut series: Vec<Series> = Vec::new();
    for p in points {
        let others: Vec<String> = (0..axes.len())
            .filter(|&j| j != k && axes[j].values.len() > 1)
            .map(|j| key_label(&axes[j].path, &p.values[j]))
            .collect();
        for o in &p.summary.options {
            let label = [o.option.clone()]
                .into_iter()
                .chain(others.iter().cloned())
                .collect::<Vec<_>>()
                .join(", ");
            let d = &o.durability;
            let [lo, hi] = d.nines_ci95;
            let point = (
                x_of(&p.values[k]),
                d.nines,
                [lo.unwrap_or(d.nines), hi.unwrap_or(f64::INFINITY)],
            );
            match series.iter_mut().find(|s| s.label == label) {
                Some(s) => s.points.push(point),
                None => series.push(Series {
                    label,
                    points: vec![point],
                }),
            }
        }
    }
    let title = format!("Durability against {}: nines of P(object lost)", axis.path);
    let y_label = "nines (−log10 P(object lost))";
    match numeric {
        Some((_, unit)) if unit.is_empty() => {
            plot::lines_with_bands(stem, &title, &axis.path, y_label, &series, false)
        }
        Some((_, unit)) => {
            let x_label = format!("{} ({unit})", axis.path);
            plot::lines_with_bands(stem, &title, &x_label, y_label, &series, false)
        }
        None => plot::lines_with_bands_categorical(
            stem,
            &title,
            &axis.path,
            &axis.values,
            y_label,
            &series,
            false,
        ),
    }
}

/// `repair.time`, `{ dist = "fixed", value = "1d" }` → `time={dist=fixed,value=1d}`:
/// short enough for the chart's key.
fn key_label(path: &str, value: &str) -> String {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    let compact: String = value.chars().filter(|c| !matches!(c, ' ' | '"')).collect();
    format!("{leaf}={compact}")
}

/// The values as numbers in one unit, when they all are: plain numbers,
/// percentages, or sizes, bandwidths or durations in the unit the first
/// value is written in. None for anything else (categorical).
pub fn numeric_values(values: &[String]) -> Option<(Vec<f64>, String)> {
    let texts: Vec<String> = values
        .iter()
        .map(|v| {
            let value = overrides::toml_value(v);
            value.as_str().map_or_else(|| v.clone(), String::from)
        })
        .collect();
    if let Some(xs) = all(&texts, |t| t.parse::<f64>().ok().filter(|x| x.is_finite())) {
        return Some((xs, String::new()));
    }
    if let Some(xs) = all(&texts, |t| schema::percent(t).map(|p| p * 100.0)) {
        return Some((xs, "%".into()));
    }
    let (_, unit) = split_number(&texts[0]).ok()?;
    let unit = unit.to_string();
    let scaled = |parse: &dyn Fn(&str) -> Result<f64, String>| {
        let per = parse(&format!("1{unit}")).ok()?;
        all(&texts, |t| parse(t).ok().map(|x| x / per)).map(|xs| (xs, unit.clone()))
    };
    scaled(&units::parse_bandwidth)
        .or_else(|| scaled(&|t| units::parse_size(t).map(|b| b as f64)))
        .or_else(|| scaled(&|t| units::parse_duration(t).map(|us| us as f64)))
}

fn all(texts: &[String], f: impl Fn(&str) -> Option<f64>) -> Option<Vec<f64>> {
    texts.iter().map(|t| f(t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_grid_varies_the_first_axis_slowest() {
        let axes = [
            Axis::parse("a=1,2").unwrap(),
            Axis::parse("b=x,y,z").unwrap(),
        ];
        let g = grid(&axes);
        assert_eq!(g.len(), 6);
        assert_eq!(
            g[1].iter().map(|o| o.arg.as_str()).collect::<Vec<_>>(),
            ["a=1", "b=y"]
        );
        assert_eq!(g[3][0].value, "2");
        assert!(Axis::parse("a=1,,2").is_err());
        let twice = super::axes(&["a=1".into(), "b=2".into(), "a=3".into()]).unwrap_err();
        assert!(twice.contains("--set a is given twice"), "{twice}");
    }

    #[test]
    fn values_with_units_are_numbers() {
        assert_eq!(
            numeric_values(&strings(&["1%", "2.5%"])),
            Some((vec![1.0, 2.5], "%".into()))
        );
        assert_eq!(
            numeric_values(&strings(&["10TB", "\"20 TB\"", "500GB"])),
            Some((vec![10.0, 20.0, 0.5], "TB".into()))
        );
        assert_eq!(
            numeric_values(&strings(&["30m", "2h"])),
            Some((vec![30.0, 120.0], "m".into()))
        );
        assert_eq!(
            numeric_values(&strings(&["10", "0.5"])),
            Some((vec![10.0, 0.5], String::new()))
        );
        assert_eq!(
            numeric_values(&strings(&["100MB/s", "1GB/s"])),
            Some((vec![100.0, 1000.0], "MB/s".into()))
        );
        assert_eq!(
            numeric_values(&strings(&["parallel", "one-at-a-time"])),
            None
        );
        assert_eq!(numeric_values(&strings(&["1TB", "2h"])), None);
    }
}
