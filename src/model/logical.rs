//! Logical errors: software bugs, operator error, a bad delete. Such an
//! error corrupts or deletes data in the primary, and asynchronous
//! geo-replication copies it to the secondary once the corrupting write
//! ships, so geo-redundancy protects against it only for as long as the
//! secondary still holds the good data; point-in-time restore or soft
//! delete protects for its retention, whatever the replication.
//!
//! An error at time t, noticed after a detection delay D, is beyond
//! recovery iff D exceeds both the restore window R and (with a
//! geo-secondary) the time until the bad write reaches the secondary,
//! taken as the lag at t (never below the link's latency: the bad write
//! itself ships no sooner). Errors are a Poisson process of rate q per
//! account, so given the trial's lag path the number beyond recovery is
//! Poisson with mean q·∫ P(D > max(R, lag(t))) dt: conditional Monte Carlo,
//! which draws nothing and has no variance when the lag is constant.

use crate::dist::Dist;
use crate::units::{self, Micros};

/// The scenario's `[logical]` section, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct LogicalErrors {
    /// Logical errors per account-year.
    pub rate_per_year: f64,
    /// From an error to the customer noticing it.
    pub detection: Dist,
    /// Point-in-time restore / soft-delete retention: an error noticed
    /// within it is recovered; 0: none.
    pub restore: Micros,
}

impl LogicalErrors {
    /// P(an error is beyond recovery) when the secondary (if any) gets the
    /// bad write `ships_after` µs after it: P(D > max(R, ships_after)).
    pub fn unrecoverable(&self, ships_after: Micros) -> f64 {
        let window = self.restore.max(ships_after) as f64;
        (-self.detection.cumulative_hazard(window)).exp()
    }

    /// P(at least one error beyond recovery) given the exposure
    /// ∫ P(D > max(R, lag(t))) dt in µs: 1 − e^(−q·exposure), without
    /// cancellation when it is tiny.
    pub fn loss_probability(&self, exposure_us: f64) -> f64 {
        let mean = self.rate_per_year * exposure_us / units::YEAR as f64;
        -(-mean).exp_m1()
    }
}

/// What an account accumulates of its logical errors over the horizon.
#[derive(Clone, Copy, Debug)]
pub struct Exposure<'s> {
    errors: &'s LogicalErrors,
    /// The secondary's write delay is at least this (the link's latency).
    latency: Micros,
}

impl<'s> Exposure<'s> {
    pub fn new(errors: &'s LogicalErrors, latency: Micros) -> Self {
        Self { errors, latency }
    }

    /// The exposure of `d` µs at geo-replication lag `lag_us`.
    pub fn geo(&self, lag_us: Micros, d: Micros) -> f64 {
        let ships_after = lag_us.max(self.latency);
        self.errors.unrecoverable(ships_after) * d as f64
    }

    /// The exposure of `d` µs without a secondary holding good data
    /// (LRS, ZRS, or after an unplanned failover until the re-copy ends):
    /// only the restore window protects.
    pub fn local(&self, d: Micros) -> f64 {
        self.errors.unrecoverable(0) * d as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{DAY, YEAR};

    #[test]
    fn exponential_detection_gives_the_closed_form() {
        let e = LogicalErrors {
            rate_per_year: 2.0,
            detection: Dist::exponential(3.0 * DAY as f64).unwrap(),
            restore: 7 * DAY,
        };
        let x = Exposure::new(&e, 60_000_000);
        // Lag below the restore window: only R counts.
        let p = e.loss_probability(x.geo(3_600_000_000, YEAR));
        let want = 1.0 - (-2.0 * (-7.0f64 / 3.0).exp()).exp();
        assert!((p - want).abs() <= 1e-12 * want);
        // Lag above it: the lag counts.
        let exposure = x.geo(10 * DAY, YEAR);
        assert!((exposure / YEAR as f64 - (-10.0f64 / 3.0).exp()).abs() < 1e-12);
        assert_eq!(x.local(YEAR), YEAR as f64 * (-7.0f64 / 3.0).exp());
    }

    #[test]
    fn a_fixed_delay_is_caught_iff_within_the_window() {
        let e = LogicalErrors {
            rate_per_year: 1.0,
            detection: Dist::fixed(DAY),
            restore: 0,
        };
        assert_eq!(e.unrecoverable(DAY - 1), 1.0);
        assert_eq!(e.unrecoverable(DAY), 0.0);
    }
}
