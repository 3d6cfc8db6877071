//! What went live between two polls of the live set: a pure comparison of the stream
//! ids seen last time with the streams live now.
//!
//! ```text
//!  poll 1: baseline only (nothing is "new" to a process that just started listening)
//!  poll n: streams in `now` whose id was not in `prev` ──▶ went live
//! ```

use std::collections::HashSet;

use myvid_proto::notify::LiveNotice;
use myvid_store::meta::{LiveState, Video, VideoSource};

/// A stream that is live, with its broadcaster (whose followers hear of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WentLive {
    /// The broadcaster's account.
    pub owner_id: i64,
    /// What the followers are told.
    pub notice: LiveNotice,
}

impl WentLive {
    /// The notice for a live stream; `None` for anything else (not a live stream, not
    /// live now, or without an owner: imported videos have none).
    pub fn from_video(video: &Video) -> Option<WentLive> {
        if !matches!(video.source, VideoSource::Live { state: LiveState::Live, .. }) {
            return None;
        }
        let (Some(owner_id), Some(channel)) = (video.owner_id, video.owner_name.clone()) else {
            return None;
        };
        Some(WentLive {
            owner_id,
            notice: LiveNotice {
                channel,
                video_id: video.id.clone(),
                title: video.title.clone(),
                // Going live publishes the stream: its publication time is when it
                // first went live.
                started_at: video.published_at.unwrap_or(video.created_at),
            },
        })
    }
}

/// The ids of the streams in `now`: the next poll's `prev`.
pub fn ids(now: &[WentLive]) -> HashSet<String> {
    now.iter().map(|live| live.notice.video_id.clone()).collect()
}

/// The streams of `now` that were not live at the previous poll (`prev`), in `now`'s
/// order. `prev` is `None` at the first poll, which only sets the baseline: a stream
/// live before anyone listened is reported by the `ready` snapshot instead.
pub fn diff(prev: Option<&HashSet<String>>, now: &[WentLive]) -> Vec<WentLive> {
    let Some(prev) = prev else {
        return Vec::new();
    };
    now.iter().filter(|live| !prev.contains(&live.notice.video_id)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(id: &str, owner_id: i64) -> WentLive {
        WentLive {
            owner_id,
            notice: LiveNotice {
                channel: format!("user{owner_id}"),
                video_id: id.into(),
                title: format!("stream {id}"),
                started_at: 100,
            },
        }
    }

    #[test]
    fn the_first_poll_only_sets_a_baseline() {
        assert!(diff(None, &[live("a", 1), live("b", 2)]).is_empty());
    }

    #[test]
    fn new_ids_went_live_and_ended_ones_are_forgotten() {
        let first = [live("a", 1), live("b", 2)];
        let prev = ids(&first);
        let now = [live("c", 3), live("a", 1)];
        assert_eq!(diff(Some(&prev), &now), vec![live("c", 3)]);
        // "b" ended; if it came back under the same id it would count again.
        let prev = ids(&now);
        assert_eq!(diff(Some(&prev), &[live("b", 2), live("c", 3)]), vec![live("b", 2)]);
    }

    #[test]
    fn nothing_new_is_nothing() {
        let now = [live("a", 1)];
        assert!(diff(Some(&ids(&now)), &now).is_empty());
        assert!(diff(Some(&ids(&now)), &[]).is_empty());
    }
}
