//! Comparing options under common random numbers: every option of a trial
//! sees the same failure trace, so the difference of two options is
//! estimated from paired per-sample differences, whose spread is usually far
//! smaller than either option's own. Fleet-trial figures pair by fleet trial;
//! the rare-event P(object lost) pairs group trial j of each option (each is
//! an unbiased sample; the pairs are i.i.d. across j whatever their
//! correlation, so the mean of the differences has a valid normal interval).

use serde::{Deserialize, Serialize};

use crate::estimate::rare::GroupTrial;
use crate::estimate::{AccessSummary, CauseEstimate, RunSums, Summary};
use crate::model::world::OptionOutcome;
use crate::model::{Level, System};
use crate::stats::{MeanAccumulator, Z95};
use crate::units;

/// One fleet trial's figures for one option, as the estimates use them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Fraction of the option's extents lost.
    pub object_loss: f64,
    pub bytes_lost: f64,
    pub repair_bytes: f64,
    /// Bytes moved back where their spread rule puts them (rebalancing).
    pub rebalance_bytes: f64,
    /// Copy-days lost copies waited for a place (no usable disk kept their
    /// placement rule), per year of horizon.
    pub blocked_copy_days: f64,
    /// Fraction of extent-time that could not be read / written.
    pub read_down: f64,
    pub write_down: f64,
    /// Fraction of the extent-time of data not lost (yet) that could not
    /// be read: unavailability apart from loss. None when every extent was
    /// lost from the start.
    pub read_down_kept: Option<f64>,
    /// P(a logical error beyond recovery) given the trial's lag path
    /// (`[logical]` only).
    pub logical_loss: Option<f64>,
    /// Fraction of the option's extents lost through a latent error
    /// (`[latent]` only).
    pub latent_loss: Option<f64>,
    /// Unplanned failovers per year.
    pub failovers: f64,
    /// Fraction of extent-time readable but for the customer-managed key.
    pub key_down: f64,
    /// Hours of insider access granted and Lockbox requests denied, per
    /// year (`[access]` only).
    pub access: Option<AccessFigures>,
}

/// One fleet trial's Lockbox figures, per year.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AccessFigures {
    pub granted_hours: f64,
    pub denials: f64,
}

impl AccessFigures {
    fn of(a: &crate::model::failover::AccountOutcome, years: f64) -> Self {
        // Each grant counted whole, even if it runs past the horizon.
        let granted = a
            .grants
            .iter()
            .fold(0u64, |t, g| t.saturating_add(g.length));
        Self {
            granted_hours: granted as f64 / units::HOUR as f64 / years,
            denials: f64::from(a.denials) / years,
        }
    }
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
        // A lost extent is unreadable from its loss to the horizon: that
        // extent-time is taken out of both sides.
        let horizon = system.horizon;
        let lost_us: f64 = o
            .losses
            .iter()
            .map(|&(at, n)| f64::from(n) * horizon.saturating_sub(at) as f64)
            .sum();
        let kept_us = extent_us - lost_us;
        let read_down_kept =
            (kept_us > 0.0).then(|| ((a.unreadable as f64 - lost_us) / kept_us).clamp(0.0, 1.0));
        Self {
            object_loss: lost / measured,
            bytes_lost: lost * extent_bytes,
            repair_bytes: o.slots_read as f64 * slot_bytes,
            rebalance_bytes: o.copies_moved as f64 * slot_bytes,
            blocked_copy_days: o.blocked_copy_us as f64 / units::DAY as f64 / years,
            read_down: a.unreadable as f64 / extent_us,
            write_down: a.unwritable as f64 / extent_us,
            read_down_kept,
            logical_loss: system
                .logical
                .as_ref()
                .map(|l| l.loss_probability(a.logical_exposure)),
            latent_loss: system.latent.map(|_| f64::from(o.latent_losses) / measured),
            failovers: a.failovers.len() as f64 / years,
            key_down: a.key_unreadable as f64 / extent_us,
            access: system
                .access
                .as_ref()
                .filter(|p| p.covers(k))
                .map(|_| AccessFigures::of(a, years)),
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
    /// `[logical]` only: P(a logical error beyond recovery), by fleet trial.
    #[serde(default)]
    pub logical_loss: MeanAccumulator,
    /// `[access]` only: granted hours and denials a year, by fleet trial.
    #[serde(default)]
    pub granted_hours: MeanAccumulator,
    #[serde(default)]
    pub denials: MeanAccumulator,
}

impl PairSums {
    pub fn record_fleet(&mut self, m: &Metrics, base: &Metrics) {
        self.object_loss.push(m.object_loss - base.object_loss);
        self.bytes_lost.push(m.bytes_lost - base.bytes_lost);
        self.repair_bytes.push(m.repair_bytes - base.repair_bytes);
        self.read_down.push(m.read_down - base.read_down);
        self.write_down.push(m.write_down - base.write_down);
        self.failovers.push(m.failovers - base.failovers);
        if let (Some(x), Some(y)) = (m.logical_loss, base.logical_loss) {
            self.logical_loss.push(x - y);
        }
        if let (Some(x), Some(y)) = (m.access, base.access) {
            self.granted_hours.push(x.granted_hours - y.granted_hours);
            self.denials.push(x.denials - y.denials);
        }
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
        self.logical_loss.merge(&b.logical_loss);
        self.granted_hours.merge(&b.granted_hours);
        self.denials.merge(&b.denials);
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
    /// P(a logical error beyond recovery) (`[logical]` only).
    LogicalLoss,
    /// The Lockbox figures (`[access]` only, options with a secondary):
    /// the share of the RTO waiting for approval (a ratio of sums over the
    /// run's failovers, so never paired), granted hours and denials a year.
    ApprovalWaitShare,
    GrantedHours,
    Denials,
}

impl Metric {
    pub const ALL: [Metric; 10] = [
        Metric::ObjectLoss,
        Metric::BytesLost,
        Metric::ReadDown,
        Metric::WriteDown,
        Metric::Failovers,
        Metric::RepairBytes,
        Metric::LogicalLoss,
        Metric::ApprovalWaitShare,
        Metric::GrantedHours,
        Metric::Denials,
    ];

    /// The metrics `system` has, in table order.
    pub fn of(system: &System) -> Vec<Metric> {
        let logical = system.logical.is_some();
        let access = system.access.is_some();
        Metric::ALL
            .into_iter()
            .filter(|&m| m != Metric::LogicalLoss || logical)
            .filter(|&m| !m.is_lockbox() || access)
            .collect()
    }

    /// A Lockbox figure: only options with a secondary have it.
    pub fn is_lockbox(self) -> bool {
        matches!(
            self,
            Metric::ApprovalWaitShare | Metric::GrantedHours | Metric::Denials
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::ObjectLoss => "P(object lost)",
            Metric::BytesLost => "bytes lost",
            Metric::ReadDown => "read unavailable",
            Metric::WriteDown => "write unavailable",
            Metric::Failovers => "failovers",
            Metric::RepairBytes => "repair traffic",
            Metric::LogicalLoss => "P(logical loss)",
            Metric::ApprovalWaitShare => "RTO waiting for approval",
            Metric::GrantedHours => "granted hours",
            Metric::Denials => "denials",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Metric::ObjectLoss | Metric::LogicalLoss => "probability over the horizon",
            Metric::BytesLost | Metric::RepairBytes => "bytes over the horizon",
            Metric::ReadDown | Metric::WriteDown => "minutes per year",
            Metric::Failovers | Metric::Denials => "per year",
            Metric::ApprovalWaitShare => "fraction of the RTO (Σ wait / Σ RTO)",
            Metric::GrantedHours => "hours per year",
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
    /// The baseline's figure; null when it has none (no secondary).
    pub baseline: Option<f64>,
    /// `value − baseline`: the mean of the paired differences, rounded
    /// once; null when the figure is not paired.
    pub difference: Option<f64>,
    /// 95% interval: difference ± 1.96 × the standard error of the paired
    /// differences; null with fewer than two pairs, or not paired.
    pub difference_ci95: Option<[f64; 2]>,
    /// value / baseline; null when the baseline is 0 or has none.
    pub ratio: Option<f64>,
    pub pairs: u64,
    /// "fleet trial", "group trial", or why the figure is not paired.
    pub paired_by: String,
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
            baseline: Some(baseline),
            difference: Some(difference),
            difference_ci95: half
                .is_finite()
                .then_some([difference - half, difference + half]),
            ratio: (baseline != 0.0).then(|| value / baseline),
            pairs: p.differences.count(),
            paired_by: p.paired_by.to_string(),
        }
    }

    /// A figure shown beside the baseline's (if it has one) without a
    /// paired difference, saying `why`.
    fn unpaired(metric: Metric, value: f64, baseline: Option<f64>, why: String) -> Self {
        Self {
            metric: metric.name(),
            unit: metric.unit(),
            value,
            baseline,
            difference: None,
            difference_ci95: None,
            ratio: baseline.filter(|&b| b != 0.0).map(|b| value / b),
            pairs: 0,
            paired_by: why,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComparedOption {
    pub option: String,
    pub differences: Vec<Difference>,
    /// The region-loss rate at which it and the baseline swap order in
    /// P(object lost), when they do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_even: Option<BreakEven>,
}

/// The break-even regional risk of two options: P(object lost) of each is
/// its loss without a region event plus its loss with one (the rare-event
/// method's split by cause), the latter proportional to the region-loss
/// rate to first order; the two lines cross at `region_loss_per_year`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakEven {
    pub region_loss_per_year: f64,
    /// The same with every cause at the ends of its 95% interval that move
    /// the crossing most (None: the crossing may not exist at those ends).
    pub range: Option<[f64; 2]>,
    /// The scenario's own region-loss rate, where the split was measured.
    pub measured_at_per_year: f64,
    /// The option with the lower P(object lost) below the break-even rate.
    pub better_below: String,
}

/// Everything `compare.json` holds: like `summary.json`, no timing or host
/// detail, so the same scenario and seed give the same bytes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// The metrics of each option's `differences`, in order.
    #[serde(skip)]
    pub metrics: Vec<Metric>,
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
    let metrics = Metric::of(system);
    let options = listed
        .iter()
        .map(|&k| {
            let row = |&m: &Metric| difference(system, summary, sums, (base, k), m).transpose();
            let differences = metrics
                .iter()
                .filter_map(row)
                .collect::<Result<_, String>>()?;
            Ok(ComparedOption {
                option: system.options[k].name.clone(),
                differences,
                break_even: (k != base)
                    .then(|| break_even(system, summary, base, k))
                    .flatten(),
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Comparison {
        metrics,
        scenario: summary.scenario.clone(),
        seed: summary.seed,
        trials: summary.trials,
        horizon_years: summary.horizon_years,
        method: summary.method,
        baseline: system.options[base].name.clone(),
        options,
    })
}

/// Option `k`'s row of metric `m` against the baseline `base`, paired
/// where both have a per-trial sample of it. Of the Lockbox figures, an
/// option without a secondary has none (no row); the share of the RTO
/// waiting is a ratio of sums over the run's failovers, not a per-trial
/// figure, and a baseline without a secondary has nothing to pair with:
/// those are shown beside the baseline's, unpaired, saying so.
fn difference(
    system: &System,
    summary: &Summary,
    sums: &RunSums,
    (base, k): (usize, usize),
    m: Metric,
) -> Result<Option<Difference>, String> {
    if m.is_lockbox() {
        let access = |k: usize| summary.options[k].access.as_ref();
        let of = |a: &AccessSummary| match m {
            Metric::ApprovalWaitShare => a.approval_wait_share,
            Metric::GrantedHours => Some(a.granted_hours_per_year.mean),
            _ => Some(a.denials_per_year.mean),
        };
        // No secondary, or (the share) no failover completed: no row.
        let Some(value) = access(k).and_then(of) else {
            return Ok(None);
        };
        let baseline = access(base).and_then(of);
        let why = if m == Metric::ApprovalWaitShare {
            "not paired: a ratio of sums over the run's failovers".to_string()
        } else if access(base).is_none() {
            let b = &system.options[base];
            let none = match b.groups.len() > 1 {
                true => "is not under [access] (access.options)",
                false => "has no secondary",
            };
            format!("not paired: {} {none}", b.name)
        } else {
            String::new()
        };
        if !why.is_empty() {
            return Ok(Some(Difference::unpaired(m, value, baseline, why)));
        }
    }
    let p = sums
        .paired_samples(k, m, system)
        .ok_or("the run recorded no paired differences")?;
    Ok(Some(Difference::new(m, &p)))
}

/// Expected region events per region within the horizon up to which a
/// break-even is reported: first order in the rate is then within about 1%.
const MAX_REGION_EVENTS: f64 = 0.01;

/// Regions lost per region-year in `system`, when region loss is a
/// memoryless process (the break-even is linear in a rate).
fn region_loss_per_year(system: &System) -> Option<f64> {
    let process = system.failures.iter().find(|f| f.level == Level::Region)?;
    let per_micro = process.lifetime.exponential_rate()?;
    Some(per_micro * units::YEAR as f64)
}

/// An option's P(object lost) without and with a region event (point
/// estimates and 95% intervals), from the rare-event split by cause.
fn region_split(summary: &Summary, k: usize) -> Option<([f64; 3], [f64; 3])> {
    let causes = &summary.options[k].durability.by_cause;
    let of = |c: &CauseEstimate| [c.ci95[0], c.loss_probability, c.ci95[1]];
    let mut other = [0.0; 3];
    let mut region = None;
    for c in causes {
        if c.cause == "region" {
            region = Some(of(c));
        } else {
            other = std::array::from_fn(|i| other[i] + of(c)[i]);
        }
    }
    Some((other, region?))
}

/// Where options `a` and `b` swap order in P(object lost) as the region-loss
/// rate r varies: p(r) = other + region·r/r0 for each, r0 the scenario's
/// rate. None without a memoryless region process, a split, or a crossing
/// at a positive rate.
fn break_even(system: &System, summary: &Summary, a: usize, b: usize) -> Option<BreakEven> {
    let r0 = region_loss_per_year(system).filter(|r| *r > 0.0)?;
    let ((a_other, a_region), (b_other, b_region)) =
        (region_split(summary, a)?, region_split(summary, b)?);
    // Index 0, 1, 2: the interval's low end, the estimate, the high end.
    let num = [
        b_other[0] - a_other[2],
        b_other[1] - a_other[1],
        b_other[2] - a_other[0],
    ];
    let den = [
        a_region[0] - b_region[2],
        a_region[1] - b_region[1],
        a_region[2] - b_region[0],
    ];
    let rate = r0 * num[1] / den[1];
    // First order holds while a region event in the horizon is rare; past
    // that the lines cross where the model they come from does not hold.
    let years = summary.horizon_years;
    if !(rate.is_finite() && rate > 0.0 && rate * years <= MAX_REGION_EVENTS) {
        return None;
    }
    // With both ends of a difference on one side of 0 the crossing exists
    // throughout; its extremes are at the corners.
    let one_sided = |d: [f64; 3]| d[0] * d[2] > 0.0;
    let range = (one_sided(num) && one_sided(den)).then(|| {
        let corners = [
            num[0] / den[0],
            num[0] / den[2],
            num[2] / den[0],
            num[2] / den[2],
        ];
        let lo = corners.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = corners.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        [r0 * lo, r0 * hi]
    });
    let better = if a_other[1] < b_other[1] { a } else { b };
    Some(BreakEven {
        region_loss_per_year: rate,
        range,
        measured_at_per_year: r0,
        better_below: system.options[better].name.clone(),
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
