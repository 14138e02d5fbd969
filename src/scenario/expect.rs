//! Expectations about a scenario's results, written in its `[expect]`
//! section as `option = ["metric operator value", ...]`, e.g.
//! `LRS = ["nines >= 2.9"]`, `GRS = ["rpo_p99 <= 15m"]`, parsed into plain
//! data. Their verdict on a run is judged by the report stage
//! (`report::expect`). The grammar and the verdict rule are in
//! docs/scenario.md.

use std::collections::BTreeMap;

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
    pub fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            Op::AtLeast => value >= bound,
            Op::Above => value > bound,
            Op::AtMost => value <= bound,
            Op::Below => value < bound,
        }
    }

    pub fn is_lower_bound(self) -> bool {
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
    /// Read availability of the data not lost.
    KeptReadAvailability,
    FailoversPerYear,
    /// −log10 P(object lost) counting the loss of the customer-managed key.
    NinesWithKey,
    /// Minutes a year readable but for the customer-managed key.
    KeyUnreadableMinutes,
    /// Read availability counting the key's unavailability too.
    ReadAvailabilityWithKey,
    /// P(a logical error beyond recovery within the horizon) (`[logical]`).
    LogicalLoss,
    /// −log10 P(object lost) counting logical errors (`[logical]`).
    NinesWithLogical,
    /// Σ wait for insider access / Σ RTO over unplanned failovers (`[access]`).
    ApprovalWaitShare,
    /// Hours of insider access granted per year (`[access]`).
    GrantedHoursPerYear,
    /// Lockbox requests denied per year (`[access]`).
    DenialsPerYear,
    /// A statistic of the RPO, RTO or lag distribution, in seconds.
    Seconds(Spread, Stat),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Spread {
    Rpo,
    Rto,
    Lag,
    /// From a delete to its full erasure (needs `[deletion]`).
    Erasure,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stat {
    Mean,
    P50,
    P99,
    P999,
    Max,
}

const SPREADS: [(&str, Spread); 4] = [
    ("rpo", Spread::Rpo),
    ("rto", Spread::Rto),
    ("lag", Spread::Lag),
    ("erasure", Spread::Erasure),
];
const STATS: [(&str, Stat); 5] = [
    ("mean", Stat::Mean),
    ("p50", Stat::P50),
    ("p99", Stat::P99),
    ("p99.9", Stat::P999),
    ("max", Stat::Max),
];

const PLAIN_METRICS: [(&str, Metric); 17] = [
    ("nines", Metric::Nines),
    ("loss", Metric::Loss),
    ("any_loss", Metric::AnyLoss),
    ("bytes_lost", Metric::BytesLost),
    ("repair_traffic", Metric::RepairTraffic),
    ("read_availability", Metric::ReadAvailability),
    ("write_availability", Metric::WriteAvailability),
    ("kept_read_availability", Metric::KeptReadAvailability),
    ("failovers_per_year", Metric::FailoversPerYear),
    ("nines_with_key", Metric::NinesWithKey),
    ("key_unreadable_minutes", Metric::KeyUnreadableMinutes),
    (
        "read_availability_with_key",
        Metric::ReadAvailabilityWithKey,
    ),
    ("logical_loss", Metric::LogicalLoss),
    ("nines_with_logical", Metric::NinesWithLogical),
    ("approval_wait_share", Metric::ApprovalWaitShare),
    ("granted_hours_per_year", Metric::GrantedHoursPerYear),
    ("denials_per_year", Metric::DenialsPerYear),
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
    pub fn convert(&self, x: f64) -> f64 {
        match self {
            Unit::Plain => x,
            Unit::Percent => x * 100.0,
            Unit::Nines => -(1.0 - x).log10(),
            Unit::Scaled { factor, .. } => x / factor,
        }
    }
}

/// Which optional sections a scenario has: the metrics they measure may
/// be expected only then.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sections<'a> {
    pub keys: bool,
    pub deletion: bool,
    pub logical: bool,
    /// With `[access]`: per option, whether its failovers need access
    /// (`access.options`).
    pub access: Option<&'a [bool]>,
}

/// One of the optional sections of [`Sections`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Keys,
    Deletion,
    Logical,
    Access,
}

impl Sections<'_> {
    /// Whether the section is there for option `k`.
    fn has(self, section: Section, k: usize) -> bool {
        match section {
            Section::Keys => self.keys,
            Section::Deletion => self.deletion,
            Section::Logical => self.logical,
            Section::Access => self.access.is_some_and(|a| a.get(k) == Some(&true)),
        }
    }
}

/// The expectations of a scenario's `[expect]` table, in the order of its
/// options; an error is (field path, message), the path locating the
/// offending string, e.g. `expect.LRS[1]`.
pub fn from_spec(
    spec: &BTreeMap<String, Vec<String>>,
    options: &[ReplicationOption],
    sections: Sections<'_>,
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
    for (k, option) in options.iter().enumerate() {
        let geo = option.groups.len() > 1;
        for (i, text) in spec.get(&option.name).into_iter().flatten().enumerate() {
            let e = parse(&option.name, text, geo)
                .and_then(|e| needs_section(e, sections, k))
                .map_err(|m| (format!("expect.{}[{i}]", option.name), m))?;
            out.push(e);
        }
    }
    Ok(out)
}

/// The optional section a metric is measured under, and what it models:
/// such a metric may be expected only in a scenario that has it.
fn section_of(metric: Metric) -> Option<(Section, &'static str)> {
    match metric {
        Metric::NinesWithKey | Metric::KeyUnreadableMinutes | Metric::ReadAvailabilityWithKey => {
            Some((Section::Keys, "customer-managed keys: add a [keys] section"))
        }
        Metric::Seconds(Spread::Erasure, _) => Some((
            Section::Deletion,
            "a deletion workload: add a [deletion] section",
        )),
        Metric::LogicalLoss | Metric::NinesWithLogical => {
            Some((Section::Logical, "logical errors: add a [logical] section"))
        }
        Metric::ApprovalWaitShare | Metric::GrantedHoursPerYear | Metric::DenialsPerYear => Some((
            Section::Access,
            "support-assisted recovery: add an [access] section",
        )),
        _ => None,
    }
}

/// An expectation whose metric the scenario's sections do not measure is
/// refused, saying which section to add.
fn needs_section(e: Expectation, sections: Sections, k: usize) -> Result<Expectation, String> {
    match section_of(e.metric) {
        // The section is there, but not for this option.
        Some((Section::Access, _))
            if !sections.has(Section::Access, k) && sections.access.is_some() =>
        {
            Err(format!(
                "`{}` needs {} under [access]: list it in access.options",
                e.text, e.option
            ))
        }
        Some((section, needs)) if !sections.has(section, k) => {
            Err(format!("`{}` needs {needs}", e.text))
        }
        _ => Ok(e),
    }
}

/// Parses `metric operator value` for `option` (`geo`: it has a secondary).
pub fn parse(option: &str, text: &str, geo: bool) -> Result<Expectation, String> {
    let (metric_name, op, value) = split_statement(text)?;
    let metric = metric_named(metric_name).ok_or_else(|| {
        format!(
            "unknown metric `{metric_name}`; allowed: {}",
            metric_names().join(", ")
        )
    })?;
    let needs_geo = matches!(
        metric,
        Metric::FailoversPerYear
            | Metric::ApprovalWaitShare
            | Metric::GrantedHoursPerYear
            | Metric::DenialsPerYear
            | Metric::Seconds(Spread::Rpo | Spread::Rto | Spread::Lag, _)
    );
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
        (
            Metric::Nines
            | Metric::FailoversPerYear
            | Metric::NinesWithKey
            | Metric::KeyUnreadableMinutes
            | Metric::NinesWithLogical
            | Metric::GrantedHoursPerYear
            | Metric::DenialsPerYear,
            "",
        ) => Unit::Plain,
        (
            Metric::Nines
            | Metric::FailoversPerYear
            | Metric::NinesWithKey
            | Metric::KeyUnreadableMinutes
            | Metric::NinesWithLogical
            | Metric::GrantedHoursPerYear
            | Metric::DenialsPerYear,
            _,
        ) => {
            return Err(only("write a plain number"));
        }
        (Metric::ApprovalWaitShare, "") => fraction(x, Unit::Plain)?,
        (Metric::ApprovalWaitShare, "%") => fraction(x / 100.0, Unit::Percent)?,
        (Metric::ApprovalWaitShare, _) => {
            return Err(only("write a fraction, 0.5 or 50%"));
        }
        (Metric::Loss | Metric::AnyLoss | Metric::LogicalLoss, "") => fraction(x, Unit::Plain)?,
        (Metric::Loss | Metric::AnyLoss | Metric::LogicalLoss, "%") => {
            fraction(x / 100.0, Unit::Percent)?
        }
        (Metric::Loss | Metric::AnyLoss | Metric::LogicalLoss, _) => {
            return Err(only("write a probability, 1e-6 or 0.0001%"));
        }
        (
            Metric::ReadAvailability
            | Metric::WriteAvailability
            | Metric::KeptReadAvailability
            | Metric::ReadAvailabilityWithKey,
            u,
        ) => availability(x, u, value)?,
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
            msg("nine >= 11").contains("allowed: nines, loss"),
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
}
