//! Distributions of times (lifetimes, delays, outage and repair durations),
//! in microseconds. Sampling uses rand_distr; the cumulative hazard H(t) is
//! kept for likelihood ratios and conditional probabilities, since
//! P(T > t) = exp(−H(t)).

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Weibull};
use statrs::function::erf::{erfc, erfc_inv};
use statrs::function::gamma::gamma;

use crate::units::Micros;

/// A validated distribution of a non-negative duration.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Fixed(Micros),
    Exponential {
        mean: f64,
        sampler: Exp<f64>,
    },
    Weibull {
        shape: f64,
        scale: f64,
        sampler: Weibull<f64>,
    },
    LogNormal {
        mu: f64,
        sigma: f64,
        sampler: LogNormal<f64>,
    },
}

impl Dist {
    pub fn fixed(value: Micros) -> Self {
        Dist::Fixed(value)
    }

    /// Exponential with the given mean (microseconds).
    pub fn exponential(mean: f64) -> Result<Self, String> {
        positive("mean", mean)?;
        let sampler = Exp::new(1.0 / mean).map_err(|e| e.to_string())?;
        Ok(Dist::Exponential { mean, sampler })
    }

    /// Weibull with shape k and the given mean: scale = mean / Γ(1 + 1/k).
    pub fn weibull(shape: f64, mean: f64) -> Result<Self, String> {
        positive("shape", shape)?;
        positive("mean", mean)?;
        let scale = mean / gamma(1.0 + 1.0 / shape);
        let sampler = Weibull::new(scale, shape).map_err(|e| e.to_string())?;
        Ok(Dist::Weibull {
            shape,
            scale,
            sampler,
        })
    }

    /// Log-normal with the given median (microseconds) and σ of ln T.
    pub fn lognormal(median: f64, sigma: f64) -> Result<Self, String> {
        positive("median", median)?;
        positive("sigma", sigma)?;
        let mu = median.ln();
        let sampler = LogNormal::new(mu, sigma).map_err(|e| e.to_string())?;
        Ok(Dist::LogNormal { mu, sigma, sampler })
    }

    /// Draws a duration, rounded to whole microseconds.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Micros {
        let x = match self {
            Dist::Fixed(v) => return *v,
            Dist::Exponential { sampler, .. } => sampler.sample(rng),
            Dist::Weibull { sampler, .. } => sampler.sample(rng),
            Dist::LogNormal { sampler, .. } => sampler.sample(rng),
        };
        to_micros(x)
    }

    pub fn mean(&self) -> f64 {
        match self {
            Dist::Fixed(v) => *v as f64,
            Dist::Exponential { mean, .. } => *mean,
            Dist::Weibull { shape, scale, .. } => scale * gamma(1.0 + 1.0 / shape),
            Dist::LogNormal { mu, sigma, .. } => (mu + sigma * sigma / 2.0).exp(),
        }
    }

    /// Cumulative hazard H(t) = −ln P(T > t); infinite once survival is 0.
    pub fn cumulative_hazard(&self, t: f64) -> f64 {
        match self {
            Dist::Fixed(v) if t < *v as f64 => 0.0,
            Dist::Fixed(_) => f64::INFINITY,
            Dist::Exponential { mean, .. } => t / mean,
            Dist::Weibull { shape, scale, .. } => (t / scale).powf(*shape),
            Dist::LogNormal { mu, sigma, .. } => {
                if t <= 0.0 {
                    return 0.0;
                }
                let z = (t.ln() - mu) / (sigma * std::f64::consts::SQRT_2);
                // Below the median use S = 1 − ½·erfc(−z), exact for tiny H.
                if z < 0.0 {
                    -(-0.5 * erfc(-z)).ln_1p()
                } else {
                    -(0.5 * erfc(z)).ln()
                }
            }
        }
    }

    /// The time t with H(t) = h: inverts the cumulative hazard, so that a
    /// lifetime conditioned on surviving to age a, under a hazard scaled by
    /// c, ends at age H⁻¹(H(a) + E/c) with E ~ Exp(1).
    pub fn inverse_cumulative_hazard(&self, h: f64) -> f64 {
        if h <= 0.0 {
            return 0.0;
        }
        match self {
            Dist::Fixed(v) => *v as f64,
            Dist::Exponential { mean, .. } => h * mean,
            Dist::Weibull { shape, scale, .. } => scale * h.powf(1.0 / shape),
            Dist::LogNormal { mu, sigma, .. } => {
                // erfc(z) = 2·exp(−h); below the median (S > ½) solve
                // erfc(−z) = 2·(1 − S) instead, which keeps small h exact.
                let z = if h < std::f64::consts::LN_2 {
                    -erfc_inv(-2.0 * (-h).exp_m1())
                } else {
                    erfc_inv(2.0 * (-h).exp())
                };
                (mu + sigma * std::f64::consts::SQRT_2 * z).exp()
            }
        }
    }

    /// When a component renewed with lifetimes of this law, each failure
    /// followed by `gap` µs out of service, was last new before `now`, given
    /// that it is in service at `now` (a repair only picks such a one):
    /// its renewal history drawn from 0, by rejection when `now` falls in a
    /// gap. At most [`MAX_RENEWAL_DRAWS`] lifetimes are drawn; past them the
    /// last renewal drawn stands (no scenario that fits its event budget has
    /// a component renewed that often).
    pub fn last_renewal<R: Rng + ?Sized>(&self, gap: Micros, now: Micros, rng: &mut R) -> Micros {
        let mut installed: Micros = 0;
        for _ in 0..MAX_RENEWAL_DRAWS {
            let failed = installed.saturating_add(self.sample(rng));
            if failed > now {
                return installed;
            }
            installed = failed.saturating_add(gap);
            if installed > now {
                installed = 0;
            }
        }
        debug_assert!(false, "renewal history past {MAX_RENEWAL_DRAWS} draws");
        installed.min(now)
    }

    /// The constant failure rate per microsecond, if memoryless.
    pub fn exponential_rate(&self) -> Option<f64> {
        match self {
            Dist::Exponential { mean, .. } => Some(1.0 / mean),
            _ => None,
        }
    }
}

/// Lifetimes drawn at most for one renewal history ([`Dist::last_renewal`]).
pub const MAX_RENEWAL_DRAWS: u32 = 1 << 16;

fn positive(name: &str, value: f64) -> Result<(), String> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(format!(
            "{name} must be a positive finite number, got {value}"
        ))
    }
}

/// Rounds a sampled duration to microseconds, saturating far beyond any
/// horizon (NaN, which `clamp` keeps, rounds to 0).
fn to_micros(x: f64) -> Micros {
    const CAP: f64 = (u64::MAX / 4) as f64;
    crate::units::round_micros(x.clamp(0.0, CAP))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::trials::trial_rng;

    fn sample_mean(d: &Dist, n: usize) -> f64 {
        let mut rng = trial_rng(1, 0, 0);
        (0..n).map(|_| d.sample(&mut rng) as f64).sum::<f64>() / n as f64
    }

    #[test]
    fn sample_means_match_the_stated_means() {
        let cases = [
            Dist::exponential(1e6).unwrap(),
            Dist::weibull(0.8, 1e6).unwrap(),
            Dist::weibull(3.0, 1e6).unwrap(),
            Dist::lognormal(1e6, 0.5).unwrap(),
        ];
        for d in &cases {
            let m = sample_mean(d, 200_000);
            // Standard error of the mean is below 0.5% for these shapes.
            assert!((m / d.mean() - 1.0).abs() < 0.02, "{d:?}: {m}");
        }
        assert!((cases[0].mean() - 1e6).abs() < 1e-6);
        assert!((cases[1].mean() - 1e6).abs() < 1e-3);
    }

    #[test]
    fn inverse_cumulative_hazard_inverts() {
        let cases = [
            Dist::exponential(1e6).unwrap(),
            Dist::weibull(0.7, 1e6).unwrap(),
            Dist::lognormal(1e6, 0.8).unwrap(),
        ];
        for d in &cases {
            for t in [1e3, 1e5, 1e6, 3e7] {
                let back = d.inverse_cumulative_hazard(d.cumulative_hazard(t));
                assert!((back / t - 1.0).abs() < 1e-9, "{d:?} at {t}: {back}");
            }
        }
        assert_eq!(Dist::fixed(5).inverse_cumulative_hazard(0.3), 5.0);
    }

    #[test]
    fn cumulative_hazard_matches_survival() {
        let e = Dist::exponential(10.0).unwrap();
        assert!((e.cumulative_hazard(5.0) - 0.5).abs() < 1e-15);
        let w = Dist::weibull(2.0, 1.0).unwrap();
        let scale = 1.0 / gamma(1.5);
        assert!((w.cumulative_hazard(scale) - 1.0).abs() < 1e-12);
        let l = Dist::lognormal(100.0, 1.0).unwrap();
        assert!((l.cumulative_hazard(100.0) - 2f64.ln()).abs() < 1e-12);
        assert_eq!(Dist::fixed(5).cumulative_hazard(4.0), 0.0);
        assert!(Dist::fixed(5).cumulative_hazard(5.0).is_infinite());
    }

    #[test]
    fn invalid_parameters_are_errors() {
        assert!(Dist::exponential(0.0).is_err());
        assert!(Dist::weibull(-1.0, 5.0).is_err());
        assert!(Dist::lognormal(1.0, f64::NAN).is_err());
    }
}
