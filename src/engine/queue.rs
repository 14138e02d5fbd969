//! The pending-event set: a 4-ary min-heap ordered by (time, sequence number),
//! payloads stored inline, with lazy cancellation.
//!
//! The sequence number is the stable tie-break for simultaneous events: events
//! scheduled for the same instant fire in the order they were scheduled, so a
//! run never depends on heap internals.
//!
//! Why this shape (measured on the hold benchmark, see `benches/README.md`):
//! a 4-ary heap is half as deep as a binary one and its four children share
//! one or two cache lines; payloads inline save the slab lookup per pop; a pop
//! leaves the root to the next push, so the usual handle-one-schedule-one
//! step costs one sift; sifting compares times alone and goes to the full
//! order only on a tie; and cancellation, rare in models, costs the hot path
//! one `is_empty` check. A sift through the heap is a chain of dependent
//! loads, so what counts is the latency of each level, not instructions.

use std::collections::HashSet;
use std::ptr;

use crate::cache::prefetch;
use crate::units::Micros;

/// A handle to a scheduled event, used to cancel it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventKey {
    at: Micros,
    seq: u64,
}

impl EventKey {
    /// The full (time, sequence) order as one integer, for `last` and the
    /// rare paths; keys are unique.
    #[inline(always)]
    fn order(self) -> u128 {
        (u128::from(self.at) << 64) | u128::from(self.seq)
    }
}

struct Entry<E> {
    key: EventKey,
    event: E,
}

/// Bytes one pending event of type `E` takes in the heap (without the
/// slack of the heap's growth), for the memory a run plans for.
pub const fn entry_bytes<E>() -> usize {
    std::mem::size_of::<Entry<E>>()
}

/// Heap arity. 4 beat 2 and 8 on the hold benchmark.
const D: usize = 4;

/// Pending events of one trial.
pub struct EventQueue<E> {
    /// Implicit 4-ary min-heap on [`EventKey::order`]: the children of `i`
    /// are `D*i+1 ..= D*i+D`.
    heap: Vec<Entry<E>>,
    /// The last pop moved the root out and left its slot to the next push,
    /// which fills it with one sift down instead of a removal plus an
    /// insertion: a model usually schedules an event while handling one.
    /// While set, `heap[0]` is moved-out memory: never read or drop it.
    vacant: bool,
    /// Sequence numbers of cancelled events still in the heap; they are
    /// dropped when they surface.
    cancelled: HashSet<u64>,
    next_seq: u64,
    /// Sequence numbers below this were issued before the last `clear`.
    first_seq: u64,
    /// Order of the last entry taken off the heap. Pops are monotone (pushes
    /// never go before it), so a key at or below it has fired or surfaced.
    last: u128,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: Vec::new(),
            vacant: false,
            cancelled: HashSet::new(),
            // From 1, so that every key is above the initial `last` of 0.
            next_seq: 1,
            first_seq: 1,
            last: 0,
        }
    }
}

impl<E> Drop for EventQueue<E> {
    fn drop(&mut self) {
        self.settle();
    }
}

impl<E> std::fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("len", &self.len())
            .field("next_time", &self.peek_time())
            .field("cancelled", &self.cancelled.len())
            .finish()
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at absolute time `at`, or at the time of the last
    /// popped event if `at` is earlier: the queue never goes back in time.
    #[inline(always)]
    pub fn push(&mut self, at: Micros, event: E) -> EventKey {
        let key = EventKey {
            at: at.max((self.last >> 64) as Micros),
            seq: self.next_seq,
        };
        self.next_seq += 1;
        let entry = Entry { key, event };
        if self.vacant {
            self.vacant = false;
            // SAFETY: the root slot is vacant: fill it by sifting down.
            unsafe { self.sift_down(0, entry) };
        } else {
            self.heap.push(entry);
            self.sift_up(self.heap.len() - 1);
        }
        key
    }

    /// Cancels a pending event; returns false if it already fired or was
    /// cancelled, or if the key is from before the last `clear`.
    pub fn cancel(&mut self, key: EventKey) -> bool {
        let issued = (self.first_seq..self.next_seq).contains(&key.seq);
        issued && key.order() > self.last && self.cancelled.insert(key.seq)
    }

    /// Removes and returns the earliest live event.
    #[inline]
    pub fn pop(&mut self) -> Option<(Micros, E)> {
        self.pop_until(Micros::MAX)
    }

    /// Removes and returns the earliest live event if it is due at or before
    /// `horizon`. On `None` the queue is empty or its earliest entry (possibly
    /// a cancelled one) lies beyond `horizon`.
    #[inline(always)]
    pub fn pop_until(&mut self, horizon: Micros) -> Option<(Micros, E)> {
        loop {
            self.settle();
            if self.heap.first()?.key.at > horizon {
                return None;
            }
            // SAFETY: the heap is non-empty and settled; the root's slot is
            // marked vacant, so it is neither read nor dropped again.
            let Entry { key, event } = unsafe { ptr::read(self.heap.as_ptr()) };
            self.vacant = true;
            self.last = key.order();
            // One length check while nothing is cancelled: the common case.
            if self.cancelled.is_empty() || !self.cancelled.remove(&key.seq) {
                return Some((key.at, event));
            }
        }
    }

    /// Time of the earliest entry (possibly a cancelled one), without removing it.
    pub fn peek_time(&self) -> Option<Micros> {
        self.first().map(|e| e.key.at)
    }

    /// The earliest entry's event (possibly a cancelled one), without
    /// removing it.
    #[inline(always)]
    pub fn peek(&self) -> Option<&E> {
        self.first().map(|e| &e.event)
    }

    /// The earliest entry: the root, or while the root is vacant the least
    /// of its children.
    #[inline(always)]
    fn first(&self) -> Option<&Entry<E>> {
        if self.vacant && self.heap.len() > D {
            // SAFETY: the root's four children, 1..=4, are initialised.
            let offset = unsafe { min_of_four(self.heap.as_ptr().add(1)) };
            return Some(&self.heap[1 + offset / size_of::<Entry<E>>()]);
        }
        let candidates = if self.vacant {
            self.heap.get(1..self.heap.len().min(D + 1))?
        } else {
            self.heap.get(..1)?
        };
        candidates.iter().min_by_key(|e| e.key.order())
    }

    /// True when no entry, live or cancelled, is left.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of entries, including cancelled ones not yet surfaced.
    pub fn len(&self) -> usize {
        self.heap.len() - usize::from(self.vacant)
    }

    /// Empties the queue, keeping its allocations for the next trial. Sequence
    /// numbers keep counting, so keys from earlier trials stay harmless.
    pub fn clear(&mut self) {
        self.settle();
        self.heap.clear();
        self.cancelled.clear();
        self.first_seq = self.next_seq;
        self.last = 0;
    }

    /// Fills a vacant root with the last entry, restoring a plain heap.
    #[inline(always)]
    fn settle(&mut self) {
        if self.vacant {
            self.vacant = false;
            let last = self.heap.pop().expect("a vacant heap has a root slot");
            if !self.heap.is_empty() {
                // SAFETY: the root slot is vacant and the heap non-empty.
                unsafe { self.sift_down(0, last) };
            } else {
                // `last` was the vacant root itself: its payload is gone.
                std::mem::forget(last);
            }
        }
    }

    /// Moves the newest entry, at `i`, up to its place. Hole technique:
    /// parents move down one copy each and the entry is written once.
    #[inline(always)]
    fn sift_up(&mut self, mut i: usize) {
        let base = self.heap.as_mut_ptr();
        // SAFETY: `i < len`, and every index used is an ancestor of `i`. The
        // entry at `i` is read out and written back exactly once; nothing in
        // between can panic (keys are plain integers).
        unsafe {
            let moving = ptr::read(base.add(i));
            debug_assert_eq!(moving.key.seq + 1, self.next_seq);
            while i > 0 {
                let parent = (i - 1) / D;
                // The newest entry has the highest sequence number, so a
                // parent at the same time comes first: times alone decide.
                if (*base.add(parent)).key.at <= moving.key.at {
                    break;
                }
                ptr::copy_nonoverlapping(base.add(parent), base.add(i), 1);
                i = parent;
            }
            ptr::write(base.add(i), moving);
        }
    }

    /// Writes `entry` into the vacant slot `hole`, sifting it down: the least
    /// child moves up into the hole while it is below `entry`.
    ///
    /// # Safety
    /// `hole` must be an index of the heap whose content was moved out.
    #[inline(always)]
    unsafe fn sift_down(&mut self, hole: usize, entry: Entry<E>) {
        // SAFETY: passed on from the caller.
        unsafe {
            if self.heap.len() > PREFETCH_FROM {
                self.sift_down_with::<true>(hole, entry)
            } else {
                self.sift_down_with::<false>(hole, entry)
            }
        }
    }

    /// [`Self::sift_down`], prefetching the grandchildren if `PREFETCH`: a
    /// level ahead, so that a large heap's cache misses overlap.
    ///
    /// # Safety
    /// As for [`Self::sift_down`].
    #[inline(always)]
    unsafe fn sift_down_with<const PREFETCH: bool>(&mut self, hole: usize, entry: Entry<E>) {
        // Byte offsets rather than indices: the first child of the entry at
        // offset `h` is at `D * h + size`, one `lea` on the chain from one
        // level to the next.
        let size = size_of::<Entry<E>>();
        let len = self.heap.len() * size;
        let base = self.heap.as_mut_ptr().cast::<u8>();
        let at = |off: usize| base.wrapping_add(off).cast::<Entry<E>>();
        let mut hole = hole * size;
        // SAFETY: all offsets are below `len`; each child moved up is copied
        // into the current hole, and `entry` fills the final one; nothing in
        // between can panic.
        unsafe {
            loop {
                let first = D * hole + size;
                if PREFETCH {
                    let from = base.wrapping_add(D * first + size);
                    // Lines that hold the D*D grandchildren, wherever they start.
                    for line in 0..(D * D * size).div_ceil(64) + 1 {
                        prefetch(from.wrapping_add(64 * line));
                    }
                }
                let child = if first + D * size <= len {
                    first + min_of_four(at(first))
                } else if first < len {
                    let mut best = first;
                    let mut c = first + size;
                    while c < len {
                        if (*at(c)).key.order() < (*at(best)).key.order() {
                            best = c;
                        }
                        c += size;
                    }
                    best
                } else {
                    break;
                };
                let c = (*at(child)).key;
                // Times decide unless they tie, which is rare: a predictable
                // branch keeps the sequence compare off the common path.
                if c.at != entry.key.at {
                    if c.at > entry.key.at {
                        break;
                    }
                } else if c.seq > entry.key.seq {
                    break;
                }
                ptr::copy_nonoverlapping(at(child), at(hole), 1);
                hole = child;
            }
            ptr::write(at(hole), entry);
        }
    }
}

/// Heap size (about 200 kB with 8-byte payloads) from which sifting down
/// prefetches.
/// On the hold benchmark it gained 7% at 30k entries and 11-16% at 100k, and
/// made no difference at 10k.
const PREFETCH_FROM: usize = 8192;

/// Byte offset from `p` of the least of four consecutive entries. Compares
/// times only, as a tournament so that the two first comparisons are
/// independent; a tie that could matter takes the exact path.
///
/// # Safety
/// `p .. p+4` must be initialised entries.
#[inline(always)]
unsafe fn min_of_four<E>(p: *const Entry<E>) -> usize {
    let size = size_of::<Entry<E>>();
    // SAFETY: guaranteed by the caller.
    let at = |i: usize| unsafe { (*p.add(i)).key.at };
    let (a, b, c, d) = (at(0), at(1), at(2), at(3));
    if a == b || c == d {
        // SAFETY: guaranteed by the caller.
        return unsafe { min_of_four_exact(p) } * size;
    }
    let (lo, lo_off) = if b < a { (b, size) } else { (a, 0) };
    let (hi, hi_off) = if d < c { (d, 3 * size) } else { (c, 2 * size) };
    if lo == hi {
        // SAFETY: guaranteed by the caller.
        return unsafe { min_of_four_exact(p) } * size;
    }
    if hi < lo { hi_off } else { lo_off }
}

/// Index of the least of four consecutive entries on the full (time,
/// sequence) order.
///
/// # Safety
/// `p .. p+4` must be initialised entries.
#[cold]
#[inline(never)]
unsafe fn min_of_four_exact<E>(p: *const Entry<E>) -> usize {
    // SAFETY: guaranteed by the caller.
    let o = |i: usize| unsafe { (*p.add(i)).key.order() };
    (0..4).min_by_key(|&i| o(i)).expect("four entries")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_scheduling_order() {
        let mut q = EventQueue::default();
        q.push(5, "late");
        q.push(1, "first");
        q.push(3, "tie-a");
        q.push(3, "tie-b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![(1, "first"), (3, "tie-a"), (3, "tie-b"), (5, "late")]
        );
    }

    #[test]
    fn cancelled_events_never_fire_and_stale_keys_are_harmless() {
        let mut q = EventQueue::default();
        let a = q.push(1, 'a');
        let b = q.push(2, 'b');
        assert!(q.cancel(a));
        assert!(!q.cancel(a), "second cancel is a no-op");
        assert_eq!(q.pop(), Some((2, 'b')));
        assert!(!q.cancel(b), "a fired event cannot be cancelled");
        assert!(!q.cancel(a), "nor can a surfaced cancelled one");
        assert_eq!(q.pop(), None);
        q.clear();
        let c = q.push(1, 'c');
        assert!(!q.cancel(a), "keys from before a clear are stale");
        assert!(q.cancel(c));
        assert_eq!(q.pop(), None);
    }

    /// Large enough for the prefetching sift, with ties.
    #[test]
    fn a_large_heap_pops_in_order() {
        let mut q = EventQueue::default();
        let mut x = 1u64;
        let mut random = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 50
        };
        let mut pushed = 0;
        while pushed < 3 * PREFETCH_FROM {
            q.push(random(), pushed);
            pushed += 1;
        }
        // Payloads number the pushes, so (time, payload) must increase; and
        // the peek before each pop (a vacant root after a pop alone, a full
        // one after a push) names the event popped.
        let mut previous = None;
        let mut popped = 0;
        loop {
            let next = (q.peek_time(), q.peek().copied());
            let Some((at, i)) = q.pop() else {
                assert_eq!(next, (None, None));
                break;
            };
            assert_eq!(next, (Some(at), Some(i)), "peek before pop {popped}");
            assert!(previous < Some((at, i)), "{at} {i} after {previous:?}");
            previous = Some((at, i));
            popped += 1;
            // A pop followed by a push takes the fused path.
            if popped % 3 == 0 {
                q.push(at + random() % 4, pushed);
                pushed += 1;
            }
        }
        assert_eq!(popped, pushed);
    }

    #[test]
    fn pop_until_stops_at_the_horizon() {
        let mut q = EventQueue::default();
        let a = q.push(3, 'a');
        q.push(7, 'b');
        assert!(q.cancel(a));
        assert_eq!(q.pop_until(5), None, "only a cancelled entry is due");
        assert_eq!(q.peek_time(), Some(7));
        assert_eq!(q.pop_until(6), None);
        assert_eq!(q.pop_until(7), Some((7, 'b')));
        assert!(q.is_empty());
    }
}

/// The queue against a plain list scanned for its least (time, sequence),
/// under random pushes (with many ties), pops, horizon pops, cancels of live,
/// fired and stale keys, and clears.
#[cfg(test)]
mod reference {
    use super::*;
    use proptest::prelude::*;
    use std::rc::Rc;

    #[derive(Clone, Debug)]
    enum Op {
        /// Push at this offset from the last popped time; offsets past 8 are
        /// taken back by 16 to ask for a time in the past.
        Push(u64),
        Pop,
        PopUntil(u64),
        /// Cancel the n-th key ever issued (modulo their number).
        Cancel(usize),
        Peek,
        Clear,
    }

    /// Pushes outweigh pops and clears are rare, so heaps grow a few levels deep.
    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            150 => (0u64..12).prop_map(Op::Push),
            75 => Just(Op::Pop),
            15 => (0u64..8).prop_map(Op::PopUntil),
            40 => any::<usize>().prop_map(Op::Cancel),
            15 => Just(Op::Peek),
            1 => Just(Op::Clear),
        ]
    }

    /// Entries of the reference: (time, scheduling order, id, cancelled).
    #[derive(Default)]
    struct Model {
        entries: Vec<(u64, u64, usize, bool)>,
        now: u64,
    }

    impl Model {
        fn least(&self) -> Option<usize> {
            (0..self.entries.len()).min_by_key(|&i| (self.entries[i].0, self.entries[i].1))
        }

        fn pop_until(&mut self, horizon: u64) -> Option<(u64, usize)> {
            loop {
                let i = self.least()?;
                if self.entries[i].0 > horizon {
                    return None;
                }
                let (at, _, id, cancelled) = self.entries.remove(i);
                self.now = at;
                if !cancelled {
                    return Some((at, id));
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn matches_a_sorted_list(ops in prop::collection::vec(op(), 0..400)) {
            let token = Rc::new(());
            let mut q = EventQueue::default();
            let mut model = Model::default();
            // Every key issued, with its id; ids are also reference orders.
            let mut keys: Vec<(EventKey, usize)> = vec![];
            let mut live_ids = std::collections::HashSet::new();
            let mut order = 0;
            for op in ops {
                match op {
                    Op::Push(offset) => {
                        let at = if offset > 8 {
                            model.now.saturating_sub(16)
                        } else {
                            model.now + offset
                        };
                        let id = keys.len();
                        keys.push((q.push(at, (id, Rc::clone(&token))), id));
                        model.entries.push((at.max(model.now), order, id, false));
                        order += 1;
                        live_ids.insert(id);
                    }
                    Op::Pop | Op::PopUntil(_) => {
                        let horizon = match op {
                            Op::PopUntil(h) => model.now + h,
                            _ => u64::MAX,
                        };
                        let got = q.pop_until(horizon).map(|(at, (id, _))| (at, id));
                        prop_assert_eq!(got, model.pop_until(horizon));
                    }
                    Op::Cancel(n) if !keys.is_empty() => {
                        let (key, id) = keys[n % keys.len()];
                        let entry = model.entries.iter_mut().find(|e| e.2 == id && live_ids.contains(&id));
                        let expected = match entry {
                            Some(e) if !e.3 => {
                                e.3 = true;
                                true
                            }
                            _ => false,
                        };
                        prop_assert_eq!(q.cancel(key), expected);
                    }
                    Op::Cancel(_) => {}
                    Op::Peek => {
                        let least = model.least().map(|i| model.entries[i].0);
                        prop_assert_eq!(q.peek_time(), least);
                    }
                    Op::Clear => {
                        q.clear();
                        model = Model::default();
                        live_ids.clear();
                    }
                }
                prop_assert_eq!(q.len(), model.entries.len());
                prop_assert_eq!(q.is_empty(), model.entries.is_empty());
            }
            drop(q);
            // Each payload was dropped exactly once: none leaked, none twice.
            prop_assert_eq!(Rc::strong_count(&token), 1);
        }
    }
}
