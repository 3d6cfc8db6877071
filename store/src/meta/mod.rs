//! The metadata seam: accounts, sessions and videos, with full-text search.
//!
//! Implementations: [`sqlite::SqliteMeta`] (embedded default) and
//! [`mariadb::MariaMeta`] (a MariaDB server or Galera cluster). Both pass the same
//! conformance suite (`tests/common/meta.rs`, run by `tests/meta_conformance.rs` and
//! `tests/mariadb_conformance.rs`).

mod columns;
pub mod jobs;
pub mod mariadb;
mod search_words;
pub mod social;
pub mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::jobs::{
    FailOutcome, HlsMedia, Job, JobKind, JobState, NewJob, NewPurge, Rendition, Transcode, TranscodeState,
};
pub use self::social::{Followed, VideoChange, ViewMark};
use crate::error::Result;

/// A registered account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Stable numeric id.
    pub id: i64,
    /// Unique login name (case-insensitive unique).
    pub username: String,
    /// Unique e-mail address (case-insensitive unique).
    pub email: String,
    /// Unix seconds at sign-up.
    pub created_at: i64,
}

/// A user together with the stored password hash, returned only for log-in checks.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    /// The account.
    pub user: User,
    /// PHC-format password hash (argon2id).
    pub password_hash: String,
}

/// What is needed to create an account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name, already validated by the caller.
    pub username: String,
    /// E-mail, already validated by the caller.
    pub email: String,
    /// PHC-format password hash.
    pub password_hash: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// Who may see a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Only the owner sees it (every upload starts here).
    Private,
    /// Anyone with its link sees it, but it is never listed: not in search, on the
    /// home page, on its channel nor among recommendations. Stored as a private row
    /// marked `unlisted`, so that every listing, which asks for public rows, leaves it
    /// out by construction.
    Unlisted,
    /// Listed in search and on the home page.
    Public,
}

impl Visibility {
    /// The database spelling of the `visibility` column and the `unlisted` flag.
    pub fn stored(self) -> (&'static str, bool) {
        match self {
            Visibility::Private => ("private", false),
            Visibility::Unlisted => ("private", true),
            Visibility::Public => ("public", false),
        }
    }

    /// The name used in the API (`private`, `unlisted`, `public`).
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Unlisted => "unlisted",
            Visibility::Public => "public",
        }
    }

    /// Whether anyone (not only its owner) may watch it: public or unlisted.
    pub fn by_link(self) -> bool {
        self != Visibility::Private
    }
}

/// Where a video's media lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoSource {
    /// Stored in our object store (the original design's `MYVID` type); the keys name
    /// immutable objects in the videos and previews buckets, chosen by the server when
    /// the video was published.
    Stored {
        /// Key in [`crate::Bucket::Videos`].
        video_key: String,
        /// Key in [`crate::Bucket::Previews`].
        preview_key: String,
    },
    /// An upload that has not been published: its files are (being) uploaded to keys in
    /// [`crate::Bucket::Staging`], which nothing ever serves. Publishing replaces it with
    /// [`VideoSource::Stored`] (stored with the `MYVID` source, like published ones).
    Staged {
        /// Key of the video file in [`crate::Bucket::Staging`].
        video_key: String,
        /// Key of the preview image in [`crate::Bucket::Staging`].
        preview_key: String,
    },
    /// A live stream, broadcast through the SFU (which records it unless told not to).
    /// Once the stream has ended, its recording may be published in its place, as a
    /// [`VideoSource::Stored`] video with the same id ([`MetaStore::publish_recording`]).
    Live {
        /// Where it is in its life.
        state: LiveState,
        /// Whether it is recorded (the broadcaster may opt out when creating it).
        record: bool,
    },
    /// An external HTTP URL (imported catalogue entries).
    External {
        /// The media URL, played as is.
        url: String,
        /// A preview image URL, if the catalogue had one.
        preview_url: Option<String>,
    },
}

/// Where a live stream is in its life. A stream is public (listed, searchable)
/// exactly while it is [`LiveState::Live`].
///
/// The life only goes forward: `Pending → Live → Ended` (or `Pending → Ended`, a stream
/// given up before it went live). An ended stream never goes live again: its publish
/// token is refused and [`MetaStore::set_live_state`] will not move it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LiveState {
    /// Created; the broadcaster has not started.
    Pending,
    /// Being broadcast now.
    Live,
    /// The broadcaster stopped.
    Ended,
}

impl LiveState {
    /// Whether a stream in this state may move to `next`: forward only (staying put is
    /// fine, so that repeated reports are harmless).
    pub fn may_become(self, next: LiveState) -> bool {
        self.rank() <= next.rank()
    }

    /// Position in the life: pending, live, ended.
    fn rank(self) -> u8 {
        match self {
            LiveState::Pending => 0,
            LiveState::Live => 1,
            LiveState::Ended => 2,
        }
    }

    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LiveState::Pending => "pending",
            LiveState::Live => "live",
            LiveState::Ended => "ended",
        }
    }
}

/// One video's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Video {
    /// Public id, URL-safe (e.g. `k3J9xQ2mPa0Z`).
    pub id: String,
    /// Internal insertion sequence; used for keyset pagination, never shown.
    pub seq: i64,
    /// The uploader; `None` for imported entries.
    pub owner_id: Option<i64>,
    /// The uploader's username, joined in for display.
    pub owner_name: Option<String>,
    /// Title (searchable).
    pub title: String,
    /// Description (searchable).
    pub description: String,
    /// Where the media is.
    pub source: VideoSource,
    /// Private until published.
    pub visibility: Visibility,
    /// Length in milliseconds, when known (probed at publish).
    pub duration_ms: Option<i64>,
    /// Unix seconds at creation.
    pub created_at: i64,
    /// Unix seconds when it became public.
    pub published_at: Option<i64>,
    /// Stored videos only: where making it into adaptive HLS is (`None` before a job
    /// was enqueued, and for every other source).
    pub transcode: Option<Transcode>,
    /// Views counted so far (once per viewer per hour; see [`MetaStore::count_views`]).
    pub views: u64,
}

/// What is needed to create a video record.
#[derive(Debug, Clone)]
pub struct NewVideo {
    /// Public id chosen by the caller (random, or derived from the URL on import).
    pub id: String,
    /// The uploader, if any.
    pub owner_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Where the media is.
    pub source: VideoSource,
    /// Starting visibility.
    pub visibility: Visibility,
    /// Length in milliseconds, if known.
    pub duration_ms: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

/// The validated, immutable media a staged upload is published with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedMedia {
    /// Final key in [`crate::Bucket::Videos`] (its extension names the server-probed type).
    pub video_key: String,
    /// Final key in [`crate::Bucket::Previews`] (a thumbnail the server encoded).
    pub preview_key: String,
    /// Length in milliseconds, measured by decoding.
    pub duration_ms: i64,
}

/// One page of a listing; `next` is where the following page starts, if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Opaque continuation for the next call (`None` on the last page).
    pub next: Option<PageToken>,
}

/// Where a page starts. Search pages continue by rank offset; listings by sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageToken {
    /// Skip this many ranked results.
    Offset(u32),
    /// Continue with items whose `seq` is below this one (newest first).
    Before(i64),
}

/// What kind of server a registry entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// An edge server: signalling relay, WHIP/WHEP, uploads, TURN.
    Endpoint,
    /// A media server.
    Sfu,
}

impl ServerKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerKind::Endpoint => "endpoint",
            ServerKind::Sfu => "sfu",
        }
    }
}

/// One server's registry entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEntry {
    /// Unique per server process (random at start).
    pub id: String,
    /// Endpoint or SFU.
    pub kind: ServerKind,
    /// Where clients (endpoint: its base `http(s)://` URL) or operators (SFU) reach it.
    pub url: String,
    /// The load it reported: client sessions (endpoint) or media sessions (SFU).
    pub load: i64,
    /// An endpoint's TURN server, `host:port` (UDP), if it runs one.
    pub turn: Option<String>,
    /// An SFU's media socket as its ICE candidates announce it, `ip:port` (UDP): the
    /// one internal address the endpoints' TURN servers relay to besides the
    /// configured ranges.
    pub media: Option<String>,
    /// Unix seconds of its last heartbeat.
    pub heartbeat_at: i64,
}

/// The metadata store. Every method is a single transaction: it either happens
/// whole or not at all.
#[async_trait]
pub trait MetaStore: Send + Sync + 'static {
    /// Creates an account. `Conflict("username")` or `Conflict("email")` when taken
    /// (compared case-insensitively).
    async fn create_user(&self, user: NewUser) -> Result<User>;

    /// Finds an account by username or e-mail (case-insensitive), with its password hash.
    async fn user_credentials(&self, credential: &str) -> Result<Option<UserCredentials>>;

    /// Stores a session under the SHA-256 hex digest of its bearer token.
    async fn create_session(&self, token_hash: &str, user_id: i64, expires_at: i64) -> Result<()>;

    /// The user a live session belongs to; `None` if unknown or expired at `now`.
    async fn session_user(&self, token_hash: &str, now: i64) -> Result<Option<User>>;

    /// Ends a session (idempotent).
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    /// Creates a video record. `Conflict("id")` if the id exists.
    async fn create_video(&self, video: NewVideo) -> Result<Video>;

    /// Inserts imported catalogue entries, skipping ids that already exist. Returns how
    /// many were new.
    async fn import_videos(&self, videos: Vec<NewVideo>) -> Result<usize>;

    /// One video by id, whatever its visibility.
    async fn video(&self, id: &str) -> Result<Option<Video>>;

    /// Publishes a staged upload in one update: its source becomes
    /// [`VideoSource::Stored`] with the final keys of `media`, it turns public and
    /// records the duration measured by decoding. `NotFound` if there is no staged
    /// upload with this id (absent, a live stream or external entry, or already
    /// published: a published video's media never changes).
    async fn publish_video(&self, id: &str, media: &PublishedMedia, now: i64) -> Result<Video>;

    /// Moves a live stream to `state`: `Live` makes it public (recording the first
    /// time it went live as its publication time), `Pending` and `Ended` private.
    /// `NotFound` if there is no live stream with this id; `Conflict("live_state")`,
    /// with the stream unchanged, if `state` would take it back in its life (see
    /// [`LiveState::may_become`]: an ended stream never goes live again).
    ///
    /// `host` names the media server (its registry id) broadcasting a stream that goes
    /// `Live`; it is kept while the stream is live (see [`MetaStore::end_orphaned_live`])
    /// and forgotten when it ends.
    async fn set_live_state(&self, id: &str, state: LiveState, host: Option<&str>, now: i64) -> Result<Video>;

    /// Ends every live stream whose recorded host is not in `alive` (media servers the
    /// registry still holds: the others are gone, and their streams with them) and
    /// returns how many. Streams without a recorded host are left alone, and an empty
    /// `alive` ends nothing (an empty registry read is not proof that every server died).
    async fn end_orphaned_live(&self, alive: &[String], now: i64) -> Result<usize>;

    /// Ends every stream still marked live (their SFU is gone, e.g. after a crash of a
    /// single-process deployment) and returns how many there were.
    async fn end_all_live(&self, now: i64) -> Result<usize>;

    /// Records that live stream `id` (in any [`LiveState`]) has stored recording segment
    /// `index` (segments are numbered 1, 2, 3…): its recording's segment count becomes
    /// the greater of the two, so it only grows, whatever order the reports come in.
    /// Ending a stream keeps the count (see [`MetaStore::unfinished_recordings`]).
    /// `NotFound` if there is no live stream with this id.
    async fn note_recording_segment(&self, id: &str, index: u32) -> Result<()>;

    /// Takes, for `claimer`, the right to finish (join and publish) the recording of
    /// ended live stream `id` until `until` (unix seconds), and returns its segment
    /// count. Succeeds only for an ended stream with segments whose claim is free,
    /// expired (its end is at or before `now`) or already held by `claimer` (a renewal);
    /// otherwise `None`. Of claimers racing for a free recording exactly one wins.
    async fn claim_recording(&self, id: &str, claimer: &str, now: i64, until: i64) -> Result<Option<u32>>;

    /// Ids of the ended live streams whose recording waits to be finished (they have
    /// segments and no claim unexpired at `now`), oldest first, at most `limit`.
    async fn unfinished_recordings(&self, now: i64, limit: u32) -> Result<Vec<String>>;

    /// Publishes the finished recording of ended live stream `id` in one update: the
    /// stream becomes a public [`VideoSource::Stored`] video at the same id, with the
    /// final keys and decoded duration of `media`, keeping its title, description,
    /// owner and first publication time (set when it went live; `now` if it never
    /// did); its recording is cleared. `NotFound` if there is no ended live stream with
    /// segments with this id (absent, not ended, nothing recorded, or already
    /// published: a published video's media never changes).
    async fn publish_recording(&self, id: &str, media: &PublishedMedia, now: i64) -> Result<Video>;

    /// Gives up the recording of live stream `id` (its segments cannot be made into a
    /// video): its segment count returns to 0 and its claim is released, so it is no
    /// longer an [unfinished recording](MetaStore::unfinished_recordings). Dropping
    /// again is fine; `NotFound` if there is no live stream with this id.
    async fn drop_recording(&self, id: &str) -> Result<()>;

    /// Public videos matching the words of `query`, best match first (title weighs more
    /// than description). Words match as prefixes; any word may match.
    async fn search_public(&self, query: &str, limit: u32, start: Option<PageToken>) -> Result<Page<Video>>;

    /// Public videos, newest first.
    async fn list_public(&self, limit: u32, start: Option<PageToken>) -> Result<Page<Video>>;

    /// A random selection of public videos.
    async fn random_public(&self, limit: u32) -> Result<Vec<Video>>;

    /// Records a server's heartbeat (creating or replacing its entry).
    async fn heartbeat(&self, server: ServerEntry) -> Result<()>;

    /// Servers of `kind` whose last heartbeat is at or after `since`, least loaded first
    /// (then by id, so the order is stable).
    async fn live_servers(&self, kind: ServerKind, since: i64) -> Result<Vec<ServerEntry>>;

    /// Removes a server's entry (it is shutting down); removing an absent one is fine.
    async fn remove_server(&self, id: &str) -> Result<()>;

    /// Deletes entries whose last heartbeat is before `before`; returns how many.
    async fn expire_servers(&self, before: i64) -> Result<usize>;

    /// One owner's videos (private ones too), newest first.
    async fn list_by_owner(&self, owner_id: i64, limit: u32, start: Option<PageToken>) -> Result<Page<Video>>;

    /// Enqueues the transcode of stored video `job.video_id` (whose original must be
    /// `job.input_key`) and marks the video processing, in one transaction. A video has
    /// one transcode job: enqueueing again returns the existing job, unchanged.
    /// `NotFound` if there is no published stored video with this id and key.
    async fn enqueue_transcode(&self, job: NewJob) -> Result<Job>;

    /// Published stored videos that have no transcode job yet (published before the
    /// queue existed, or by a process that stopped before enqueueing), as
    /// `(id, video key)`, oldest first, at most `limit`.
    async fn videos_without_transcode(&self, limit: u32) -> Result<Vec<(String, String)>>;

    /// Takes the next runnable job of one of `kinds` for `worker` under claim `token` (fresh and random
    /// for each claim) until `lease_until`, counting an attempt: a queued job whose
    /// `run_after` is at or before `now`, or a running one whose lease ran out (its
    /// worker is gone) with attempts left; oldest first. Claimers racing for a job never
    /// both get it, on any backend (on Galera: a conditional update, checked by its
    /// affected rows; never `SELECT … FOR UPDATE`). A call repeated with the same token
    /// returns the job it already claimed.
    async fn claim_job(
        &self,
        kinds: &[JobKind],
        worker: &str,
        token: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<Job>>;

    /// Extends the lease of running job `id` held under `token` and records its
    /// progress (0–1000). `false` if the job is no longer held under this token (the
    /// lease ran out and another worker took it, or it ended): the caller must stop.
    async fn renew_job(
        &self,
        id: &str,
        token: &str,
        now: i64,
        lease_until: i64,
        progress_permille: u16,
    ) -> Result<bool>;

    /// Ends the attempt of job `id` held under `token` as failed with `error` (kept, at
    /// most 1,000 characters): queued again to run at `retry_at`, or, when that was its
    /// last attempt, dead-lettered with its video marked failed (one transaction).
    async fn fail_job(&self, id: &str, token: &str, error: &str, retry_at: i64, now: i64) -> Result<FailOutcome>;

    /// Gives job `id` held under `token` back to the queue without counting the attempt,
    /// to run again from `run_after` (its worker is shutting down: now; a purge waiting
    /// for upload URLs to expire: then). `false` if it was not held under this token.
    async fn release_job(&self, id: &str, token: &str, now: i64, run_after: i64) -> Result<bool>;

    /// Finishes transcode job `id` held under `token`: the job is done and its video
    /// plays `hls` from now on, in one transaction. `false`, with nothing changed, if
    /// the job is no longer held under this token (then `hls` is not the video's and its
    /// objects may be deleted). Repeating a call that succeeded returns `true`.
    async fn complete_transcode(&self, id: &str, token: &str, hls: &HlsMedia, now: i64) -> Result<bool>;

    /// Dead-letters running jobs whose lease ran out on their last attempt (their worker
    /// died on it), marking their videos failed; returns how many.
    async fn expire_jobs(&self, now: i64) -> Result<usize>;

    /// The transcode job of video `video_id`, if it has one.
    async fn transcode_job(&self, video_id: &str) -> Result<Option<Job>>;

    /// Edits video `id` of `owner` and returns it as it is now, in one transaction
    /// (the search index follows the new words at once). Making it public or unlisted
    /// gives it a publication time if it had none. `NotFound` if `owner` has no video
    /// with this id; `Conflict("visibility")`, with nothing changed, when `change` would
    /// change the visibility of a staged upload or of a live stream (whose visibility
    /// follows its life).
    async fn update_video(&self, id: &str, owner: i64, change: &VideoChange, now: i64) -> Result<Video>;

    /// Deletes video `id` of `owner` in one transaction: its row (and with it its search
    /// entry, counts and co-watch pairs), its view marks and transcode job, and queues
    /// `purge` to delete its objects ([`JobKind::Purge`], which outlives the row).
    /// `NotFound` if `owner` has no video with this id; `Conflict("live")`, with nothing
    /// changed, while it is a stream being broadcast.
    async fn delete_video(&self, id: &str, owner: i64, purge: &NewPurge) -> Result<()>;

    /// Finishes purge job `id` held under `token`. `false`, with nothing changed, if the
    /// job is no longer held under this token; repeating a call that succeeded returns
    /// `true`.
    async fn complete_purge(&self, id: &str, token: &str, now: i64) -> Result<bool>;

    /// The account named `username` (compared case-insensitively).
    async fn user_by_name(&self, username: &str) -> Result<Option<User>>;

    /// One owner's public videos, newest first: what their channel lists.
    async fn list_public_by_owner(&self, owner_id: i64, limit: u32, start: Option<PageToken>) -> Result<Page<Video>>;

    /// Streams being broadcast now, newest first.
    async fn list_live(&self, limit: u32, start: Option<PageToken>) -> Result<Page<Video>>;

    /// `owner_id`'s stream being broadcast now (the newest, if several).
    async fn live_by_owner(&self, owner_id: i64) -> Result<Option<Video>>;

    /// Public videos, most viewed first (then newest); pages continue by
    /// [`PageToken::Offset`].
    async fn list_popular(&self, limit: u32, start: Option<PageToken>) -> Result<Page<Video>>;

    /// Public videos that viewers of video `id` also watched, at least `min_n` times,
    /// most often first.
    async fn co_watched(&self, id: &str, min_n: u32, limit: u32) -> Result<Vec<Video>>;

    /// `follower` follows `followee` from `now` on; `true` if that is new, `false` if it
    /// already did (idempotent). `NotFound` if `followee` does not exist;
    /// `Conflict("self")` when both are the same account.
    async fn follow(&self, follower: i64, followee: i64, now: i64) -> Result<bool>;

    /// `follower` stops following `followee`; `true` if it did follow.
    async fn unfollow(&self, follower: i64, followee: i64) -> Result<bool>;

    /// How many follow `channel`, and whether `viewer` (if signed in) is one of them.
    async fn follow_state(&self, viewer: Option<i64>, channel: i64) -> Result<(u64, bool)>;

    /// The channels `follower` follows: those live now first, then the most recently
    /// followed; pages continue by [`PageToken::Offset`].
    async fn following(&self, follower: i64, limit: u32, start: Option<PageToken>) -> Result<Page<Followed>>;

    /// Which of `candidates` follow `followee` (in no particular order).
    async fn followers_among(&self, followee: i64, candidates: &[i64]) -> Result<Vec<i64>>;

    /// Counts a batch of views in one transaction and returns how many counted: a view
    /// counts when its viewer was not counted for that video in the `window_secs` before
    /// it, and only for videos watchable by link (public or unlisted). Each counted view
    /// also pairs its video with the viewer's most recent other views
    /// ([`social::CO_VIEW_PAIRS_PER_VIEW`] in [`social::CO_VIEW_WINDOW_SECS`]) for
    /// [`MetaStore::co_watched`]. Counting the same batch again counts nothing, so a
    /// retried flush never counts twice.
    async fn count_views(&self, marks: &[ViewMark], window_secs: i64, now: i64) -> Result<u64>;

    /// Forgets up to `limit` view marks older than `before`; returns how many.
    async fn prune_view_marks(&self, before: i64, limit: u32) -> Result<usize>;
}
