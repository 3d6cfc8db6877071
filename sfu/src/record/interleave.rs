//! [`Interleaver`]: the frames of a recording's two tracks, merged in time order.
//!
//! Each track's frames come out of its own reorder ring and depacketizer already in
//! time order, but the tracks run independently: audio may be a few packets ahead of
//! video or behind it. A WebM cluster wants its blocks in time order, so a frame is
//! held until the other track has caught up with it — or has been silent for
//! [`HOLD_MS`] of this track's time (a muted camera must not hold up the audio).

use std::collections::VecDeque;

use bytes::Bytes;

/// How far one track may run ahead of a silent other track before its frames go out
/// anyway.
pub const HOLD_MS: u64 = 500;

/// One frame on the recording's time axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedFrame {
    /// Video or audio.
    pub video: bool,
    /// Milliseconds since the recording started.
    pub ms: u64,
    /// A video keyframe (audio frames are always true).
    pub keyframe: bool,
    /// The codec's frame.
    pub data: Bytes,
}

/// Merges two tracks in time order (see the module docs).
#[derive(Debug, Default)]
pub struct Interleaver {
    video: VecDeque<TimedFrame>,
    audio: VecDeque<TimedFrame>,
    /// Whether the stream has each track at all (a missing one is never waited for).
    has_video: bool,
    has_audio: bool,
}

impl Interleaver {
    /// An interleaver for a stream with these tracks.
    pub fn new(has_video: bool, has_audio: bool) -> Interleaver {
        Interleaver { has_video, has_audio, ..Interleaver::default() }
    }

    /// Takes a frame (in time order within its track).
    pub fn push(&mut self, frame: TimedFrame) {
        if frame.video { self.video.push_back(frame) } else { self.audio.push_back(frame) }
    }

    /// The next frame that may go out, if any.
    pub fn pop(&mut self) -> Option<TimedFrame> {
        match (self.video.front(), self.audio.front()) {
            (Some(v), Some(a)) => {
                if v.ms <= a.ms {
                    self.video.pop_front()
                } else {
                    self.audio.pop_front()
                }
            }
            (Some(v), None) => {
                let newest = self.video.back().map_or(v.ms, |f| f.ms);
                (!self.has_audio || v.ms + HOLD_MS <= newest).then(|| self.video.pop_front()).flatten()
            }
            (None, Some(a)) => {
                let newest = self.audio.back().map_or(a.ms, |f| f.ms);
                (!self.has_video || a.ms + HOLD_MS <= newest).then(|| self.audio.pop_front()).flatten()
            }
            (None, None) => None,
        }
    }

    /// Every held frame, in time order (the stream ended).
    pub fn drain(&mut self) -> Vec<TimedFrame> {
        let mut out: Vec<TimedFrame> = self.video.drain(..).chain(self.audio.drain(..)).collect();
        out.sort_by_key(|f| (f.ms, !f.video));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(video: bool, ms: u64) -> TimedFrame {
        TimedFrame { video, ms, keyframe: true, data: Bytes::new() }
    }

    fn drain_ready(i: &mut Interleaver) -> Vec<(bool, u64)> {
        std::iter::from_fn(|| i.pop()).map(|f| (f.video, f.ms)).collect()
    }

    #[test]
    fn frames_of_both_tracks_come_out_in_time_order() {
        let mut i = Interleaver::new(true, true);
        for ms in [0, 20, 40, 60] {
            i.push(frame(false, ms));
        }
        assert_eq!(drain_ready(&mut i), vec![], "audio waits for video to show where it is");
        i.push(frame(true, 33));
        assert_eq!(drain_ready(&mut i), vec![(false, 0), (false, 20), (true, 33)]);
        i.push(frame(true, 66));
        assert_eq!(drain_ready(&mut i), vec![(false, 40), (false, 60)]);
        assert_eq!(i.drain().iter().map(|f| (f.video, f.ms)).collect::<Vec<_>>(), vec![(true, 66)]);
    }

    #[test]
    fn a_silent_track_holds_the_other_only_so_long() {
        let mut i = Interleaver::new(true, true);
        for ms in (0..=HOLD_MS).step_by(20) {
            i.push(frame(false, ms));
        }
        assert_eq!(drain_ready(&mut i), vec![(false, 0)], "only the frame {HOLD_MS} ms behind the newest goes");
    }

    #[test]
    fn a_stream_without_audio_never_waits_for_it() {
        let mut i = Interleaver::new(true, false);
        i.push(frame(true, 0));
        assert_eq!(drain_ready(&mut i), vec![(true, 0)]);
    }
}
