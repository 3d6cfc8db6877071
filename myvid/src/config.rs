//! The one typed configuration of `myvid`: a TOML file, then environment overrides,
//! then command-line flags, validated at start with a message naming the bad field.
//!
//! Environment overrides: `MYVID_<FIELD>` for top-level fields and
//! `MYVID_<SECTION>__<FIELD>` for fields in a section, e.g. `MYVID_LISTEN=0.0.0.0:8080`
//! or `MYVID_UPLOADS__MAX_VIDEO_BYTES=104857600`. Values are read as TOML values
//! (numbers, booleans) and otherwise as strings. Variables naming no field are ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

mod chat;
mod metadata;
mod notify;
mod objects;
mod views;
mod worker;
pub use chat::ChatConfig;
pub use metadata::{MetadataBackend, MetadataConfig};
pub use notify::NotifyConfig;
pub use objects::{ObjectsBackend, ObjectsConfig};
pub use views::ViewsConfig;
pub use worker::WorkerConfig;

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server listens on (`host:port`; port 0 picks a free port).
    pub listen: String,
    /// The base URL browsers use to reach this server, without a trailing slash.
    /// Signed URLs and the upload endpoint are built from it. Default: from `listen`.
    pub public_url: Option<String>,
    /// Where the embedded stores keep their data (relative paths are resolved against
    /// the working directory at start-up).
    pub data_dir: PathBuf,
    /// The metadata store: embedded SQLite or MariaDB / Galera.
    pub metadata: MetadataConfig,
    /// The object store: the embedded directory or S3.
    pub objects: ObjectsConfig,
    /// Upload limits and signed-URL lifetime.
    pub uploads: UploadsConfig,
    /// Sessions.
    pub auth: AuthConfig,
    /// Media tools.
    pub media: MediaConfig,
    /// Live signalling: the relay between clients and SFUs.
    pub live: LiveConfig,
    /// The SFU that `myvid dev` runs in-process.
    pub sfu: SfuConfig,
    /// The transcode worker.
    pub worker: WorkerConfig,
    /// View counting.
    pub views: ViewsConfig,
    /// Live notifications.
    pub notify: NotifyConfig,
    /// Live chat's rules (the SFU role).
    pub chat: ChatConfig,
    /// The TURN server `myvid dev` runs next to the endpoint.
    pub turn: TurnConfig,
    /// Abuse limits: request rates per client IP and per account, connections per IP,
    /// header and body timeouts.
    pub limits: myvid_core::abuse::AbuseLimits,
    /// Logging.
    pub log: LogConfig,
}

/// `[uploads]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UploadsConfig {
    /// Largest video file accepted, in bytes (default 2 GiB).
    pub max_video_bytes: u64,
    /// Largest preview image accepted, in bytes (default 10 MiB).
    pub max_preview_bytes: u64,
    /// Lifetime of signed playback URLs, in seconds (default 24 h).
    pub url_ttl_secs: i64,
    /// Lifetime of presigned upload URLs, in seconds (default 1 h). Short, because a
    /// presigned URL cannot be revoked; it only ever writes to a staging key.
    pub upload_url_ttl_secs: i64,
    /// Video files above this many bytes go up in parts, resumably (default 64 MiB).
    /// Browsers learn it from the upload grant.
    pub multipart_threshold: u64,
    /// Size of the parts of a multipart upload, in bytes (default 16 MiB; at least
    /// 5 MiB, the store's minimum; raised for files that would need over 10,000 parts).
    pub part_size: u64,
    /// Multipart uploads started longer ago than this many seconds are aborted as
    /// abandoned, their parts deleted (default 24 h; at least one hour and at least
    /// `upload_url_ttl_secs`, so that no live upload is reaped).
    pub abandon_multipart_after_secs: i64,
}

/// `[auth]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of a login session, in seconds (default 30 days).
    pub session_ttl_secs: i64,
}

/// `[media]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// The ffprobe program (a name on `PATH` or a path).
    pub ffprobe: String,
    /// The ffmpeg program (a name on `PATH` or a path): decodes uploads and encodes
    /// preview thumbnails at publish.
    pub ffmpeg: String,
    /// Seconds one ffprobe or ffmpeg run may take.
    pub probe_timeout_secs: u64,
}

/// `[live]`: the signalling relay between browsers and SFUs.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveConfig {
    /// Whether this `myvid dev` process is also an endpoint: relays signalling
    /// (`/ENDPOINT`, `/SFU`) and serves WHIP/WHEP (default true). Set false when
    /// separate `myvid endpoint` processes do it; `sfu_secret` must then be set.
    pub relay: bool,
    /// The shared secret SFUs present (`Authorization: Bearer <secret>`) when they
    /// register with this endpoint. At least 16 characters, printable ASCII without
    /// spaces. Default: none, and `myvid dev` makes a random one for each run.
    pub sfu_secret: Option<String>,
    /// Milliseconds a client waits for its SFU to attach before it gets a
    /// `media_server_timeout` error (default 10 s; 100 ..= 120000).
    pub park_timeout_ms: u64,
    /// Most clients waiting for an SFU at once; beyond it clients get `busy`
    /// (default 10,000; 1 ..= 1,000,000).
    pub max_parked: usize,
    /// The secret that signs broadcasters' publish tokens; the API and every SFU must
    /// share it. Same rules as `sfu_secret`. Default: none, and `myvid dev` makes a
    /// random one for each run (its SFU runs in the same process).
    pub stream_secret: Option<String>,
    /// Seconds a publish token from `NEWSTREAM` stays valid (default 24 h; 60 ..= 604800).
    pub stream_token_ttl_secs: i64,
    /// STUN/TURN URLs handed to broadcasters and viewers, e.g. `stun:stun.example.org:3478`
    /// (default none: on one host or a LAN, host candidates suffice; at most 16).
    pub ice_servers: Vec<String>,
    /// Record every live stream (default true): the SFU stores it in segments while it is
    /// live, and the ended stream becomes a stored video at the same id.
    pub record: bool,
}

/// `[sfu]`: the media server `myvid dev` runs in-process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SfuConfig {
    /// Run the SFU (default true; without it live streams cannot start).
    pub enabled: bool,
    /// UDP address of the one media socket all publishers and viewers share (default
    /// `127.0.0.1:0`: loopback, any free port; use `0.0.0.0:PORT` plus `announce_ip`
    /// to serve other machines).
    pub media_bind: String,
    /// The IP written into the SFU's ICE candidates; required when `media_bind` is a
    /// wildcard address or behind 1:1 NAT.
    pub announce_ip: Option<String>,
    /// Most concurrent media sessions, publishers plus viewers (default 10,000).
    pub max_sessions: usize,
    /// Seconds a shutting-down SFU (SIGTERM, ctrl-c) lets its live streams go on: it
    /// takes no new publishers or viewers, and exits as soon as the last stream ends or
    /// when this runs out, ending whatever is left (default 60; 0 ..= 86400; 0 ends every
    /// stream at once).
    pub drain_timeout_secs: u64,
    /// Start a viewer joining a running stream at once, on the latest keyframe the SFU
    /// holds when it is under half a second old, instead of waiting for the
    /// broadcaster's next one (default true).
    pub instant_start: bool,
    /// Testing only: the percentage (0 ..= 50) of publishers' RTP packets the SFU drops
    /// on arrival, as a lossy network would, to show that forwarding and recording cope
    /// (default 0; never set it in production).
    pub simulated_publisher_loss_percent: u8,
}

impl Default for SfuConfig {
    fn default() -> Self {
        SfuConfig {
            enabled: true,
            media_bind: "127.0.0.1:0".into(),
            announce_ip: None,
            max_sessions: 10_000,
            drain_timeout_secs: 60,
            instant_start: true,
            simulated_publisher_loss_percent: 0,
        }
    }
}

/// The longest `sfu.drain_timeout_secs`: a day. An orchestrator waits that long for a
/// stopping process only if told to; beyond it a typo is likelier than a wish.
const MAX_DRAIN_TIMEOUT_SECS: u64 = 86_400;

impl SfuConfig {
    /// `media_bind` as a socket address.
    pub fn media_bind_addr(&self) -> anyhow::Result<SocketAddr> {
        self.media_bind.parse().map_err(|_| {
            anyhow::anyhow!("`sfu.media_bind` must be host:port such as 127.0.0.1:0, got {:?}", self.media_bind)
        })
    }

    /// `drain_timeout_secs` as a duration.
    pub fn drain_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.drain_timeout_secs)
    }

    /// `announce_ip` as an address.
    pub fn announce_ip_addr(&self) -> anyhow::Result<Option<std::net::IpAddr>> {
        self.announce_ip
            .as_deref()
            .map(|ip| ip.parse().map_err(|_| anyhow::anyhow!("`sfu.announce_ip` must be an IP address, got {ip:?}")))
            .transpose()
    }
}

/// `[turn]`: the TURN server (UDP) that relays media for clients that cannot reach
/// the SFU directly. The API hands out its `stun:`/`turn:` URLs with credentials that
/// expire; the server refuses peers on internal addresses unless allowed here.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TurnConfig {
    /// Run the TURN server and hand out its URLs (default true).
    pub enabled: bool,
    /// UDP address it listens on; relay sockets use the same IP (default
    /// `127.0.0.1:0`: loopback, any free port; use `0.0.0.0:3478` plus `announce_ip`
    /// to serve other machines). UDP only: the TURN library has no TCP/TLS listener.
    pub listen: String,
    /// The IP clients are told (in the URLs and relayed addresses); required when
    /// `listen` is a wildcard address or behind 1:1 NAT.
    pub announce_ip: Option<String>,
    /// Authentication realm (default `myvid`; 1–128 printable ASCII characters).
    pub realm: String,
    /// Secret that signs TURN credentials; the API and the TURN server share it. At
    /// least 16 printable ASCII characters without spaces. Default: none, and `myvid
    /// dev` makes a random one for each run.
    pub secret: Option<String>,
    /// Seconds handed-out credentials stay valid (default 24 h; 60 ..= 604800).
    pub credential_lifetime_secs: i64,
    /// CIDR ranges of internal peer addresses TURN may relay to anyway (default none:
    /// loopback, private, link-local, CGNAT, multicast and other non-global addresses
    /// are refused). Not needed for the SFUs: the media socket of every SFU in the
    /// server registry (exactly its `ip:port`) is always allowed.
    pub allow_peer_ranges: Vec<String>,
    /// Most open allocations per user (default 10; 1 ..= 1000). Anonymous viewers get
    /// a fresh user each time they ask for ICE servers.
    pub max_allocations_per_user: usize,
    /// Bandwidth cap of each allocation, both directions together, in bytes per
    /// second (default 625000 = 5 Mbit/s; 12500 ..= 1250000000).
    pub max_bytes_per_sec: u64,
}

impl Default for TurnConfig {
    fn default() -> Self {
        TurnConfig {
            enabled: true,
            listen: "127.0.0.1:0".into(),
            announce_ip: None,
            realm: "myvid".into(),
            secret: None,
            credential_lifetime_secs: 24 * 3600,
            allow_peer_ranges: Vec::new(),
            max_allocations_per_user: 10,
            max_bytes_per_sec: 625_000,
        }
    }
}

impl std::fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnConfig")
            .field("enabled", &self.enabled)
            .field("listen", &self.listen)
            .field("announce_ip", &self.announce_ip)
            .field("realm", &self.realm)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("credential_lifetime_secs", &self.credential_lifetime_secs)
            .field("allow_peer_ranges", &self.allow_peer_ranges)
            .field("max_allocations_per_user", &self.max_allocations_per_user)
            .field("max_bytes_per_sec", &self.max_bytes_per_sec)
            .finish()
    }
}

impl TurnConfig {
    /// `listen` as a socket address.
    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listen.parse().map_err(|_| {
            anyhow::anyhow!("`turn.listen` must be host:port such as 127.0.0.1:3478, got {:?}", self.listen)
        })
    }

    /// `announce_ip` as an address.
    pub fn announce_ip_addr(&self) -> anyhow::Result<Option<std::net::IpAddr>> {
        self.announce_ip
            .as_deref()
            .map(|ip| ip.parse().map_err(|_| anyhow::anyhow!("`turn.announce_ip` must be an IP address, got {ip:?}")))
            .transpose()
    }

    /// `allow_peer_ranges` as the TURN server's peer policy.
    pub fn peer_policy(&self) -> anyhow::Result<myvid_endpoint::turn::PeerPolicy> {
        myvid_endpoint::turn::PeerPolicy::parse(&self.allow_peer_ranges)
            .map_err(|e| anyhow::anyhow!("`turn.allow_peer_ranges`: {e}"))
    }

    fn validate(&self) -> anyhow::Result<()> {
        let listen = self.listen_addr()?;
        if self.announce_ip_addr()?.is_none() && listen.ip().is_unspecified() {
            bail!("`turn.announce_ip` must be set when `turn.listen` ({listen}) is a wildcard address");
        }
        // RFC 5389 caps REALM at 127 characters; quotes would break the attribute.
        if self.realm.is_empty()
            || self.realm.len() > 127
            || !self.realm.bytes().all(|b| b.is_ascii_graphic() && b != b'"')
        {
            bail!("`turn.realm` must be 1 to 127 printable ASCII characters without spaces or quotes");
        }
        if !(60..=7 * 24 * 3600).contains(&self.credential_lifetime_secs) {
            bail!(
                "`turn.credential_lifetime_secs` must be between 60 and 604800, got {}",
                self.credential_lifetime_secs
            );
        }
        if self.allow_peer_ranges.len() > 64 {
            bail!("`turn.allow_peer_ranges` may list at most 64 ranges, got {}", self.allow_peer_ranges.len());
        }
        self.peer_policy()?;
        if !(1..=1000).contains(&self.max_allocations_per_user) {
            bail!("`turn.max_allocations_per_user` must be between 1 and 1000, got {}", self.max_allocations_per_user);
        }
        // Below 100 kbit/s not even audio gets through; a datagram bigger than the
        // budget could never pass.
        if !(12_500..=1_250_000_000).contains(&self.max_bytes_per_sec) {
            bail!("`turn.max_bytes_per_sec` must be between 12500 and 1250000000, got {}", self.max_bytes_per_sec);
        }
        Ok(())
    }
}

/// Shortest accepted `live.sfu_secret`: 16 characters of a random token are enough
/// that guessing is hopeless; operators should use more.
pub const MIN_SFU_SECRET_LEN: usize = 16;

impl std::fmt::Debug for LiveConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveConfig")
            .field("sfu_secret", &self.sfu_secret.as_ref().map(|_| "<redacted>"))
            .field("park_timeout_ms", &self.park_timeout_ms)
            .field("max_parked", &self.max_parked)
            .field("stream_secret", &self.stream_secret.as_ref().map(|_| "<redacted>"))
            .field("stream_token_ttl_secs", &self.stream_token_ttl_secs)
            .field("ice_servers", &self.ice_servers)
            .field("record", &self.record)
            .finish()
    }
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (for people) or `json` (for log collectors).
    pub format: String,
    /// A `tracing` filter such as `info` or `myvid=debug,info`; `RUST_LOG` wins if set.
    pub filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            data_dir: PathBuf::from("myvid-data"),
            metadata: MetadataConfig::default(),
            objects: ObjectsConfig::default(),
            uploads: UploadsConfig::default(),
            auth: AuthConfig::default(),
            media: MediaConfig::default(),
            live: LiveConfig::default(),
            sfu: SfuConfig::default(),
            worker: WorkerConfig::default(),
            views: ViewsConfig::default(),
            notify: NotifyConfig::default(),
            chat: ChatConfig::default(),
            turn: TurnConfig::default(),
            limits: myvid_core::abuse::AbuseLimits::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for UploadsConfig {
    fn default() -> Self {
        UploadsConfig {
            max_video_bytes: 2 << 30,
            max_preview_bytes: 10 << 20,
            url_ttl_secs: 24 * 3600,
            upload_url_ttl_secs: 3600,
            multipart_threshold: 64 << 20,
            part_size: 16 << 20,
            abandon_multipart_after_secs: 24 * 3600,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig { session_ttl_secs: 30 * 24 * 3600 }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig { ffprobe: "ffprobe".into(), ffmpeg: "ffmpeg".into(), probe_timeout_secs: 20 }
    }
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            relay: true,
            sfu_secret: None,
            park_timeout_ms: 10_000,
            max_parked: 10_000,
            stream_secret: None,
            stream_token_ttl_secs: 24 * 3600,
            ice_servers: Vec::new(),
            record: true,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: "text".into(), filter: "info".into() }
    }
}

impl Config {
    /// Reads `file` (if given), applies `env` overrides (pairs of name and value),
    /// and validates. Flags are applied by the caller afterwards with
    /// [`Config::validate`] called again.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Config> {
        let table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                text.parse::<toml::Table>()
                    .with_context(|| format!("config file {} is not valid TOML", path.display()))?
            }
            None => toml::Table::new(),
        };
        Self::from_table(table, env)
    }

    /// The configuration a parsed file (`table`) and `env` overrides give, validated.
    fn from_table(mut table: toml::Table, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Config> {
        apply_env(&mut table, env)?;
        let config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| anyhow::anyhow!("invalid configuration: `{}`: {}", e.path(), e.inner().message()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the multipart upload settings of `[uploads]`.
    fn validate_multipart(&self) -> anyhow::Result<()> {
        let uploads = &self.uploads;
        if uploads.multipart_threshold == 0 {
            bail!("`uploads.multipart_threshold` must be above 0");
        }
        // S3 refuses parts (but the last) under 5 MiB; over 5 GiB is S3's part limit.
        let (min_part, max_part) = (myvid_store::objects::MIN_PART_BYTES, 5u64 << 30);
        if !(min_part..=max_part).contains(&uploads.part_size) {
            bail!(
                "`uploads.part_size` must be between {min_part} (5 MiB) and {max_part} (5 GiB), got {}",
                uploads.part_size
            );
        }
        // Never reap an upload whose part URLs may still be in use.
        let least = uploads.upload_url_ttl_secs.max(3600);
        if !(least..=30 * 24 * 3600).contains(&uploads.abandon_multipart_after_secs) {
            bail!(
                "`uploads.abandon_multipart_after_secs` must be between {least} (one hour, and at least \
                 `uploads.upload_url_ttl_secs`) and 2592000 (30 days), got {}",
                uploads.abandon_multipart_after_secs
            );
        }
        Ok(())
    }

    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.listen_addr()?;
        if let Some(url) = &self.public_url
            && (!(url.starts_with("http://") || url.starts_with("https://"))
                || url.ends_with('/')
                || url.contains(char::is_whitespace))
        {
            bail!("`public_url` must be an http:// or https:// URL without a trailing slash, got {url:?}");
        }
        if self.data_dir.as_os_str().is_empty() {
            bail!("`data_dir` must not be empty");
        }
        self.metadata.validate()?;
        self.objects.validate()?;
        self.worker.validate()?;
        self.views.validate()?;
        self.notify.validate()?;
        self.chat.validate()?;
        if self.uploads.max_video_bytes == 0 || self.uploads.max_preview_bytes == 0 {
            bail!("`uploads.max_video_bytes` and `uploads.max_preview_bytes` must be above 0");
        }
        // One minute lets a slow client start an upload; a week bounds leaked URLs.
        if !(60..=7 * 24 * 3600).contains(&self.uploads.url_ttl_secs) {
            bail!("`uploads.url_ttl_secs` must be between 60 and 604800 (one week), got {}", self.uploads.url_ttl_secs);
        }
        if !(60..=365 * 24 * 3600).contains(&self.auth.session_ttl_secs) {
            bail!(
                "`auth.session_ttl_secs` must be between 60 and 31536000 (one year), got {}",
                self.auth.session_ttl_secs
            );
        }
        // An upload URL needs time for a slow client to start; a day bounds what a
        // leaked one can do (it only ever writes a staging object).
        if !(60..=24 * 3600).contains(&self.uploads.upload_url_ttl_secs) {
            bail!(
                "`uploads.upload_url_ttl_secs` must be between 60 and 86400 (one day), got {}",
                self.uploads.upload_url_ttl_secs
            );
        }
        self.validate_multipart()?;
        if self.media.ffprobe.trim().is_empty() {
            bail!("`media.ffprobe` must name a program");
        }
        if self.media.ffmpeg.trim().is_empty() {
            bail!("`media.ffmpeg` must name a program");
        }
        if !(1..=600).contains(&self.media.probe_timeout_secs) {
            bail!("`media.probe_timeout_secs` must be between 1 and 600, got {}", self.media.probe_timeout_secs);
        }
        for (field, secret) in [
            ("live.sfu_secret", &self.live.sfu_secret),
            ("live.stream_secret", &self.live.stream_secret),
            ("turn.secret", &self.turn.secret),
        ] {
            if let Some(secret) = secret
                && (secret.len() < MIN_SFU_SECRET_LEN || !secret.bytes().all(|b| b.is_ascii_graphic()))
            {
                bail!(
                    "`{field}` must be at least {MIN_SFU_SECRET_LEN} printable ASCII characters without spaces \
                     (secrets may travel in an HTTP header)"
                );
            }
        }
        if !self.live.relay && self.sfu.enabled && self.live.sfu_secret.is_none() {
            bail!(
                "`live.sfu_secret` must be set when `live.relay` is false: this process's SFU registers with \
                 separate `myvid endpoint` processes, which must know the same secret"
            );
        }
        if !(60..=7 * 24 * 3600).contains(&self.live.stream_token_ttl_secs) {
            bail!(
                "`live.stream_token_ttl_secs` must be between 60 and 604800, got {}",
                self.live.stream_token_ttl_secs
            );
        }
        if self.live.ice_servers.len() > 16 {
            bail!("`live.ice_servers` may list at most 16 URLs, got {}", self.live.ice_servers.len());
        }
        for url in &self.live.ice_servers {
            let scheme_ok = ["stun:", "stuns:", "turn:", "turns:"].iter().any(|s| url.starts_with(s));
            if !scheme_ok || url.len() > 256 || url.contains(char::is_whitespace) {
                bail!("`live.ice_servers` entries must be stun:, stuns:, turn: or turns: URLs, got {url:?}");
            }
        }
        // Below 100 ms even a healthy SFU on the same host may miss it; above two
        // minutes a browser has long given up.
        if !(100..=120_000).contains(&self.live.park_timeout_ms) {
            bail!("`live.park_timeout_ms` must be between 100 and 120000, got {}", self.live.park_timeout_ms);
        }
        if !(1..=1_000_000).contains(&self.live.max_parked) {
            bail!("`live.max_parked` must be between 1 and 1000000, got {}", self.live.max_parked);
        }
        let media_bind = self.sfu.media_bind_addr()?;
        if self.sfu.announce_ip_addr()?.is_none() && media_bind.ip().is_unspecified() {
            bail!("`sfu.announce_ip` must be set when `sfu.media_bind` ({media_bind}) is a wildcard address");
        }
        if !(1..=1_000_000).contains(&self.sfu.max_sessions) {
            bail!("`sfu.max_sessions` must be between 1 and 1000000, got {}", self.sfu.max_sessions);
        }
        if self.sfu.simulated_publisher_loss_percent > 50 {
            bail!(
                "`sfu.simulated_publisher_loss_percent` must be at most 50, got {}",
                self.sfu.simulated_publisher_loss_percent
            );
        }
        if self.sfu.drain_timeout_secs > MAX_DRAIN_TIMEOUT_SECS {
            bail!(
                "`sfu.drain_timeout_secs` must be at most {MAX_DRAIN_TIMEOUT_SECS} (a day), got {}",
                self.sfu.drain_timeout_secs
            );
        }
        self.turn.validate()?;
        self.limits.validate().map_err(anyhow::Error::msg)?;
        if !matches!(self.log.format.as_str(), "text" | "json") {
            bail!("`log.format` must be \"text\" or \"json\", got {:?}", self.log.format);
        }
        Ok(())
    }

    /// `listen` as a socket address.
    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listen
            .parse()
            .map_err(|_| anyhow::anyhow!("`listen` must be host:port such as 127.0.0.1:8080, got {:?}", self.listen))
    }

    /// The media tools and their timeout.
    pub fn media_tools(&self) -> myvid_core::media::MediaTools {
        myvid_core::media::MediaTools {
            ffprobe: self.media.ffprobe.clone(),
            ffmpeg: self.media.ffmpeg.clone(),
            timeout: Duration::from_secs(self.media.probe_timeout_secs),
        }
    }

    /// The park timeout as a duration.
    pub fn park_timeout(&self) -> Duration {
        Duration::from_millis(self.live.park_timeout_ms)
    }
}

/// Optional fields (absent from the serialised defaults) that environment variables
/// may still set, as `section.field` or `field`.
const OPTIONAL_FIELDS: &[&str] = &[
    "public_url",
    "live.sfu_secret",
    "live.stream_secret",
    "sfu.announce_ip",
    "turn.announce_ip",
    "turn.secret",
    "metadata.password",
    "metadata.password_file",
    "objects.secret_key",
    "worker.work_dir",
];

/// Applies `MYVID_…` overrides to the raw table.
fn apply_env(table: &mut toml::Table, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<()> {
    let defaults = toml::Table::try_from(Config::default()).context("default config")?;
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix("MYVID_") else { continue };
        let path: Vec<String> = rest.to_ascii_lowercase().split("__").map(str::to_owned).collect();
        let known = OPTIONAL_FIELDS.contains(&path.join(".").as_str())
            || match path.as_slice() {
                [field] => defaults.contains_key(field),
                [section, field] => {
                    defaults.get(section).and_then(toml::Value::as_table).is_some_and(|t| t.contains_key(field))
                }
                _ => false,
            };
        if !known {
            continue;
        }
        let value = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(raw.clone()));
        let mut target = &mut *table;
        for section in &path[..path.len() - 1] {
            let entry = target.entry(section.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            target = entry.as_table_mut().with_context(|| format!("`{section}` in the config file must be a table"))?;
        }
        target.insert(path[path.len() - 1].clone(), value);
    }
    Ok(())
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_example_config_parses_and_states_the_defaults() {
        let example = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/myvid.example.toml"));
        let config = Config::load(Some(example), env(&[])).unwrap();
        let as_toml = |c: &Config| toml::Table::try_from(c).unwrap();
        assert_eq!(as_toml(&config), as_toml(&Config::default()), "infra/myvid.example.toml drifted from the defaults");
    }

    #[test]
    fn defaults_are_valid() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(config.uploads.url_ttl_secs, 86_400);
    }

    #[test]
    fn file_then_env_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("myvid.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\n[uploads]\nmax_video_bytes = 1000\n").unwrap();
        let config = Config::load(
            Some(&path),
            env(&[
                ("MYVID_UPLOADS__MAX_VIDEO_BYTES", "2000"),
                ("MYVID_PUBLIC_URL", "https://v.example.org"),
                ("MYVID_BIN", "/x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:9000");
        assert_eq!(config.uploads.max_video_bytes, 2000);
        assert_eq!(config.public_url.as_deref(), Some("https://v.example.org"));
    }

    #[test]
    fn live_section_from_file_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("myvid.toml");
        std::fs::write(&path, "[live]\npark_timeout_ms = 2500\n").unwrap();
        let config = Config::load(Some(&path), env(&[("MYVID_LIVE__SFU_SECRET", "0123456789abcdef-secret")])).unwrap();
        assert_eq!(config.park_timeout(), Duration::from_millis(2500));
        assert_eq!(config.live.max_parked, 10_000);
        assert_eq!(config.live.sfu_secret.as_deref(), Some("0123456789abcdef-secret"));
        assert!(!format!("{config:?}").contains("0123456789abcdef"), "the secret must not be logged");
        assert_eq!(Config::default().live.sfu_secret, None);
    }

    #[test]
    fn metadata_section_from_env() {
        let config = Config::load(
            None,
            env(&[
                ("MYVID_METADATA__BACKEND", "mariadb"),
                ("MYVID_METADATA__NODES", r#"["127.0.0.1:3307", "127.0.0.1:3308", "127.0.0.1:3309"]"#),
                ("MYVID_METADATA__USER", "app"),
                ("MYVID_METADATA__PASSWORD", "db-password-123"),
                ("MYVID_METADATA__DATABASE", "videos"),
            ]),
        )
        .unwrap();
        assert_eq!(config.metadata.backend, MetadataBackend::Mariadb);
        let options = config.metadata.maria_options().unwrap();
        assert_eq!(options.nodes, ["127.0.0.1:3307", "127.0.0.1:3308", "127.0.0.1:3309"]);
        assert_eq!((options.user.as_str(), options.database.as_str()), ("app", "videos"));
        assert_eq!(options.password, "db-password-123");
        assert!(!format!("{config:?}").contains("db-password"), "the password must not be logged");
        let bad = Config::load(None, env(&[("MYVID_METADATA__BACKEND", "postgres")]));
        assert!(bad.unwrap_err().to_string().contains("metadata.backend"));
    }

    #[test]
    fn turn_section_from_env() {
        let config = Config::load(
            None,
            env(&[
                ("MYVID_TURN__ALLOW_PEER_RANGES", "[\"127.0.0.0/8\", \"fd00::/8\"]"),
                ("MYVID_TURN__SECRET", "turn-secret-0123456789"),
                ("MYVID_TURN__ANNOUNCE_IP", "203.0.113.7"),
                ("MYVID_TURN__MAX_BYTES_PER_SEC", "250000"),
            ]),
        )
        .unwrap();
        assert_eq!(config.turn.allow_peer_ranges, ["127.0.0.0/8", "fd00::/8"]);
        assert!(config.turn.peer_policy().unwrap().allows("127.0.0.1:9".parse().unwrap()));
        assert_eq!(config.turn.announce_ip_addr().unwrap(), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(config.turn.max_bytes_per_sec, 250_000);
        assert!(!format!("{config:?}").contains("turn-secret"), "the secret must not be logged");
        let defaults = Config::default().turn;
        assert!(defaults.enabled && defaults.allow_peer_ranges.is_empty() && defaults.secret.is_none());
        assert_eq!((defaults.credential_lifetime_secs, defaults.max_allocations_per_user), (86_400, 10));
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (vec![("MYVID_LISTEN", "nonsense")], "`listen`"),
            (vec![("MYVID_UPLOADS__URL_TTL_SECS", "5")], "`uploads.url_ttl_secs`"),
            (vec![("MYVID_UPLOADS__PART_SIZE", "1024")], "`uploads.part_size`"),
            (vec![("MYVID_UPLOADS__MULTIPART_THRESHOLD", "0")], "`uploads.multipart_threshold`"),
            (vec![("MYVID_UPLOADS__ABANDON_MULTIPART_AFTER_SECS", "60")], "`uploads.abandon_multipart_after_secs`"),
            (vec![("MYVID_PUBLIC_URL", "ftp://x")], "`public_url`"),
            (vec![("MYVID_LOG__FORMAT", "xml")], "`log.format`"),
            (vec![("MYVID_LIMITS__LOGIN_PER_IP", "{burst = 0, per_minute = 1}")], "`limits.login_per_ip`"),
            (vec![("MYVID_LIMITS__HEADER_TIMEOUT_SECS", "0")], "`limits.header_timeout_secs`"),
            (vec![("MYVID_UPLOADS__MAX_VIDEO_BYTES", "lots")], "max_video_bytes"),
            (vec![("MYVID_LIVE__SFU_SECRET", "short")], "`live.sfu_secret`"),
            (vec![("MYVID_LIVE__SFU_SECRET", "sixteen chars with spaces")], "`live.sfu_secret`"),
            (vec![("MYVID_LIVE__PARK_TIMEOUT_MS", "10")], "`live.park_timeout_ms`"),
            (vec![("MYVID_LIVE__MAX_PARKED", "0")], "`live.max_parked`"),
            (vec![("MYVID_LIVE__STREAM_SECRET", "short")], "`live.stream_secret`"),
            (vec![("MYVID_SFU__MEDIA_BIND", "nowhere")], "`sfu.media_bind`"),
            (vec![("MYVID_SFU__MEDIA_BIND", "0.0.0.0:40000")], "`sfu.announce_ip`"),
            (vec![("MYVID_SFU__ANNOUNCE_IP", "example.org")], "`sfu.announce_ip`"),
            (vec![("MYVID_SFU__DRAIN_TIMEOUT_SECS", "86401")], "`sfu.drain_timeout_secs`"),
            (vec![("MYVID_SFU__SIMULATED_PUBLISHER_LOSS_PERCENT", "51")], "`sfu.simulated_publisher_loss_percent`"),
            (vec![("MYVID_LIVE__STREAM_TOKEN_TTL_SECS", "1")], "`live.stream_token_ttl_secs`"),
            (vec![("MYVID_LIVE__ICE_SERVERS", "[\"http://x\"]")], "`live.ice_servers`"),
            (vec![("MYVID_TURN__LISTEN", "nowhere")], "`turn.listen`"),
            (vec![("MYVID_TURN__LISTEN", "0.0.0.0:3478")], "`turn.announce_ip`"),
            (vec![("MYVID_TURN__ANNOUNCE_IP", "turn.example.org")], "`turn.announce_ip`"),
            (vec![("MYVID_TURN__REALM", "")], "`turn.realm`"),
            (vec![("MYVID_TURN__SECRET", "short")], "`turn.secret`"),
            (vec![("MYVID_TURN__CREDENTIAL_LIFETIME_SECS", "59")], "`turn.credential_lifetime_secs`"),
            (vec![("MYVID_TURN__ALLOW_PEER_RANGES", "[\"127.0.0.0/33\"]")], "`turn.allow_peer_ranges`"),
            (vec![("MYVID_TURN__ALLOW_PEER_RANGES", "127.0.0.0/8")], "allow_peer_ranges"),
            (vec![("MYVID_TURN__MAX_ALLOCATIONS_PER_USER", "0")], "`turn.max_allocations_per_user`"),
            (vec![("MYVID_TURN__MAX_BYTES_PER_SEC", "100")], "`turn.max_bytes_per_sec`"),
        ];
        for (vars, field) in cases {
            let err = Config::load(None, env(&vars)).unwrap_err().to_string();
            assert!(err.contains(field), "{err} should name {field}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[uploads]\nmax_vidoe_bytes = 1\n").unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(err.contains("max_vidoe_bytes"), "{err}");
    }
}
