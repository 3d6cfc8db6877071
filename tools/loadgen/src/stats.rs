//! What each viewer counts, and the summary over viewers.

/// Extends 16-bit RTP sequence numbers to a monotonic 64-bit count (RFC 3550 A.1 style:
/// a jump of more than half the space backwards is a reordering, not a wrap).
#[derive(Debug, Default, Clone)]
pub struct SeqUnwrapper {
    last: Option<i64>,
}

impl SeqUnwrapper {
    /// The extended sequence number of `seq`.
    pub fn unwrap(&mut self, seq: u16) -> i64 {
        let ext = match self.last {
            None => i64::from(seq),
            Some(last) => {
                let diff = i64::from(seq.wrapping_sub(last as u16) as i16);
                last + diff
            }
        };
        if self.last.is_none_or(|last| ext > last) {
            self.last = Some(ext);
        }
        ext
    }
}

/// One viewer's counts inside the measurement window.
#[derive(Debug, Default, Clone)]
pub struct ViewerWindow {
    /// Packets received.
    pub received: u64,
    /// Lowest and highest extended sequence number received.
    pub range: Option<(i64, i64)>,
    /// Forwarding delays in microseconds.
    pub delays_us: Vec<u32>,
}

impl ViewerWindow {
    /// Counts one packet.
    pub fn record(&mut self, ext_seq: i64, delay_us: Option<u32>) {
        self.received += 1;
        self.range = Some(match self.range {
            None => (ext_seq, ext_seq),
            Some((lo, hi)) => (lo.min(ext_seq), hi.max(ext_seq)),
        });
        if let Some(d) = delay_us {
            self.delays_us.push(d);
        }
    }

    /// Packets missing between the first and the last packet of the window (never
    /// negative: duplicates do not make up for losses).
    pub fn lost(&self) -> u64 {
        match self.range {
            None => 0,
            Some((lo, hi)) => ((hi - lo + 1) as u64).saturating_sub(self.received),
        }
    }
}

/// The `q`-quantile (0..=1) of sorted values, nearest rank.
pub fn percentile(sorted: &[u32], q: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Mean and maximum.
pub fn mean_max(values: &[u64]) -> (f64, u64) {
    if values.is_empty() {
        return (0.0, 0);
    }
    let sum: u64 = values.iter().sum();
    (sum as f64 / values.len() as f64, values.iter().copied().max().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_across_the_wrap_and_reordering() {
        let mut u = SeqUnwrapper::default();
        assert_eq!(u.unwrap(65_534), 65_534);
        assert_eq!(u.unwrap(65_535), 65_535);
        assert_eq!(u.unwrap(1), 65_537);
        assert_eq!(u.unwrap(0), 65_536);
        assert_eq!(u.unwrap(2), 65_538);
    }

    #[test]
    fn counts_gaps_as_losses() {
        let mut w = ViewerWindow::default();
        for s in [10, 11, 13, 14, 17] {
            w.record(s, Some(1));
        }
        assert_eq!(w.received, 5);
        assert_eq!(w.lost(), 3);
        w.record(11, None);
        assert_eq!(w.lost(), 2, "a duplicate is counted as received");
        assert_eq!(ViewerWindow::default().lost(), 0);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), Some(50));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&v, 1.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(mean_max(&[1, 2, 6]), (3.0, 6));
    }
}
