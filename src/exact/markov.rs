//! Exact transient solution of small continuous-time Markov chains: the
//! oracle against which the simulator is validated.
//!
//! P(absorbed by t) is computed by uniformization: with Λ ≥ every exit rate,
//! the chain is a discrete chain P = I + Q/Λ observed at Poisson(Λt) steps,
//! so P(absorbed by t) = Σ_k Pois(k; Λt)·a_k, where a_k is the mass absorbed
//! after k steps. a_k is accumulated directly (never as 1 − survival), so
//! probabilities of 1e-20 keep full relative precision, and the Poisson
//! weights are built outward from the mode (Fox and Glynn, 1988), so Λt in
//! the millions neither underflows nor loses accuracy.

#[derive(Debug, Clone, PartialEq)]
pub enum MarkovError {
    InvalidRate {
        from: usize,
        to: usize,
        rate: f64,
    },
    StateOutOfRange {
        state: usize,
        states: usize,
    },
    InvalidHorizon(f64),
    /// Absorption is not certain from the start state: no finite mean time.
    NotAbsorbing,
    InvalidGroup(String),
    /// Uniformization would take more than [`MAX_WORK`] state updates.
    TooMuchWork {
        steps: f64,
        states: usize,
    },
}

/// Uniformization steps × states a transient solution may take: about a
/// minute of work. The steps are the fastest total rate × the horizon, so
/// a microsecond repair over a year would take ~3e13 steps (and memory for
/// their Poisson weights).
pub const MAX_WORK: f64 = 1e10;

impl std::fmt::Display for MarkovError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidRate { from, to, rate } => {
                write!(
                    f,
                    "rate {rate} from state {from} to {to} must be finite, ≥ 0, between different states"
                )
            }
            Self::StateOutOfRange { state, states } => {
                write!(f, "state {state} out of range (the chain has {states})")
            }
            Self::InvalidHorizon(t) => write!(f, "horizon {t} must be finite and ≥ 0"),
            Self::NotAbsorbing => {
                write!(f, "absorption is not certain, so its mean time is infinite")
            }
            Self::InvalidGroup(m) => write!(f, "{m}"),
            Self::TooMuchWork { steps, states } => write!(
                f,
                "uniformization would take {steps:.2e} steps over {states} states, over the budget of {MAX_WORK:.0e} state updates: the fastest rate × the horizon is too large (a repair or detection of microseconds, a horizon of millennia?)"
            ),
        }
    }
}

impl std::error::Error for MarkovError {}

/// Poisson mass below which the weights are truncated.
const TAIL: f64 = 1e-50;

/// A finite CTMC given by its transition rates.
#[derive(Clone, Debug)]
pub struct Ctmc {
    states: usize,
    transitions: Vec<(usize, usize, f64)>,
}

/// P(absorbed by t), a bound on its absolute error (Poisson truncation plus
/// first-order rounding), and the number of uniformized steps taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transient {
    pub probability: f64,
    pub error_bound: f64,
    pub steps: u64,
}

impl Ctmc {
    pub fn new(states: usize) -> Self {
        Self {
            states,
            transitions: Vec::new(),
        }
    }

    pub fn add_rate(&mut self, from: usize, to: usize, rate: f64) -> Result<(), MarkovError> {
        self.check(from)?;
        self.check(to)?;
        if from == to || !rate.is_finite() || rate < 0.0 {
            return Err(MarkovError::InvalidRate { from, to, rate });
        }
        self.transitions.push((from, to, rate));
        Ok(())
    }

    /// Every transition added, as (from, to, rate).
    pub fn transitions(&self) -> &[(usize, usize, f64)] {
        &self.transitions
    }

    fn check(&self, state: usize) -> Result<(), MarkovError> {
        if state < self.states {
            Ok(())
        } else {
            Err(MarkovError::StateOutOfRange {
                state,
                states: self.states,
            })
        }
    }

    /// Transitions out of non-absorbing states, and each state's exit rate.
    fn live(&self, absorbing: &[bool]) -> (Vec<(usize, usize, f64)>, Vec<f64>) {
        let live: Vec<_> = self
            .transitions
            .iter()
            .copied()
            .filter(|&(from, _, rate)| !absorbing[from] && rate > 0.0)
            .collect();
        let mut exit = vec![0.0; self.states];
        for &(from, _, rate) in &live {
            exit[from] += rate;
        }
        (live, exit)
    }

    fn absorbing_mask(&self, start: usize, absorbing: &[usize]) -> Result<Vec<bool>, MarkovError> {
        self.check(start)?;
        let mut mask = vec![false; self.states];
        for &a in absorbing {
            self.check(a)?;
            mask[a] = true;
        }
        Ok(mask)
    }

    /// P(the chain, started in `start`, has entered a state of `absorbing`
    /// by time `horizon`).
    pub fn absorption_probability(
        &self,
        start: usize,
        absorbing: &[usize],
        horizon: f64,
    ) -> Result<Transient, MarkovError> {
        if !horizon.is_finite() || horizon < 0.0 {
            return Err(MarkovError::InvalidHorizon(horizon));
        }
        let mask = self.absorbing_mask(start, absorbing)?;
        let (live, exit) = self.live(&mask);
        let lambda = exit.iter().copied().fold(0.0, f64::max);
        if mask[start] || lambda == 0.0 || horizon == 0.0 {
            let p = if mask[start] { 1.0 } else { 0.0 };
            return Ok(Transient {
                probability: p,
                error_bound: 0.0,
                steps: 0,
            });
        }
        let steps = lambda * horizon;
        if steps * self.states as f64 > MAX_WORK {
            return Err(MarkovError::TooMuchWork {
                steps,
                states: self.states,
            });
        }
        let weights = PoissonWeights::new(steps);
        let mut v = vec![0.0; self.states];
        v[start] = 1.0;
        let mut next = vec![0.0; self.states];
        let mut probability = 0.0;
        for k in 0..=weights.right {
            if k >= weights.left {
                let absorbed: f64 = (0..self.states).filter(|&s| mask[s]).map(|s| v[s]).sum();
                probability += weights.weight(k) * absorbed;
            }
            step(&v, &mut next, &live, &exit, lambda);
            std::mem::swap(&mut v, &mut next);
        }
        // Rounding: each step adds at most (fan-in + 3) relative roundings to
        // the absorbed mass, to first order.
        let fan_in = max_fan_in(&live, self.states) as f64;
        let rounding = (weights.right + 1) as f64 * (fan_in + 3.0) * f64::EPSILON * probability;
        Ok(Transient {
            probability,
            error_bound: weights.truncated + rounding,
            steps: weights.right + 1,
        })
    }

    /// Mean time to absorption from `start` (MTTDL), by GTH elimination
    /// (Grassmann, Taksar and Heyman, 1985): states are eliminated one by
    /// one and every pivot is recomputed as a sum of positive rates, so no
    /// subtraction loses digits even when repair is 10^6 times faster than
    /// failure.
    pub fn mean_time_to_absorption(
        &self,
        start: usize,
        absorbing: &[usize],
    ) -> Result<f64, MarkovError> {
        let mask = self.absorbing_mask(start, absorbing)?;
        if mask[start] {
            return Ok(0.0);
        }
        let transient: Vec<usize> = (0..self.states).filter(|&s| !mask[s]).collect();
        let index = |s: usize| transient.iter().position(|&t| t == s);
        let n = transient.len();
        // rate[i][j] between transient states, to_loss[i] into absorbing ones,
        // time[i] = expected time to add (the right-hand side, all ones).
        let mut rate = vec![vec![0.0; n]; n];
        let mut to_loss = vec![0.0; n];
        for &(from, to, r) in &self.live(&mask).0 {
            let i = index(from).expect("live transitions leave transient states");
            match index(to) {
                Some(j) => rate[i][j] += r,
                None => to_loss[i] += r,
            }
        }
        let mut time = vec![1.0; n];
        let mut exit = vec![0.0; n];
        for k in (0..n).rev() {
            exit[k] = to_loss[k] + rate[k][..k].iter().sum::<f64>();
            if exit[k] <= 0.0 {
                return Err(MarkovError::NotAbsorbing);
            }
            let (above, from_k) = rate.split_at_mut(k);
            let row_k = &from_k[0][..k];
            for (i, row_i) in above.iter_mut().enumerate() {
                let share = row_i[k] / exit[k];
                if share == 0.0 {
                    continue;
                }
                for (j, (r, via_k)) in row_i.iter_mut().zip(row_k).enumerate() {
                    if j != i {
                        *r += share * via_k;
                    }
                }
                to_loss[i] += share * to_loss[k];
                time[i] += share * time[k];
            }
        }
        let mut mean = vec![0.0; n];
        for k in 0..n {
            let via: f64 = (0..k).map(|j| rate[k][j] * mean[j]).sum();
            mean[k] = (time[k] + via) / exit[k];
        }
        Ok(mean[index(start).expect("start is transient")])
    }
}

/// The most transitions entering any one state.
fn max_fan_in(live: &[(usize, usize, f64)], states: usize) -> usize {
    let mut count = vec![0usize; states];
    for &(_, to, _) in live {
        count[to] += 1;
    }
    count.into_iter().max().unwrap_or(0)
}

/// One uniformized step: next = v·(I + Q/Λ), absorbing states keeping mass.
fn step(v: &[f64], next: &mut [f64], live: &[(usize, usize, f64)], exit: &[f64], lambda: f64) {
    for (s, n) in next.iter_mut().enumerate() {
        *n = v[s] * (1.0 - exit[s] / lambda);
    }
    for &(from, to, rate) in live {
        next[to] += v[from] * rate / lambda;
    }
}

/// Poisson(m) weights over [left, right], computed outward from the mode by
/// the ratios w(k+1)/w(k) = m/(k+1), then normalized.
struct PoissonWeights {
    left: u64,
    right: u64,
    /// Unnormalized weights for left..=right, and their sum.
    raw: Vec<f64>,
    sum: f64,
    /// Poisson mass left out on both sides (a rigorous bound).
    truncated: f64,
}

impl PoissonWeights {
    fn new(mean: f64) -> Self {
        let mode = mean.floor() as u64;
        let mut down = vec![1.0];
        let mut k = mode;
        while k > 0 && *down.last().unwrap_or(&0.0) > TAIL {
            let w = down.last().copied().unwrap_or(0.0) * k as f64 / mean;
            down.push(w);
            k -= 1;
        }
        let left = k;
        let mut up = Vec::new();
        let mut w = 1.0;
        let mut k = mode;
        while w > TAIL || (k as f64) < mean {
            w *= mean / (k + 1) as f64;
            up.push(w);
            k += 1;
        }
        let right = k;
        let raw: Vec<f64> = down.iter().rev().chain(up.iter()).copied().collect();
        let sum: f64 = raw.iter().sum();
        // Beyond each end the ratio stays below the one at the end, so the
        // tails are bounded by geometric series.
        let left_ratio = left as f64 / mean;
        let left_tail = if left == 0 {
            0.0
        } else {
            raw[0] * left_ratio / (1.0 - left_ratio)
        };
        let right_ratio = mean / (right + 1) as f64;
        let right_tail = raw[raw.len() - 1] * right_ratio / (1.0 - right_ratio);
        Self {
            left,
            right,
            raw,
            sum,
            truncated: (left_tail + right_tail) / sum,
        }
    }

    fn weight(&self, k: u64) -> f64 {
        self.raw[(k - self.left) as usize] / self.sum
    }
}

pub use crate::model::RepairDiscipline;

/// The chain of one group of replicas: data is lost once fewer than
/// `needed` copies survive (plain replication: needed = 1).
#[derive(Debug, Clone)]
pub struct ReplicaChain {
    pub chain: Ctmc,
    pub start: usize,
    pub absorbing: Vec<usize>,
}

/// State s = number of lost copies (0 = all alive); state copies−needed+1 is
/// loss. Each alive copy fails at `failure_rate`; lost copies return at
/// `repair_rate` each (parallel) or one at a time.
pub fn replica_group(
    copies: u32,
    needed: u32,
    failure_rate: f64,
    repair_rate: f64,
    discipline: RepairDiscipline,
) -> Result<ReplicaChain, MarkovError> {
    if needed == 0 || needed > copies {
        return Err(MarkovError::InvalidGroup(format!(
            "needed copies must be from 1 to {copies}, got {needed}"
        )));
    }
    let loss = (copies - needed + 1) as usize;
    let mut chain = Ctmc::new(loss + 1);
    for lost in 0..loss {
        let alive = f64::from(copies - lost as u32);
        chain.add_rate(lost, lost + 1, alive * failure_rate)?;
        if lost > 0 {
            let repairing = match discipline {
                RepairDiscipline::Parallel => lost as f64,
                RepairDiscipline::OneAtATime => 1.0,
            };
            chain.add_rate(lost, lost - 1, repairing * repair_rate)?;
        }
    }
    Ok(ReplicaChain {
        chain,
        start: 0,
        absorbing: vec![loss],
    })
}

impl ReplicaChain {
    pub fn loss_probability(&self, horizon: f64) -> Result<Transient, MarkovError> {
        self.chain
            .absorption_probability(self.start, &self.absorbing, horizon)
    }

    /// Mean time to data loss.
    pub fn mttdl(&self) -> Result<f64, MarkovError> {
        self.chain
            .mean_time_to_absorption(self.start, &self.absorbing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn two_state_chain_matches_the_exponential_cdf() {
        for (rate, t) in [(1.0, 1e-15), (0.3, 2.0), (5.0, 10.0), (1e-3, 1.0)] {
            let mut c = Ctmc::new(2);
            c.add_rate(0, 1, rate).unwrap();
            let p = c.absorption_probability(0, &[1], t).unwrap();
            let exact = -(-rate * t).exp_m1();
            assert!(
                rel(p.probability, exact) < 1e-12,
                "{rate} {t}: {p:?} vs {exact}"
            );
            assert!(p.error_bound < 1e-10 * exact, "{p:?}");
        }
    }

    #[test]
    fn pure_death_chain_matches_independent_copies() {
        // Without repair, loss = all n copies failed: (1 − e^{−λt})^n.
        for (n, rate) in [(3u32, 0.01), (6, 1e-3)] {
            let g = replica_group(n, 1, rate, 0.0, RepairDiscipline::Parallel).unwrap();
            let p = g.loss_probability(1.0).unwrap().probability;
            let exact = (-(-rate).exp_m1()).powi(n as i32);
            assert!(rel(p, exact) < 1e-10, "n={n}: {p:e} vs {exact:e}");
        }
    }

    #[test]
    fn mttdl_matches_closed_forms() {
        let (l, m) = (0.02, 50.0);
        let two = replica_group(2, 1, l, m, RepairDiscipline::Parallel).unwrap();
        assert!(rel(two.mttdl().unwrap(), (3.0 * l + m) / (2.0 * l * l)) < 1e-13);
        // Three copies, parallel repair, by first-step analysis:
        // T0 = 1/(3λ) + T1; T1 = (1 + 2λ T2 + μ T0)/(2λ+μ); T2 = (1 + 2μ T1)/(λ+2μ).
        let three = replica_group(3, 1, l, m, RepairDiscipline::Parallel).unwrap();
        // Substituting T0 and T2 into T1's equation leaves
        // T1·2λ²/(λ+2μ) = 1 + 2λ/(λ+2μ) + μ/(3λ), written without cancellation.
        let t1 = (1.0 + 2.0 * l / (l + 2.0 * m) + m / (3.0 * l)) * (l + 2.0 * m) / (2.0 * l * l);
        let t0 = 1.0 / (3.0 * l) + t1;
        assert!(
            rel(three.mttdl().unwrap(), t0) < 1e-10,
            "{} vs {t0}",
            three.mttdl().unwrap()
        );
    }

    #[test]
    fn stiff_long_horizon_matches_a_high_precision_reference() {
        // μ = 8760/yr (1 h repairs), λ = 0.02/yr, 3 copies, 10 years: Λt ≈ 2.6e5.
        // Reference computed with mpmath at 80 digits (an independent solver).
        let g = replica_group(3, 1, 0.02, 8760.0, RepairDiscipline::Parallel).unwrap();
        let p = g.loss_probability(10.0).unwrap();
        let reference = 3.127_462_582_328_89e-12;
        assert!(p.steps > 150_000, "{p:?}");
        assert!(
            rel(p.probability, reference) < 1e-10,
            "{p:?} vs {reference:e}"
        );
        assert!((p.probability - reference).abs() <= p.error_bound, "{p:?}");
        assert!(p.error_bound <= 1e-9 * p.probability, "{p:?}");
        // The quasi-stationary shortcut 1 − exp(−t/MTTDL) is close but biased.
        let shortcut = -(-10.0 / g.mttdl().unwrap()).exp_m1();
        assert!(rel(shortcut, reference) < 1e-4);
    }

    #[test]
    fn one_at_a_time_repair_loses_more() {
        let par = replica_group(3, 1, 1.0, 50.0, RepairDiscipline::Parallel).unwrap();
        let one = replica_group(3, 1, 1.0, 50.0, RepairDiscipline::OneAtATime).unwrap();
        let (p, q) = (
            par.loss_probability(1.0).unwrap(),
            one.loss_probability(1.0).unwrap(),
        );
        assert!(q.probability > p.probability);
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut c = Ctmc::new(2);
        assert!(c.add_rate(0, 1, -1.0).is_err());
        assert!(c.add_rate(0, 1, f64::NAN).is_err());
        assert!(c.add_rate(0, 2, 1.0).is_err());
        assert!(c.add_rate(1, 1, 1.0).is_err());
        c.add_rate(0, 1, 1.0).unwrap();
        assert!(c.absorption_probability(0, &[1], f64::NAN).is_err());
        assert!(c.absorption_probability(0, &[5], 1.0).is_err());
        let mut stuck = Ctmc::new(3);
        stuck.add_rate(0, 1, 1.0).unwrap();
        assert_eq!(
            stuck.mean_time_to_absorption(0, &[2]),
            Err(MarkovError::NotAbsorbing)
        );
        assert!(replica_group(2, 3, 1.0, 1.0, RepairDiscipline::Parallel).is_err());
    }
}
