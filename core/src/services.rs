//! The shared state every handler gets: the two stores, the clock, settings, metrics.

use std::sync::Arc;
use std::time::Duration;

use myvid_store::{MetaStore, ObjectStore};

use crate::abuse::Limiters;
use crate::clock::Clock;
use crate::live::{IceServer, StreamTokens};
use crate::media::MediaTools;
use crate::metrics::Metrics;
use crate::object_health::ObjectHealth;
use crate::turn_credentials::TurnGrant;

/// Runtime settings the operations need (a slice of the binary's config).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL of the upload endpoint handed out by `POST /API/NEWUPLOAD/`.
    pub endpoint_url: String,
    /// Lifetime of signed playback URLs, in seconds.
    pub url_ttl_secs: i64,
    /// Lifetime of presigned upload URLs, in seconds (short: they cannot be revoked).
    pub upload_url_ttl_secs: i64,
    /// Lifetime of a login session, in seconds.
    pub session_ttl_secs: i64,
    /// Largest accepted video file, in bytes.
    pub max_video_bytes: u64,
    /// Largest accepted preview image, in bytes.
    pub max_preview_bytes: u64,
    /// Video files above this many bytes are uploaded in parts (the client learns it
    /// from the upload grant).
    pub multipart_threshold: u64,
    /// Size of the parts of a multipart upload, in bytes (raised to the store's
    /// minimum, and for very large files so that they fit in 10,000 parts).
    pub part_size: u64,
    /// Multipart uploads started longer ago than this (seconds) are aborted as abandoned.
    pub abandon_multipart_after_secs: i64,
    /// `ffprobe` and `ffmpeg`, which check uploads and make thumbnails at publish, and
    /// how long one run may take before publish fails with `unavailable`.
    pub media: MediaTools,
    /// Lifetime of a live stream's publish token, in seconds.
    pub stream_token_ttl_secs: i64,
    /// STUN/TURN servers handed to broadcasters and viewers.
    pub ice_servers: Vec<IceServer>,
    /// The endpoint's own STUN/TURN server, when it runs one: its URLs and fresh
    /// credentials are added to `ice_servers` for each client.
    pub turn: Option<TurnGrant>,
    /// The least time a failed log-in takes (the same for unknown accounts and wrong
    /// passwords; a slowdown for guessing).
    pub failed_login_delay: Duration,
    /// Attempts a video's transcode gets before it fails (`[worker] max_attempts`).
    pub transcode_max_attempts: u32,
    /// Seconds between deleting a video and deleting its objects
    /// (`[worker] purge_delay_secs`).
    pub purge_delay_secs: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            endpoint_url: "http://127.0.0.1:8080".into(),
            url_ttl_secs: 24 * 3600,
            upload_url_ttl_secs: 3600,
            session_ttl_secs: 30 * 24 * 3600,
            max_video_bytes: 2 << 30,
            max_preview_bytes: 10 << 20,
            multipart_threshold: 64 << 20,
            part_size: 16 << 20,
            abandon_multipart_after_secs: 24 * 3600,
            media: MediaTools::default(),
            stream_token_ttl_secs: 24 * 3600,
            ice_servers: Vec::new(),
            turn: None,
            failed_login_delay: Duration::from_millis(400),
            transcode_max_attempts: 5,
            purge_delay_secs: 60,
        }
    }
}

/// Everything a handler needs, cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// Accounts, sessions, videos.
    pub meta: Arc<dyn MetaStore>,
    /// Previews and video files.
    pub objects: Arc<dyn ObjectStore>,
    /// Whether `objects` takes writes right now (probed in the background by the roles
    /// that write: see [`ObjectHealth::spawn_prober`]).
    pub objects_health: Arc<ObjectHealth>,
    /// Source of "now".
    pub clock: Clock,
    /// Runtime settings.
    pub settings: Arc<Settings>,
    /// Prometheus counters.
    pub metrics: Arc<Metrics>,
    /// Signs live streams' publish tokens (the SFU checks them with the same secret).
    pub stream_tokens: StreamTokens,
    /// Abuse limits: rates per client IP and per account.
    pub limits: Arc<Limiters>,
    /// Views reported to this process, waiting to be counted in the store.
    pub views: Arc<crate::views::Views>,
}
