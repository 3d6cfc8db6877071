//! [`Stream`]: one publisher's media fanned out to its viewers. A plain state machine:
//! every method takes `now`, nothing reads a clock or touches a socket.
//!
//! ```text
//!  handle_publisher_rtp ─▶ meter + cache ─▶ for each viewer: rewrite ─▶ send(viewer, Forward)
//!  add_viewer / handle_viewer_pli / layer change ─▶ keyframe throttle ─▶ poll_output()
//!  handle_viewer_nack ─▶ origin ─▶ cache ─▶ send(viewer, Forward{retransmission})
//!  handle_viewer_estimate ─▶ choose_layer ─▶ new target (switch at its keyframe)
//!  poll_timeout / handle_timeout ─▶ due keyframe requests, periodic layer review
//!  add_recorder / record ─▶ the recorder's own rewrite (best layer, not a viewer)
//! ```
//!
//! The recorder is a viewer without a session: it gets the best live layer (no
//! bandwidth limit), its sequence numbers and timestamps run on across layer switches
//! like a viewer's, and it is not counted in [`Stream::viewer_count`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::cache::PacketCache;
use super::instant_start::KeyframeMarks;
use super::keyframe_throttle::KeyframeThrottle;
use super::layers::{LayerMeter, choose_layer};
use super::packet::{Forward, InPacket, Layer, MAX_LAYERS, MediaKind};
use super::rewrite::TrackRewriter;

/// How often every viewer's layer is reviewed (layers stopping or reappearing, a
/// keyframe request that was lost).
pub const REVIEW_INTERVAL: Duration = Duration::from_millis(500);

/// RTP clock rates of the stream's media.
#[derive(Debug, Clone, Copy)]
pub struct StreamConfig {
    /// Video clock (90 kHz for every video codec in WebRTC).
    pub video_clock_rate: u32,
    /// Audio clock (48 kHz for Opus).
    pub audio_clock_rate: u32,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig { video_clock_rate: 90_000, audio_clock_rate: 48_000 }
    }
}

/// A viewer's handle within one stream. Slots are reused, so the handle carries the
/// slot's generation: a stale handle (RTCP arriving after a viewer left) never
/// reaches the viewer that took its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ViewerId {
    index: u32,
    generation: u32,
}

impl ViewerId {
    /// The slot index (stable while the viewer stays; reused after it leaves).
    pub fn index(self) -> u32 {
        self.index
    }
}

/// Something the stream asks its owner to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Send the publisher a keyframe request (PLI, or FIR where PLI is not
    /// negotiated) for this layer.
    RequestKeyframe {
        /// The simulcast layer.
        layer: Layer,
    },
}

#[derive(Debug)]
struct Viewer {
    generation: u32,
    video: TrackRewriter,
    audio: TrackRewriter,
    estimate: Option<u64>,
    /// The most the viewer asked to receive (bit/s), whatever its estimate says.
    cap: Option<u64>,
}

impl Viewer {
    /// What the viewer can take: the lower of its estimate and its cap, if either.
    fn limit(&self) -> Option<u64> {
        match (self.estimate, self.cap) {
            (Some(estimate), Some(cap)) => Some(estimate.min(cap)),
            (estimate, cap) => estimate.or(cap),
        }
    }

    fn track(&mut self, kind: MediaKind) -> &mut TrackRewriter {
        match kind {
            MediaKind::Video => &mut self.video,
            MediaKind::Audio => &mut self.audio,
        }
    }
}

/// One stream's forwarding state.
#[derive(Debug)]
pub struct Stream {
    config: StreamConfig,
    viewers: Vec<Option<Viewer>>,
    free: Vec<u32>,
    count: usize,
    caches: [PacketCache; MAX_LAYERS],
    throttles: [KeyframeThrottle; MAX_LAYERS],
    meter: LayerMeter,
    outputs: VecDeque<Output>,
    next_review: Option<Instant>,
    generation: u32,
    /// The recorder's rewriters, while the stream is recorded.
    recorder: Option<Viewer>,
    /// Where each layer's latest keyframe starts, for joiners.
    marks: KeyframeMarks,
}

impl Stream {
    /// An empty stream.
    pub fn new(config: StreamConfig) -> Self {
        Stream {
            config,
            viewers: Vec::new(),
            free: Vec::new(),
            count: 0,
            caches: Default::default(),
            throttles: Default::default(),
            meter: LayerMeter::default(),
            outputs: VecDeque::new(),
            next_review: None,
            generation: 0,
            recorder: None,
            marks: KeyframeMarks::default(),
        }
    }

    /// How many viewers are attached.
    pub fn viewer_count(&self) -> usize {
        self.count
    }

    fn viewer(&self, id: ViewerId) -> Option<&Viewer> {
        self.viewers.get(id.index as usize)?.as_ref().filter(|v| v.generation == id.generation)
    }

    fn viewer_mut(&mut self, id: ViewerId) -> Option<&mut Viewer> {
        self.viewers.get_mut(id.index as usize)?.as_mut().filter(|v| v.generation == id.generation)
    }

    /// The layer a viewer currently receives, if video flows to it yet.
    pub fn viewer_layer(&self, id: ViewerId) -> Option<Layer> {
        self.viewer(id)?.video.current()
    }

    fn request_keyframe(&mut self, now: Instant, layer: Layer) {
        if let Some(throttle) = self.throttles.get_mut(usize::from(layer))
            && throttle.request(now)
        {
            self.outputs.push_back(Output::RequestKeyframe { layer });
        }
    }

    /// Adds a viewer: it gets audio at once and video from the next keyframe of the
    /// best live layer, which is requested now.
    pub fn add_viewer(&mut self, now: Instant) -> ViewerId {
        let layer = choose_layer(self.meter.rates(now), None, None).unwrap_or(0);
        let id = self.insert_viewer(now, layer);
        self.request_keyframe(now, layer);
        id
    }

    /// Adds a viewer and starts it at once where it can (see [`super::instant_start`]):
    /// `send` gets the best live layer's latest keyframe and every packet since, with
    /// the viewer's numbers (which run on into the live packets). Otherwise this is
    /// [`Stream::add_viewer`]: video from the next keyframe, requested now.
    pub fn join(&mut self, now: Instant, mut send: impl FnMut(ViewerId, Forward<'_>)) -> ViewerId {
        let layer = choose_layer(self.meter.rates(now), None, None).unwrap_or(0);
        let replay = self.marks.replay_from(now, layer, &self.caches[usize::from(layer)]);
        let id = self.insert_viewer(now, layer);
        let Some((first, count)) = replay else {
            self.request_keyframe(now, layer);
            return id;
        };
        let cache = &self.caches[usize::from(layer)];
        let Some(Some(viewer)) = self.viewers.get_mut(id.index as usize) else { return id };
        for i in 0..count {
            let Some(packet) = u16::try_from(i).ok().and_then(|i| cache.get(first.wrapping_add(i))) else { break };
            if let Some((seq, timestamp)) = viewer.video.rewrite(now, packet) {
                let forward = Forward::of(packet, seq, timestamp);
                send(id, forward);
            }
        }
        id
    }

    /// A viewer is about to join (its session was created; it will be added once
    /// connected): asks for a keyframe of the layer it will start on, so that a fresh
    /// one is cached when it is added ([`Stream::join`]).
    pub fn expect_viewer(&mut self, now: Instant) {
        let layer = choose_layer(self.meter.rates(now), None, None).unwrap_or(0);
        self.request_keyframe(now, layer);
    }

    /// A new viewer slot for video of `layer` (not yet started) and audio.
    fn insert_viewer(&mut self, now: Instant, layer: Layer) -> ViewerId {
        self.generation = self.generation.wrapping_add(1);
        let viewer = Viewer {
            generation: self.generation,
            video: TrackRewriter::new(MediaKind::Video, self.config.video_clock_rate, layer),
            audio: TrackRewriter::new(MediaKind::Audio, self.config.audio_clock_rate, 0),
            estimate: None,
            cap: None,
        };
        let id = match self.free.pop() {
            Some(index) => {
                self.viewers[index as usize] = Some(viewer);
                index
            }
            None => {
                self.viewers.push(Some(viewer));
                u32::try_from(self.viewers.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.count += 1;
        self.next_review.get_or_insert(now + REVIEW_INTERVAL);
        ViewerId { index: id, generation: self.generation }
    }

    /// Starts recording the stream: from now on [`Stream::record`] rewrites its packets
    /// for the recorder, which gets video from the next keyframe of the best live layer
    /// (requested now). Calling it again changes nothing.
    pub fn add_recorder(&mut self, now: Instant) {
        if self.recorder.is_some() {
            return;
        }
        let layer = choose_layer(self.meter.rates(now), None, None).unwrap_or(0);
        self.recorder = Some(Viewer {
            generation: 0,
            video: TrackRewriter::new(MediaKind::Video, self.config.video_clock_rate, layer),
            audio: TrackRewriter::new(MediaKind::Audio, self.config.audio_clock_rate, 0),
            estimate: None,
            cap: None,
        });
        self.request_keyframe(now, layer);
        self.next_review.get_or_insert(now + REVIEW_INTERVAL);
    }

    /// Whether the stream is recorded.
    pub fn is_recorded(&self) -> bool {
        self.recorder.is_some()
    }

    /// The recorder's sequence number and timestamp for a packet already given to
    /// [`Stream::handle_publisher_rtp`], or `None` if the recorder does not take it (not
    /// recording, another layer, or video before its first keyframe).
    pub fn record(&mut self, now: Instant, packet: &InPacket) -> Option<(u16, u32)> {
        self.recorder.as_mut()?.track(packet.kind).rewrite(now, packet)
    }

    /// The recorder asks for a keyframe (to start a segment, or after a loss).
    pub fn handle_recorder_keyframe_request(&mut self, now: Instant) {
        if let Some(recorder) = &self.recorder {
            let layer = recorder.video.current().unwrap_or(recorder.video.target());
            self.request_keyframe(now, layer);
        }
    }

    /// The layer the recorder gets now, if video reaches it yet.
    pub fn recorder_layer(&self) -> Option<Layer> {
        self.recorder.as_ref()?.video.current()
    }

    /// Removes a viewer; the others are not affected.
    pub fn remove_viewer(&mut self, id: ViewerId) {
        if self.viewer(id).is_some() {
            self.viewers[id.index as usize] = None;
            self.free.push(id.index);
            self.count -= 1;
        }
    }

    /// A packet from the publisher: `send` is called once per viewer that gets it,
    /// with that viewer's rewritten header fields. Allocates nothing per viewer.
    pub fn handle_publisher_rtp(
        &mut self,
        now: Instant,
        packet: &InPacket,
        mut send: impl FnMut(ViewerId, Forward<'_>),
    ) {
        if packet.kind == MediaKind::Video {
            if usize::from(packet.layer) >= MAX_LAYERS {
                return;
            }
            self.meter.record(now, packet.layer, packet.payload.len());
            self.caches[usize::from(packet.layer)].insert(packet);
            self.marks.note(now, packet.layer, packet.seq, packet.timestamp, packet.keyframe);
            if packet.keyframe {
                self.throttles[usize::from(packet.layer)].keyframe_seen();
            }
        }
        for (index, slot) in self.viewers.iter_mut().enumerate() {
            let Some(viewer) = slot else { continue };
            if let Some((seq, timestamp)) = viewer.track(packet.kind).rewrite(now, packet) {
                let forward = Forward::of(packet, seq, timestamp);
                let index = u32::try_from(index).unwrap_or(u32::MAX);
                send(ViewerId { index, generation: viewer.generation }, forward);
            }
        }
    }

    /// A viewer asked for a keyframe (its decoder lost state).
    pub fn handle_viewer_pli(&mut self, now: Instant, id: ViewerId) {
        if let Some(viewer) = self.viewer_mut(id) {
            let layer = viewer.video.current().unwrap_or(viewer.video.target());
            self.request_keyframe(now, layer);
        }
    }

    /// A viewer reported lost video packets (its own sequence numbers): resend those
    /// still in the cache through `send`.
    pub fn handle_viewer_nack(&mut self, id: ViewerId, lost: &[u16], mut send: impl FnMut(ViewerId, Forward<'_>)) {
        let Some(viewer) = self.viewer(id) else { return };
        for &out_seq in lost {
            let Some(origin) = viewer.video.origin(out_seq) else { continue };
            let Some(packet) = self.caches.get(usize::from(origin.layer)).and_then(|c| c.get(origin.seq)) else {
                continue;
            };
            let timestamp = packet.timestamp.wrapping_add(origin.ts_offset);
            let forward = Forward { retransmission: true, ..Forward::of(packet, out_seq, timestamp) };
            send(id, forward);
        }
    }

    /// A viewer's bandwidth estimate (REMB or transport-wide congestion control), in
    /// bit/s: its layer follows, switching at the next keyframe.
    pub fn handle_viewer_estimate(&mut self, now: Instant, id: ViewerId, bps: u64) {
        let Some(viewer) = self.viewer_mut(id) else { return };
        viewer.estimate = Some(bps);
        self.rechoose(now, id);
    }

    /// A viewer's own limit (bit/s; `None` lifts it): it gets no layer above the lower
    /// of this and its estimate, switching at the next keyframe. A player uses it to
    /// fit a small window or a metered link.
    pub fn handle_viewer_cap(&mut self, now: Instant, id: ViewerId, cap: Option<u64>) {
        let Some(viewer) = self.viewer_mut(id) else { return };
        viewer.cap = cap;
        self.rechoose(now, id);
    }

    /// Chooses `id`'s layer again from its limit; a new target asks for its keyframe.
    fn rechoose(&mut self, now: Instant, id: ViewerId) {
        let rates = self.meter.rates(now);
        let Some(viewer) = self.viewer_mut(id) else { return };
        let wanted = choose_layer(rates, viewer.limit(), viewer.video.current());
        if let Some(layer) = wanted
            && layer != viewer.video.target()
        {
            viewer.video.set_target(layer);
            self.request_keyframe(now, layer);
        }
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Stream::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.throttles.iter().filter_map(KeyframeThrottle::poll_timeout).chain(self.next_review).min()
    }

    /// Sends due keyframe requests and reviews every viewer's layer: a viewer whose
    /// layer stopped moves to a live one, and one still waiting for a keyframe asks
    /// again (a request may have been lost).
    pub fn handle_timeout(&mut self, now: Instant) {
        for layer in 0..MAX_LAYERS {
            if self.throttles[layer].handle_timeout(now) {
                self.outputs.push_back(Output::RequestKeyframe { layer: Layer::try_from(layer).unwrap_or(0) });
            }
        }
        let Some(due) = self.next_review else { return };
        if now < due {
            return;
        }
        self.next_review = (self.count > 0 || self.recorder.is_some()).then(|| now + REVIEW_INTERVAL);
        let rates = self.meter.rates(now);
        let mut wanted_keyframes = [false; MAX_LAYERS];
        for viewer in self.viewers.iter_mut().flatten().chain(self.recorder.as_mut()) {
            let current = viewer.video.current();
            if let Some(layer) = choose_layer(rates, viewer.limit(), current)
                && layer != viewer.video.target()
            {
                viewer.video.set_target(layer);
            }
            if viewer.video.wants_keyframe() {
                wanted_keyframes[usize::from(viewer.video.target())] = true;
            }
        }
        for (layer, wanted) in wanted_keyframes.into_iter().enumerate() {
            if wanted {
                self.request_keyframe(now, Layer::try_from(layer).unwrap_or(0));
            }
        }
    }
}
