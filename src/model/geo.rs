//! Asynchronous geo-replication of one account as a fluid queue.
//!
//! Writes accumulate in W(t), a piecewise-linear curve (its slope is the
//! accepted write rate). A write becomes ready to ship `latency` after it was
//! accepted, so the ready curve is R(t) = W(t − latency); the link ships ready
//! bytes first in, first out, at most at its bandwidth, and only while
//! shipping is possible. S(t) is what the secondary holds.
//!
//! The Last Sync Time is the latest instant by which every accepted write is
//! on the secondary: LST = sup{τ : W(τ) ≤ S(t)}; the lag is t − LST (0 when
//! nothing is waiting). A failover now loses W(t) − S(t).
//!
//! Amounts are integers in a caller-chosen unit and times integer µs, so
//! the queue is updated at events only, with exact arithmetic: no per-write
//! steps and no rounding, except when a catch-up instant falls between two
//! microseconds.

use std::collections::VecDeque;

use crate::units::Micros;

/// Lag samples taken on a stretch where the lag changes (it is recorded
/// exactly where it is constant, the usual case).
const SAMPLES: i64 = 256;

/// One linear piece of W: W(t) = value + slope·(t − start) from `start`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    start: i64,
    value: u128,
    slope: u128,
}

#[derive(Clone, Debug)]
pub struct GeoQueue {
    latency: i64,
    /// Link bandwidth, in amount per µs.
    link: u128,
    /// W, oldest piece first; the last piece extends to the present.
    written: VecDeque<Segment>,
    now: i64,
    /// S(now).
    shipped: u128,
    shipping: bool,
}

impl GeoQueue {
    /// A queue at `now` in its steady state: writes at `slope` have flowed
    /// for ever and the link has kept up, so exactly the last `latency` of
    /// writes is waiting.
    pub fn steady(now: Micros, latency: Micros, link: u128, slope: u128) -> Self {
        let (now, latency) = (now as i64, latency as i64);
        let first = Segment {
            start: now - latency,
            value: 0,
            slope,
        };
        Self {
            latency,
            link,
            written: VecDeque::from([first]),
            now,
            shipped: 0,
            shipping: true,
        }
    }

    /// Moves the queue to `to`, calling `record(lag µs, duration µs)` for the
    /// lag over the elapsed time (with duration 0 for the exact ends of a
    /// stretch where it changes).
    pub fn advance(&mut self, to: Micros, record: &mut dyn FnMut(u64, u64)) {
        let to = to as i64;
        while self.now < to {
            let (end, s_end, slope) = self.piece(self.now, self.shipped, to);
            if self.in_step(self.now, slope) {
                // Shipping keeps pace with writes still flowing: lag = latency.
                record(self.latency as u64, (end - self.now) as u64);
            } else {
                self.record_piece(self.now, end, self.shipped, slope, record);
            }
            self.now = end;
            self.shipped = s_end;
        }
        self.prune();
    }

    /// Sets the accepted write rate from now on (amount per µs).
    pub fn set_write_slope(&mut self, slope: u128) {
        let last = *self.written.back().expect("W has a piece");
        if last.slope == slope {
            return;
        }
        let value = last.value + last.slope * (self.now - last.start) as u128;
        if last.start == self.now {
            self.written.pop_back();
        }
        self.written.push_back(Segment {
            start: self.now,
            value,
            slope,
        });
    }

    /// Whether the link can ship from now on (both ends and the link up).
    pub fn set_shipping(&mut self, on: bool) {
        self.shipping = on;
    }

    /// Amount accepted but not on the secondary: what a failover now loses.
    pub fn unshipped(&self) -> u128 {
        self.written_at(self.now).saturating_sub(self.shipped)
    }

    /// t − LST now, µs.
    pub fn lag(&self) -> u64 {
        self.lag_at(self.now, self.shipped)
    }

    /// The data-loss window of a failover now: from the Last Sync Time to the
    /// newest accepted write (0 when nothing would be lost).
    pub fn rpo(&self) -> u64 {
        if self.unshipped() == 0 {
            return 0;
        }
        let lst = self.now - self.lag() as i64;
        (self.newest_write() - lst).max(0) as u64
    }

    /// When, with shipping on and no further writes, the secondary will hold
    /// everything accepted so far; None if it never will (the link is off).
    pub fn drained_at(&self) -> Option<Micros> {
        let target = self.written_at(self.now);
        let mut probe = self.clone();
        probe.set_write_slope(0);
        let (mut t, mut s) = (probe.now, probe.shipped);
        while s < target {
            if !self.shipping {
                return None;
            }
            let (end, s_end, slope) = probe.piece(t, s, i64::MAX);
            if s_end >= target {
                let need = (target - s).div_ceil(slope.max(1));
                return Some((t + need as i64) as u64);
            }
            if end == i64::MAX {
                return None;
            }
            (t, s) = (end, s_end);
        }
        Some(t as u64)
    }

    /// W(t), for t within the kept history or up to the present.
    fn written_at(&self, t: i64) -> u128 {
        let i = self.written.partition_point(|s| s.start <= t).max(1) - 1;
        let seg = self.written[i];
        seg.value + seg.slope * (t - seg.start).max(0) as u128
    }

    /// The next stretch over which S is linear, from S(t) = s, ending no
    /// later than `limit`: (end, S(end), slope of S).
    fn piece(&self, t: i64, s: u128, limit: i64) -> (i64, u128, u128) {
        let back = t - self.latency;
        let i = self.written.partition_point(|seg| seg.start <= back).max(1) - 1;
        let seg = self.written[i];
        let r = seg.slope;
        let next = self
            .written
            .get(i + 1)
            .map_or(i64::MAX, |n| n.start + self.latency);
        let end = limit.min(next);
        let ready_at = |x: i64| seg.value + r * (x - self.latency - seg.start).max(0) as u128;
        if !self.shipping {
            return (end, s, 0);
        }
        let ready = ready_at(t);
        let step = |x: i64| s + self.link * (x - t) as u128;
        if s >= ready {
            if r <= self.link {
                return (end, ready_at(end), r);
            }
            return (end, step(end), self.link);
        }
        if self.link > r {
            let catch = t + (ready - s).div_ceil(self.link - r) as i64;
            if catch < end {
                return (catch, step(catch).min(ready_at(catch)), self.link);
            }
        }
        (end, step(end).min(ready_at(end)), self.link)
    }

    /// Whether S, growing at `slope` from (t, S(t)), is exactly the ready
    /// curve over writes that keep flowing: then the lag is the latency.
    fn in_step(&self, t: i64, slope: u128) -> bool {
        let back = t - self.latency;
        let i = self.written.partition_point(|seg| seg.start <= back).max(1) - 1;
        let seg = self.written[i];
        let ready = seg.value + seg.slope * (back - seg.start).max(0) as u128;
        seg.slope > 0 && slope == seg.slope && self.shipped == ready && seg.start <= back
    }

    /// Lag at time `x` when the secondary holds `s`: x − sup{τ : W(τ) ≤ s}.
    fn lag_at(&self, x: i64, s: u128) -> u64 {
        let n = self.written.len();
        let end_value = |i: usize| {
            let seg = self.written[i];
            let end = self.written.get(i + 1).map_or(x, |next| next.start.min(x));
            seg.value + seg.slope * (end - seg.start).max(0) as u128
        };
        // The first piece whose end exceeds s (W is non-decreasing).
        let (mut i, mut hi) = (0, n);
        while i < hi {
            let mid = (i + hi) / 2;
            if end_value(mid) <= s {
                i = mid + 1;
            } else {
                hi = mid;
            }
        }
        if i == n {
            return 0;
        }
        let seg = self.written[i];
        let within = (s.saturating_sub(seg.value) / seg.slope.max(1)) as i64;
        (x - (seg.start + within)).max(0) as u64
    }

    /// The last instant W grew (the present if it still grows).
    fn newest_write(&self) -> i64 {
        let mut end = self.now;
        for seg in self.written.iter().rev() {
            if seg.slope > 0 {
                return end;
            }
            end = seg.start;
        }
        end
    }

    /// Records the lag over [p, q], where S starts at `s` and grows at `slope`.
    fn record_piece(&self, p: i64, q: i64, s: u128, slope: u128, record: &mut dyn FnMut(u64, u64)) {
        let d = q - p;
        if d <= 0 {
            return;
        }
        let at = |x: i64| self.lag_at(x, s + slope * (x - p) as u128);
        let (a, m, b) = (at(p), at(p + d / 2), at(q));
        if a == m && m == b {
            record(a, d as u64);
            return;
        }
        // The ends, at no weight: the extremes of a linear stretch.
        record(a, 0);
        record(b, 0);
        let n = SAMPLES.min(d);
        for i in 0..n {
            let (lo, hi) = (p + d * i / n, p + d * (i + 1) / n);
            record(at((lo + hi) / 2), (hi - lo) as u64);
        }
    }

    /// Drops pieces of W older than both the ready point and the LST.
    fn prune(&mut self) {
        let lst = self.now - self.lag() as i64;
        let keep = lst.min(self.now - self.latency);
        while self.written.len() > 1 && self.written[1].start <= keep {
            self.written.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    /// Collects (lag, duration) pairs, merging equal neighbours.
    fn run(q: &mut GeoQueue, to: i64) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        q.advance(to as u64, &mut |lag, d| match out.last_mut() {
            Some((l, dd)) if *l == lag => *dd += d,
            _ => out.push((lag, d)),
        });
        out
    }

    #[test]
    fn steady_state_lag_is_the_latency_and_loss_is_rate_times_latency() {
        // 1 unit/µs written, 10 units/µs link, 30 s latency.
        let mut q = GeoQueue::steady(0, 30 * S as u64, 10, 1);
        let lags = run(&mut q, 100 * S);
        assert_eq!(lags, vec![(30 * S as u64, 100 * S as u64)]);
        assert_eq!(q.unshipped(), 30 * S as u128);
        assert_eq!(q.rpo(), 30 * S as u64);
    }

    #[test]
    fn lag_grows_while_the_link_is_down_and_drains_after() {
        let mut q = GeoQueue::steady(0, S as u64, 4, 1);
        run(&mut q, 10 * S);
        q.set_shipping(false);
        run(&mut q, 70 * S);
        // Nothing shipped for 60 s: lag = 1 s + 60 s, backlog 61 s of writes.
        assert_eq!(q.lag(), 61 * S as u64);
        assert_eq!(q.unshipped(), 61 * S as u128);
        q.set_shipping(true);
        // Catch-up at 4 − 1 = 3 units/µs net: 60 s of excess takes 20 s.
        let lags = run(&mut q, 100 * S);
        assert_eq!(q.lag(), S as u64);
        assert_eq!(q.unshipped(), S as u128);
        let total: u64 = lags.iter().map(|&(_, d)| d).sum();
        assert_eq!(total, 30 * S as u64);
        assert_eq!(lags.last(), Some(&(S as u64, 10 * S as u64)));
        // While draining, S moves 4× as fast as W's clock: lag falls by 3/4 s per s.
        assert!(
            lags.iter()
                .all(|&(l, _)| l <= 61 * S as u64 && l >= S as u64)
        );
    }

    #[test]
    fn writes_stop_then_the_backlog_empties() {
        let mut q = GeoQueue::steady(0, 5 * S as u64, 10, 2);
        run(&mut q, 10 * S);
        q.set_write_slope(0);
        assert_eq!(q.rpo(), 5 * S as u64);
        assert_eq!(q.drained_at(), Some(15 * S as u64));
        run(&mut q, 20 * S);
        assert_eq!(q.unshipped(), 0);
        assert_eq!(q.lag(), 0);
        assert_eq!(q.rpo(), 0);
    }

    #[test]
    fn a_frozen_primary_keeps_its_loss_window() {
        let mut q = GeoQueue::steady(0, 30 * S as u64, 100, 3);
        run(&mut q, 50 * S);
        q.set_write_slope(0);
        q.set_shipping(false);
        run(&mut q, 3600 * S);
        assert_eq!(q.unshipped(), 90 * S as u128);
        assert_eq!(q.rpo(), 30 * S as u64);
        assert_eq!(q.lag(), (3600 - 20) * S as u64);
    }

    #[test]
    fn a_link_slower_than_the_writes_falls_behind_for_ever() {
        let mut q = GeoQueue::steady(0, 0, 1, 2);
        run(&mut q, 10 * S);
        // Half the writes ship: the newest shipped write is from t/2.
        assert_eq!(q.lag(), 5 * S as u64);
        assert_eq!(q.drained_at(), Some(20 * S as u64));
    }
}
