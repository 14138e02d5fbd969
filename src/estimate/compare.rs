//! Comparing options under common random numbers: every option of a trial
//! sees the same failure trace, so the difference of two options is
//! estimated from paired per-sample differences, whose spread is usually far
//! smaller than either option's own. Fleet-trial figures pair by fleet trial;
//! the rare-event P(object lost) pairs group trial j of each option (each is
//! an unbiased sample; the pairs are i.i.d. across j whatever their
//! correlation, so the mean of the differences has a valid normal interval).

use serde::{Deserialize, Serialize};

use crate::estimate::rare::GroupTrial;
use crate::estimate::{RunSums, Summary};
use crate::model::System;
use crate::model::world::OptionOutcome;
use crate::stats::{MeanAccumulator, Z95};
use crate::units;

/// One fleet trial's figures for one option, as the estimates use them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Fraction of the option's extents lost.
    pub object_loss: f64,
    pub bytes_lost: f64,
    pub repair_bytes: f64,
    /// Fraction of extent-time that could not be read / written.
    pub read_down: f64,
    pub write_down: f64,
    /// Unplanned failovers per year.
    pub failovers: f64,
    /// Fraction of extent-time readable but for the customer-managed key.
    pub key_down: f64,
}

impl Metrics {
    /// The figures of option `k`'s outcome `o`.
    pub fn of(system: &System, k: usize, o: &OptionOutcome) -> Self {
        let extent_bytes = system.extent_bytes as f64;
        // Repair traffic: the bytes the rebuilds read.
        let slot_bytes = system.options[k].slot_bytes(system.extent_bytes);
        // The data measured: what the warm-up did not lose.
        let measured = f64::from(system.extents.saturating_sub(o.retired).max(1));
        let extent_us = measured * system.horizon.max(1) as f64;
        let years = units::years(system.horizon.max(1));
        let lost = f64::from(o.lost_extents);
        let a = &o.account;
        Self {
            object_loss: lost / measured,
            bytes_lost: lost * extent_bytes,
            repair_bytes: o.slots_read as f64 * slot_bytes,
            read_down: a.unreadable as f64 / extent_us,
            write_down: a.unwritable as f64 / extent_us,
            failovers: a.failovers.len() as f64 / years,
            key_down: a.key_unreadable as f64 / extent_us,
        }
    }
}

/// Paired differences (option − baseline) of one option, mergeable in
/// trial order.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PairSums {
    pub object_loss: MeanAccumulator,
    pub bytes_lost: MeanAccumulator,
    pub repair_bytes: MeanAccumulator,
    pub read_down: MeanAccumulator,
    pub write_down: MeanAccumulator,
    pub failovers: MeanAccumulator,
    /// Group trial j of the option minus group trial j of the baseline.
    pub rare_loss: MeanAccumulator,
}

impl PairSums {
    pub fn record_fleet(&mut self, m: &Metrics, base: &Metrics) {
        self.object_loss.push(m.object_loss - base.object_loss);
        self.bytes_lost.push(m.bytes_lost - base.bytes_lost);
        self.repair_bytes.push(m.repair_bytes - base.repair_bytes);
        self.read_down.push(m.read_down - base.read_down);
        self.write_down.push(m.write_down - base.write_down);
        self.failovers.push(m.failovers - base.failovers);
    }

    pub fn record_group(&mut self, t: &GroupTrial, base: &GroupTrial) {
        self.rare_loss.push(t.estimate - base.estimate);
    }

    pub fn merge(&mut self, b: &Self) {
        self.object_loss.merge(&b.object_loss);
        self.bytes_lost.merge(&b.bytes_lost);
        self.repair_bytes.merge(&b.repair_bytes);
        self.read_down.merge(&b.read_down);
        self.write_down.merge(&b.write_down);
        self.failovers.merge(&b.failovers);
        self.rare_loss.merge(&b.rare_loss);
    }
}

/// What is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    ObjectLoss,
    BytesLost,
    ReadDown,
    WriteDown,
    Failovers,
    RepairBytes,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::ObjectLoss,
        Metric::BytesLost,
        Metric::ReadDown,
        Metric::WriteDown,
        Metric::Failovers,
        Metric::RepairBytes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::ObjectLoss => "P(object lost)",
            Metric::BytesLost => "bytes lost",
            Metric::ReadDown => "read unavailable",
            Metric::WriteDown => "write unavailable",
            Metric::Failovers => "failovers",
            Metric::RepairBytes => "repair traffic",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Metric::ObjectLoss => "probability over the horizon",
            Metric::BytesLost | Metric::RepairBytes => "bytes over the horizon",
            Metric::ReadDown | Metric::WriteDown => "minutes per year",
            Metric::Failovers => "per year",
        }
    }
}

/// The samples behind one metric of one option: its own, and its paired
/// differences from the baseline's, both in units of `factor`⁻¹.
pub struct Paired<'a> {
    pub own: &'a MeanAccumulator,
    pub baseline: &'a MeanAccumulator,
    pub differences: &'a MeanAccumulator,
    pub factor: f64,
    /// "fleet trial" or "group trial".
    pub paired_by: &'static str,
}

/// One option's difference from the baseline in one metric.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    pub metric: &'static str,
    pub unit: &'static str,
    pub value: f64,
    pub baseline: f64,
    /// `value − baseline`: the mean of the paired differences, rounded once.
    pub difference: f64,
    /// 95% interval: difference ± 1.96 × the standard error of the paired
    /// differences; null with fewer than two pairs.
    pub difference_ci95: Option<[f64; 2]>,
    /// value / baseline; null when the baseline is 0.
    pub ratio: Option<f64>,
    pub pairs: u64,
    pub paired_by: &'static str,
}

impl Difference {
    fn new(metric: Metric, p: &Paired) -> Self {
        let value = p.own.mean() * p.factor;
        let baseline = p.baseline.mean() * p.factor;
        // Σd/n equals Σx/n − Σy/n exactly before rounding; taking the
        // difference of the estimates keeps the table consistent to the bit.
        let difference = value - baseline;
        let half = Z95 * p.differences.std_error() * p.factor.abs();
        Self {
            metric: metric.name(),
            unit: metric.unit(),
            value,
            baseline,
            difference,
            difference_ci95: half
                .is_finite()
                .then_some([difference - half, difference + half]),
            ratio: (baseline != 0.0).then(|| value / baseline),
            pairs: p.differences.count(),
            paired_by: p.paired_by,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComparedOption {
    pub option: String,
    pub differences: Vec<Difference>,
}

/// Everything `compare.json` holds: like `summary.json`, no timing or host
/// detail, so the same scenario and seed give the same bytes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub scenario: String,
    pub seed: u64,
    pub trials: u64,
    pub horizon_years: f64,
    pub method: &'static str,
    pub baseline: String,
    /// The baseline first, then the others in the order asked for.
    pub options: Vec<ComparedOption>,
}

/// Options `listed` of the summary (indices, the baseline first) against the
/// baseline, from `sums` recorded with [`RunSums::paired`] on it.
pub fn comparison(
    system: &System,
    summary: &Summary,
    sums: &RunSums,
    listed: &[usize],
) -> Result<Comparison, String> {
    let &base = listed.first().ok_or("compare needs at least one option")?;
    let options = listed
        .iter()
        .map(|&k| {
            let differences = Metric::ALL
                .iter()
                .map(|&m| {
                    let p = sums
                        .paired_samples(k, m, system)
                        .ok_or("the run recorded no paired differences")?;
                    Ok(Difference::new(m, &p))
                })
                .collect::<Result<_, String>>()?;
            Ok(ComparedOption {
                option: system.options[k].name.clone(),
                differences,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Comparison {
        scenario: summary.scenario.clone(),
        seed: summary.seed,
        trials: summary.trials,
        horizon_years: summary.horizon_years,
        method: summary.method,
        baseline: system.options[base].name.clone(),
        options,
    })
}

/// Indices of the options named in `names` (comma-separated), in that
/// order; every option when `names` is None.
pub fn select(system: &System, names: Option<&str>) -> Result<Vec<usize>, String> {
    let Some(names) = names else {
        return Ok((0..system.options.len()).collect());
    };
    let known = || {
        let all: Vec<&str> = system.options.iter().map(|o| o.name.as_str()).collect();
        all.join(", ")
    };
    let mut out = Vec::new();
    for name in names.split(',').map(str::trim) {
        let k = system
            .options
            .iter()
            .position(|o| o.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("--options: no option `{name}` (options: {})", known()))?;
        if out.contains(&k) {
            return Err(format!("--options: `{name}` is listed twice"));
        }
        out.push(k);
    }
    if out.is_empty() {
        return Err("--options: name at least one option".into());
    }
    Ok(out)
}
