//! Cost of the forwarding core alone: one publisher packet fanned out to N viewers
//! (header rewrite per viewer, shared payload), no I/O. The WebRTC layer's SRTP and
//! socket costs come on top; this is the floor the core itself sets.
//!
//! Run: `cargo bench -p myvid-sfu --bench fanout`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use myvid_sfu::forward::{InPacket, MediaKind, Stream, StreamConfig};

fn run(viewers: usize, packets: u32) -> (Duration, u64) {
    let t0 = Instant::now();
    let mut stream = Stream::new(StreamConfig::default());
    for _ in 0..viewers {
        stream.add_viewer(t0);
    }
    let payload = Bytes::from(vec![0u8; 1_200]);
    let mut sent = 0u64;
    let mut checksum = 0u64;
    let started = Instant::now();
    for i in 0..packets {
        let packet = InPacket {
            kind: MediaKind::Video,
            layer: 0,
            seq: (i % 65_536) as u16,
            timestamp: (i / 5).wrapping_mul(3_000),
            marker: i % 5 == 4,
            payload_type: 96,
            keyframe: i.is_multiple_of(300),
            payload: payload.clone(),
        };
        let now = t0 + Duration::from_micros(u64::from(i) * 6_667);
        stream.handle_publisher_rtp(now, &packet, |_, f| {
            sent += 1;
            checksum = checksum.wrapping_add(u64::from(f.seq) ^ u64::from(f.timestamp));
        });
    }
    black_box(checksum);
    (started.elapsed(), sent)
}

fn main() {
    for viewers in [50, 200, 1_000, 5_000] {
        let packets = (2_000_000 / viewers).max(1_000) as u32;
        let mut per_packet = Vec::new();
        let mut last_sent = 0;
        for _ in 0..5 {
            let (elapsed, sent) = run(viewers, packets);
            per_packet.push(elapsed.as_nanos() as f64 / sent as f64);
            last_sent = sent;
        }
        per_packet.sort_by(f64::total_cmp);
        let median = per_packet[2];
        println!(
            "fan-out to {viewers:>5} viewers: median {median:6.1} ns per forwarded packet ({last_sent} forwards a run, 5 runs); \
             one core forwards {:.1} M packets/s = {:.0} viewers at 150 packets/s",
            1_000.0 / median,
            1e9 / median / 150.0
        );
    }
}
