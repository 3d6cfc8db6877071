//! Live stream set-up: `NEWSTREAM` creates a pending stream and hands the broadcaster
//! where to connect and a publish token; the SFU checks that token without asking
//! the database.
//!
//! ```text
//!  POST /API/NEWSTREAM/ ─▶ pending LIVE record + token = v1.<expiry>.<HMAC(stream id, expiry)>
//!  broadcaster ─WS /ENDPOINT/{id}─▶ {"type":"publish","token",…} ─▶ SFU verifies ─▶ state live
//! ```

use hmac::{Hmac, KeyInit, Mac};
use myvid_store::meta::{LiveState, User, VideoSource};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::ApiError;
use crate::new_video::{Details, create_private};
use crate::services::{Services, Settings};
use crate::turn_credentials::TurnGrant;

/// One STUN or TURN server, in the shape of the browser's `RTCIceServer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IceServer {
    /// `stun:host:port` or `turn:host:port?transport=udp` URLs.
    pub urls: Vec<String>,
    /// TURN user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// `POST /API/NEWSTREAM/` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StreamRequest {
    /// 1–200 characters.
    #[schema(schema_with = crate::text_schema::title)]
    pub title: String,
    /// Up to 5,000 characters.
    #[serde(default)]
    #[schema(schema_with = crate::text_schema::description)]
    pub description: String,
    /// Whether the stream is recorded and becomes a video at its id once it ends
    /// (default true; `false` opts out).
    #[serde(default = "recorded_by_default")]
    #[schema(default = true)]
    pub record: bool,
}

fn recorded_by_default() -> bool {
    true
}

/// Everything a broadcaster needs to go live.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StreamGrant {
    /// The stream's id (also its video id).
    pub stream_id: String,
    /// Base URL of the endpoint to use.
    pub endpoint: String,
    /// Signalling WebSocket.
    pub ws_url: String,
    /// WHIP URL (OBS, GStreamer, ffmpeg).
    pub whip_url: String,
    /// WHEP URL for viewers.
    pub whep_url: String,
    /// Publish token: send it in `publish`, or as `Authorization: Bearer` for WHIP.
    pub token: String,
    /// STUN/TURN servers.
    pub ice_servers: Vec<IceServer>,
    /// Whether the stream is recorded (as asked in the request).
    pub record: bool,
}

/// Where clients reach a stream through an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamUrls {
    /// Signalling WebSocket.
    pub ws_url: String,
    /// WHIP.
    pub whip_url: String,
    /// WHEP.
    pub whep_url: String,
}

/// The URLs of stream `id` on the endpoint at `endpoint` (an http(s) base URL).
pub fn stream_urls(endpoint: &str, id: &str) -> StreamUrls {
    let ws_base = endpoint.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
    StreamUrls {
        ws_url: format!("{ws_base}/ENDPOINT/{id}"),
        whip_url: format!("{endpoint}/whip/{id}"),
        whep_url: format!("{endpoint}/whep/{id}"),
    }
}

/// Signs and checks publish tokens with a secret shared by the API and the SFUs.
#[derive(Clone)]
pub struct StreamTokens {
    key: Hmac<Sha256>,
}

impl std::fmt::Debug for StreamTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamTokens(..)")
    }
}

/// Why a publish token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token for this stream from this platform.
    #[error("the publish token is not valid for this stream")]
    Invalid,
    /// Past its expiry.
    #[error("the publish token has expired; create the stream again")]
    Expired,
}

impl StreamTokens {
    /// Tokens keyed with `secret` (any length; 32 random bytes recommended).
    pub fn new(secret: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let key = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
        StreamTokens { key }
    }

    fn mac(&self, stream_id: &str, expires_at: i64) -> Hmac<Sha256> {
        self.mac_for("publish", stream_id, expires_at)
    }

    /// The shared key's MAC of `subject` until `expires_at` for `purpose` (the first
    /// line of what is signed, so that a signature for one purpose is never valid for
    /// another: `publish` tokens, `hls` playback paths).
    pub(crate) fn mac_for(&self, purpose: &str, subject: &str, expires_at: i64) -> Hmac<Sha256> {
        let mut mac = self.key.clone();
        mac.update(format!("{purpose}\n{subject}\n{expires_at}").as_bytes());
        mac
    }

    /// A token allowing publishing to `stream_id` until `expires_at` (Unix seconds).
    pub fn issue(&self, stream_id: &str, expires_at: i64) -> String {
        let sig = hex::encode(self.mac(stream_id, expires_at).finalize().into_bytes());
        format!("v1.{expires_at}.{sig}")
    }

    /// Checks a token for `stream_id` at `now`.
    pub fn verify(&self, stream_id: &str, token: &str, now: i64) -> Result<(), TokenError> {
        let mut parts = token.splitn(3, '.');
        let (Some("v1"), Some(expires), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Invalid);
        };
        let expires_at: i64 = expires.parse().map_err(|_| TokenError::Invalid)?;
        let sig = hex::decode(sig).map_err(|_| TokenError::Invalid)?;
        self.mac(stream_id, expires_at).verify_slice(&sig).map_err(|_| TokenError::Invalid)?;
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

/// Creates a pending live stream owned by `user`.
pub async fn create_stream(services: &Services, user: &User, req: StreamRequest) -> Result<StreamGrant, ApiError> {
    let details = Details::check(&req.title, &req.description)?;
    let now = services.clock.now();
    let record = req.record;
    let stream =
        create_private(services, user, &details, |_| VideoSource::Live { state: LiveState::Pending, record }).await?;
    let settings = &services.settings;
    let endpoints = crate::registry::live_endpoints(services).await?;
    let endpoint = endpoints.first().to_owned();
    let urls = stream_urls(&endpoint, &stream.id);
    tracing::info!(stream = %stream.id, user = %user.username, %endpoint, record, "live stream created");
    Ok(StreamGrant {
        token: services.stream_tokens.issue(&stream.id, now + settings.stream_token_ttl_secs),
        stream_id: stream.id,
        endpoint,
        ws_url: urls.ws_url,
        whip_url: urls.whip_url,
        whep_url: urls.whep_url,
        ice_servers: ice_servers_at(settings, endpoints.turn.as_deref(), Some(user.id), now),
        record,
    })
}

/// The STUN/TURN servers for one client: [`ice_servers_at`] the TURN server of the
/// least loaded live endpoint that runs one (several endpoints share the TURN secret),
/// or the settings' own.
pub async fn ice_servers(services: &Services, user_id: Option<i64>) -> Result<Vec<IceServer>, ApiError> {
    let turn = crate::registry::live_endpoints(services).await?.turn;
    Ok(ice_servers_at(&services.settings, turn.as_deref(), user_id, services.clock.now()))
}

/// The STUN/TURN servers for one client at `now`: the configured `live.ice_servers`,
/// then, when a TURN server is known — at `turn_address` (`host:port`, an endpoint's
/// from the registry), else the one in the settings — its STUN URL and a TURN entry
/// with credentials for user id `user_id`. Anonymous clients get a random `anon-…`
/// user each, so that the TURN server's per-user allocation quota applies to every one
/// separately.
pub fn ice_servers_at(
    settings: &Settings,
    turn_address: Option<&str>,
    user_id: Option<i64>,
    now: i64,
) -> Vec<IceServer> {
    let mut servers = settings.ice_servers.clone();
    let grant = settings.turn.as_ref().map(|turn| match turn_address {
        Some(address) => TurnGrant { address: address.to_owned(), ..turn.clone() },
        None => turn.clone(),
    });
    if let Some(turn) = grant.filter(|g| !g.address.is_empty()) {
        let user = user_id.map_or_else(|| format!("anon-{}", crate::ids::new_video_id()), |id| id.to_string());
        let credential = turn.credential(&user, now);
        servers.push(IceServer { urls: vec![turn.stun_url()], username: None, credential: None });
        servers.push(IceServer {
            urls: vec![turn.turn_url()],
            username: Some(credential.username),
            credential: Some(credential.password),
        });
    }
    servers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turn_credentials;

    #[test]
    fn tokens_verify_only_for_their_stream_until_expiry() {
        let tokens = StreamTokens::new(b"secret");
        let token = tokens.issue("abc", 1_000);
        assert_eq!(tokens.verify("abc", &token, 999), Ok(()));
        assert_eq!(tokens.verify("abc", &token, 1_000), Err(TokenError::Expired));
        assert_eq!(tokens.verify("abd", &token, 10), Err(TokenError::Invalid));
        assert_eq!(StreamTokens::new(b"other").verify("abc", &token, 10), Err(TokenError::Invalid));
        let forged = token.replacen("v1.1000.", "v1.9999.", 1);
        assert_eq!(tokens.verify("abc", &forged, 10), Err(TokenError::Invalid));
        for junk in ["", "v1", "v1.x.y", "v2.1000.00", "v1.1000.zz"] {
            assert_eq!(tokens.verify("abc", junk, 10), Err(TokenError::Invalid), "{junk}");
        }
    }

    #[test]
    fn ice_servers_add_the_endpoints_stun_and_turn_with_fresh_credentials() {
        let stun = IceServer { urls: vec!["stun:stun.example.org:3478".into()], username: None, credential: None };
        let mut settings = Settings { ice_servers: vec![stun.clone()], ..Settings::default() };
        assert_eq!(ice_servers_at(&settings, None, Some(7), 1_000), vec![stun.clone()], "no TURN configured");
        settings.turn =
            Some(TurnGrant { address: "127.0.0.1:3478".into(), secret: b"secret".to_vec(), lifetime_secs: 600 });
        let servers = ice_servers_at(&settings, None, Some(7), 1_000);
        assert_eq!(servers[..2], [stun, IceServer { urls: vec!["stun:127.0.0.1:3478".into()], ..servers[1].clone() }]);
        assert_eq!(servers[2].urls, ["turn:127.0.0.1:3478?transport=udp"]);
        assert_eq!(servers[2].username.as_deref(), Some("1600:7"));
        assert_eq!(servers[2].credential, Some(turn_credentials::password(b"secret", "1600:7")));
        let anonymous = |s: &[IceServer]| s[2].username.clone().unwrap();
        let first = anonymous(&ice_servers_at(&settings, None, None, 1_000));
        assert!(first.starts_with("1600:anon-"), "{first}");
        assert_ne!(first, anonymous(&ice_servers_at(&settings, None, None, 1_000)), "one anonymous id per grant");
    }

    #[test]
    fn urls_follow_the_endpoint_scheme() {
        let urls = stream_urls("https://edge.example.org", "s1");
        assert_eq!(urls.ws_url, "wss://edge.example.org/ENDPOINT/s1");
        assert_eq!(urls.whip_url, "https://edge.example.org/whip/s1");
        assert_eq!(stream_urls("http://127.0.0.1:8080", "s1").ws_url, "ws://127.0.0.1:8080/ENDPOINT/s1");
    }
}
