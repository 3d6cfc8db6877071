//! Property tests of [`ReorderRing`]: any arrival order within the window comes out in
//! sequence order; with losses, the output is still in order, accounts for every sequence
//! number exactly once (a packet or part of a loss), and never repeats a packet.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::{Released, ReorderRing};

const CAPACITY: usize = 64;

/// The positions `0..n` shuffled so that none moves more than `reach` places: each is
/// sorted by its position plus a random delay below `reach`. Position 0 stays first (the
/// first packet pushed starts the ring's sequence).
fn bounded_shuffle(delays: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..delays.len()).collect();
    order.sort_by_key(|&i| if i == 0 { (0, 0) } else { (i + delays[i], i) });
    order
}

/// The extended sequence numbers the output covers, in order: packets and lost ranges.
fn covered(out: &[Released<usize>]) -> Vec<u64> {
    out.iter()
        .flat_map(|r| match r {
            Released::Packet(seq, _) => *seq..*seq + 1,
            Released::Lost { first, count } => *first..*first + *count,
        })
        .collect()
}

proptest! {
    #[test]
    fn reordering_within_the_window_is_undone(
        start in any::<u16>(),
        delays in prop::collection::vec(0..CAPACITY / 2, 1..400),
    ) {
        let mut ring = ReorderRing::new(CAPACITY, Duration::from_millis(100));
        let now = Instant::now();
        let mut out = Vec::new();
        for i in bounded_shuffle(&delays) {
            ring.push(start.wrapping_add(i as u16), now, i, &mut out);
        }
        ring.flush(&mut out);
        let items: Vec<usize> = out.iter().map(|r| match r {
            Released::Packet(_, i) => *i,
            Released::Lost { .. } => usize::MAX,
        }).collect();
        prop_assert_eq!(items, (0..delays.len()).collect::<Vec<_>>());
        prop_assert_eq!(ring.stats().lost + ring.stats().late + ring.stats().duplicates, 0);
    }

    #[test]
    fn losses_and_late_packets_keep_the_output_in_order_and_complete(
        start in any::<u16>(),
        packets in prop::collection::vec((0..CAPACITY, any::<bool>(), 0u64..40), 1..400),
    ) {
        let delays: Vec<usize> = packets.iter().map(|p| p.0).collect();
        let mut ring = ReorderRing::new(CAPACITY, Duration::from_millis(30));
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut sent = 0u64;
        let mut elapsed = 0u64;
        for i in bounded_shuffle(&delays) {
            let (_, dropped, gap_ms) = packets[i];
            elapsed += gap_ms;
            if dropped {
                continue;
            }
            sent += 1;
            ring.push(start.wrapping_add(i as u16), t0 + Duration::from_millis(elapsed), i, &mut out);
        }
        ring.flush(&mut out);
        let covered = covered(&out);
        // contiguous, strictly increasing: every number once, as a packet or a loss
        for pair in covered.windows(2) {
            prop_assert_eq!(pair[1], pair[0] + 1);
        }
        let released = out.iter().filter(|r| matches!(r, Released::Packet(..))).count() as u64;
        let stats = ring.stats();
        prop_assert_eq!(released + stats.late, sent, "every packet sent is released or counted late");
        prop_assert_eq!(stats.duplicates, 0);
        prop_assert_eq!(ring.held(), 0);
        // what was released carries the item pushed with its number
        for r in &out {
            if let Released::Packet(seq, i) = r {
                prop_assert_eq!((*seq & 0xffff) as u16, start.wrapping_add(*i as u16));
            }
        }
    }
}
