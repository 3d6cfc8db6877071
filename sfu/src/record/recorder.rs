//! [`Recorder`]: a stream's forwarded packets into segments of a Matroska file (WebM for
//! VP8 and VP9, plain Matroska for H.264), as a state
//! machine without I/O (the task in [`super::task`] feeds it and stores what it cuts).
//!
//! ```text
//!  TapItem::Tracks ─▶ one Track per kind (reorder ring ─▶ frame assembler ─▶ timeline)
//!  TapItem::Packet ─▶ its Track ─▶ whole frames in time order ─▶ Interleaver
//!        ─▶ MatroskaSegments: segment 0 = header (at the first video keyframe; for H.264
//!           one that carries its parameter sets), then one
//!           segment per cluster: cut at a keyframe after CUT_AFTER_MS, at the latest
//!           after MAX_SEGMENT_MS (so the store has the stream at least that often)
//!  loss ─▶ the broken frames are dropped until the next keyframe, which is asked for
//! ```
//!
//! The recorder asks the publisher for a keyframe ([`Recorder::take_keyframe_request`])
//! when its video starts, after a loss, and [`KEYFRAME_ASK_MS`] into each segment, so
//! that segments start at keyframes.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::rtp::codec::opus::OpusPacket;
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::codec::vp9::Vp9Packet;
use rtc::rtp::packetizer::Depacketizer;

use super::frames::{FrameAssembler, RecPacket};
use super::h264::{AvcDepacketizer, avc_config};
use super::interleave::{Interleaver, TimedFrame};
use super::matroska::{Frame, MatroskaSegments, Tracks, VideoCodec, VideoTrack};
use super::reorder::{Released, ReorderRing};
use super::sink::{Container, RecordingSummary, Segment};
use super::tap::{TapItem, TapPacket, TapTracks};
use super::timeline::Timeline;
use crate::codec::Codec;
use crate::forward::MediaKind;

/// A segment is cut at the first video keyframe after this long.
pub const CUT_AFTER_MS: u64 = 8_000;
/// A segment is cut after this long even without a keyframe: the most an SFU crash loses.
pub const MAX_SEGMENT_MS: u64 = 10_000;
/// How far into a segment the recorder asks for the keyframe that will start the next.
pub const KEYFRAME_ASK_MS: u64 = 7_000;
/// Packets each track's reorder ring holds.
pub const REORDER_PACKETS: usize = 512;
/// How long a missing packet is waited for (a retransmission has this long to come).
pub const REORDER_WAIT: Duration = Duration::from_millis(300);
/// Size written into the header when the stream's own cannot be read (decoders follow
/// the bitstream, not this).
const NOMINAL_SIZE: (u32, u32) = (640, 480);

/// Any of rtc's depacketizers.
struct AnyDepacketizer(Box<dyn Depacketizer + Send>);

impl Depacketizer for AnyDepacketizer {
    fn depacketize(&mut self, b: &Bytes) -> rtc::shared::error::Result<Bytes> {
        self.0.depacketize(b)
    }
    fn is_partition_head(&self, payload: &Bytes) -> bool {
        self.0.is_partition_head(payload)
    }
    fn is_partition_tail(&self, marker: bool, payload: &Bytes) -> bool {
        self.0.is_partition_tail(marker, payload)
    }
}

/// One track's way from packets to timed frames.
struct Track {
    ring: ReorderRing<TapPacket>,
    assembler: FrameAssembler<AnyDepacketizer>,
    clock_rate: u32,
    timeline: Option<Timeline>,
}

impl Track {
    fn new(depacketizer: Box<dyn Depacketizer + Send>, video: bool, clock_rate: u32) -> Track {
        Track {
            ring: ReorderRing::new(REORDER_PACKETS, REORDER_WAIT),
            assembler: FrameAssembler::new(AnyDepacketizer(depacketizer), video),
            clock_rate,
            timeline: None,
        }
    }
}

/// The width and height in a VP8 keyframe's header (RFC 6386 §9.1), if it has one.
fn vp8_size(frame: &[u8]) -> Option<(u32, u32)> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u32::from(u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff);
    let height = u32::from(u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff);
    (width > 0 && height > 0).then_some((width, height))
}

/// A recording in progress (see the module docs).
pub struct Recorder {
    tracks: Option<TapTracks>,
    video_codec: Option<VideoCodec>,
    video: Option<Track>,
    audio: Option<Track>,
    /// The first packet's arrival: the recording's time zero.
    start: Option<Instant>,
    interleaver: Interleaver,
    file: Option<MatroskaSegments>,
    next_index: u32,
    /// Start of the open segment's media, and whether its keyframe was asked for.
    open_since: Option<u64>,
    asked_this_segment: bool,
    last_ms: u64,
    keyframe_wanted: bool,
    summary: RecordingSummary,
    released: Vec<Released<TapPacket>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// A recorder waiting for the stream's tracks.
    pub fn new() -> Recorder {
        Recorder {
            tracks: None,
            video_codec: None,
            video: None,
            audio: None,
            start: None,
            interleaver: Interleaver::default(),
            file: None,
            next_index: 0,
            open_since: None,
            asked_this_segment: false,
            last_ms: 0,
            keyframe_wanted: false,
            summary: RecordingSummary::default(),
            released: Vec::new(),
        }
    }

    /// Whether the recorder wants a keyframe from the publisher (clears the wish).
    pub fn take_keyframe_request(&mut self) -> bool {
        std::mem::take(&mut self.keyframe_wanted)
    }

    /// What was recorded so far.
    pub fn summary(&self) -> RecordingSummary {
        let mut summary = self.summary;
        summary.frames_dropped = [&self.video, &self.audio]
            .into_iter()
            .flatten()
            .map(|t| t.assembler.dropped_frames() + t.ring.stats().late)
            .sum();
        summary
    }

    /// Takes one item from the tap; appends the segments it completed to `out`.
    pub fn handle(&mut self, item: TapItem, out: &mut Vec<Segment>) {
        match item {
            TapItem::Tracks(tracks) => self.set_tracks(tracks),
            TapItem::Packet(packet) => self.handle_packet(packet, out),
        }
    }

    fn set_tracks(&mut self, tracks: TapTracks) {
        if self.tracks.is_some() {
            return;
        }
        self.tracks = Some(tracks);
        let (codec, depacketizer): (Option<VideoCodec>, Option<Box<dyn Depacketizer + Send>>) = match tracks.video {
            Some(Codec::Vp8) => (Some(VideoCodec::Vp8), Some(Box::new(Vp8Packet::default()))),
            Some(Codec::Vp9) => (Some(VideoCodec::Vp9), Some(Box::new(Vp9Packet::default()))),
            Some(Codec::H264) => (Some(VideoCodec::H264), Some(Box::new(AvcDepacketizer::default()))),
            Some(other) => {
                tracing::warn!(codec = ?other, "streams in this video codec are not recorded yet");
                return;
            }
            None => (None, None),
        };
        self.video_codec = codec;
        self.video = depacketizer.map(|d| Track::new(d, true, 90_000));
        self.audio = tracks.audio.then(|| Track::new(Box::new(OpusPacket), false, 48_000));
        self.interleaver = Interleaver::new(self.video.is_some(), self.audio.is_some());
        self.keyframe_wanted = self.video.is_some();
    }

    fn handle_packet(&mut self, packet: TapPacket, out: &mut Vec<Segment>) {
        let start = *self.start.get_or_insert(packet.arrived);
        let now = packet.arrived;
        let video = packet.kind == MediaKind::Video;
        let mut released = std::mem::take(&mut self.released);
        if let Some(track) = self.track(video) {
            track.ring.push(packet.seq, now, packet, &mut released);
        }
        self.assemble(video, start, &mut released);
        self.released = released;
        self.write_ready(out);
    }

    /// Runs the reorder rings' timers (call every few tens of milliseconds).
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Segment>) {
        let Some(start) = self.start else { return };
        let mut released = std::mem::take(&mut self.released);
        for video in [true, false] {
            if let Some(track) = self.track(video) {
                track.ring.expire(now, &mut released);
            }
            self.assemble(video, start, &mut released);
        }
        self.released = released;
        self.write_ready(out);
    }

    /// The stream ended: everything held is written and the last segment cut.
    pub fn finish(&mut self, out: &mut Vec<Segment>) -> RecordingSummary {
        if let Some(start) = self.start {
            let mut released = std::mem::take(&mut self.released);
            for video in [true, false] {
                if let Some(track) = self.track(video) {
                    track.ring.flush(&mut released);
                }
                self.assemble(video, start, &mut released);
            }
        }
        for frame in self.interleaver.drain() {
            self.write(&frame, out);
        }
        if let Some(file) = self.file.as_mut()
            && let Ok(Some(bytes)) = file.close()
        {
            self.emit(bytes, out);
        }
        self.summary.duration_ms = self.last_ms;
        self.summary()
    }

    /// The video or the audio track, if the stream has it.
    fn track(&mut self, video: bool) -> Option<&mut Track> {
        if video { self.video.as_mut() } else { self.audio.as_mut() }
    }

    /// Released packets of one track into frames for the interleaver.
    fn assemble(&mut self, video: bool, start: Instant, released: &mut Vec<Released<TapPacket>>) {
        let Some(track) = (if video { self.video.as_mut() } else { self.audio.as_mut() }) else {
            released.clear();
            return;
        };
        for item in released.drain(..) {
            match item {
                Released::Lost { .. } => {
                    track.assembler.lost();
                    self.keyframe_wanted |= video;
                }
                Released::Packet(_, p) => {
                    let rec = RecPacket {
                        timestamp: p.timestamp,
                        marker: p.marker,
                        keyframe: p.keyframe,
                        payload: p.payload,
                    };
                    let Some(frame) = track.assembler.push(&rec) else { continue };
                    let anchor =
                        u64::try_from(p.arrived.saturating_duration_since(start).as_millis()).unwrap_or(u64::MAX);
                    let timeline = track.timeline.get_or_insert_with(|| Timeline::new(track.clock_rate, anchor));
                    let stamp = timeline.stamp(frame.timestamp);
                    if stamp.discontinuity {
                        tracing::info!(
                            video,
                            ms = stamp.ms,
                            "recording: the track's timestamps jumped; taken as a new timeline"
                        );
                    }
                    let ms = stamp.ms;
                    self.interleaver.push(TimedFrame { video, ms, keyframe: frame.keyframe, data: frame.data });
                }
            }
        }
        if track.assembler.wants_keyframe() && video && self.file.is_none() {
            self.keyframe_wanted = true;
        }
    }

    fn write_ready(&mut self, out: &mut Vec<Segment>) {
        while let Some(frame) = self.interleaver.pop() {
            self.write(&frame, out);
        }
        if let Some(since) = self.open_since
            && !self.asked_this_segment
            && self.last_ms.saturating_sub(since) >= KEYFRAME_ASK_MS
        {
            self.asked_this_segment = true;
            self.keyframe_wanted |= self.video.is_some();
        }
    }

    /// Starts the file at the first frame that can open it: a video keyframe (or any
    /// audio frame when there is no video). Returns whether it is open.
    fn open(&mut self, frame: &TimedFrame, out: &mut Vec<Segment>) -> bool {
        if self.file.is_some() {
            return true;
        }
        if self.video_codec.is_some() && !(frame.video && frame.keyframe) {
            return false;
        }
        let video = match self.video_codec {
            None => None,
            Some(VideoCodec::H264) => {
                let Some(private) = avc_config(&frame.data) else {
                    // A decoder cannot start without the parameter sets: wait for a
                    // keyframe that carries them.
                    self.keyframe_wanted = true;
                    return false;
                };
                Some(VideoTrack { codec: VideoCodec::H264, size: NOMINAL_SIZE, private: Some(private) })
            }
            Some(codec) => {
                let size = if codec == VideoCodec::Vp8 { vp8_size(&frame.data) } else { None };
                Some(VideoTrack { codec, size: size.unwrap_or(NOMINAL_SIZE), private: None })
            }
        };
        let tracks = Tracks { video, opus_channels: self.audio.is_some().then_some(2) };
        let container = if tracks.is_webm() { Container::Webm } else { Container::Matroska };
        match MatroskaSegments::start(&tracks) {
            Ok((file, init)) => {
                tracing::debug!(ms = frame.ms, ?tracks, "recording: the file starts");
                self.file = Some(file);
                self.summary.container = Some(container);
                self.emit(init, out);
                true
            }
            Err(err) => {
                tracing::warn!(%err, "cannot start the recording's file");
                false
            }
        }
    }

    fn write(&mut self, frame: &TimedFrame, out: &mut Vec<Segment>) {
        if !self.open(frame, out) {
            return;
        }
        // Never back in time across tracks (a frame held past HOLD_MS comes late).
        let ms = frame.ms.max(self.last_ms);
        if let Some(since) = self.open_since
            && ms.saturating_sub(since) >= MAX_SEGMENT_MS
            && let Some(Ok(Some(bytes))) = self.file.as_mut().map(MatroskaSegments::close)
        {
            self.emit(bytes, out);
            self.open_since = None;
        }
        let Some(file) = self.file.as_mut() else { return };
        let opening = self.open_since.is_none();
        let data = Frame { video: frame.video, ms, keyframe: frame.keyframe, data: &frame.data };
        match file.push(&data, CUT_AFTER_MS) {
            Ok(closed) => {
                if let Some(bytes) = closed {
                    self.emit(bytes, out);
                    self.open_since = Some(ms);
                    self.asked_this_segment = false;
                } else if opening {
                    self.open_since = Some(ms);
                    self.asked_this_segment = false;
                }
                self.last_ms = ms;
            }
            Err(err) => tracing::warn!(%err, "a frame could not be written to the recording"),
        }
    }

    fn emit(&mut self, bytes: Vec<u8>, out: &mut Vec<Segment>) {
        let index = self.next_index;
        self.next_index += 1;
        let start_ms = if index == 0 { 0 } else { self.open_since.unwrap_or(self.last_ms) };
        let end_ms = if index == 0 { 0 } else { self.last_ms };
        let container = self.summary.container.unwrap_or(Container::Webm);
        out.push(Segment { index, container, bytes, start_ms, end_ms });
    }
}

#[cfg(test)]
mod tests;
