//! [`ReorderRing`]: puts one RTP stream's packets back in sequence order for the recorder.
//!
//! Forwarding sends packets on as they come; a recording must hand the depacketizer whole
//! frames in order. The ring holds up to `capacity` packets by sequence number and
//! releases them in order as soon as the next one is there. A packet still missing when a
//! later one has waited `max_wait` (or when the stream runs `capacity` packets ahead) is
//! declared lost: the release goes on after it with a [`Released::Lost`] marker, so the
//! muxer can drop the broken frame and wait for a keyframe. Late packets (after their
//! place was released or declared lost) and duplicates are dropped and counted.
//!
//! ```text
//!  push(seq 7, 9, 8) ──▶ 7 │ 8 9            in order
//!  push(seq 11) … max_wait … ──▶ Lost{10, 1} │ 11
//! ```
//!
//! Sequence numbers are 16-bit and wrap; the ring extends them to 64 bits (relative to the
//! highest seen), so order survives the wrap. The first packet pushed starts the sequence:
//! an earlier one arriving after it counts as late.

use std::time::{Duration, Instant};

use crate::forward::seq::seq_diff;

/// What the ring releases, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released<T> {
    /// The next packet, with its extended sequence number.
    Packet(u64, T),
    /// `count` packets from extended sequence number `first` on never arrived in time.
    Lost {
        /// The first missing extended sequence number.
        first: u64,
        /// How many are missing.
        count: u64,
    },
}

/// Counters of what the ring dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReorderStats {
    /// Packets that came after their place was released or declared lost.
    pub late: u64,
    /// Packets whose sequence number was already held.
    pub duplicates: u64,
    /// Packets declared lost.
    pub lost: u64,
}

/// A held packet and when it arrived.
struct Slot<T> {
    seq: u64,
    arrived: Instant,
    item: T,
}

/// The reorder buffer of one RTP stream (see the module docs).
pub struct ReorderRing<T> {
    slots: Vec<Option<Slot<T>>>,
    max_wait: Duration,
    /// Extended sequence number to release next (`None` before the first packet).
    next: Option<u64>,
    /// Highest extended sequence number seen.
    highest: u64,
    /// Packets held.
    held: usize,
    stats: ReorderStats,
}

impl<T> ReorderRing<T> {
    /// A ring holding up to `capacity` packets (at least 2), releasing past a gap once a
    /// later packet has waited `max_wait`.
    pub fn new(capacity: usize, max_wait: Duration) -> ReorderRing<T> {
        let capacity = capacity.max(2);
        ReorderRing {
            slots: (0..capacity).map(|_| None).collect(),
            max_wait,
            next: None,
            highest: 0,
            held: 0,
            stats: ReorderStats::default(),
        }
    }

    /// What was dropped so far.
    pub fn stats(&self) -> ReorderStats {
        self.stats
    }

    /// Packets held, waiting for an earlier one.
    pub fn held(&self) -> usize {
        self.held
    }

    fn capacity(&self) -> u64 {
        self.slots.len() as u64
    }

    fn index(&self, seq: u64) -> usize {
        usize::try_from(seq % self.capacity()).unwrap_or(0)
    }

    /// Extends a 16-bit sequence number relative to the highest seen.
    fn extend(&self, seq: u16) -> u64 {
        if self.next.is_none() {
            // Far from zero, so that packets a little older than the first still extend.
            return (1 << 32) + u64::from(seq);
        }
        let diff = seq_diff(seq, u16::try_from(self.highest & 0xffff).unwrap_or(0));
        self.highest.saturating_add_signed(i64::from(diff))
    }

    /// Takes in packet `seq` that arrived at `now`; appends to `out` what can be released.
    pub fn push(&mut self, seq: u16, now: Instant, item: T, out: &mut Vec<Released<T>>) {
        let ext = self.extend(seq);
        let next = *self.next.get_or_insert(ext);
        if ext < next {
            self.stats.late += 1;
            return;
        }
        // Too far ahead to hold: declare lost what falls out of the window.
        if ext - next >= self.capacity() {
            self.skip_to(ext + 1 - self.capacity(), out);
        }
        let index = self.index(ext);
        if self.slots[index].as_ref().is_some_and(|slot| slot.seq == ext) {
            self.stats.duplicates += 1;
            return;
        }
        self.slots[index] = Some(Slot { seq: ext, arrived: now, item });
        self.held += 1;
        self.highest = self.highest.max(ext);
        self.release_ready(out);
        self.expire(now, out);
    }

    /// Releases past gaps a later packet has waited `max_wait` for (call it now and then,
    /// e.g. every 20 ms, so that a stream that goes quiet after a loss is not stuck).
    pub fn expire(&mut self, now: Instant, out: &mut Vec<Released<T>>) {
        while let Some(next) = self.next {
            if self.held == 0 {
                return;
            }
            let Some((seq, arrived)) = self.first_held(next) else { return };
            if now.saturating_duration_since(arrived) < self.max_wait {
                return;
            }
            self.skip_to(seq, out);
            self.release_ready(out);
        }
    }

    /// Releases everything held, in order, with markers for the gaps (the stream ended).
    pub fn flush(&mut self, out: &mut Vec<Released<T>>) {
        while let Some(next) = self.next {
            let Some((seq, _)) = self.first_held(next) else { return };
            self.skip_to(seq, out);
            self.release_ready(out);
        }
    }

    /// The first held packet from `from` on: its sequence number and arrival.
    fn first_held(&self, from: u64) -> Option<(u64, Instant)> {
        (from..from + self.capacity()).find_map(|seq| {
            self.slots[self.index(seq)].as_ref().filter(|slot| slot.seq == seq).map(|slot| (seq, slot.arrived))
        })
    }

    /// Declares `next..to` lost (releasing any packet held in that range first, in order).
    fn skip_to(&mut self, to: u64, out: &mut Vec<Released<T>>) {
        let Some(mut next) = self.next else { return };
        let mut missing_from = None;
        while next < to {
            let index = self.index(next);
            match self.slots[index].take_if(|slot| slot.seq == next) {
                Some(slot) => {
                    self.close_gap(&mut missing_from, next, out);
                    self.held -= 1;
                    out.push(Released::Packet(slot.seq, slot.item));
                }
                None => {
                    missing_from.get_or_insert(next);
                }
            }
            next += 1;
        }
        self.close_gap(&mut missing_from, next, out);
        self.next = Some(next);
    }

    fn close_gap(&mut self, missing_from: &mut Option<u64>, until: u64, out: &mut Vec<Released<T>>) {
        if let Some(first) = missing_from.take() {
            let count = until - first;
            self.stats.lost += count;
            out.push(Released::Lost { first, count });
        }
    }

    /// Releases the packets that follow `next` without a gap.
    fn release_ready(&mut self, out: &mut Vec<Released<T>>) {
        let Some(mut next) = self.next else { return };
        loop {
            let index = self.index(next);
            let Some(slot) = self.slots[index].take_if(|slot| slot.seq == next) else { break };
            self.held -= 1;
            out.push(Released::Packet(slot.seq, slot.item));
            next += 1;
        }
        self.next = Some(next);
    }
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_millis(100);

    fn seqs<T>(out: &[Released<T>]) -> Vec<i64> {
        // packets as their 16-bit number, losses as -count
        out.iter()
            .map(|r| match r {
                Released::Packet(seq, _) => i64::try_from(seq & 0xffff).unwrap(),
                Released::Lost { count, .. } => -i64::try_from(*count).unwrap(),
            })
            .collect()
    }

    #[test]
    fn out_of_order_packets_come_out_in_order() {
        let mut ring = ReorderRing::new(16, WAIT);
        let now = Instant::now();
        let mut out = Vec::new();
        for seq in [7u16, 9, 8, 10, 12, 11] {
            ring.push(seq, now, (), &mut out);
        }
        assert_eq!(seqs(&out), [7, 8, 9, 10, 11, 12]);
        assert_eq!(ring.held(), 0);
        assert_eq!(ring.stats(), ReorderStats::default());
    }

    #[test]
    fn a_missing_packet_is_declared_lost_once_a_later_one_waited() {
        let mut ring = ReorderRing::new(16, WAIT);
        let t0 = Instant::now();
        let mut out = Vec::new();
        ring.push(1, t0, (), &mut out);
        ring.push(3, t0, (), &mut out);
        ring.push(4, t0 + Duration::from_millis(50), (), &mut out);
        assert_eq!(seqs(&out), [1], "2 may still come");
        ring.expire(t0 + WAIT, &mut out);
        assert_eq!(seqs(&out), [1, -1, 3, 4]);
        ring.push(2, t0 + WAIT, (), &mut out);
        assert_eq!(ring.stats(), ReorderStats { late: 1, duplicates: 0, lost: 1 });
    }

    #[test]
    fn running_a_window_ahead_releases_what_falls_out() {
        let mut ring = ReorderRing::new(4, WAIT);
        let now = Instant::now();
        let mut out = Vec::new();
        for seq in [0u16, 2, 3, 4, 5] {
            ring.push(seq, now, (), &mut out);
        }
        // 1 never came; 5 needs the slot of 1: the gap is given up.
        assert_eq!(seqs(&out), [0, -1, 2, 3, 4, 5]);
    }

    #[test]
    fn duplicates_are_dropped_and_order_survives_the_wrap() {
        let mut ring = ReorderRing::new(8, WAIT);
        let now = Instant::now();
        let mut out = Vec::new();
        for seq in [65_534u16, 0, 0, 65_535, 1, 65_535] {
            ring.push(seq, now, (), &mut out);
        }
        assert_eq!(seqs(&out), [65_534, 65_535, 0, 1]);
        // the second 0 came while the first was held; the second 65,535 after it was released
        assert_eq!(ring.stats(), ReorderStats { late: 1, duplicates: 1, lost: 0 });
    }

    #[test]
    fn flush_releases_everything_held_with_its_gaps() {
        let mut ring = ReorderRing::new(16, WAIT);
        let now = Instant::now();
        let mut out = Vec::new();
        for seq in [10u16, 13, 12, 16] {
            ring.push(seq, now, (), &mut out);
        }
        ring.flush(&mut out);
        assert_eq!(seqs(&out), [10, -1, 12, 13, -2, 16]);
        assert_eq!(ring.held(), 0);
    }
}
