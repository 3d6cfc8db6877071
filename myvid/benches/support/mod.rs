//! What the benchmarks share: the search vocabulary and the statistics.
#![allow(dead_code)]

use std::time::Duration;

/// Titles and descriptions are drawn from these words, so that two-word searches match
/// thousands of rows (every match is ranked before the top of the list is taken).
pub const WORDS: &[&str] = &[
    "rust",
    "video",
    "galera",
    "webrtc",
    "keynote",
    "storage",
    "codec",
    "latency",
    "stream",
    "browser",
    "network",
    "cluster",
    "anycast",
    "erasure",
    "forwarding",
    "simulcast",
    "congestion",
    "replication",
    "search",
    "upload",
];

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest-rank percentile on a sorted sample.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}
