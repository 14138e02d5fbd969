//! Expectations about a scenario's results, written in its `[expect]`
//! section as `option = ["metric operator value", ...]`, e.g.
//! `LRS = ["nines >= 2.9"]`, `GRS = ["rpo_p99 <= 15m"]`; and their verdict
//! on a run's [`Summary`]: a pure function, so tests and `replisim check`
//! judge alike. The grammar and the verdict rule are in docs/scenario.md.

use std::collections::BTreeMap;

use crate::estimate::{OptionSummary, Summary};
use crate::model::ReplicationOption;
use crate::units;

/// One parsed expectation.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    pub option: String,
    /// As written, e.g. `nines >= 2.9`.
    pub text: String,
    pub metric: Metric,
    pub op: Op,
    /// The bound, in `unit`.
    pub bound: f64,
    pub unit: Unit,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    AtLeast,
    Above,
    AtMost,
    Below,
}

const OPERATORS: [(&str, Op); 6] = [
    (">=", Op::AtLeast),
    ("<=", Op::AtMost),
    ("≥", Op::AtLeast),
    ("≤", Op::AtMost),
    (">", Op::Above),
    ("<", Op::Below),
];

impl Op {
    fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            Op::AtLeast => value >= bound,
            Op::Above => value > bound,
            Op::AtMost => value <= bound,
            Op::Below => value < bound,
        }
    }

    fn is_lower_bound(self) -> bool {
        matches!(self, Op::AtLeast | Op::Above)
    }
}

/// What is measured, per option.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    /// −log10 P(object lost).
    Nines,
    /// P(object lost).
    Loss,
    /// P(any of the option's data lost).
    AnyLoss,
    BytesLost,
    RepairTraffic,
    ReadAvailability,
    WriteAvailability,
    FailoversPerYear,
    /// A statistic of the RPO, RTO or lag distribution, in seconds.
    Seconds(Spread, Stat),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Spread {
    Rpo,
    Rto,
    Lag,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stat {
    Mean,
    P50,
    P99,
    P999,
    Max,
}

const SPREADS: [(&str, Spread); 3] = [
    ("rpo", Spread::Rpo),
    ("rto", Spread::Rto),
    ("lag", Spread::Lag),
];
const STATS: [(&str, Stat); 5] = [
    ("mean", Stat::Mean),
    ("p50", Stat::P50),
    ("p99", Stat::P99),
    ("p99.9", Stat::P999),
    ("max", Stat::Max),
];

const PLAIN_METRICS: [(&str, Metric); 8] = [
    ("nines", Metric::Nines),
    ("loss", Metric::Loss),
    ("any_loss", Metric::AnyLoss),
    ("bytes_lost", Metric::BytesLost),
    ("repair_traffic", Metric::RepairTraffic),
    ("read_availability", Metric::ReadAvailability),
    ("write_availability", Metric::WriteAvailability),
    ("failovers_per_year", Metric::FailoversPerYear),
];

/// Every metric name, in documentation order.
pub fn metric_names() -> Vec<String> {
    let mut names: Vec<String> = PLAIN_METRICS.iter().map(|(n, _)| n.to_string()).collect();
    for (s, _) in SPREADS {
        names.extend(STATS.iter().map(|(t, _)| format!("{s}_{t}")));
    }
    names
}

fn metric_named(name: &str) -> Option<Metric> {
    if let Some((_, m)) = PLAIN_METRICS.iter().find(|(n, _)| *n == name) {
        return Some(*m);
    }
    let (spread, stat) = name.split_once('_')?;
    let spread = SPREADS.iter().find(|(n, _)| *n == spread)?.1;
    let stat = STATS.iter().find(|(n, _)| *n == stat)?.1;
    Some(Metric::Seconds(spread, stat))
}

/// The unit a bound is written in; measured values are shown in it too.
#[derive(Clone, Debug, PartialEq)]
pub enum Unit {
    /// A bare number (nines, a probability or fraction, a rate).
    Plain,
    /// A percentage of a probability or fraction.
    Percent,
    /// Availability in nines: −log10 of the unavailable fraction.
    Nines,
    /// A size or duration unit: `label` is `factor` bytes or seconds.
    Scaled { label: String, factor: f64 },
}

impl Unit {
    /// `x` (a probability, fraction, byte count or seconds) in this unit.
    /// Every conversion increases with `x`, so comparisons and interval
    /// ends keep their order.
    fn convert(&self, x: f64) -> f64 {
        match self {
            Unit::Plain => x,
            Unit::Percent => x * 100.0,
            Unit::Nines => -(1.0 - x).log10(),
            Unit::Scaled { factor, .. } => x / factor,
        }
    }

    fn show(&self, x: f64) -> String {
        let n = number(x);
        match self {
            Unit::Plain => n,
            Unit::Percent => format!("{n}%"),
            Unit::Nines => format!("{n} nines"),
            Unit::Scaled { label, .. } => format!("{n} {label}"),
        }
    }
}

/// Four significant digits, and two past a run of nines after the point
/// (99.99996%, not 100%); trailing zeros dropped; `inf` as ∞.
fn number(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 { "∞".into() } else { "-∞".into() };
    }
    let a = x.abs();
    if a != 0.0 && !(1e-4..1e9).contains(&a) {
        return format!("{x:.3e}");
    }
    let significant = if a == 0.0 {
        0
    } else {
        (3 - a.log10().floor() as i32).max(0) as usize
    };
    let fraction = format!("{:.12}", a.fract());
    let nines = fraction[2..].chars().take_while(|&c| c == '9').count();
    let decimals = if nines > 0 {
        significant.max(nines + 2)
    } else {
        significant
    };
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The expectations of a scenario's `[expect]` table, in the order of its
/// options; an error is (field path, message), the path locating the
/// offending string, e.g. `expect.LRS[1]`.
pub fn from_spec(
    spec: &BTreeMap<String, Vec<String>>,
    options: &[ReplicationOption],
) -> Result<Vec<Expectation>, (String, String)> {
    if let Some(name) = spec.keys().find(|k| !options.iter().any(|o| &o.name == *k)) {
        let known: Vec<&str> = options.iter().map(|o| o.name.as_str()).collect();
        let message = format!(
            "no option `{name}` in this scenario; its options are {}",
            known.join(", ")
        );
        return Err((format!("expect.{name}"), message));
    }
    let mut out = Vec::new();
    for option in options {
        let geo = option.groups.len() > 1;
        for (i, text) in spec.get(&option.name).into_iter().flatten().enumerate() {
            let e = parse(&option.name, text, geo)
                .map_err(|m| (format!("expect.{}[{i}]", option.name), m))?;
            out.push(e);
        }
    }
    Ok(out)
}

/// Parses `metric operator value` for `option` (`geo`: it has a secondary).
pub fn parse(option: &str, text: &str, geo: bool) -> Result<Expectation, String> {
    let (metric_name, op, value) = split_statement(text)?;
    let metric = metric_named(metric_name).ok_or_else(|| {
        format!(
            "unknown metric `{metric_name}`; metrics are {}",
            metric_names().join(", ")
        )
    })?;
    let needs_geo = matches!(metric, Metric::FailoversPerYear | Metric::Seconds(..));
    if needs_geo && !geo {
        return Err(format!(
            "`{metric_name}` applies only to options with a secondary (GRS, GZRS, RA-…, custom `secondary`); {option} has none"
        ));
    }
    let (bound, unit) = bound(metric, value).map_err(|e| format!("in `{text}`: {e}"))?;
    Ok(Expectation {
        option: option.to_string(),
        text: text.trim().to_string(),
        metric,
        op,
        bound,
        unit,
    })
}

/// `nines >= 11` → ("nines", AtLeast, "11").
fn split_statement(text: &str) -> Result<(&str, Op, &str), String> {
    let form = "write `metric operator value`, e.g. \"nines >= 11\" or \"rpo_p99 <= 15m\"; operators are >=, <=, >, <";
    let at = text
        .find(['<', '>', '=', '!', '≥', '≤'])
        .ok_or_else(|| format!("`{text}` has no comparison: {form}"))?;
    let rest = &text[at..];
    let (token, op) = OPERATORS
        .iter()
        .find(|(t, _)| rest.starts_with(t) && !rest[t.len()..].starts_with('='))
        .ok_or_else(|| format!("`{text}`: unknown operator: {form}"))?;
    let metric = text[..at].trim();
    let value = rest[token.len()..].trim();
    if metric.is_empty() || value.is_empty() {
        return Err(format!("`{text}` is incomplete: {form}"));
    }
    Ok((metric, *op, value))
}

/// The bound and its unit, as the metric allows them.
fn bound(metric: Metric, value: &str) -> Result<(f64, Unit), String> {
    let (x, unit) = split_number(value)?;
    let only = |allowed: &str| format!("`{value}`: {allowed}");
    let unit = match (metric, unit) {
        (Metric::Nines | Metric::FailoversPerYear, "") => Unit::Plain,
        (Metric::Nines | Metric::FailoversPerYear, _) => {
            return Err(only("write a plain number"));
        }
        (Metric::Loss | Metric::AnyLoss, "") => fraction(x, Unit::Plain)?,
        (Metric::Loss | Metric::AnyLoss, "%") => fraction(x / 100.0, Unit::Percent)?,
        (Metric::Loss | Metric::AnyLoss, _) => {
            return Err(only("write a probability, 1e-6 or 0.0001%"));
        }
        (Metric::ReadAvailability | Metric::WriteAvailability, u) => availability(x, u, value)?,
        (Metric::BytesLost | Metric::RepairTraffic, u) => scaled(u, units::parse_size, 1.0)?,
        (Metric::Seconds(..), u) => scaled(u, units::parse_duration, 1e6)?,
    };
    Ok((x, unit))
}

fn fraction(p: f64, unit: Unit) -> Result<Unit, String> {
    if (0.0..=1.0).contains(&p) {
        Ok(unit)
    } else {
        Err("a probability or fraction lies between 0 and 1 (0% and 100%)".into())
    }
}

fn availability(x: f64, unit: &str, value: &str) -> Result<Unit, String> {
    match unit {
        "" => fraction(x, Unit::Plain),
        "%" => fraction(x / 100.0, Unit::Percent),
        "nines" => Ok(Unit::Nines),
        _ => Err(format!(
            "`{value}`: write a fraction (0.999), a percentage (99.9%) or nines (3 nines)"
        )),
    }
}

/// A size or duration unit, checked by the scenario parser `parse` of
/// `1<unit>`, whose result is `per` times the unit's size in bytes or s.
fn scaled(unit: &str, parse: fn(&str) -> Result<u64, String>, per: f64) -> Result<Unit, String> {
    if unit.is_empty() {
        let what = if per == 1.0 {
            "a size unit, e.g. 20 GB"
        } else {
            "a duration unit, e.g. 900 s or 15m"
        };
        return Err(format!("the bound needs {what}"));
    }
    let factor = parse(&format!("1{unit}"))? as f64 / per;
    Ok(Unit::Scaled {
        label: unit.to_string(),
        factor,
    })
}

/// "900 s" → (900, "s"); "99.9%" → (99.9, "%").
pub(crate) fn split_number(value: &str) -> Result<(f64, &str), String> {
    let end = value
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || c == '+'
                || c == '-'
                || ((c == 'e' || c == 'E')
                    && value[i + 1..].starts_with(|d: char| d.is_ascii_digit() || d == '-')))
        })
        .map_or(value.len(), |(i, _)| i);
    let (number, unit) = value.split_at(end);
    match number.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok((x, unit.trim())),
        _ => Err(format!(
            "`{value}` does not start with a non-negative number"
        )),
    }
}

/// How an expectation fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The estimate and its whole 95% interval are on the right side.
    Holds,
    /// The estimate is, but the interval reaches across the bound.
    Straddles,
    Fails,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Straddles => "holds (CI straddles the bound)",
            Verdict::Fails => "FAILS",
        }
    }
}

/// An expectation judged on a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub expectation: Expectation,
    /// The estimate and its 95% interval in the bound's unit; None when the
    /// run has no such figure (no failover, no lag observed).
    pub measured: Option<f64>,
    pub ci95: Option<[f64; 2]>,
    pub verdict: Verdict,
}

/// Judges each expectation on `summary`. A figure without an interval (the
/// RPO, RTO and lag statistics) is judged on the estimate alone; a figure
/// the run does not have (no failover happened) satisfies an upper bound
/// and fails a lower one.
pub fn evaluate(expectations: &[Expectation], summary: &Summary) -> Vec<Outcome> {
    expectations
        .iter()
        .map(|e| {
            let option = summary.options.iter().find(|o| o.option == e.option);
            let figure = option.and_then(|o| measure(e.metric, o));
            let (measured, ci95) = match figure {
                Some((v, ci)) => (
                    Some(e.unit.convert(v)),
                    ci.map(|c| c.map(|x| e.unit.convert(x))),
                ),
                None => (None, None),
            };
            Outcome {
                expectation: e.clone(),
                measured,
                ci95,
                verdict: verdict(e.op, e.bound, measured, ci95),
            }
        })
        .collect()
}

fn verdict(op: Op, bound: f64, measured: Option<f64>, ci95: Option<[f64; 2]>) -> Verdict {
    let Some(value) = measured else {
        return if op.is_lower_bound() {
            Verdict::Fails
        } else {
            Verdict::Holds
        };
    };
    if !op.holds(value, bound) {
        return Verdict::Fails;
    }
    let worst = ci95.map(|[lo, hi]| if op.is_lower_bound() { lo } else { hi });
    match worst {
        Some(w) if !op.holds(w, bound) => Verdict::Straddles,
        _ => Verdict::Holds,
    }
}

/// The metric's estimate and 95% interval in base units (probability,
/// fraction, bytes, per year, seconds).
fn measure(metric: Metric, o: &OptionSummary) -> Option<(f64, Option<[f64; 2]>)> {
    let d = &o.durability;
    let with_ci = |v: f64, ci: [f64; 2]| Some((v, Some(ci)));
    match metric {
        Metric::Nines => {
            let [lo, hi] = d.nines_ci95;
            with_ci(
                d.nines,
                [lo.unwrap_or(d.nines), hi.unwrap_or(f64::INFINITY)],
            )
        }
        Metric::Loss => with_ci(d.loss_probability, d.ci95),
        Metric::AnyLoss => with_ci(d.any_loss_probability, d.any_loss_ci95),
        Metric::BytesLost => with_ci(d.bytes_lost.mean, d.bytes_lost.ci95),
        Metric::RepairTraffic => with_ci(o.repair_bytes.mean, o.repair_bytes.ci95),
        Metric::ReadAvailability | Metric::WriteAvailability => {
            let a = &o.availability;
            let f = if metric == Metric::ReadAvailability {
                &a.read
            } else {
                &a.write
            };
            with_ci(f.fraction, f.ci95)
        }
        Metric::FailoversPerYear => {
            let f = o.failover.as_ref()?;
            with_ci(f.count_per_year, f.count_per_year_ci95)
        }
        Metric::Seconds(spread, stat) => {
            let dist = match spread {
                Spread::Rpo => o.failover.as_ref()?.rpo_seconds.as_ref(),
                Spread::Rto => o.failover.as_ref()?.rto_seconds.as_ref(),
                Spread::Lag => o.geo_replication.as_ref()?.lag_seconds.as_ref(),
            }?;
            let v = match stat {
                Stat::Mean => dist.mean,
                Stat::P50 => dist.p50,
                Stat::P99 => dist.p99,
                Stat::P999 => dist.p99_9,
                Stat::Max => dist.max,
            };
            Some((v, None))
        }
    }
}

/// The outcomes as a list for people, with a closing count.
pub fn table(outcomes: &[Outcome]) -> String {
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            let e = &o.expectation;
            let measured = o
                .measured
                .map_or_else(|| "none in the run".into(), |v| e.unit.show(v));
            let ci = o.ci95.map_or_else(String::new, |[lo, hi]| {
                format!("[{}, {}]", e.unit.show(lo), e.unit.show(hi))
            });
            let verdict = o.verdict.label().to_string();
            vec![e.option.clone(), e.text.clone(), measured, ci, verdict]
        })
        .collect();
    let header = ["option", "expectation", "measured", "95% CI", "verdict"];
    crate::report::grid(&header, &rows) + &closing(outcomes)
}

fn closing(outcomes: &[Outcome]) -> String {
    let count = |v: Verdict| outcomes.iter().filter(|o| o.verdict == v).count();
    let (fails, straddles, n) = (
        count(Verdict::Fails),
        count(Verdict::Straddles),
        outcomes.len(),
    );
    if fails > 0 {
        format!("{fails} of {n} expectations FAIL\n")
    } else if straddles > 0 {
        format!("all {n} expectations hold, {straddles} with a 95% CI straddling its bound\n")
    } else {
        format!("all {n} expectations hold\n")
    }
}

/// Whether any outcome fails.
pub fn any_fails(outcomes: &[Outcome]) -> bool {
    outcomes.iter().any(|o| o.verdict == Verdict::Fails)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(text: &str) -> Result<Expectation, String> {
        parse("GRS", text, true)
    }

    #[test]
    fn statements_parse_with_units() {
        let x = e("nines >= 11").unwrap();
        assert_eq!(
            (x.metric, x.op, x.bound, x.unit),
            (Metric::Nines, Op::AtLeast, 11.0, Unit::Plain)
        );
        let x = e("rpo_p99 <= 15m").unwrap();
        assert_eq!(x.metric, Metric::Seconds(Spread::Rpo, Stat::P99));
        assert_eq!((x.bound, x.unit.convert(900.0)), (15.0, 15.0));
        let x = e("read_availability > 99.9%").unwrap();
        assert_eq!((x.op, x.bound, x.unit), (Op::Above, 99.9, Unit::Percent));
        let x = e("write_availability >= 3 nines").unwrap();
        assert!((x.unit.convert(0.999) - 3.0).abs() < 1e-9);
        let x = e("bytes_lost < 20 GB").unwrap();
        assert_eq!(x.unit.convert(2e10), 20.0);
        assert_eq!(e("loss <= 1e-6").unwrap().bound, 1e-6);
        assert_eq!(e("lag_p99.9 ≤ 1h").unwrap().op, Op::AtMost);
    }

    #[test]
    fn mistakes_say_what_is_allowed() {
        let msg = |t: &str| e(t).unwrap_err();
        assert!(
            msg("nine >= 11").contains("metrics are nines, loss"),
            "{}",
            msg("nine >= 11")
        );
        assert!(msg("nines = 11").contains("operators are >=, <=, >, <"));
        assert!(msg("nines 11").contains("no comparison"));
        assert!(msg("rpo_p99 <= 900").contains("duration unit"));
        assert!(msg("bytes_lost <= 5 apples").contains("KB"));
        assert!(msg("loss <= 2").contains("between 0 and 1"));
        assert!(msg("nines >= ").contains("incomplete"));
        assert!(
            parse("LRS", "rpo_p99 <= 15m", false)
                .unwrap_err()
                .contains("LRS has none")
        );
    }

    #[test]
    fn verdicts_follow_the_estimate_then_the_interval() {
        use Verdict::*;
        assert_eq!(
            verdict(Op::AtLeast, 3.0, Some(3.2), Some([3.1, 3.3])),
            Holds
        );
        assert_eq!(
            verdict(Op::AtLeast, 3.0, Some(3.2), Some([2.9, 3.3])),
            Straddles
        );
        assert_eq!(
            verdict(Op::AtLeast, 3.0, Some(2.9), Some([2.8, 3.3])),
            Fails
        );
        assert_eq!(
            verdict(Op::AtMost, 3.0, Some(2.9), Some([2.0, 3.1])),
            Straddles
        );
        assert_eq!(verdict(Op::Below, 3.0, Some(3.0), None), Fails);
        assert_eq!(verdict(Op::AtMost, 3.0, None, None), Holds);
        assert_eq!(verdict(Op::AtLeast, 3.0, None, None), Fails);
    }

    #[test]
    fn numbers_show_what_matters() {
        assert_eq!(number(99.99996), "99.99996");
        assert_eq!(number(0.99999962), "0.99999962");
        assert_eq!(number(3.002938), "3.003");
        assert_eq!(number(76.2455), "76.25");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(9.94e-7), "9.940e-7");
        assert_eq!(number(f64::INFINITY), "∞");
    }
}
