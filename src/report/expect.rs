//! The verdict of a scenario's `[expect]` section on a run's [`Summary`]: a
//! pure function, so tests and `replisim check` judge alike; and the list of
//! outcomes for people. The expectations are parsed in
//! [`crate::scenario::expect`]; the verdict rule is in docs/scenario.md.

use crate::estimate::{OptionSummary, Summary};
use crate::report;
use crate::scenario::expect::{Expectation, Metric, Op, Spread, Stat, Unit};

/// How an expectation fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The estimate and its whole 95% interval are on the right side.
    Holds,
    /// The estimate is, but the interval reaches across the bound.
    Straddles,
    Fails,
    /// The figure's interval failed its tail diagnostics (a durability
    /// figure whose interval is unreliable): neither holds nor fails, and
    /// counts against the check like a failure.
    NotEstablished,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Straddles => "holds (CI straddles the bound)",
            Verdict::Fails => "FAILS",
            Verdict::NotEstablished => "NOT ESTABLISHED (unreliable interval)",
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
            let unreliable = option.is_some_and(|o| !o.durability.reliable)
                && matches!(
                    e.metric,
                    Metric::Nines | Metric::Loss | Metric::BytesLost | Metric::NinesWithLogical
                );
            Outcome {
                expectation: e.clone(),
                measured,
                ci95,
                verdict: if unreliable {
                    Verdict::NotEstablished
                } else {
                    verdict(e.op, e.bound, measured, ci95)
                },
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
        Metric::ReadAvailability | Metric::WriteAvailability | Metric::KeptReadAvailability => {
            let a = &o.availability;
            let f = match metric {
                Metric::ReadAvailability => &a.read,
                Metric::WriteAvailability => &a.write,
                _ => &a.read_of_kept_data,
            };
            with_ci(f.fraction, f.ci95)
        }
        Metric::ReadAvailabilityWithKey => {
            let f = &o.keys.as_ref()?.read_with_key;
            with_ci(f.fraction, f.ci95)
        }
        Metric::FailoversPerYear => {
            let f = o.failover.as_ref()?;
            with_ci(f.count_per_year, f.count_per_year_ci95)
        }
        Metric::NinesWithKey => {
            let k = o.keys.as_ref()?;
            // Nines fall as the probability rises: the upper end gives the low.
            with_ci(k.nines, [-k.ci95[1].log10(), -k.ci95[0].log10()])
        }
        Metric::LogicalLoss => {
            let l = o.logical.as_ref()?;
            with_ci(l.loss_probability, l.ci95)
        }
        Metric::NinesWithLogical => {
            let l = o.logical.as_ref()?;
            let [lo, hi] = l.ci95_with_logical;
            with_ci(l.nines_with_logical, [-hi.log10(), -lo.log10()])
        }
        Metric::ApprovalWaitShare => Some((o.access.as_ref()?.approval_wait_share?, None)),
        Metric::GrantedHoursPerYear => {
            let m = &o.access.as_ref()?.granted_hours_per_year;
            with_ci(m.mean, m.ci95)
        }
        Metric::DenialsPerYear => {
            let m = &o.access.as_ref()?.denials_per_year;
            with_ci(m.mean, m.ci95)
        }
        Metric::KeyUnreadableMinutes => {
            let m = &o.keys.as_ref()?.unreadable_minutes_per_year;
            with_ci(m.mean, m.ci95)
        }
        Metric::Seconds(spread, stat) => {
            let dist = match spread {
                Spread::Rpo => o.failover.as_ref()?.rpo_seconds.as_ref(),
                Spread::Rto => o.failover.as_ref()?.rto_seconds.as_ref(),
                Spread::Lag => o.geo_replication.as_ref()?.lag_seconds.as_ref(),
                Spread::Erasure => o.deletion.as_ref()?.erasure_seconds.as_ref(),
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
                .map_or_else(|| "none in the run".into(), |v| show(&e.unit, v));
            let ci = o.ci95.map_or_else(String::new, |[lo, hi]| {
                format!("[{}, {}]", show(&e.unit, lo), show(&e.unit, hi))
            });
            let verdict = o.verdict.label().to_string();
            vec![e.option.clone(), e.text.clone(), measured, ci, verdict]
        })
        .collect();
    let header = ["option", "expectation", "measured", "95% CI", "verdict"];
    report::grid(&header, &rows) + &closing(outcomes)
}

fn closing(outcomes: &[Outcome]) -> String {
    let count = |v: Verdict| outcomes.iter().filter(|o| o.verdict == v).count();
    let (fails, straddles, n) = (
        count(Verdict::Fails),
        count(Verdict::Straddles),
        outcomes.len(),
    );
    let open = count(Verdict::NotEstablished);
    let all = match n {
        1 => "the 1 expectation holds".to_string(),
        _ => format!("all {n} expectations hold"),
    };
    let of = crate::units::count(n as f64, "expectation");
    let verb = if fails == 1 { "FAILS" } else { "FAIL" };
    if fails > 0 && open > 0 {
        format!("{fails} of {of} {verb}, {open} not established\n")
    } else if fails > 0 {
        format!("{fails} of {of} {verb}\n")
    } else if open > 0 {
        format!("{open} of {of} not established (unreliable interval): run more trials\n")
    } else if straddles > 0 {
        format!("{all}, {straddles} with a 95% CI straddling its bound\n")
    } else {
        format!("{all}\n")
    }
}

/// The outcomes as JSON, for `check --format json`: each expectation with
/// its measure, interval and verdict (`holds`, `straddles`, `fails` or
/// `not_established`); `holds` is false if any fails or is not established,
/// as the exit status is.
pub fn json(scenario: &str, summary: &Summary, outcomes: &[Outcome]) -> Result<String, String> {
    let rows: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| {
            serde_json::json!({
                "option": o.expectation.option,
                "expectation": o.expectation.text,
                "measured": o.measured,
                "ci95": o.ci95,
                "verdict": match o.verdict {
                    Verdict::Holds => "holds",
                    Verdict::Straddles => "straddles",
                    Verdict::Fails => "fails",
                    Verdict::NotEstablished => "not_established",
                },
            })
        })
        .collect();
    let value = serde_json::json!({
        "scenario": scenario,
        "trials": summary.trials,
        "seed": summary.seed,
        "holds": !any_fails(outcomes),
        "expectations": rows,
    });
    report::pretty_json(&value, "the verdicts")
}

/// Whether any outcome fails or is not established.
pub fn any_fails(outcomes: &[Outcome]) -> bool {
    outcomes
        .iter()
        .any(|o| matches!(o.verdict, Verdict::Fails | Verdict::NotEstablished))
}

/// A measured value in the bound's unit.
fn show(unit: &Unit, x: f64) -> String {
    let n = number(x);
    match unit {
        Unit::Plain => n,
        Unit::Percent => format!("{n}%"),
        Unit::Nines => format!("{n} nines"),
        Unit::Scaled { label, .. } => format!("{n} {label}"),
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

#[cfg(test)]
mod tests {
    use super::*;

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
