//! What the whole media plane costs per forwarded packet, without the noise of this
//! shared machine: one publisher and N viewers on the virtual-time network of
//! `tests/net` (real ICE, DTLS and SRTP through rtc, no sockets), then `frames` frames
//! of 3 × 1,000-byte VP8 packets at 30 fps.
//!
//! It prints the packets the plane forwarded in the measured frames and the heap
//! allocations the plane made for them (an instrumented allocator read as the net goes
//! into and out of each plane call). Instructions come from callgrind, which counts only
//! inside the plane's functions (`--toggle-collect`); `scripts/ipp.sh` runs this twice
//! with different frame counts and divides the difference, so set-up (certificates,
//! handshakes, warm-up) cancels out.
//!
//! Run: `cargo bench -p myvid-sfu --bench ipp -- <viewers> <frames>` (defaults 200, 150).
#![allow(missing_docs)]

#[path = "../tests/net/mod.rs"]
mod net;

use std::alloc::System;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use net::Net;
use stats_alloc::{INSTRUMENTED_SYSTEM, Stats, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The allocator's counts when the net last went into the plane.
static ENTERED: Mutex<Option<Stats>> = Mutex::new(None);
/// Allocations and reallocations made inside the plane while metering.
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// [`Net::meter`]: adds what each plane call allocated to [`ALLOCATIONS`].
fn meter(entering: bool) {
    let now = ALLOCATOR.stats();
    let mut entered = ENTERED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if entering {
        *entered = Some(now);
    } else if let Some(at) = entered.take() {
        let made = (now.allocations + now.reallocations) - (at.allocations + at.reallocations);
        ALLOCATIONS.fetch_add(made as u64, Ordering::Relaxed);
    }
}

const FRAME: Duration = Duration::from_millis(33);
const PACKETS: usize = 3;
const SIZE: usize = 1_000;

fn send_frames(net: &mut Net, publisher: net::ClientId, frames: usize) {
    for f in 0..frames {
        let keyframe = f % 60 == 0 || net.take_keyframe_request(publisher);
        net.send_frame(publisher, keyframe, PACKETS, SIZE);
        net.run_for(FRAME);
    }
}

fn main() {
    // `cargo bench` passes `--bench`; numbers are ours.
    let numbers: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let viewers = numbers.first().copied().unwrap_or(200);
    let frames = numbers.get(1).copied().unwrap_or(150);

    let mut net = Net::new();
    net.keep_media = false;
    let publisher = net.publisher("bench", 0x1111);
    net.connect_all();
    for _ in 0..viewers {
        net.viewer("bench");
    }
    net.connect_all();
    send_frames(&mut net, publisher, 60);

    let before = net.plane.stats();
    net.meter = meter;
    send_frames(&mut net, publisher, frames);
    net.meter = |_| {};
    let after = net.plane.stats();
    let forwarded = after.rtp_forwarded - before.rtp_forwarded;
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let received: u64 = net.clients.iter().skip(1).map(|c| c.rtp_read).sum();
    assert!(forwarded > 0, "nothing forwarded");
    #[allow(clippy::cast_precision_loss)]
    let per_packet = allocations as f64 / forwarded as f64;
    println!(
        "viewers={viewers} frames={frames} forwarded={forwarded} received={received} allocations={allocations} allocs_per_pkt={per_packet:.2}"
    );
}
