use std::time::{Duration, Instant};

use rtc::rtp::codec::vp8::Vp8Payloader;
use rtc::rtp::packetizer::Payloader;

use super::*;
use crate::record::test_clip::{ClipFrame, clip, decode};

/// A deterministic 0–7 ms offset per frame time (frames stay in order at 40 ms apart).
fn jitter_ms(ms: u64) -> u64 {
    (ms / 40 * 7919) % 8
}

/// The clip's frames as the tap would carry them, arriving in real time from `start`.
fn tap_packets(frames: &[ClipFrame], start: Instant) -> Vec<TapPacket> {
    let mut payloader = Vp8Payloader::default();
    let (mut video_seq, mut audio_seq) = (1000u16, 5000u16);
    let mut out = Vec::new();
    for frame in frames {
        let arrived = start + Duration::from_millis(frame.ms);
        if frame.video {
            let payloads = payloader.payload(1200, &Bytes::from(frame.data.clone())).unwrap();
            let last = payloads.len() - 1;
            for (i, payload) in payloads.into_iter().enumerate() {
                video_seq = video_seq.wrapping_add(1);
                out.push(TapPacket {
                    kind: MediaKind::Video,
                    seq: video_seq,
                    // Capture times jitter by a few ms, as a browser's do.
                    timestamp: u32::try_from((frame.ms + jitter_ms(frame.ms)) * 90).unwrap().wrapping_add(7_000_000),
                    marker: i == last,
                    keyframe: frame.keyframe && i == 0,
                    payload,
                    arrived,
                });
            }
        } else {
            audio_seq = audio_seq.wrapping_add(1);
            out.push(TapPacket {
                kind: MediaKind::Audio,
                seq: audio_seq,
                timestamp: u32::try_from(frame.ms * 48).unwrap(),
                marker: false,
                keyframe: false,
                payload: Bytes::from(frame.data.clone()),
                arrived,
            });
        }
    }
    out.sort_by_key(|p| p.arrived);
    out
}

/// Runs `packets` through a recorder (timers every 20 ms) and writes the joined file.
fn record(packets: Vec<TapPacket>, dir: &std::path::Path) -> (Vec<Segment>, RecordingSummary, std::path::PathBuf, u32) {
    let mut recorder = Recorder::new();
    let mut segments = Vec::new();
    recorder.handle(TapItem::Tracks(TapTracks { video: Some(Codec::Vp8), audio: true }), &mut segments);
    let mut keyframe_asks = 0;
    let mut next_tick = packets[0].arrived;
    for packet in packets {
        while next_tick <= packet.arrived {
            recorder.handle_timeout(next_tick, &mut segments);
            next_tick += Duration::from_millis(20);
        }
        recorder.handle(TapItem::Packet(packet), &mut segments);
        keyframe_asks += u32::from(recorder.take_keyframe_request());
    }
    let summary = recorder.finish(&mut segments);
    let file = dir.join("recording.webm");
    std::fs::write(&file, segments.iter().flat_map(|s| s.bytes.clone()).collect::<Vec<u8>>()).unwrap();
    (segments, summary, file, keyframe_asks)
}

#[test]
fn a_stream_becomes_segments_that_join_into_a_clean_file() {
    let dir = tempfile::tempdir().unwrap();
    let frames = clip(dir.path(), 21, 50);
    let (video_frames, audio_frames) =
        (frames.iter().filter(|f| f.video).count(), frames.iter().filter(|f| !f.video).count());
    let (segments, summary, file, keyframe_asks) = record(tap_packets(&frames, Instant::now()), dir.path());

    let indexes: Vec<u32> = segments.iter().map(|s| s.index).collect();
    assert_eq!(indexes, (0..u32::try_from(segments.len()).unwrap()).collect::<Vec<_>>());
    assert!(segments.len() >= 4, "header and a segment per ~8 s of 21 s: {indexes:?}");
    for pair in segments[1..].windows(2) {
        let span = pair[0].end_ms - pair[0].start_ms;
        assert!(span < MAX_SEGMENT_MS, "segment {} spans {span} ms", pair[0].index);
        assert!(pair[1].start_ms >= pair[0].end_ms);
    }
    assert!(keyframe_asks >= 1, "the recorder asked for its first keyframe");
    assert_eq!(summary.container, Some(Container::Webm));
    assert!(summary.duration_ms >= 20_500, "{summary:?}");
    assert_eq!(summary.frames_dropped, 0);

    let (errors, video, audio) = decode(&file);
    assert_eq!(errors, "", "ffmpeg decodes the joined segments without a word");
    assert_eq!(video, u64::try_from(video_frames).unwrap(), "every video frame is there");
    assert!(audio + 2 >= u64::try_from(audio_frames).unwrap(), "audio {audio} of {audio_frames}");
}

#[test]
fn lost_and_reordered_packets_still_make_a_clean_file() {
    let dir = tempfile::tempdir().unwrap();
    let frames = clip(dir.path(), 6, 25);
    let mut packets = tap_packets(&frames, Instant::now());
    let video_at: Vec<usize> =
        packets.iter().enumerate().filter(|(_, p)| p.kind == MediaKind::Video).map(|(i, _)| i).collect();
    // Swap neighbours now and then (reordering), and lose one packet in 40.
    for pair in video_at.chunks(2).step_by(7) {
        if let [a, b] = pair {
            packets.swap(*a, *b);
        }
    }
    let lost: Vec<usize> = video_at.iter().copied().skip(30).step_by(40).collect();
    for i in lost.iter().rev() {
        packets.remove(*i);
    }
    let (_, summary, file, keyframe_asks) = record(packets, dir.path());
    let (errors, video, _) = decode(&file);
    assert_eq!(errors, "", "no broken frame reaches the file");
    let sent = u64::try_from(frames.iter().filter(|f| f.video).count()).unwrap();
    assert!(video < sent && video > sent / 3, "frames after a loss wait for a keyframe: {video} of {sent}");
    assert!(summary.frames_dropped >= u64::try_from(lost.len()).unwrap(), "{summary:?}");
    assert!(keyframe_asks > 1, "a loss asks for a keyframe");
}
