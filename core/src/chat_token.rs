//! Chat tokens: the API vouches for who a chatter is, the SFU checks it without asking
//! anyone. Signed with the key the SFUs already verify publish tokens with
//! (`live.stream_secret`), under their own purpose (`chat`), so a chat token can never
//! pass as a publish token or the other way round.
//!
//! ```text
//!  POST /v1/streams/{id}/chat-token ─▶ may view? live or pending? ─▶ ChatTokens::issue ─▶ ChatGrant
//!  chat_join{token} ─▶ SFU: ChatTokens::verify(stream, token, now) ─▶ ChatClaims (user, name, moderator)
//! ```
//!
//! Format: `c1.{b64url(json{s, u, n, m, e})}.{hex mac}` — the stream, the user id, the
//! display name, whether the user moderates (owns the stream) and the expiry in Unix
//! seconds. The MAC covers the payload exactly as sent.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use myvid_store::meta::{LiveState, User, VideoSource};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::live::StreamTokens;
use crate::services::Services;

/// How long a chat token lasts: 6 hours, longer than nearly every broadcast, short
/// enough that a token copied out of a page does not speak for its user for long. The
/// page asks for a new one whenever it (re)joins.
pub const CHAT_TOKEN_TTL_SECS: i64 = 6 * 3600;

/// What a chat token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatClaims {
    /// The stream.
    #[serde(rename = "s")]
    pub stream_id: String,
    /// The account.
    #[serde(rename = "u")]
    pub user_id: i64,
    /// The name shown on its messages.
    #[serde(rename = "n")]
    pub name: String,
    /// Whether it may delete messages and mute people (the stream's owner).
    #[serde(rename = "m")]
    pub moderator: bool,
    /// Expiry, Unix seconds.
    #[serde(rename = "e")]
    pub expires_at: i64,
}

/// Why a chat token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChatTokenError {
    /// Malformed, forged, or for another stream.
    #[error("the chat token is not valid for this stream")]
    Invalid,
    /// Past its expiry.
    #[error("the chat token has expired")]
    Expired,
}

/// Longest chat token accepted for checking (the signalling limit).
const MAX_TOKEN_BYTES: usize = myvid_proto::chat::MAX_CHAT_TOKEN_BYTES;

impl StreamTokens {
    fn chat_mac(&self, payload: &str) -> hmac::Hmac<sha2::Sha256> {
        // The payload carries the stream and the expiry; `mac_for`'s subject is the
        // payload itself and its expiry field is unused (0).
        self.mac_for("chat", payload, 0)
    }

    /// A chat token for `claims`.
    pub fn issue_chat(&self, claims: &ChatClaims) -> String {
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let payload = URL_SAFE_NO_PAD.encode(json);
        let mac = hex::encode(self.chat_mac(&payload).finalize().into_bytes());
        format!("c1.{payload}.{mac}")
    }

    /// The claims of `token` if it is a valid chat token for `stream_id` at `now`.
    pub fn verify_chat(&self, stream_id: &str, token: &str, now: i64) -> Result<ChatClaims, ChatTokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(ChatTokenError::Invalid);
        }
        let mut parts = token.split('.');
        let (Some("c1"), Some(payload), Some(mac), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ChatTokenError::Invalid);
        };
        let mac = hex::decode(mac).map_err(|_| ChatTokenError::Invalid)?;
        self.chat_mac(payload).verify_slice(&mac).map_err(|_| ChatTokenError::Invalid)?;
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| ChatTokenError::Invalid)?;
        let claims: ChatClaims = serde_json::from_slice(&json).map_err(|_| ChatTokenError::Invalid)?;
        if claims.stream_id != stream_id {
            return Err(ChatTokenError::Invalid);
        }
        if now >= claims.expires_at {
            return Err(ChatTokenError::Expired);
        }
        Ok(claims)
    }
}

/// A chat token and what it says, for the page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChatGrant {
    /// Send it in `chat_join` on the stream's signalling socket.
    pub token: String,
    /// When it stops working, Unix seconds (ask for a new one before rejoining).
    pub expires_at: i64,
    /// The name shown on your messages.
    pub name: String,
    /// Whether you may delete messages and mute people (you own the stream).
    pub moderator: bool,
}

/// A chat token for `user` in stream `stream_id`: `not_found` unless it is a live
/// stream `user` may view, `stream_ended` once it ended.
pub async fn chat_token(services: &Services, user: &User, stream_id: &str) -> Result<ChatGrant, ApiError> {
    let video = crate::view::visible_video_record(services, Some(user.id), stream_id).await?;
    let VideoSource::Live { state, .. } = video.source else { return Err(ApiError::not_found("stream")) };
    if state == LiveState::Ended {
        return Err(ApiError::new(ErrorCode::StreamEnded, "the stream has ended"));
    }
    let expires_at = services.clock.now() + CHAT_TOKEN_TTL_SECS;
    let claims = ChatClaims {
        stream_id: video.id,
        user_id: user.id,
        name: user.username.clone(),
        moderator: video.owner_id == Some(user.id),
        expires_at,
    };
    Ok(ChatGrant {
        token: services.stream_tokens.issue_chat(&claims),
        expires_at,
        name: claims.name,
        moderator: claims.moderator,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> ChatClaims {
        ChatClaims { stream_id: "s1".into(), user_id: 7, name: "alice".into(), moderator: false, expires_at: 1_000 }
    }

    #[test]
    fn a_token_checks_out_for_its_stream_until_it_expires() {
        let tokens = StreamTokens::new(b"secret");
        let token = tokens.issue_chat(&claims());
        assert!(token.starts_with("c1.") && token.len() <= MAX_TOKEN_BYTES, "{token}");
        assert_eq!(tokens.verify_chat("s1", &token, 999), Ok(claims()));
        assert_eq!(tokens.verify_chat("s1", &token, 1_000), Err(ChatTokenError::Expired));
        assert_eq!(tokens.verify_chat("s2", &token, 0), Err(ChatTokenError::Invalid));
        assert_eq!(StreamTokens::new(b"other").verify_chat("s1", &token, 0), Err(ChatTokenError::Invalid));
    }

    #[test]
    fn tampered_and_foreign_tokens_are_refused() {
        let tokens = StreamTokens::new(b"secret");
        let token = tokens.issue_chat(&claims());
        let (head, mac) = token.rsplit_once('.').unwrap();
        let moderator = ChatClaims { moderator: true, ..claims() };
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&moderator).unwrap());
        let publish = tokens.issue("s1", 1_000);
        for bad in [
            format!("c1.{forged_payload}.{mac}"),
            format!("{head}.{}", "0".repeat(mac.len())),
            format!("{token}.x"),
            format!("c2{}", &token[2..]),
            publish,
            String::new(),
            "c1..".into(),
        ] {
            assert_eq!(tokens.verify_chat("s1", &bad, 0), Err(ChatTokenError::Invalid), "{bad}");
        }
    }
}
