//! How an option's copies (or fragments) make up an extent: whole copies of
//! which `needed` must survive, a Reed–Solomon code, or Azure's local
//! reconstruction code (Huang et al., "Erasure Coding in Windows Azure
//! Storage", USENIX ATC 2012). The one statement of whether a set of
//! surviving slots still decodes the extent, and of what rebuilding one lost
//! slot reads: the fleet (`world`), the group model (`group`), the
//! rare-event method and `analyze` all ask here, so they tell one story.
//!
//! Slots are numbered as placement numbers copies. For `Lrc { k, l, r }`:
//! slots `0..k` are the data fragments, local group `g` holding data
//! `g·k/l .. (g+1)·k/l`; slot `k + g` is group `g`'s local parity; slots
//! `k + l .. k + l + r` are the global parities.

/// Whole copies or an erasure code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// Whole copies (each the full extent), of which `needed` must survive
    /// (1 for plain replication; k for a "k-of-n full copies" option).
    Copies { needed: u32 },
    /// Reed–Solomon RS(k, m): k data and m parity fragments of extent/k
    /// bytes each; any k of the k + m decode.
    Rs { k: u32, m: u32 },
    /// LRC(k, l, r): k data fragments in l local groups, each with one local
    /// parity, and r global parities; fragments of extent/k bytes.
    Lrc { k: u32, l: u32, r: u32 },
}

impl Code {
    /// Slots of the code (None for whole copies: as many as the option keeps).
    pub fn fragments(&self) -> Option<u32> {
        match *self {
            Code::Copies { .. } => None,
            Code::Rs { k, m } => Some(k + m),
            Code::Lrc { k, l, r } => Some(k + l + r),
        }
    }

    /// The number of pieces one slot is of its extent: a fragment holds
    /// extent/k bytes, a copy the whole extent.
    pub fn data_fragments(&self) -> u32 {
        match *self {
            Code::Copies { .. } => 1,
            Code::Rs { k, .. } | Code::Lrc { k, .. } => k,
        }
    }

    /// The live slots of `alive` whose loss alone would leave the extent
    /// undecodable (none if `alive` does not decode). Decodability only
    /// grows with the live set, so a slot once critical stays critical
    /// while fewer slots survive.
    pub fn critical(&self, alive: u32) -> u32 {
        let mut out = 0;
        let mut rest = alive;
        while rest != 0 {
            let bit = rest & rest.wrapping_neg();
            rest &= rest - 1;
            if !self.decodable(alive & !bit) {
                out |= bit;
            }
        }
        out
    }

    /// The slots a loss that leaves `alive` of `before` has just made
    /// critical: those a latent-error check reads ([`super::Latent`]).
    pub fn newly_critical(&self, before: u32, alive: u32) -> u32 {
        self.critical(alive) & !self.critical(before)
    }

    /// Whether the slots set in `alive` (bit s = slot s survives) decode the
    /// extent. Bits beyond the code's slots are ignored.
    #[inline]
    pub fn decodable(&self, alive: u32) -> bool {
        match *self {
            Code::Copies { needed } => alive.count_ones() >= needed,
            Code::Rs { k, m } => (alive & low_bits(k + m)).count_ones() >= k,
            Code::Lrc { k, l, r } => lrc_decodable(k, l, r, alive),
        }
    }

    /// Slots read to rebuild slot `slot` when the slots in `alive` survive
    /// (the read amplification of that rebuild, in slots): one copy for
    /// whole copies, k fragments for RS, and for LRC the k/l other members
    /// of the slot's local group when they all survive, else k fragments
    /// (a global parity is always rebuilt from k).
    pub fn repair_reads(&self, alive: u32, slot: u8) -> u32 {
        match *self {
            Code::Copies { .. } => 1,
            Code::Rs { k, .. } => k,
            Code::Lrc { k, l, .. } => match lrc_local_group(k, l, u32::from(slot)) {
                Some(g) => {
                    let others = lrc_group_mask(k, l, g) & !(1 << slot);
                    if alive & others == others { k / l } else { k }
                }
                None => k,
            },
        }
    }

    /// The classes of slots the code treats alike (decodability depends
    /// only on how many of each class survive), as masks; None for whole
    /// copies, which any copy group's slots are.
    pub fn classes(&self) -> Option<Vec<u32>> {
        match *self {
            Code::Copies { .. } => None,
            Code::Rs { k, m } => Some(vec![low_bits(k + m)]),
            Code::Lrc { k, l, r } => {
                let mut out: Vec<u32> = (0..l).map(|g| lrc_group_mask(k, l, g)).collect();
                out.push(low_bits(r) << (k + l));
                Some(out)
            }
        }
    }

    /// Whether the extent decodes now but one more lost slot among `alive`
    /// could leave it undecodable (a trace's "one failure from loss").
    pub fn at_edge(&self, alive: u32) -> bool {
        if !self.decodable(alive) {
            return false;
        }
        match *self {
            Code::Copies { needed } => alive.count_ones() == needed,
            _ => (0..32).any(|s| alive & (1 << s) != 0 && !self.decodable(alive & !(1 << s))),
        }
    }
}

/// The lowest `n` bits set.
fn low_bits(n: u32) -> u32 {
    if n >= 32 { u32::MAX } else { (1 << n) - 1 }
}

/// The local group of LRC slot `slot` (a data fragment or a local parity),
/// None for a global parity.
fn lrc_local_group(k: u32, l: u32, slot: u32) -> Option<u32> {
    if slot < k {
        Some(slot / (k / l))
    } else if slot < k + l {
        Some(slot - k)
    } else {
        None
    }
}

/// The slots of local group `g`: its data fragments and its local parity.
fn lrc_group_mask(k: u32, l: u32, g: u32) -> u32 {
    let size = k / l;
    (low_bits(size) << (g * size)) | (1 << (k + g))
}

/// Exact decodability of an LRC failure pattern (the "maximally
/// recoverable" rule of Huang et al., §2.2, which holds for generic
/// coefficients): each local group with failures repairs one of them from
/// its local parity if that survives, so a group with f failed slots (data
/// or its parity) leaves max(0, f − 1) data unknowns; the pattern decodes
/// iff those unknowns are at most the surviving global parities. (By Hall's
/// theorem on the bipartite graph of unknowns and parity equations, this is
/// when the generic rank is full; tests check it against ranks over a prime
/// field.)
fn lrc_decodable(k: u32, l: u32, r: u32, alive: u32) -> bool {
    let unknowns: u32 = (0..l)
        .map(|g| {
            let group = lrc_group_mask(k, l, g);
            (group & !alive).count_ones().saturating_sub(1)
        })
        .sum();
    let globals = (alive >> (k + l)) & low_bits(r);
    unknowns <= globals.count_ones()
}

#[cfg(test)]
mod tests;
