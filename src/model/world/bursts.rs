//! Correlated bursts: a `[[burst]]` process strikes, at its rate per scope
//! component, a random subset of the components below one of them at
//! once; a `[[fault]]` with a `fraction` or `count` strikes such a subset
//! at a fixed time. Which scope and which subset come from their own stream
//! ([`BURSTS`]), so adding bursts leaves every other draw of the trial as
//! it was (and a scenario without them draws nothing from it).

use super::outages::DetectionDraw;
use super::*;
use crate::model::{BurstSize, FaultKind};

/// Stream of the bursts: after the key vault's [`KEYS`], before the
/// options' Lockbox answers (`ACCESS` + k).
pub const BURSTS: u32 = 2051;

impl BurstSize {
    /// The law of [`BurstSize::draw`] over `n` components: each count
    /// struck with its probability, counts ascending, the probabilities
    /// summing to 1 (a share is uniform over lo..=hi and rounded half away
    /// from zero, then clamped to 1..=n, as `draw` does).
    pub fn count_law(self, n: u32) -> Vec<(u32, f64)> {
        if n == 0 {
            return Vec::new();
        }
        let mut law = vec![0.0; n as usize + 1];
        let clamp = |c: u32| c.clamp(1, n) as usize;
        match self {
            BurstSize::Count { lo, hi } => {
                let each = 1.0 / f64::from(hi - lo + 1);
                for c in lo..=hi {
                    law[clamp(c)] += each;
                }
            }
            BurstSize::Fraction { lo, hi } if lo == hi => {
                law[clamp((lo * f64::from(n)).round() as u32)] += 1.0;
            }
            BurstSize::Fraction { lo, hi } => {
                let nf = f64::from(n);
                for c in 0..=n + 1 {
                    // Shares that round to c: [(c − ½)/n, (c + ½)/n).
                    let from = ((f64::from(c) - 0.5) / nf).max(lo);
                    let to = ((f64::from(c) + 0.5) / nf).min(hi);
                    if to > from {
                        law[clamp(c)] += (to - from) / (hi - lo);
                    }
                }
            }
        }
        law.into_iter()
            .enumerate()
            .filter(|&(_, p)| p > 0.0)
            .map(|(c, p)| (c as u32, p))
            .collect()
    }

    /// The components struck, of the `n` below the scope: at least 1 and at
    /// most n.
    pub fn draw<R: Rng + ?Sized>(self, n: u32, rng: &mut R) -> u32 {
        let count = match self {
            BurstSize::Count { lo, hi } if lo == hi => lo,
            BurstSize::Count { lo, hi } => rng.random_range(lo..=hi),
            BurstSize::Fraction { lo, hi } => {
                let share = if lo == hi {
                    lo
                } else {
                    lo + (hi - lo) * rng.random::<f64>()
                };
                (share * f64::from(n)).round() as u32
            }
        };
        if n == 0 { 0 } else { count.clamp(1, n) }
    }
}

/// `count` distinct values of `0..n`, uniformly, in increasing order (so
/// the components are struck in a stable order).
fn subset<R: Rng + ?Sized>(n: u32, count: u32, rng: &mut R) -> Vec<u32> {
    debug_assert!(count <= n);
    let mut chosen: Vec<u32> = rand::seq::index::sample(rng, n as usize, count as usize)
        .into_iter()
        .map(|i| i as u32)
        .collect();
    chosen.sort_unstable();
    chosen
}

impl World<'_, '_> {
    /// Starts the clock of every burst process.
    pub(super) fn start_bursts(&mut self, sim: &mut Scheduler<Event>) {
        for p in 0..self.system().bursts.len() {
            self.schedule_burst(p as u16, sim);
        }
    }

    /// One fleet-wide clock per process: N scope components at its rate;
    /// a scope destroyed when struck is passed over (thinning).
    fn schedule_burst(&mut self, process: u16, sim: &mut Scheduler<Event>) {
        let p = &self.system().bursts[process as usize];
        let scopes = self.system().topology.count(p.scope);
        // In this order, as the fleet's draws were made from the start.
        let rate_per_us = p.rate_per_year * f64::from(scopes) / crate::units::YEAR as f64;
        let Some(rng) = self.burst_rng.as_mut() else {
            return;
        };
        let wait = rng.sample::<f64, _>(Exp1) / rate_per_us;
        if wait.is_finite() {
            let event = Event::Burst { process };
            sim.schedule(crate::units::ceil_micros(wait), event);
        }
    }

    pub(super) fn on_burst(&mut self, process: u16, sim: &mut Scheduler<Event>) {
        let p = &self.system().bursts[process as usize];
        let (scope, level, size, kind) = (p.scope, p.level, p.size, p.kind);
        let scopes = self.system().topology.count(scope);
        if let Some(rng) = self.burst_rng.as_mut() {
            let c = rng.random_range(0..scopes);
            if self.component_in_service(scope, c) {
                self.strike_subset((scope, c), level, size, kind, sim);
            }
        }
        self.schedule_burst(process, sim);
    }

    /// A scripted fault on a random subset (`fault.subset`).
    pub(super) fn on_subset_fault(&mut self, f: u16, sim: &mut Scheduler<Event>) {
        let fault = &self.system().faults[f as usize];
        let (Some(s), Scope::Component(level)) = (fault.subset, fault.scope) else {
            return;
        };
        let (component, kind) = (fault.component, fault.kind);
        self.strike_subset((s.within, component), level, s.size, kind, sim);
    }

    /// Strikes a random subset of size `size` of the `level` components
    /// below `scope` (level, index), in increasing order: each destroyed
    /// (if in service) or taken down, and back after its delay.
    fn strike_subset(
        &mut self,
        scope: (Level, u32),
        level: Level,
        size: BurstSize,
        kind: FaultKind,
        sim: &mut Scheduler<Event>,
    ) {
        let below = self
            .system()
            .topology
            .components_within(scope.0, scope.1, level);
        let Some(rng) = self.burst_rng.as_mut() else {
            return;
        };
        let n = below.len() as u32;
        let count = size.draw(n, rng);
        for i in subset(n, count, rng) {
            let c = below.start + i;
            match kind {
                FaultKind::Destroyed { replace } => {
                    if self.component_in_service(level, c) {
                        let back = Event::BurstOver {
                            level,
                            component: c,
                            destroyed: true,
                        };
                        self.destroy(level, c, (replace, back), sim);
                    }
                }
                FaultKind::Down { duration } => {
                    self.begin_outage(
                        Scope::Component(level),
                        c,
                        duration,
                        DetectionDraw::Bursts,
                        sim,
                    );
                    let back = Event::BurstOver {
                        level,
                        component: c,
                        destroyed: false,
                    };
                    sim.schedule(duration, back);
                }
            }
        }
    }

    /// A component struck by a burst is back: replaced empty, or up.
    pub(super) fn on_burst_over(
        &mut self,
        level: Level,
        c: u32,
        destroyed: bool,
        sim: &mut Scheduler<Event>,
    ) {
        if destroyed {
            self.restore(level, c, sim);
        } else {
            self.end_outage(Scope::Component(level), c, sim);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn subsets_are_distinct_and_uniform() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut hits = [0u32; 10];
        for _ in 0..20_000 {
            let s = subset(10, 3, &mut rng);
            assert_eq!(s.len(), 3);
            assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
            for i in s {
                hits[i as usize] += 1;
            }
        }
        // Each value is in a subset with probability 3/10: 6000 of 20000,
        // σ = √(20000·0.3·0.7) ≈ 65, so 5σ is 325.
        for h in hits {
            assert!((5675..=6325).contains(&h), "{hits:?}");
        }
        assert_eq!(subset(5, 5, &mut rng).len(), 5);
    }

    #[test]
    fn sizes_stay_within_the_components() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let f = BurstSize::Fraction { lo: 0.01, hi: 0.01 };
        assert_eq!(f.draw(5000, &mut rng), 50);
        let c = BurstSize::Count { lo: 2, hi: 4 };
        for _ in 0..100 {
            assert!((2..=4).contains(&c.draw(10, &mut rng)));
        }
        assert!((1..=3).contains(&c.draw(3, &mut rng)));
        assert_eq!(c.draw(0, &mut rng), 0);
    }
}
