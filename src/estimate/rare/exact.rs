//! The fast process of one extent solved exactly between scripted site
//! events, when it is Markovian (exponential disk, node and rack lifetimes,
//! exponential repairs, no detection delay, and site events that leave
//! every copy's place as it was): the extent is then the continuous-time
//! Markov chain of `analyze` without the site processes
//! ([`crate::exact::analyze::fast_chain`]), and a scripted destruction maps each
//! state to the one with the struck copies lost. P(loss by t | script) is
//! the chain's distribution carried from one scripted time to the next.
//!
//! Scripted times are put on a grid of h = 2^20 µs (1.05 s), anchored at
//! the point of the P(loss by t) curve before them (moving a loss
//! probability by about a second over the repair time: 1e-5 of it for a
//! day's repair, far below the sampling error of the strata); the points of
//! the curve and the horizon are exact. Carrying uses exp(Q·d·16^j·h) for d = 1..15
//! (exp(Q·h) by uniformization, then products): a stretch of L·h costs one
//! vector-matrix product per nonzero hexadecimal digit of L, a gap between two points of the curve one, and
//! after the last scripted event the loss at each later point is one dot
//! product with a precomputed column. Every matrix and vector is
//! non-negative, so every entry (the loss probability among them, however
//! small) keeps its relative precision: nothing is ever subtracted.

use crate::exact::analyze::ExtentChain;
use crate::model::Level;
use crate::units::{Micros, YEAR};

use super::{CHECKPOINTS, GroupTrial, Window, cause};

/// log2 of the grid, in µs.
const GRID_BITS: u32 = 20;
const GRID: Micros = 1 << GRID_BITS;

/// Grid steps in `t` µs (at least one).
pub(crate) fn grid_steps(t: Micros) -> u64 {
    (t >> GRID_BITS).max(1)
}

/// `t` rounded down to the grid.
fn on_grid(t: Micros) -> Micros {
    t & !(GRID - 1)
}

/// A dense square matrix, row-major.
#[derive(Clone, Debug)]
struct Matrix {
    n: usize,
    a: Vec<f64>,
}

impl Matrix {
    fn identity(n: usize) -> Self {
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = 1.0;
        }
        Self { n, a }
    }

    fn product(&self, other: &Matrix) -> Matrix {
        let n = self.n;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for k in 0..n {
                let x = self.a[i * n + k];
                if x == 0.0 {
                    continue;
                }
                let row = &other.a[k * n..(k + 1) * n];
                for (out, &y) in a[i * n..(i + 1) * n].iter_mut().zip(row) {
                    *out += x * y;
                }
            }
        }
        Matrix { n, a }
    }

    /// v ← v·self.
    fn apply(&self, v: &mut Vec<f64>, scratch: &mut Vec<f64>) {
        let n = self.n;
        scratch.clear();
        scratch.resize(n, 0.0);
        for (k, &x) in v.iter().enumerate() {
            if x == 0.0 {
                continue;
            }
            let row = &self.a[k * n..(k + 1) * n];
            for (out, &y) in scratch.iter_mut().zip(row) {
                *out += x * y;
            }
        }
        std::mem::swap(v, scratch);
    }

    /// self·u (a column).
    fn times_column(&self, u: &[f64]) -> Vec<f64> {
        let n = self.n;
        (0..n)
            .map(|i| {
                self.a[i * n..(i + 1) * n]
                    .iter()
                    .zip(u)
                    .map(|(x, y)| x * y)
                    .sum()
            })
            .collect()
    }
}

/// The chain's transition rates per µs, as (from, to, rate), none out of loss.
fn rates_per_us(chain: &ExtentChain) -> Vec<(usize, usize, f64)> {
    let per_us = 1.0 / YEAR as f64;
    chain
        .ctmc
        .transitions()
        .iter()
        .filter(|t| t.0 != chain.loss)
        .map(|&(from, to, rate)| (from, to, rate * per_us))
        .collect()
}

/// exp(Q·t) for t µs by uniformization: Σ_m Pois(m; Λt)·P^m with
/// P = I + Q/Λ, summed outward from m = 0 until the Poisson weights left
/// are below 1e-40 (every term non-negative).
fn exp_times(rates: &[(usize, usize, f64)], n: usize, t: Micros) -> Matrix {
    let mut exit = vec![0.0; n];
    for &(from, _, r) in rates {
        exit[from] += r;
    }
    let lambda = exit.iter().copied().fold(0.0, f64::max).max(1e-300);
    let mut p = Matrix::identity(n);
    for (i, e) in exit.iter().enumerate() {
        p.a[i * n + i] = 1.0 - e / lambda;
    }
    for &(from, to, r) in rates {
        p.a[from * n + to] += r / lambda;
    }
    let mean = lambda * t as f64;
    let mut out = Matrix {
        n,
        a: vec![0.0; n * n],
    };
    let mut term = Matrix::identity(n);
    let mut weight = (-mean).exp();
    let mut m = 0u32;
    loop {
        for (o, x) in out.a.iter_mut().zip(&term.a) {
            *o += weight * x;
        }
        m += 1;
        weight *= mean / f64::from(m);
        if (weight < 1e-40 && f64::from(m) > mean) || m > 100_000 {
            break;
        }
        term = term.product(&p);
    }
    out
}

/// A scripted destruction as the solver sees it: when, the copies (slots)
/// it strikes in their places, and the level struck.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Strike {
    pub at: Micros,
    pub hit: u32,
    pub level: Level,
}

/// The exact solver of one option's fast process.
#[derive(Clone, Debug)]
pub(crate) struct FastSolver {
    chain: ExtentChain,
    /// powers[j][d − 1] = exp(Q·d·16^j·h), d = 1..=15, j = 0, 1, … up to
    /// the horizon.
    powers: Vec<Vec<Matrix>>,
    /// The end of the warm-up: losses before it do not count.
    warmup: Micros,
    /// The distribution at the end of the warm-up with no strike, its
    /// losses dropped.
    at_warmup: Vec<f64>,
    /// The curve's points (µs, from the start of the warm-up) and exp(Q·gap)
    /// from each to the next (a gap takes one of two lengths), and exp(Q·r)
    /// for the remainders r of the gaps and of the warm-up on the grid.
    ends: [Micros; CHECKPOINTS],
    gaps: Vec<(Micros, Matrix)>,
    remainders: Vec<(Micros, Matrix)>,
    /// The distribution at each point with no script: P(loss by t | K = 0).
    free: Vec<Vec<f64>>,
    /// after[c][m]: the loss column of exp(Q·(ends[c+m] − ends[c])): from
    /// each state, the chance of a loss between the two points.
    after: Vec<Vec<Vec<f64>>>,
}

impl FastSolver {
    pub fn new(chain: ExtentChain, window: Window) -> Self {
        let n = chain.loss + 1;
        let loss = chain.loss;
        // exp(Q·h) by uniformization, directly: a product of T/h of them
        // carries about n·T/h·ε of relative rounding (2e-10 for a year and
        // 64 states); built from exp(Q·1 µs) by squaring, it would carry
        // n·T/1 µs·ε (0.2: the first version did, and was 7e-4 off).
        let rates = rates_per_us(&chain);
        let base = exp_times(&rates, n, GRID);
        let steps = grid_steps(window.end());
        let mut powers: Vec<Vec<Matrix>> = Vec::new();
        let mut unit = base;
        while (1u64 << (4 * powers.len())) <= steps {
            let mut digit = vec![unit.clone()];
            for _ in 2..=16 {
                let next = digit.last().expect("one at least").product(&unit);
                digit.push(next);
            }
            unit = digit.pop().expect("16 of them");
            powers.push(digit);
        }
        let ends: [Micros; CHECKPOINTS] = std::array::from_fn(|c| window.checkpoint_end(c));
        let warmup = window.start;
        let mut solver = Self {
            chain,
            warmup,
            at_warmup: Vec::new(),
            powers,
            ends,
            gaps: Vec::new(),
            remainders: Vec::new(),
            free: Vec::new(),
            after: Vec::new(),
        };
        let w = warmup & (GRID - 1);
        if w != 0 {
            solver.remainders.push((w, exp_times(&rates, n, w)));
        }
        let mut last = warmup;
        for &end in &ends {
            let g = end - last;
            let r = g & (GRID - 1);
            if r != 0 && !solver.remainders.iter().any(|(d, _)| *d == r) {
                solver.remainders.push((r, exp_times(&rates, n, r)));
            }
            if !solver.gaps.iter().any(|(d, _)| *d == g) {
                let m = solver.power(g);
                solver.gaps.push((g, m));
            }
            last = end;
        }
        let mut v = solver.start();
        let mut scratch = Vec::new();
        solver.carry(&mut v, 0, warmup, &mut scratch);
        v[loss] = 0.0;
        solver.at_warmup = v.clone();
        let mut at = warmup;
        for &end in &ends {
            solver.carry(&mut v, at, end, &mut scratch);
            at = end;
            solver.free.push(v.clone());
        }
        let mut unit = vec![0.0; n];
        unit[loss] = 1.0;
        solver.after = (0..CHECKPOINTS)
            .map(|c| {
                let mut columns = vec![unit.clone()];
                // Built from the far end: column(c, m) = G_{c+1}·column(c+1, m−1).
                for m in 1..CHECKPOINTS - c {
                    let mut u = unit.clone();
                    for i in (c + 1..=c + m).rev() {
                        u = solver.gap(ends[i] - ends[i - 1]).times_column(&u);
                    }
                    columns.push(u);
                }
                columns
            })
            .collect();
        solver
    }

    /// P(loss by the horizon | no strike).
    pub fn free_loss(&self) -> f64 {
        self.free[CHECKPOINTS - 1][self.chain.loss]
    }

    fn start(&self) -> Vec<f64> {
        let mut v = vec![0.0; self.chain.loss + 1];
        v[0] = 1.0;
        v
    }

    fn gap(&self, length: Micros) -> &Matrix {
        &self
            .gaps
            .iter()
            .find(|(g, _)| *g == length)
            .expect("the gaps of the curve were built")
            .1
    }

    /// The hexadecimal digits of L/h that are not 0, with their matrices.
    fn digits(&self, length: Micros) -> impl Iterator<Item = &Matrix> {
        let steps = length >> GRID_BITS;
        self.powers.iter().enumerate().filter_map(move |(j, p)| {
            let d = (steps >> (4 * j)) & 15;
            (d != 0).then(|| &p[d as usize - 1])
        })
    }

    /// exp(Q·r) for a remainder of a gap (`r` = 0: none).
    fn remainder(&self, r: Micros) -> Option<&Matrix> {
        let found = self.remainders.iter().find(|(d, _)| *d == r);
        assert!(r == 0 || found.is_some(), "a stretch ends off the grid");
        found.map(|(_, m)| m)
    }

    /// exp(Q·L) as a matrix (for the gaps, built once).
    fn power(&self, length: Micros) -> Matrix {
        let mut m = Matrix::identity(self.chain.loss + 1);
        for p in self.digits(length) {
            m = m.product(p);
        }
        if let Some(r) = self.remainder(length & (GRID - 1)) {
            m = m.product(r);
        }
        m
    }

    /// Carries `v` from `from` to `to` (on the grid): one product for a
    /// whole gap of the curve, else one per nonzero hexadecimal digit of
    /// the length.
    fn carry(&self, v: &mut Vec<f64>, from: Micros, to: Micros, scratch: &mut Vec<f64>) {
        let length = to.saturating_sub(from);
        if length == 0 {
            return;
        }
        if let Some((_, m)) = self.gaps.iter().find(|(g, _)| *g == length) {
            m.apply(v, scratch);
            return;
        }
        for p in self.digits(length) {
            p.apply(v, scratch);
        }
        if let Some(r) = self.remainder(length & (GRID - 1)) {
            r.apply(v, scratch);
        }
    }

    /// Carries `v` from `at` (on the grid from 0) to the end of the warm-up
    /// and drops the losses so far: they happened before the measured horizon.
    fn end_warmup(&self, v: &mut Vec<f64>, at: Micros, scratch: &mut Vec<f64>) {
        self.carry(v, at, self.warmup, scratch);
        v[self.chain.loss] = 0.0;
    }

    /// Adds `weight` × P(loss by each point of the curve | the strikes, in
    /// time order) to `out`, split by cause ([`super::CAUSES`]: the widest
    /// site level that had struck a place of the extent's copies before the
    /// loss).
    pub fn solve(&self, strikes: &[Strike], weight: f64, out: &mut GroupTrial) {
        let loss = self.chain.loss;
        let first = strikes.first().map(|s| s.at);
        // Until the first strike, the free distribution at the points.
        let mut c = 0;
        while c < CHECKPOINTS && first.is_none_or(|f| self.ends[c] < f) {
            out.by_checkpoint[c] += weight * self.free[c][loss];
            c += 1;
        }
        if c == CHECKPOINTS {
            out.by_cause[0] += weight * self.free[CHECKPOINTS - 1][loss];
            return;
        }
        // `warm`: past the warm-up, where losses count.
        let (mut v, mut at, mut warm) = if c > 0 {
            (self.free[c - 1].clone(), self.ends[c - 1], true)
        } else if first.is_some_and(|f| f >= self.warmup) {
            (self.at_warmup.clone(), self.warmup, true)
        } else {
            (self.start(), 0, false)
        };
        let mut buckets = [0.0; 3];
        buckets[0] = std::mem::take(&mut v[loss]);
        let mut done = buckets[0];
        let mut widest: Option<Level> = None;
        let mut scratch = Vec::new();
        let mut next = Vec::new();
        for strike in strikes {
            if !warm && strike.at >= self.warmup {
                self.end_warmup(&mut v, at, &mut scratch);
                (at, warm) = (self.warmup, true);
            }
            // Points of the curve passed before this strike.
            while warm && self.ends[c] < strike.at {
                self.carry(&mut v, at, self.ends[c], &mut scratch);
                at = self.ends[c];
                let lost = std::mem::take(&mut v[loss]);
                buckets[cause(widest)] += lost;
                done += lost;
                out.by_checkpoint[c] += weight * done;
                c += 1;
            }
            // On the grid anchored at the last point passed.
            let t = at + on_grid(strike.at - at);
            self.carry(&mut v, at, t, &mut scratch);
            at = t;
            let lost = std::mem::take(&mut v[loss]);
            if warm {
                buckets[cause(widest)] += lost;
                done += lost;
            }
            if strike.hit != 0 {
                widest = Some(widest.map_or(strike.level, |w| w.min(strike.level)));
            }
            next.clear();
            next.resize(loss + 1, 0.0);
            for (state, &p) in v.iter().enumerate() {
                if p != 0.0 {
                    next[self.chain.after_loss_of(state, strike.hit)] += p;
                }
            }
            std::mem::swap(&mut v, &mut next);
            let lost = std::mem::take(&mut v[loss]);
            if warm {
                buckets[cause(widest)] += lost;
                done += lost;
            }
        }
        if !warm {
            self.end_warmup(&mut v, at, &mut scratch);
            at = self.warmup;
        }
        // To the point after the last strike, then one dot product per
        // later point.
        self.carry(&mut v, at, self.ends[c], &mut scratch);
        let lost = std::mem::take(&mut v[loss]);
        buckets[cause(widest)] += lost;
        done += lost;
        out.by_checkpoint[c] += weight * done;
        let class = cause(widest);
        let mut later = 0.0;
        for m in 1..CHECKPOINTS - c {
            let column = &self.after[c][m];
            later = v.iter().zip(column).map(|(x, y)| x * y).sum::<f64>();
            out.by_checkpoint[c + m] += weight * (done + later);
        }
        buckets[class] += later;
        for (o, b) in out.by_cause.iter_mut().zip(buckets) {
            *o += weight * b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P(loss | no site event) from the solver against `markov`'s
    /// uniformization of the same chain (P(by end) − P(by warm-up)), with
    /// and without a warm-up: within the stated rounding bound.
    #[test]
    fn free_loss_matches_uniformization_within_the_rounding_bound() {
        let s = crate::scenario::load(std::path::Path::new("scenarios/exact.toml")).unwrap();
        let system = &s.system;
        let site = super::super::site_processes(system);
        for k in 0..system.options.len() {
            let chain = crate::exact::analyze::fast_chain(system, k, site).unwrap();
            let loss = chain.loss;
            let by = |t: Micros| {
                let p = chain
                    .ctmc
                    .absorption_probability(0, &[loss], crate::units::years(t));
                p.unwrap().probability
            };
            for start in [system.warmup, 0] {
                let window = Window {
                    start,
                    horizon: system.horizon,
                };
                let solver = FastSolver::new(chain.clone(), window);
                let exact = by(window.end()) - by(start);
                let rel = (solver.free_loss() - exact) / exact;
                let bound = super::super::exact_rounding(window);
                assert!(
                    rel.abs() <= bound,
                    "option {k}, warm-up {start}: {rel:e} > {bound:e}"
                );
            }
        }
    }
}
