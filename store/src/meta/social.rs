//! The types of the product around the videos: editing a video, follows between
//! accounts, and view counting (see [`crate::MetaStore::count_views`]).

use super::{User, Video, Visibility};

/// An owner's edit of a video; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VideoChange {
    /// A new title, already checked by the caller (trimmed, 1–200 characters).
    pub title: Option<String>,
    /// A new description, already checked by the caller.
    pub description: Option<String>,
    /// Who may see it from now on. A staged upload, an unfinished recording and a live
    /// stream cannot change it (`Conflict("visibility")`).
    pub visibility: Option<Visibility>,
}

impl VideoChange {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.description.is_none() && self.visibility.is_none()
    }
}

/// A channel someone follows, as their "Following" list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    /// The followed account.
    pub user: User,
    /// Its live stream, if it is live now.
    pub live: Option<Video>,
    /// Unix seconds when the follow began.
    pub followed_at: i64,
}

/// One view to count: `viewer` (a keyed 16-byte hash of who watched, never a user id or
/// address) watched video `video_id` at `at` (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ViewMark {
    /// The video watched.
    pub video_id: String,
    /// Who watched, hashed.
    pub viewer: [u8; 16],
    /// When.
    pub at: i64,
}

/// The most co-watch pairs one new view adds: pairs with the viewer's most recent
/// other views, at most this many (so one viewer cannot flood the pairs).
pub const CO_VIEW_PAIRS_PER_VIEW: u32 = 10;

/// How far back (seconds) a viewer's other views pair with a new one.
pub const CO_VIEW_WINDOW_SECS: i64 = 2 * 3600;

/// A batch's marks oldest first, the order they are counted in (so that a viewer's
/// earlier view is the one a window starts from).
pub(crate) fn in_time_order(marks: &[ViewMark]) -> Vec<&ViewMark> {
    let mut ordered: Vec<&ViewMark> = marks.iter().collect();
    ordered.sort_by_key(|mark| mark.at);
    ordered
}
