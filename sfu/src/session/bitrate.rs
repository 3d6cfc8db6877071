//! A viewer's `max_bitrate`: its own cap on the simulcast layer it receives, passed to
//! the media plane, at most [`MAX_BITRATE_CHANGES_PER_SECOND`] times a second.
//!
//! ```text
//!  max_bitrate{bps} ─▶ viewing? (else unexpected_message) ─▶ over the rate? ─▶ rate_limited
//!                                                          └▶ media.set_max_bitrate(id, bps or none)
//! ```

use std::time::Duration;

use tokio::sync::mpsc::Sender;
use tokio::time::Instant;

use super::{Flow, Media, error_frame, media_error, send};
use crate::media::MediaHandle;

/// Cap changes a connection may make per second: a player changes its cap when its
/// window or its user's choice changes, a few times a minute; each change is a command
/// to the media task and may cost the publisher a keyframe.
pub const MAX_BITRATE_CHANGES_PER_SECOND: u32 = 4;

/// One connection's recent cap changes.
#[derive(Debug, Default)]
pub(super) struct CapChanges {
    window_start: Option<Instant>,
    in_window: u32,
}

impl CapChanges {
    fn admit(&mut self) -> bool {
        let now = Instant::now();
        match self.window_start {
            Some(start) if now.duration_since(start) < Duration::from_secs(1) => {}
            _ => {
                self.window_start = Some(now);
                self.in_window = 0;
            }
        }
        self.in_window += 1;
        self.in_window <= MAX_BITRATE_CHANGES_PER_SECOND
    }
}

/// Serves a `max_bitrate` frame (`bps` 0 lifts the cap).
pub(super) async fn on_max_bitrate(
    media_handle: &MediaHandle,
    media: &Media,
    changes: &mut CapChanges,
    bps: u64,
    out: &Sender<String>,
) -> Flow {
    let Media::Viewing { id, .. } = media else {
        return send(out, &error_frame("unexpected_message", "only a viewer can cap its bit rate")).await;
    };
    if !changes.admit() {
        let message = format!("at most {MAX_BITRATE_CHANGES_PER_SECOND} bit rate changes a second");
        return send(out, &error_frame("rate_limited", message)).await;
    }
    match media_handle.set_max_bitrate(*id, (bps > 0).then_some(bps)).await {
        Ok(()) => Flow::Continue,
        Err(err) => send(out, &media_error(&err)).await,
    }
}
