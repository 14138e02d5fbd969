//! The pending-event set: a binary heap ordered by (time, sequence number),
//! with O(1) cancellation through a slab of event payloads.
//!
//! The sequence number is the stable tie-break for simultaneous events: events
//! scheduled for the same instant fire in the order they were scheduled, so a
//! run never depends on heap internals.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::units::Micros;

/// A handle to a scheduled event, used to cancel it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventKey {
    slot: u32,
    seq: u64,
}

/// Pending events of one trial.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<(Micros, u64, u32)>>,
    /// Payloads by slot; `None` once fired or cancelled.
    slots: Vec<Option<(u64, E)>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at absolute time `at`.
    pub fn push(&mut self, at: Micros, event: E) -> EventKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some((seq, event));
                slot
            }
            None => {
                self.slots.push(Some((seq, event)));
                (self.slots.len() - 1) as u32
            }
        };
        self.heap.push(Reverse((at, seq, slot)));
        EventKey { slot, seq }
    }

    /// Cancels a pending event; returns false if it already fired or was cancelled.
    pub fn cancel(&mut self, key: EventKey) -> bool {
        match self.slots.get_mut(key.slot as usize) {
            Some(entry @ Some(_)) if entry.as_ref().is_some_and(|(s, _)| *s == key.seq) => {
                *entry = None;
                true
            }
            _ => false,
        }
    }

    /// Removes and returns the earliest live event.
    pub fn pop(&mut self) -> Option<(Micros, E)> {
        while let Some(Reverse((at, seq, slot))) = self.heap.pop() {
            let entry = &mut self.slots[slot as usize];
            if entry.as_ref().is_some_and(|(s, _)| *s == seq) {
                let (_, event) = entry.take().expect("checked above");
                self.free.push(slot);
                return Some((at, event));
            }
            // A cancelled slot stays reserved until its heap entry surfaces,
            // so a slot is never reused while the heap still points at it.
            debug_assert!(entry.is_none());
            self.free.push(slot);
        }
        None
    }

    /// Time of the earliest entry (possibly a cancelled one), without removing it.
    pub fn peek_time(&self) -> Option<Micros> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Empties the queue, keeping its allocations for the next trial.
    pub fn clear(&mut self) {
        self.heap.clear();
        self.slots.clear();
        self.free.clear();
        self.next_seq = 0;
    }
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
    fn cancelled_events_never_fire_and_slots_are_reused() {
        let mut q = EventQueue::default();
        let a = q.push(1, 'a');
        q.push(2, 'b');
        assert!(q.cancel(a));
        assert!(!q.cancel(a), "second cancel is a no-op");
        assert_eq!(q.pop(), Some((2, 'b')));
        assert_eq!(q.pop(), None);
        let c = q.push(4, 'c');
        assert!(c.slot <= 1, "slots are recycled");
        assert!(
            !q.cancel(a),
            "a stale key cannot cancel the slot's new event"
        );
        assert_eq!(q.pop(), Some((4, 'c')));
    }
}
