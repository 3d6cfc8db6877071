//! Simulcast layer bookkeeping: how fast each layer arrives, which layers are alive,
//! and which one a viewer with a given bandwidth estimate should get.

use std::time::{Duration, Instant};

use super::packet::{Layer, MAX_LAYERS};

/// Rates are measured over windows of this length: long enough to smooth over a
/// keyframe burst at 30 fps, short enough to notice a layer stopping within a second.
pub const RATE_WINDOW: Duration = Duration::from_secs(1);

/// A layer with no packet for this long is treated as stopped (publishers pause
/// layers when their own uplink shrinks).
pub const INACTIVE_AFTER: Duration = Duration::from_millis(1500);

/// Upgrade to a layer only when it fits in this fraction of the estimate…
const UPGRADE_HEADROOM: f64 = 0.85;
/// …and leave the current one only when it exceeds this fraction (the gap between the
/// two keeps a viewer from flapping between layers on a noisy estimate).
const STAY_HEADROOM: f64 = 1.0;

#[derive(Debug, Default, Clone, Copy)]
struct Meter {
    window_start: Option<Instant>,
    window_bytes: u64,
    rate_bps: Option<u64>,
    last_packet: Option<Instant>,
}

/// Per-layer arrival rates of one stream's video.
#[derive(Debug, Default)]
pub struct LayerMeter {
    meters: [Meter; MAX_LAYERS],
}

impl LayerMeter {
    /// Counts a packet of `bytes` on `layer` at `now`.
    pub fn record(&mut self, now: Instant, layer: Layer, bytes: usize) {
        let Some(meter) = self.meters.get_mut(usize::from(layer)) else { return };
        meter.last_packet = Some(now);
        let start = *meter.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= RATE_WINDOW {
            // Whole seconds of bits over the elapsed window; u64 holds any real rate.
            let bits = meter.window_bytes.saturating_mul(8);
            let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX).max(1);
            meter.rate_bps = Some(bits.saturating_mul(1_000_000) / micros);
            meter.window_start = Some(now);
            meter.window_bytes = 0;
        }
        meter.window_bytes += bytes as u64;
    }

    /// Whether `layer` has had a packet within [`INACTIVE_AFTER`].
    pub fn active(&self, now: Instant, layer: Layer) -> bool {
        self.meters
            .get(usize::from(layer))
            .and_then(|m| m.last_packet)
            .is_some_and(|last| now.saturating_duration_since(last) < INACTIVE_AFTER)
    }

    /// The measured rate of each active layer (`None` for stopped ones; an active
    /// layer without a full window yet reports 0).
    pub fn rates(&self, now: Instant) -> [Option<u64>; MAX_LAYERS] {
        std::array::from_fn(|i| {
            let layer = Layer::try_from(i).unwrap_or(0);
            self.active(now, layer).then(|| self.meters[i].rate_bps.unwrap_or(0))
        })
    }
}

/// The layer a viewer should receive. `rates` from [`LayerMeter::rates`]; `estimate`
/// the viewer's bandwidth estimate in bit/s, if known; `current` its current layer.
/// Without an estimate the highest live layer is chosen (browsers report an estimate
/// within a second, and starting high avoids an early upgrade switch). Returns `None`
/// when no layer is live.
pub fn choose_layer(rates: [Option<u64>; MAX_LAYERS], estimate: Option<u64>, current: Option<Layer>) -> Option<Layer> {
    let live = || (0..MAX_LAYERS).rev().filter_map(|i| rates[i].map(|r| (Layer::try_from(i).unwrap_or(0), r)));
    let lowest = live().next_back().map(|(layer, _)| layer);
    let Some(estimate) = estimate else {
        return live().next().map(|(layer, _)| layer);
    };
    // Rates and estimates are far below 2^52: the f64 conversions are exact enough.
    #[allow(clippy::cast_precision_loss)]
    let fits = |layer: Layer, rate: u64| {
        let headroom = if Some(layer) == current { STAY_HEADROOM } else { UPGRADE_HEADROOM };
        (rate as f64) <= (estimate as f64) * headroom
    };
    live().find(|&(layer, rate)| fits(layer, rate)).map(|(layer, _)| layer).or(lowest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_measures_rates_and_notices_stopped_layers() {
        let t0 = Instant::now();
        let mut meter = LayerMeter::default();
        // Layer 0: 100 packets of 1,000 bytes over one second = 800 kbit/s.
        for i in 0..=100u32 {
            meter.record(t0 + Duration::from_millis(u64::from(i) * 10), 0, 1_000);
        }
        let rates = meter.rates(t0 + Duration::from_secs(1));
        let rate = rates[0].unwrap();
        assert!((790_000..=810_000).contains(&rate), "{rate}");
        assert_eq!(rates[1], None, "never seen");
        assert_eq!(meter.rates(t0 + Duration::from_secs(3))[0], None, "stopped");
        meter.record(t0, 9, 100); // an out-of-range layer is ignored
    }

    #[test]
    fn choice_follows_the_estimate_with_hysteresis() {
        let rates = [Some(150_000), Some(500_000), Some(1_500_000)];
        assert_eq!(choose_layer(rates, None, None), Some(2));
        assert_eq!(choose_layer(rates, Some(3_000_000), None), Some(2));
        assert_eq!(choose_layer(rates, Some(1_000_000), None), Some(1));
        assert_eq!(choose_layer(rates, Some(100_000), None), Some(0), "nothing fits: lowest");
        // 1.6 Mbit/s: not enough headroom to upgrade to 1.5 Mbit/s, enough to stay there.
        assert_eq!(choose_layer(rates, Some(1_600_000), Some(1)), Some(1));
        assert_eq!(choose_layer(rates, Some(1_600_000), Some(2)), Some(2));
        assert_eq!(choose_layer([Some(150_000), None, Some(1_500_000)], Some(1_000_000), None), Some(0));
        assert_eq!(choose_layer([None, None, None], Some(1_000_000), None), None);
    }
}
