//! Decodability against an independent check: the rank, over the prime
//! field of order 2^61 − 1, of the surviving columns of a generator matrix
//! with random coefficients. With random coefficients the rank is the
//! generic rank except with probability below (degree)/p ≈ 1e-17 per
//! pattern, so the two must agree on every pattern.

use super::Code;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const P: u64 = (1 << 61) - 1;

fn mul(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(P)) as u64
}

fn pow(mut a: u64, mut e: u64) -> u64 {
    let mut out = 1;
    while e > 0 {
        if e & 1 == 1 {
            out = mul(out, a);
        }
        a = mul(a, a);
        e >>= 1;
    }
    out
}

fn nonzero(rng: &mut ChaCha8Rng) -> u64 {
    rng.random_range(1..P)
}

/// The generator matrix of `code` as columns (one per slot, k entries):
/// data columns are unit vectors, a local parity combines its group's data,
/// a parity of RS or a global parity of LRC combines all data, each with
/// random nonzero coefficients.
fn generator(code: Code, rng: &mut ChaCha8Rng) -> Vec<Vec<u64>> {
    let (k, locals, globals) = match code {
        Code::Rs { k, m } => (k, 0, m),
        Code::Lrc { k, l, r } => (k, l, r),
        Code::Copies { .. } => unreachable!("whole copies have no generator"),
    };
    let k = k as usize;
    let mut columns: Vec<Vec<u64>> = (0..k)
        .map(|i| (0..k).map(|j| u64::from(i == j)).collect())
        .collect();
    for g in 0..locals as usize {
        let size = k / locals as usize;
        let members = g * size..(g + 1) * size;
        columns.push(
            (0..k)
                .map(|i| {
                    if members.contains(&i) {
                        nonzero(rng)
                    } else {
                        0
                    }
                })
                .collect(),
        );
    }
    for _ in 0..globals {
        columns.push((0..k).map(|_| nonzero(rng)).collect());
    }
    columns
}

/// Rank of `columns` over GF(P), by Gaussian elimination.
fn rank(mut columns: Vec<Vec<u64>>) -> usize {
    let rows = columns.first().map_or(0, Vec::len);
    let mut rank = 0;
    for row in 0..rows {
        let Some(pivot) = (rank..columns.len()).find(|&c| columns[c][row] != 0) else {
            continue;
        };
        columns.swap(rank, pivot);
        let pivot_column = columns[rank].clone();
        let inv = pow(pivot_column[row], P - 2);
        for (c, column) in columns.iter_mut().enumerate() {
            if c != rank && column[row] != 0 {
                let f = mul(column[row], inv);
                for (x, &p) in column.iter_mut().zip(&pivot_column) {
                    *x = (*x + P - mul(f, p)) % P;
                }
            }
        }
        rank += 1;
    }
    rank
}

/// Every failure pattern of at most `most` slots of `code`: the rule and
/// the rank agree; returns (patterns of exactly `most` failures, of which
/// decodable).
fn check_patterns(code: Code, most: u32) -> (u32, u32) {
    let n = code.fragments().unwrap();
    let k = code.data_fragments() as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(u64::from(n) * 1000 + u64::from(most));
    let columns = generator(code, &mut rng);
    let (mut widest, mut decodable) = (0, 0);
    for failed in 0u32..1 << n {
        if failed.count_ones() > most {
            continue;
        }
        let alive = !failed & ((1 << n) - 1);
        let surviving: Vec<_> = (0..n as usize)
            .filter(|&s| alive & (1 << s) != 0)
            .map(|s| columns[s].clone())
            .collect();
        let by_rank = rank(surviving) == k;
        assert_eq!(
            code.decodable(alive),
            by_rank,
            "{code:?}: failed slots {failed:#b}"
        );
        if failed.count_ones() == most {
            widest += 1;
            decodable += u32::from(by_rank);
        }
    }
    (widest, decodable)
}

#[test]
fn lrc_12_2_2_matches_the_rank_up_to_four_failures() {
    let (patterns, decodable) = check_patterns(Code::Lrc { k: 12, l: 2, r: 2 }, 4);
    assert_eq!(patterns, 1820);
    assert_eq!(decodable, 1568);
    // Huang et al. (§2.2): about 86% of 4-failure patterns are recoverable.
    let share = f64::from(decodable) / f64::from(patterns);
    assert_eq!((share * 100.0).round(), 86.0, "{decodable} of {patterns}");
}

#[test]
fn other_lrcs_match_the_rank_up_to_r_plus_two_failures() {
    for (k, l, r) in [(6, 2, 2), (6, 3, 1), (8, 4, 2), (4, 1, 3), (10, 5, 1)] {
        check_patterns(Code::Lrc { k, l, r }, r + 2);
    }
}

#[test]
fn any_r_plus_one_failures_of_an_lrc_decode() {
    let code = Code::Lrc { k: 12, l: 2, r: 2 };
    let full = (1u32 << 16) - 1;
    for failed in (0..=full).filter(|f| f.count_ones() <= 3) {
        assert!(code.decodable(full & !failed));
    }
}

#[test]
fn rs_matches_the_rank() {
    for (k, m) in [(6, 3), (4, 2), (10, 4)] {
        check_patterns(Code::Rs { k, m }, m + 1);
    }
}

#[test]
fn repair_reads_are_the_local_group_or_k() {
    let lrc = Code::Lrc { k: 12, l: 2, r: 2 };
    let full = (1u32 << 16) - 1;
    // Data fragment 0 alone lost: its 5 group mates and the local parity.
    assert_eq!(lrc.repair_reads(full & !1, 0), 6);
    // The local parity of group 1 (slot 13) alone lost: the group's data.
    assert_eq!(lrc.repair_reads(full & !(1 << 13), 13), 6);
    // Two lost in group 0: each is rebuilt from k.
    assert_eq!(lrc.repair_reads(full & !0b11, 0), 12);
    // A loss in the other group does not matter.
    assert_eq!(lrc.repair_reads(full & !(1 | 1 << 7), 0), 6);
    // A global parity is rebuilt from k.
    assert_eq!(lrc.repair_reads(full & !(1 << 15), 15), 12);
    assert_eq!(Code::Rs { k: 6, m: 3 }.repair_reads(0b1_1111_1110, 0), 6);
    assert_eq!(Code::Copies { needed: 1 }.repair_reads(0b110, 0), 1);
}

#[test]
fn the_edge_is_one_failure_from_loss() {
    let rs = Code::Rs { k: 6, m: 3 };
    assert!(rs.at_edge(0b11_1111));
    assert!(!rs.at_edge(0b111_1111));
    assert!(!rs.at_edge(0b1_1111));
    let copies = Code::Copies { needed: 1 };
    assert!(copies.at_edge(0b100));
    assert!(!copies.at_edge(0b101));
}

#[test]
fn decodability_depends_only_on_the_counts_per_class() {
    for code in [Code::Lrc { k: 12, l: 2, r: 2 }, Code::Rs { k: 6, m: 3 }] {
        let n = code.fragments().unwrap();
        let classes = code.classes().unwrap();
        let counts =
            |alive: u32| -> Vec<u32> { classes.iter().map(|c| (c & alive).count_ones()).collect() };
        let mut seen = std::collections::HashMap::new();
        for alive in 0u32..1 << n {
            let d = code.decodable(alive);
            assert_eq!(
                *seen.entry(counts(alive)).or_insert(d),
                d,
                "{code:?} {alive:#b}"
            );
        }
    }
}
