//! A viewer's `max_bitrate`: its own cap on the simulcast layer it receives, passed to
//! the media plane, at most [`MAX_BITRATE_CHANGES_PER_SECOND`] times a second.
//!
//! ```text
//!  max_bitrate{bps} ─▶ viewing? (else unexpected_message) ─▶ over the rate? ─▶ rate_limited
//!                                                          └▶ media.set_max_bitrate(id, bps or none)
//! ```

use tokio::sync::mpsc::Sender;

use super::per_second::PerSecond;
use super::{Flow, Media, error_frame, media_error, send};
use crate::media::MediaHandle;

/// Cap changes a connection may make per second: a player changes its cap when its
/// window or its user's choice changes, a few times a minute; each change is a command
/// to the media task and may cost the publisher a keyframe.
pub const MAX_BITRATE_CHANGES_PER_SECOND: u32 = 4;

/// Serves a `max_bitrate` frame (`bps` 0 lifts the cap).
pub(super) async fn on_max_bitrate(
    media_handle: &MediaHandle,
    media: &Media,
    changes: &mut PerSecond,
    bps: u64,
    out: &Sender<String>,
) -> Flow {
    let Media::Viewing { id, .. } = media else {
        return send(out, &error_frame("unexpected_message", "only a viewer can cap its bit rate")).await;
    };
    if !changes.admit(MAX_BITRATE_CHANGES_PER_SECOND) {
        let message = format!("at most {MAX_BITRATE_CHANGES_PER_SECOND} bit rate changes a second");
        return send(out, &error_frame("rate_limited", message)).await;
    }
    match media_handle.set_max_bitrate(*id, (bps > 0).then_some(bps)).await {
        Ok(()) => Flow::Continue,
        Err(err) => send(out, &media_error(&err)).await,
    }
}
