//! What recording adds to forwarding, per forwarded packet, at 200 viewers: one stream's
//! video (150 packets/s, 1,200-byte payloads, a keyframe every 2 s) fanned out by the
//! forwarding core with and without a recorder.
//!
//! - **media task**: the fan-out alone, then the fan-out plus what recording costs there
//!   (the recorder's own sequence rewrite, a `Bytes` clone and a `try_send` into the
//!   bounded tap) — the same work `MediaPlane::on_publisher_rtp` does;
//! - **recorder task**: the recorder itself on those packets (reorder ring, VP8
//!   depacketizer, timeline, Matroska clusters and segment cuts), which runs on its own
//!   task, timed separately and divided by the same forwarded packets.
//!
//! Both are CPU the SFU spends. SRTP, sockets and the WebRTC stack come on top of the
//! fan-out (about 9 µs per forwarded packet, docs/BENCHMARKS.md), not of recording.
//!
//! Run: `cargo bench -p myvid-sfu --bench recording`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use myvid_sfu::codec::Codec;
use myvid_sfu::forward::{InPacket, MediaKind, Stream, StreamConfig};
use myvid_sfu::record::{Recorder, TapItem, TapPacket, TapTracks, tap};

const VIEWERS: usize = 200;
/// 60 s of the stream.
const PACKETS: u32 = 9_000;
const RUNS: usize = 7;

/// Packet `i` of a 30 fps VP8 stream, 5 packets a frame, a keyframe every 60 frames,
/// with valid RFC 7741 descriptors (the recorder depacketizes them).
fn packet(i: u32, payload: &mut Vec<u8>) -> InPacket {
    let frame = i / 5;
    let first = i.is_multiple_of(5);
    let keyframe = first && frame.is_multiple_of(60);
    payload.clear();
    payload.push(if first { 0x10 } else { 0x00 }); // S bit on a frame's first packet
    payload.push(if keyframe { 0x10 } else { 0x11 }); // VP8 frame tag: bit 0 clear on keyframes
    payload.resize(1_200, (i % 251) as u8);
    InPacket {
        kind: MediaKind::Video,
        layer: 0,
        seq: (i % 65_536) as u16,
        timestamp: frame.wrapping_mul(3_000),
        marker: i % 5 == 4,
        payload_type: 96,
        keyframe,
        payload: Bytes::copy_from_slice(payload),
    }
}

/// One run: media-task time and forwards, and the tap's items if `record`.
fn media_task(record: bool) -> (Duration, u64, Vec<TapItem>) {
    let t0 = Instant::now();
    let mut stream = Stream::new(StreamConfig::default());
    for _ in 0..VIEWERS {
        stream.add_viewer(t0);
    }
    let mut scratch = Vec::new();
    let packets: Vec<InPacket> = (0..PACKETS).map(|i| packet(i, &mut scratch)).collect();
    let (tap, mut receiver) = tap(PACKETS as usize + 1);
    if record {
        stream.add_recorder(t0);
        tap.offer(TapItem::Tracks(TapTracks { video: Some(Codec::Vp8), audio: false }));
    }
    let (mut sent, mut checksum) = (0u64, 0u64);
    let started = Instant::now();
    for (i, input) in packets.iter().enumerate() {
        let now = t0 + Duration::from_micros(i as u64 * 6_667);
        stream.handle_publisher_rtp(now, input, |_, f| {
            sent += 1;
            checksum = checksum.wrapping_add(u64::from(f.seq) ^ u64::from(f.timestamp));
        });
        if record && let Some((seq, timestamp)) = stream.record(now, input) {
            tap.offer(TapItem::Packet(TapPacket::forwarded(input, seq, timestamp, now)));
        }
    }
    let elapsed = started.elapsed();
    black_box(checksum);
    drop(tap);
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let items = runtime.block_on(async {
        let mut items = Vec::new();
        while let Some(item) = receiver.recv().await {
            items.push(item);
        }
        items
    });
    (elapsed, sent, items)
}

/// The recorder task's time on `items`, with its timers run every 20 ms of stream time;
/// and the bytes it wrote.
fn recorder_task(items: Vec<TapItem>) -> (Duration, usize) {
    let mut recorder = Recorder::new();
    let mut segments = Vec::new();
    let mut next_tick: Option<Instant> = None;
    let started = Instant::now();
    for item in items {
        if let TapItem::Packet(p) = &item {
            let tick = next_tick.get_or_insert(p.arrived);
            while *tick <= p.arrived {
                recorder.handle_timeout(*tick, &mut segments);
                *tick += Duration::from_millis(20);
            }
        }
        recorder.handle(item, &mut segments);
    }
    recorder.finish(&mut segments);
    let elapsed = started.elapsed();
    (elapsed, segments.iter().map(|s| s.bytes.len()).sum())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let (mut plain, mut recorded, mut recorder) = (Vec::new(), Vec::new(), Vec::new());
    let mut written = 0;
    // Alternating, so that the machine's noise falls on both alike.
    for _ in 0..RUNS {
        let (elapsed, sent, _) = media_task(false);
        plain.push(elapsed.as_nanos() as f64 / sent as f64);
        let (elapsed, sent, items) = media_task(true);
        recorded.push(elapsed.as_nanos() as f64 / sent as f64);
        let (elapsed, bytes) = recorder_task(items);
        recorder.push(elapsed.as_nanos() as f64 / sent as f64);
        written = bytes;
    }
    let (plain, recorded, recorder) = (median(plain), median(recorded), median(recorder));
    let added = recorded - plain + recorder;
    let minutes = f64::from(PACKETS) / 150.0 / 60.0;
    println!(
        "{VIEWERS} viewers, {RUNS} runs (medians), ns per forwarded packet: fan-out {plain:.2}; with recording: media task \
         {recorded:.2} (+{:.2}), recorder task {recorder:.2}; recording adds {added:.2} ns = {:.1} % of the fan-out alone, \
         {:.3} % of the whole SFU's ~9 µs; {:.1} MB written per minute of this 1.44 Mbit/s stream",
        recorded - plain,
        100.0 * added / plain,
        100.0 * added / 9_000.0,
        written as f64 / minutes / 1e6,
    );
}
