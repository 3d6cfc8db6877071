use std::time::{Duration, Instant};

use rtc::rtp::codec::h264::H264Payloader;
use rtc::rtp::codec::vp8::Vp8Payloader;
use rtc::rtp::packetizer::Payloader;

use super::*;
use crate::codec::keyframe::starts_keyframe;
use crate::record::h264::nal_units;
use crate::record::test_clip::{ClipFrame, clip, decode, h264_clip};

/// A deterministic 0–7 ms offset per frame time (frames stay in order at 40 ms apart).
fn jitter_ms(ms: u64) -> u64 {
    (ms / 40 * 7919) % 8
}

/// The clip's VP8 frames as the tap would carry them, arriving in real time from `start`.
fn tap_packets(frames: &[ClipFrame], start: Instant) -> Vec<TapPacket> {
    packetize(frames, start, Codec::Vp8)
}

/// The clip's frames in `codec` as the tap would carry them (H.264 frames go to the
/// payloader in Annex B form, as an encoder hands them over).
fn packetize(frames: &[ClipFrame], start: Instant, codec: Codec) -> Vec<TapPacket> {
    let mut payloader: Box<dyn Payloader> = match codec {
        Codec::H264 => Box::new(H264Payloader::default()),
        _ => Box::new(Vp8Payloader::default()),
    };
    let (mut video_seq, mut audio_seq) = (1000u16, 5000u16);
    let mut out = Vec::new();
    for frame in frames {
        let arrived = start + Duration::from_millis(frame.ms);
        if frame.video {
            let data = match codec {
                Codec::H264 => nal_units(&frame.data).flat_map(|u| [&[0, 0, 0, 1][..], u].concat()).collect(),
                _ => frame.data.clone(),
            };
            let payloads = payloader.payload(1200, &Bytes::from(data)).unwrap();
            let last = payloads.len() - 1;
            for (i, payload) in payloads.into_iter().enumerate() {
                video_seq = video_seq.wrapping_add(1);
                out.push(TapPacket {
                    kind: MediaKind::Video,
                    seq: video_seq,
                    // Capture times jitter by a few ms, as a browser's do.
                    timestamp: u32::try_from((frame.ms + jitter_ms(frame.ms)) * 90).unwrap().wrapping_add(7_000_000),
                    marker: i == last,
                    keyframe: starts_keyframe(codec, &payload),
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

/// Runs VP8 `packets` through a recorder (timers every 20 ms) and writes the joined file.
fn record(packets: Vec<TapPacket>, dir: &std::path::Path) -> (Vec<Segment>, RecordingSummary, std::path::PathBuf, u32) {
    record_as(Codec::Vp8, packets, dir)
}

/// Runs `packets` in `codec` through a recorder and writes the joined file.
fn record_as(
    codec: Codec,
    packets: Vec<TapPacket>,
    dir: &std::path::Path,
) -> (Vec<Segment>, RecordingSummary, std::path::PathBuf, u32) {
    let mut recorder = Recorder::new();
    let mut segments = Vec::new();
    recorder.handle(TapItem::Tracks(TapTracks { video: Some(codec), audio: true }), &mut segments);
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
    let file = dir.join(format!("recording.{}", segments[0].container.extension()));
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

#[test]
fn an_h264_stream_becomes_matroska_segments_that_decode_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let frames = h264_clip(dir.path(), 12, 50);
    let sent = u64::try_from(frames.iter().filter(|f| f.video).count()).unwrap();
    let (segments, summary, file, _) =
        record_as(Codec::H264, packetize(&frames, Instant::now(), Codec::H264), dir.path());
    assert!(segments.len() >= 3, "header and a segment per ~8 s of 12 s: {}", segments.len());
    assert!(segments.iter().all(|s| s.container == Container::Matroska));
    assert_eq!(summary.frames_dropped, 0, "{summary:?}");
    let (errors, video, audio) = decode(&file);
    assert_eq!(errors, "", "ffmpeg decodes the joined segments without a word");
    assert_eq!(video, sent, "every video frame is there");
    assert!(audio > 500, "the audio is there: {audio} frames");
    let probed = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height"])
        .args(["-of", "csv=p=0"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&probed.stdout).trim(), "h264,320,240", "the size is the stream's own");
}

#[test]
fn an_h264_keyframe_without_parameter_sets_does_not_start_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut frames = h264_clip(dir.path(), 3, 25);
    // The first keyframe loses its SPS and PPS: a decoder could not start there.
    let first = frames.iter_mut().find(|f| f.video).unwrap();
    first.data = nal_units(&first.data)
        .filter(|u| u[0] & 0x1f == 5)
        .flat_map(|u| [&(u.len() as u32).to_be_bytes()[..], u].concat())
        .collect();
    let (segments, summary, file, keyframe_asks) =
        record_as(Codec::H264, packetize(&frames, Instant::now(), Codec::H264), dir.path());
    assert!(keyframe_asks >= 2, "asked at the start and again for one with parameter sets");
    assert!(summary.duration_ms >= 1_500, "the file starts at the next keyframe: {summary:?}");
    assert!(segments.len() >= 2);
    let (errors, video, _) = decode(&file);
    assert_eq!(errors, "");
    assert_eq!(video, 50, "the frames from the second keyframe on");
}
