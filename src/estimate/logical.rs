//! What logical errors (`[logical]`) do to one option: P(an error beyond
//! recovery within the horizon), from each trial's conditional probability
//! given its lag path ([`crate::model::logical`]), and durability counting
//! it.

use serde::Serialize;

use super::Durability;
use crate::stats::{MeanAccumulator, finite_nines};

/// Logical errors and one option.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogicalSummary {
    /// P(at least one logical error beyond recovery within the horizon):
    /// the mean over trials of 1 − e^(−q·∫ P(D > max(R, lag)) dt).
    pub loss_probability: f64,
    /// Its 95% interval over trials (a point when the lag never varies).
    pub ci95: [f64; 2],
    pub nines: f64,
    /// P(object lost) counting logical errors as a loss of the whole
    /// account independent of the hardware: 1 − (1 − p)(1 − l).
    pub loss_probability_with_logical: f64,
    /// The two intervals' ends combined: 95% when either is a point, else
    /// at least 90% (each end holds with 95%).
    pub ci95_with_logical: [f64; 2],
    /// −log10 of it (of its upper end when no copy loss was seen).
    pub nines_with_logical: f64,
}

impl LogicalSummary {
    pub(super) fn new(logical: &MeanAccumulator, d: &Durability) -> Self {
        let l = logical.mean();
        let ci = logical.ci95();
        let (lo, hi) = (ci.lo.clamp(0.0, 1.0), ci.hi.clamp(0.0, 1.0));
        // p + l − pl: no cancellation when both are tiny.
        let with = |p: f64, l: f64| p + l - p * l;
        let read_for_nines = if d.upper_bound_only {
            d.ci95[1]
        } else {
            d.loss_probability
        };
        Self {
            loss_probability: l,
            ci95: [lo, hi],
            nines: finite_nines(l),
            loss_probability_with_logical: with(d.loss_probability, l),
            ci95_with_logical: [with(d.ci95[0], lo), with(d.ci95[1], hi)],
            nines_with_logical: finite_nines(with(read_for_nines, l)),
        }
    }
}
