//! One extent's chain aggregated by symmetry, for options too wide for one
//! state per subset of live copies (2^copies): slots the code treats alike
//! and the failure processes strike alike form a class, and a state is the
//! number of failed slots in each class. Lumping is exact when (checked
//! here, else refused) every slot of a class fails at the same rate on its
//! own, every remover striking several slots strikes whole classes, repair
//! is parallel (each failed slot repaired at the same rate, independently),
//! and decodability depends only on the counts per class, which the classes
//! of [`Code::classes`] guarantee. So LRC(12,2,2) has 8 × 8 × 3 states
//! rather than 2^16, RS(17,3) 21 rather than 2^20.

use super::{ExtentChain, NotMarkovian, Remover, refuse, solver};
use crate::exact::markov::Ctmc;
use crate::model::{RepairDiscipline, ReplicationOption};

/// What a lumped chain's states are: the classes (slot masks) and, per
/// transient state, the count failed in each class.
#[derive(Clone, Debug)]
pub(crate) struct Lumped {
    classes: Vec<u32>,
    counts: Vec<Vec<u32>>,
}

impl Lumped {
    /// The state reached from `state` when the slots in `hit` are destroyed
    /// at once: each class struck loses all its slots (a strike of part of
    /// a class has no lumped image; `fast_chain` admits only strikes of
    /// whole copy groups). `loss` when the counts no longer decode.
    pub(super) fn after_strike(&self, state: usize, hit: u32, loss: usize) -> usize {
        if state >= self.counts.len() {
            return loss;
        }
        self.index(&lumped_strike(self, &self.counts[state], hit), loss)
    }

    fn index(&self, counts: &[u32], loss: usize) -> usize {
        self.counts.iter().position(|s| s == counts).unwrap_or(loss)
    }
}

/// A class of interchangeable slots: its slots and each slot's rate (per
/// year) of failing alone.
struct Class {
    slots: u32,
    alone_rate: f64,
}

/// Builds the chain of `option` under `removers`, each failed slot repaired
/// at rate `mu` (per year) in parallel; refused, naming the field, when the
/// symmetry does not hold.
pub(super) fn build(
    option: &ReplicationOption,
    removers: &[Remover],
    mu: f64,
) -> Result<ExtentChain, NotMarkovian> {
    let classes = classes(option, removers)?;
    let sizes: Vec<u32> = classes.iter().map(|c| c.slots.count_ones()).collect();
    let states: Vec<Vec<u32>> = all_counts(&sizes)
        .into_iter()
        .filter(|counts| option.code.decodable(representative(&classes, counts)))
        .collect();
    let loss = states.len();
    let lumped = Lumped {
        classes: classes.iter().map(|c| c.slots).collect(),
        counts: states,
    };
    let mut ctmc = Ctmc::new(loss + 1);
    for (from, counts) in lumped.counts.iter().enumerate() {
        let mut add = |to: &[u32], rate: f64| {
            let to = lumped.index(to, loss);
            if to != from && rate > 0.0 {
                ctmc.add_rate(from, to, rate).map_err(solver)?;
            }
            Ok::<(), NotMarkovian>(())
        };
        for (c, class) in classes.iter().enumerate() {
            let mut next = counts.clone();
            if counts[c] < sizes[c] {
                next[c] += 1;
                add(&next, f64::from(sizes[c] - counts[c]) * class.alone_rate)?;
            }
            if counts[c] > 0 {
                next.clone_from(counts);
                next[c] -= 1;
                add(&next, f64::from(counts[c]) * mu)?;
            }
        }
        for r in removers.iter().filter(|r| r.copies.count_ones() > 1) {
            add(&lumped_strike(&lumped, counts, r.copies), r.rate)?;
        }
    }
    Ok(ExtentChain {
        ctmc,
        states: Vec::new(),
        loss,
        code: option.code,
        discipline: RepairDiscipline::Parallel,
        lumped: Some(lumped),
    })
}

/// The counts after the slots of `hit` (whole classes) are destroyed.
fn lumped_strike(lumped: &Lumped, counts: &[u32], hit: u32) -> Vec<u32> {
    lumped
        .classes
        .iter()
        .zip(counts)
        .map(|(&class, &n)| {
            if hit & class != 0 {
                class.count_ones()
            } else {
                n
            }
        })
        .collect()
}

/// The option's classes with their rates, or why the chain cannot lump.
fn classes(option: &ReplicationOption, removers: &[Remover]) -> Result<Vec<Class>, NotMarkovian> {
    let masks = option.code.classes().unwrap_or_else(|| {
        (0..option.groups.len())
            .map(|g| option.group_slots(g))
            .collect()
    });
    let mut out = Vec::new();
    for slots in masks.into_iter().filter(|&m| m != 0) {
        let rate_of = |s: u32| -> f64 {
            removers
                .iter()
                .filter(|r| r.copies == 1 << s)
                .map(|r| r.rate)
                .sum()
        };
        let first = slots.trailing_zeros();
        let alone_rate = rate_of(first);
        let uneven = (0..32).any(|s| slots & (1 << s) != 0 && rate_of(s) != alone_rate);
        let split = removers.iter().any(|r| {
            r.copies.count_ones() > 1 && r.copies & slots != 0 && r.copies & slots != slots
        });
        if uneven || split {
            return refuse(
                "options",
                format!(
                    "option {}: its failure processes do not strike interchangeable slots alike, so its {} copies have no exact chain small enough",
                    option.name,
                    option.copies()
                ),
            );
        }
        out.push(Class { slots, alone_rate });
    }
    Ok(out)
}

/// Every vector of counts, count c from 0 to `sizes[c]`, the all-zero first.
fn all_counts(sizes: &[u32]) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new()];
    for &size in sizes {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..=size).map(move |n| {
                    let mut v = prefix.clone();
                    v.push(n);
                    v
                })
            })
            .collect();
    }
    out
}

/// A mask of live slots with `counts[c]` slots of class c failed (its
/// lowest ones): by the symmetry, any such mask decodes alike.
fn representative(classes: &[Class], counts: &[u32]) -> u32 {
    let mut alive = classes.iter().fold(0, |m, c| m | c.slots);
    for (class, &n) in classes.iter().zip(counts) {
        let mut rest = class.slots;
        for _ in 0..n {
            alive &= !(rest & rest.wrapping_neg());
            rest &= rest - 1;
        }
    }
    alive
}
