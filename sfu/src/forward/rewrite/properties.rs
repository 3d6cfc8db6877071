//! Properties of [`TrackRewriter`] over generated streams: simulcast layers of in-order
//! packets with layer switches at random moments (the viewer sees one continuous stream),
//! and arbitrary packets at arbitrary times (never a panic).

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::forward::MAX_LAYERS;

/// One step of a generated stream.
#[derive(Debug, Clone)]
enum Step {
    /// The viewer's target layer changes.
    Target(Layer),
    /// The publisher sends the next packet of `layer`, `ts_step` ticks after that
    /// layer's previous one, `ms` milliseconds after the previous step.
    Packet { layer: Layer, keyframe: bool, ts_step: u32, ms: u64 },
}

fn layer() -> impl Strategy<Value = Layer> {
    0..MAX_LAYERS as Layer
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => layer().prop_map(Step::Target),
        12 => (layer(), prop::bool::weighted(0.1), 0..6_000u32, 0..40u64)
            .prop_map(|(layer, keyframe, ts_step, ms)| Step::Packet { layer, keyframe, ts_step, ms }),
    ]
}

/// What the rewriter did with one packet.
#[derive(Debug, Clone, Copy)]
struct Sent {
    layer: Layer,
    in_seq: u16,
    in_ts: u32,
    out_seq: u16,
    out_ts: u32,
    keyframe: bool,
    /// How many switches the track had made when it sent this packet.
    segment: usize,
}

fn packet(kind: MediaKind, layer: Layer, seq: u16, timestamp: u32, keyframe: bool) -> InPacket {
    InPacket { kind, layer, seq, timestamp, marker: false, payload_type: 96, keyframe, payload: Bytes::new() }
}

fn kind() -> impl Strategy<Value = MediaKind> {
    prop_oneof![3 => Just(MediaKind::Video), 1 => Just(MediaKind::Audio)]
}

/// Runs `steps` (each layer's packets in order, none lost) through a fresh track and
/// checks every packet's fate against the forwarding rule; returns what was sent.
fn run(
    kind: MediaKind,
    first_target: Layer,
    starts: [(u16, u32); MAX_LAYERS],
    steps: &[Step],
) -> Result<(TrackRewriter, Vec<Sent>), TestCaseError> {
    let t0 = Instant::now();
    let mut now = t0;
    let mut track = TrackRewriter::new(kind, 90_000, first_target);
    let mut next = starts;
    let mut sent: Vec<Sent> = Vec::new();
    let mut switches = 0;
    for step in steps {
        let (layer, keyframe, ts_step, ms) = match *step {
            Step::Target(layer) => {
                track.set_target(layer);
                continue;
            }
            Step::Packet { layer, keyframe, ts_step, ms } => (layer, keyframe, ts_step, ms),
        };
        now += Duration::from_millis(ms);
        let (seq, ts) = next[usize::from(layer)];
        next[usize::from(layer)] = (seq.wrapping_add(1), ts.wrapping_add(ts_step));
        let before = track.current();
        let target = track.target();
        // The rule: the target layer is taken at its first keyframe (any packet for
        // audio) unless it is current already; otherwise only the current layer flows.
        let switching = layer == target && before != Some(target) && (kind == MediaKind::Audio || keyframe);
        let expected = switching || (Some(layer) == before && (before == Some(target) || layer != target));
        let out = track.rewrite(now, &packet(kind, layer, seq, ts, keyframe));
        prop_assert_eq!(out.is_some(), expected, "layer {} current {:?} target {}", layer, before, target);
        let Some((out_seq, out_ts)) = out else { continue };
        if switching {
            switches += 1;
        }
        prop_assert_eq!(track.current(), Some(layer));
        sent.push(Sent { layer, in_seq: seq, in_ts: ts, out_seq, out_ts, keyframe, segment: switches });
    }
    Ok((track, sent))
}

fn starts() -> impl Strategy<Value = [(u16, u32); MAX_LAYERS]> {
    prop::array::uniform3((any::<u16>(), any::<u32>()))
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(), 0..400)
}

proptest! {
    #[test]
    fn output_sequence_numbers_are_continuous_across_layer_switches(
        kind in kind(),
        first in layer(),
        starts in starts(),
        steps in steps(),
    ) {
        let (_, sent) = run(kind, first, starts, &steps)?;
        if let Some(first) = sent.first() {
            prop_assert_eq!((first.out_seq, first.out_ts), (first.in_seq, first.in_ts), "the first packet passes through");
        }
        for pair in sent.windows(2) {
            prop_assert_eq!(pair[1].out_seq, pair[0].out_seq.wrapping_add(1), "{:?}", pair);
        }
    }

    #[test]
    fn output_timestamps_never_go_back_and_advance_at_each_switch(
        kind in kind(),
        first in layer(),
        starts in starts(),
        steps in steps(),
    ) {
        let (_, sent) = run(kind, first, starts, &steps)?;
        for pair in sent.windows(2) {
            let advance = pair[1].out_ts.wrapping_sub(pair[0].out_ts).cast_signed();
            if pair[1].segment != pair[0].segment {
                prop_assert!(advance >= 1, "a switch moves the clock forward: {:?}", pair);
            } else {
                let in_advance = pair[1].in_ts.wrapping_sub(pair[0].in_ts);
                prop_assert_eq!(advance.cast_unsigned(), in_advance, "within a layer the spacing is kept: {:?}", pair);
            }
        }
    }

    #[test]
    fn video_switches_to_a_layer_only_at_its_keyframe(
        first in layer(),
        starts in starts(),
        steps in steps(),
    ) {
        let (_, sent) = run(MediaKind::Video, first, starts, &steps)?;
        let mut segment = 0;
        for s in &sent {
            if s.segment != segment {
                segment = s.segment;
                prop_assert!(s.keyframe, "the first packet of a segment is a keyframe: {:?}", s);
            }
        }
    }

    #[test]
    fn nacked_numbers_map_back_to_the_packet_they_came_from(
        kind in kind(),
        first in layer(),
        starts in starts(),
        steps in steps(),
        unsent in 1..1_000u16,
    ) {
        let (track, sent) = run(kind, first, starts, &steps)?;
        let Some(last) = sent.last() else { return Ok(()) };
        for s in &sent {
            // Eight switches are remembered: older packets may not map back.
            if s.segment + SEGMENTS <= last.segment {
                continue;
            }
            let origin = track.origin(s.out_seq);
            prop_assert_eq!(origin.map(|o| (o.layer, o.seq)), Some((s.layer, s.in_seq)), "{:?}", s);
            prop_assert_eq!(origin.map(|o| s.in_ts.wrapping_add(o.ts_offset)), Some(s.out_ts));
        }
        prop_assert_eq!(track.origin(last.out_seq.wrapping_add(unsent)), None, "never sent");
    }

    #[test]
    fn arbitrary_packets_at_arbitrary_times_never_panic_and_come_from_the_current_layer(
        kind in kind(),
        clock_rate in prop_oneof![Just(90_000u32), Just(48_000), any::<u32>()],
        packets in prop::collection::vec(
            (any::<u8>(), any::<u16>(), any::<u32>(), any::<bool>(), any::<u32>(), any::<Option<u8>>()),
            0..200,
        ),
        nacks in prop::collection::vec(any::<u16>(), 0..50),
    ) {
        let t0 = Instant::now();
        let mut track = TrackRewriter::new(kind, clock_rate, 0);
        for (layer, seq, ts, keyframe, at_ms, retarget) in packets {
            if let Some(target) = retarget {
                track.set_target(target);
            }
            // Times jump about, backwards too.
            let now = t0 + Duration::from_millis(u64::from(at_ms));
            if track.rewrite(now, &packet(kind, layer, seq, ts, keyframe)).is_some() {
                prop_assert_eq!(track.current(), Some(layer));
            }
        }
        for seq in nacks {
            let _ = track.origin(seq);
        }
    }
}
