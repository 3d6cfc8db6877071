//! Reading ffmpeg's `-progress` output: blocks of `key=value` lines, each ending with
//! `progress=continue` (or `progress=end` for the last one), about once per
//! `-stats_period`. Only `out_time_us` matters to us (how much of the output is
//! written, in microseconds); `out_time_ms` is also microseconds despite its name
//! (ffmpeg trac #7345) and is used when `out_time_us` is absent.
//!
//! What ffmpeg 5.1 prints for a 6 s clip (trimmed to the keys we read):
//!
//! ```text
//! out_time_us=106667
//! out_time_ms=106667
//! progress=continue
//! …
//! out_time_us=6016000
//! progress=end
//! ```
//!
//! Early blocks can carry `N/A` or a large negative value, and a process that is
//! killed can stop mid-line; every such line is ignored, never an error.

use std::time::Duration;

/// What one complete progress block said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// How much of the output is written (the largest value seen so far: reports
    /// never go backwards).
    pub out_time: Duration,
    /// `out_time` as a share of the expected duration, 0–1000.
    pub permille: u16,
    /// Whether this was the last block (`progress=end`).
    pub ended: bool,
}

/// Reads progress lines one at a time; a state machine with no I/O.
#[derive(Debug, Clone)]
pub struct ProgressParser {
    /// The duration the output should reach, in microseconds (0: unknown).
    expected_us: u64,
    /// The latest usable time seen in the block being read.
    block_time_us: Option<u64>,
    /// Whether the block being read had `out_time_us` (which wins over `out_time_ms`).
    block_has_us: bool,
    /// The largest time reported so far.
    best_us: u64,
}

impl ProgressParser {
    /// A parser for an output expected to last `expected`; a zero duration (unknown)
    /// reports 0 ‰ until the end block.
    pub fn new(expected: Duration) -> Self {
        let expected_us = u64::try_from(expected.as_micros()).unwrap_or(u64::MAX);
        ProgressParser { expected_us, block_time_us: None, block_has_us: false, best_us: 0 }
    }

    /// Takes one line (with or without its line ending). Returns the block's report
    /// when the line closes a block, `None` otherwise.
    pub fn push_line(&mut self, line: &str) -> Option<Progress> {
        let (key, value) = line.trim().split_once('=')?;
        let (key, value) = (key.trim(), value.trim());
        match key {
            "out_time_us" => {
                if let Some(us) = microseconds(value) {
                    self.block_time_us = Some(us);
                    self.block_has_us = true;
                }
                None
            }
            "out_time_ms" if !self.block_has_us => {
                self.block_time_us = microseconds(value).or(self.block_time_us);
                None
            }
            "progress" => {
                let ended = value == "end";
                if !ended && value != "continue" {
                    return None;
                }
                if let Some(us) = self.block_time_us.take() {
                    self.best_us = self.best_us.max(us);
                }
                self.block_has_us = false;
                Some(self.report(ended))
            }
            _ => None,
        }
    }

    /// The report for the time seen so far.
    fn report(&self, ended: bool) -> Progress {
        let permille = match self.expected_us {
            0 if ended => 1000,
            0 => 0,
            expected => (u128::from(self.best_us) * 1000 / u128::from(expected)).min(1000) as u16,
        };
        Progress { out_time: Duration::from_micros(self.best_us), permille, ended }
    }
}

/// A non-negative decimal integer of microseconds, or `None` for `N/A`, negatives,
/// garbage and values beyond a year (which no real output reaches).
fn microseconds(value: &str) -> Option<u64> {
    const YEAR_US: u64 = 366 * 24 * 3600 * 1_000_000;
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<u64>().ok().filter(|&us| us <= YEAR_US)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn feed(parser: &mut ProgressParser, text: &str) -> Vec<Progress> {
        text.lines().filter_map(|l| parser.push_line(l)).collect()
    }

    #[test]
    fn reads_the_blocks_ffmpeg_5_1_prints() {
        let mut parser = ProgressParser::new(Duration::from_secs(6));
        let text = "frame=1\nfps=0.00\nstream_0_0_q=0.0\nbitrate=N/A\ntotal_size=N/A\nout_time_us=106667\n\
                    out_time_ms=106667\nout_time=00:00:00.106667\ndup_frames=0\nspeed= 4.1x\nprogress=continue\n\
                    frame=90\nout_time_us=6016000\nout_time_ms=6016000\nprogress=end\n";
        let reports = feed(&mut parser, text);
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0], Progress { out_time: Duration::from_micros(106_667), permille: 17, ended: false });
        assert_eq!(reports[1], Progress { out_time: Duration::from_micros(6_016_000), permille: 1000, ended: true });
    }

    #[test]
    fn ignores_na_negatives_and_garbage_and_never_goes_back() {
        let mut parser = ProgressParser::new(Duration::from_secs(10));
        let text = "out_time_us=N/A\nprogress=continue\nout_time_us=-9223372036854775807\nprogress=continue\n\
                    out_time_us=5000000\nprogress=continue\nout_time_us=1000000\nprogress=continue\n\
                    out_time_us=12x\nprogress=maybe\nout_time_us=99999999999999999999999\nprogress=continue\n";
        let permilles: Vec<u16> = feed(&mut parser, text).iter().map(|p| p.permille).collect();
        assert_eq!(permilles, [0, 0, 500, 500, 500]);
    }

    #[test]
    fn falls_back_to_out_time_ms_which_is_microseconds() {
        let mut parser = ProgressParser::new(Duration::from_secs(4));
        let reports = feed(&mut parser, "out_time_ms=1000000\r\nprogress=continue\r\n");
        assert_eq!(reports[0].permille, 250);
        // out_time_us wins whatever the order.
        let reports = feed(&mut parser, "out_time_us=2000000\nout_time_ms=3000000\nprogress=continue\n");
        assert_eq!(reports[0].permille, 500);
    }

    #[test]
    fn an_unknown_duration_reports_zero_until_the_end() {
        let mut parser = ProgressParser::new(Duration::ZERO);
        let reports = feed(&mut parser, "out_time_us=7\nprogress=continue\nout_time_us=9\nprogress=end\n");
        assert_eq!(reports.iter().map(|p| p.permille).collect::<Vec<_>>(), [0, 1000]);
    }

    proptest! {
        #[test]
        fn arbitrary_lines_never_panic_and_stay_in_range(
            lines in prop::collection::vec(
                prop_oneof![
                    any::<String>(),
                    "(out_time_us|out_time_ms|progress)=[-0-9a-zN/A]{0,24}",
                    Just("progress=continue".to_owned()),
                ],
                0..40,
            ),
            expected_ms in 0u64..100_000_000,
        ) {
            let mut parser = ProgressParser::new(Duration::from_millis(expected_ms));
            let mut last = Duration::ZERO;
            for line in &lines {
                if let Some(p) = parser.push_line(line) {
                    prop_assert!(p.permille <= 1000);
                    prop_assert!(p.out_time >= last);
                    last = p.out_time;
                }
            }
        }
    }
}
