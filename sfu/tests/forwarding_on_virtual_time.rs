//! The forwarding core driven on virtual time: joins, leaves, keyframe throttling,
//! NACK answers, simulcast layer switches and stopped layers. No sockets, no sleeps.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use myvid_sfu::forward::{
    InPacket, KEYFRAME_MIN_INTERVAL, Layer, MediaKind, Output, REVIEW_INTERVAL, Stream, StreamConfig, ViewerId,
};

/// A synthetic publisher: per layer, 30 fps video of 3 packets a frame (keyframe every
/// `gop` frames), plus 50 audio packets/s.
struct Publisher {
    seq: [u16; 3],
    ts: [u32; 3],
    frame: [u32; 3],
    audio_seq: u16,
    gop: u32,
}

impl Publisher {
    fn new(gop: u32) -> Self {
        Publisher { seq: [1_000, 20_000, 65_500], ts: [0, 7, 99], frame: [0; 3], audio_seq: 300, gop }
    }

    /// One frame of `layer` (3 packets; `size` bytes each).
    fn frame(&mut self, layer: Layer, size: usize) -> Vec<InPacket> {
        let l = usize::from(layer);
        let keyframe = self.frame[l].is_multiple_of(self.gop);
        self.frame[l] += 1;
        self.ts[l] = self.ts[l].wrapping_add(3_000);
        (0..3)
            .map(|i| {
                self.seq[l] = self.seq[l].wrapping_add(1);
                InPacket {
                    kind: MediaKind::Video,
                    layer,
                    seq: self.seq[l],
                    timestamp: self.ts[l],
                    marker: i == 2,
                    payload_type: 96,
                    keyframe: keyframe && i == 0,
                    payload: Bytes::from(vec![layer; size]),
                }
            })
            .collect()
    }

    fn force_keyframe(&mut self, layer: Layer) {
        self.frame[usize::from(layer)] = 0;
    }

    fn audio(&mut self) -> InPacket {
        self.audio_seq = self.audio_seq.wrapping_add(1);
        InPacket {
            kind: MediaKind::Audio,
            layer: 0,
            seq: self.audio_seq,
            timestamp: u32::from(self.audio_seq) * 960,
            marker: false,
            payload_type: 111,
            keyframe: false,
            payload: Bytes::from_static(b"opus"),
        }
    }
}

/// What each viewer received: (kind, seq, timestamp, payload first byte, retransmission).
type Received = HashMap<ViewerId, Vec<(MediaKind, u16, u32, u8, bool)>>;

fn feed(stream: &mut Stream, now: Instant, packets: &[InPacket], received: &mut Received) {
    for packet in packets {
        stream.handle_publisher_rtp(now, packet, |viewer, f| {
            received.entry(viewer).or_default().push((f.kind, f.seq, f.timestamp, f.payload[0], f.retransmission));
        });
    }
}

fn outputs(stream: &mut Stream) -> Vec<Output> {
    std::iter::from_fn(|| stream.poll_output()).collect()
}

fn video_seqs(received: &Received, viewer: ViewerId) -> Vec<u16> {
    received[&viewer].iter().filter(|r| r.0 == MediaKind::Video && !r.4).map(|r| r.1).collect()
}

fn contiguous(seqs: &[u16]) -> bool {
    seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1))
}

#[test]
fn a_joining_viewer_gets_audio_at_once_and_video_from_the_next_keyframe() {
    let t0 = Instant::now();
    let mut stream = Stream::new(StreamConfig::default());
    let mut publisher = Publisher::new(60);
    let mut received = Received::new();
    feed(&mut stream, t0, &publisher.frame(0, 100), &mut received); // keyframe, nobody watching

    let viewer = stream.add_viewer(t0);
    assert_eq!(outputs(&mut stream), vec![Output::RequestKeyframe { layer: 0 }]);
    feed(&mut stream, t0, &[publisher.audio()], &mut received);
    feed(&mut stream, t0, &publisher.frame(0, 100), &mut received); // delta frame
    assert_eq!(received[&viewer].len(), 1, "audio only until a keyframe");
    assert_eq!(received[&viewer][0].0, MediaKind::Audio);

    publisher.force_keyframe(0);
    feed(&mut stream, t0, &publisher.frame(0, 100), &mut received);
    feed(&mut stream, t0, &publisher.frame(0, 100), &mut received);
    let seqs = video_seqs(&received, viewer);
    assert_eq!(seqs.len(), 6);
    assert!(contiguous(&seqs));
}

#[test]
fn a_burst_of_joins_sends_one_keyframe_request_per_interval() {
    let t0 = Instant::now();
    let mut stream = Stream::new(StreamConfig::default());
    let mut publisher = Publisher::new(1_000);
    let mut received = Received::new();
    feed(&mut stream, t0, &publisher.frame(0, 100), &mut received);
    for i in 0..20 {
        stream.add_viewer(t0 + Duration::from_millis(i * 5));
    }
    assert_eq!(outputs(&mut stream).len(), 1, "one request for 20 joins");
    let due = stream.poll_timeout().unwrap();
    assert_eq!(due, t0 + KEYFRAME_MIN_INTERVAL, "the folded request is due when the interval ends");
    stream.handle_timeout(due);
    assert_eq!(outputs(&mut stream), vec![Output::RequestKeyframe { layer: 0 }]);
    stream.handle_timeout(due + Duration::from_millis(1));
    assert!(outputs(&mut stream).is_empty());
}

#[test]
fn viewers_leaving_and_joining_do_not_disturb_the_others() {
    let t0 = Instant::now();
    let mut stream = Stream::new(StreamConfig::default());
    let mut publisher = Publisher::new(30);
    let mut received = Received::new();
    let stays = stream.add_viewer(t0);
    let leaves = stream.add_viewer(t0);
    let mut now = t0;
    for frame in 0..90 {
        now += Duration::from_millis(33);
        if frame == 20 {
            stream.remove_viewer(leaves);
        }
        if frame == 40 {
            stream.add_viewer(now);
        }
        feed(&mut stream, now, &publisher.frame(0, 100), &mut received);
    }
    let seqs = video_seqs(&received, stays);
    assert_eq!(seqs.len(), 270, "every packet of every frame");
    assert!(contiguous(&seqs));
    assert_eq!(video_seqs(&received, leaves).len(), 60, "nothing after leaving");
    assert_eq!(stream.viewer_count(), 2);
    // The newcomer reused the leaver's slot; the leaver's stale handle reaches nobody.
    assert_eq!(stream.viewer_layer(leaves), None);
    let mut resent = 0;
    stream.handle_viewer_nack(leaves, &[seqs[200]], |_, _| resent += 1);
    assert_eq!(resent, 0);
}

#[test]
fn nacks_are_answered_from_the_cache_with_the_viewers_numbers() {
    let t0 = Instant::now();
    let mut stream = Stream::new(StreamConfig::default());
    let mut publisher = Publisher::new(30);
    let mut received = Received::new();
    let viewer = stream.add_viewer(t0);
    for _ in 0..10 {
        feed(&mut stream, t0, &publisher.frame(0, 100), &mut received);
    }
    let sent = received[&viewer].clone();
    let (lost_a, lost_b) = (sent[4], sent[17]);
    let mut resent = Vec::new();
    stream.handle_viewer_nack(viewer, &[lost_a.1, lost_b.1, lost_b.1.wrapping_add(500)], |v, f| {
        resent.push((v, f.seq, f.timestamp, f.retransmission));
    });
    assert_eq!(resent, vec![(viewer, lost_a.1, lost_a.2, true), (viewer, lost_b.1, lost_b.2, true)]);
}

/// One frame time of a three-layer publisher: a frame of each layer (3 packets; layer 0
/// ≈ 72 kbit/s, 1 ≈ 360 kbit/s, 2 ≈ 1.44 Mbit/s at 30 fps), then any due timers.
fn simulcast_step(stream: &mut Stream, publisher: &mut Publisher, received: &mut Received, now: &mut Instant) {
    const SIZES: [usize; 3] = [100, 500, 2_000];
    *now += Duration::from_millis(33);
    for layer in 0..3u8 {
        feed(stream, *now, &publisher.frame(layer, SIZES[usize::from(layer)]), received);
    }
    if stream.poll_timeout().is_some_and(|t| t <= *now) {
        stream.handle_timeout(*now);
    }
}

#[test]
fn simulcast_viewers_follow_their_estimates_switching_at_keyframes() {
    let t0 = Instant::now();
    let mut stream = Stream::new(StreamConfig::default());
    let mut publisher = Publisher::new(60);
    let mut received = Received::new();
    let mut now = t0;
    for _ in 0..40 {
        simulcast_step(&mut stream, &mut publisher, &mut received, &mut now);
    }
    let viewer = stream.add_viewer(now);
    assert_eq!(outputs(&mut stream), vec![Output::RequestKeyframe { layer: 2 }], "no estimate yet: best layer");
    publisher.force_keyframe(2);
    simulcast_step(&mut stream, &mut publisher, &mut received, &mut now);
    assert_eq!(stream.viewer_layer(viewer), Some(2));

    stream.handle_viewer_estimate(now, viewer, 500_000);
    assert_eq!(outputs(&mut stream), vec![Output::RequestKeyframe { layer: 1 }]);
    for _ in 0..5 {
        simulcast_step(&mut stream, &mut publisher, &mut received, &mut now);
    }
    assert_eq!(stream.viewer_layer(viewer), Some(2), "keeps the old layer until the new one has a keyframe");
    publisher.force_keyframe(1);
    simulcast_step(&mut stream, &mut publisher, &mut received, &mut now);
    assert_eq!(stream.viewer_layer(viewer), Some(1));
    let seqs = video_seqs(&received, viewer);
    assert!(contiguous(&seqs), "the viewer sees one gap-free sequence across the switch");
    let layers: Vec<u8> = received[&viewer].iter().filter(|r| r.0 == MediaKind::Video).map(|r| r.3).collect();
    let switch = layers.iter().position(|&l| l == 1).unwrap();
    assert!(layers[..switch].iter().all(|&l| l == 2) && layers[switch..].iter().all(|&l| l == 1));
}

#[test]
fn a_viewers_cap_bounds_its_layer_below_its_estimate_until_lifted() {
    let t0 = Instant::now();
    let mut stream = Stream::new(StreamConfig::default());
    let mut publisher = Publisher::new(30);
    let mut received = Received::new();
    let mut now = t0;
    for _ in 0..40 {
        simulcast_step(&mut stream, &mut publisher, &mut received, &mut now);
    }
    let viewer = stream.add_viewer(now);
    stream.handle_viewer_estimate(now, viewer, 10_000_000);
    stream.handle_viewer_cap(now, viewer, Some(150_000));
    // The estimate alone allows layer 2; the cap allows only layer 0 (≈ 72 kbit/s).
    for _ in 0..35 {
        simulcast_step(&mut stream, &mut publisher, &mut received, &mut now);
    }
    assert_eq!(stream.viewer_layer(viewer), Some(0), "held to the layer its cap allows");
    // A review (every REVIEW_INTERVAL) keeps to the cap, too.
    for _ in 0..30 {
        simulcast_step(&mut stream, &mut publisher, &mut received, &mut now);
    }
    assert_eq!(stream.viewer_layer(viewer), Some(0));

    stream.handle_viewer_cap(now, viewer, None);
    for _ in 0..35 {
        simulcast_step(&mut stream, &mut publisher, &mut received, &mut now);
    }
    assert_eq!(stream.viewer_layer(viewer), Some(2), "lifted: back to what its estimate allows");
    stream.handle_viewer_cap(now, viewer, Some(20_000_000));
    for _ in 0..35 {
        simulcast_step(&mut stream, &mut publisher, &mut received, &mut now);
    }
    assert_eq!(stream.viewer_layer(viewer), Some(2), "a cap above the estimate changes nothing");
    assert!(contiguous(&video_seqs(&received, viewer)), "one gap-free sequence across the switches");
}

#[test]
fn a_viewer_moves_off_a_layer_that_stops() {
    let t0 = Instant::now();
    let mut stream = Stream::new(StreamConfig::default());
    let mut publisher = Publisher::new(15);
    let mut received = Received::new();
    let viewer = stream.add_viewer(t0);
    let mut now = t0;
    for _ in 0..30 {
        now += Duration::from_millis(33);
        feed(&mut stream, now, &publisher.frame(0, 100), &mut received);
        feed(&mut stream, now, &publisher.frame(2, 2_000), &mut received);
    }
    stream.handle_timeout(now);
    outputs(&mut stream);
    stream.handle_viewer_estimate(now, viewer, 10_000_000);
    for _ in 0..30 {
        now += Duration::from_millis(33);
        feed(&mut stream, now, &publisher.frame(0, 100), &mut received);
        feed(&mut stream, now, &publisher.frame(2, 2_000), &mut received);
        if stream.poll_timeout().is_some_and(|t| t <= now) {
            stream.handle_timeout(now);
        }
    }
    assert_eq!(stream.viewer_layer(viewer), Some(2));
    // Layer 2 stops (the publisher's uplink shrank); only layer 0 keeps coming.
    for _ in 0..90 {
        now += Duration::from_millis(33);
        feed(&mut stream, now, &publisher.frame(0, 100), &mut received);
        if stream.poll_timeout().is_some_and(|t| t <= now) {
            stream.handle_timeout(now);
        }
    }
    assert_eq!(stream.viewer_layer(viewer), Some(0), "moved to the live layer within {:?}", REVIEW_INTERVAL * 6);
}

#[test]
fn one_packet_reaches_a_thousand_viewers() {
    let t0 = Instant::now();
    let mut stream = Stream::new(StreamConfig::default());
    let mut publisher = Publisher::new(30);
    let viewers: Vec<ViewerId> = (0..1_000).map(|_| stream.add_viewer(t0)).collect();
    let mut count = 0;
    for packet in publisher.frame(0, 1_000) {
        stream.handle_publisher_rtp(t0, &packet, |_, f| {
            assert_eq!(f.payload.len(), 1_000);
            count += 1;
        });
    }
    assert_eq!(count, 3_000);
    assert_eq!(stream.viewer_count(), viewers.len());
}

/// Feeds `packets` to viewers and the recorder; returns what the recorder took:
/// (layer, its seq) of video packets.
fn feed_recorded(
    stream: &mut Stream,
    now: Instant,
    packets: &[InPacket],
    received: &mut Received,
) -> Vec<(Layer, u16)> {
    let mut recorded = Vec::new();
    for packet in packets {
        feed(stream, now, std::slice::from_ref(packet), received);
        if let Some((seq, _)) = stream.record(now, packet)
            && packet.kind == MediaKind::Video
        {
            recorded.push((packet.layer, seq));
        }
    }
    recorded
}

#[test]
fn the_recorder_takes_the_best_layer_uncounted_and_continuous_across_a_switch() {
    let t0 = Instant::now();
    let mut stream = Stream::new(StreamConfig::default());
    let mut publisher = Publisher::new(15);
    let mut received = Received::new();
    let mut now = t0;
    // Both layers flow before recording starts, so the meter knows layer 2 is the best.
    for _ in 0..10 {
        now += Duration::from_millis(33);
        feed(&mut stream, now, &publisher.frame(0, 100), &mut received);
        feed(&mut stream, now, &publisher.frame(2, 2_000), &mut received);
    }
    stream.add_recorder(now);
    assert!(stream.is_recorded());
    assert_eq!(stream.viewer_count(), 0, "the recorder is not a viewer");
    assert_eq!(outputs(&mut stream), vec![Output::RequestKeyframe { layer: 2 }]);
    let mut recorded = Vec::new();
    for _ in 0..30 {
        now += Duration::from_millis(33);
        recorded.extend(feed_recorded(&mut stream, now, &publisher.frame(0, 100), &mut received));
        recorded.extend(feed_recorded(&mut stream, now, &publisher.frame(2, 2_000), &mut received));
        if stream.poll_timeout().is_some_and(|t| t <= now) {
            stream.handle_timeout(now);
        }
    }
    assert!(!recorded.is_empty() && recorded.iter().all(|(layer, _)| *layer == 2), "only the best layer");
    assert_eq!(stream.recorder_layer(), Some(2));
    // Layer 2 stops: the recorder moves to layer 0 at its next keyframe, numbers running on.
    for i in 0..60 {
        now += Duration::from_millis(33);
        if i == 20 {
            publisher.force_keyframe(0);
        }
        recorded.extend(feed_recorded(&mut stream, now, &publisher.frame(0, 100), &mut received));
        if stream.poll_timeout().is_some_and(|t| t <= now) {
            stream.handle_timeout(now);
        }
    }
    assert_eq!(stream.recorder_layer(), Some(0), "moved to the live layer");
    assert!(recorded.iter().any(|(layer, _)| *layer == 0));
    let seqs: Vec<u16> = recorded.iter().map(|(_, seq)| *seq).collect();
    assert!(contiguous(&seqs), "the recorder's sequence numbers run on across the switch");
    stream.handle_recorder_keyframe_request(now + KEYFRAME_MIN_INTERVAL);
    assert_eq!(
        outputs(&mut stream).last(),
        Some(&Output::RequestKeyframe { layer: 0 }),
        "its keyframe wish reaches the publisher"
    );
}
