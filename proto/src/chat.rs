//! Live chat's shared pieces: the line every client shows, the refusal codes, and the
//! field limits of the `chat_*` messages in [`crate::signal`].
//!
//! Chat is opt-in: the SFU sends chat frames (and `viewers` counts for chat) only to a
//! connection that sent `chat_join`, so clients that never chat see the protocol as
//! before.
//!
//! ```json
//! {"type":"chat_join","token":"c1.…"}
//! {"type":"chat_send","text":"hello","nonce":"n7"}
//! {"type":"chat_delete","id":"m42"}
//! {"type":"chat_mute","id":"m42","seconds":600}
//! {"type":"chat_joined","can_write":true,"moderator":false,"name":"alice","history":[…],"viewers":3,"max_chars":300}
//! {"type":"chat_message","id":"m42","user":"alice","text":"hello","at_ms":1767000000000,"nonce":"n7"}
//! {"type":"chat_deleted","id":"m42"}
//! {"type":"chat_muted","user":"bob","until_ms":1767000600000}
//! {"type":"chat_refused","code":"rate_limited","message":"…","retry_after_ms":1800,"nonce":"n7"}
//! ```

use serde::{Deserialize, Serialize};

use crate::{ProtoError, Validate, check_len};

/// Longest chat text in bytes: 300 characters (the default `max_chars`) of up to four
/// bytes each. The room counts characters; this only bounds what is parsed.
pub const MAX_CHAT_TEXT_BYTES: usize = 1_200;

/// Longest chat token (`c1.{payload}.{mac}`: a small JSON payload in base64url plus a
/// hex MAC comes to well under 512).
pub const MAX_CHAT_TOKEN_BYTES: usize = 512;

/// Longest message id (`m` and a decimal `u64` is at most 21) and client nonce.
pub const MAX_CHAT_ID_BYTES: usize = 32;

/// Longest display name in a chat frame. Usernames are 3–32 ASCII characters; the
/// slack keeps the wire format from depending on that rule.
pub const MAX_CHAT_NAME_BYTES: usize = 64;

/// Longest mute: one day. Longer bans belong to account moderation, not to chat.
pub const MAX_MUTE_SECONDS: u32 = 86_400;

/// Most lines in `chat_joined`'s history. The room keeps 50 by default; 50 lines of 300
/// four-byte characters already come close to a frame (64 KiB).
pub const MAX_CHAT_HISTORY: usize = 100;

/// One chat message as clients show it (`chat_message`, and each line of
/// `chat_joined`'s history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatLine {
    /// The room's id for the message, `m1`, `m2`, … in sending order.
    pub id: String,
    /// The author's display name.
    pub user: String,
    /// The text, trimmed.
    pub text: String,
    /// When the room accepted it, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The sender's `nonce` from `chat_send`, so it can match its own message; absent
    /// in history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

impl Validate for ChatLine {
    fn validate(&self) -> Result<(), ProtoError> {
        check_len("id", &self.id, MAX_CHAT_ID_BYTES)?;
        check_len("user", &self.user, MAX_CHAT_NAME_BYTES)?;
        check_len("text", &self.text, MAX_CHAT_TEXT_BYTES)?;
        check_len("nonce", self.nonce.as_deref().unwrap_or(""), MAX_CHAT_ID_BYTES)
    }
}

/// Why a chat request was refused (`chat_refused`'s `code`). Stable: clients branch on
/// it; the `message` beside it is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatRefusalCode {
    /// The author's messages come faster than the room's token bucket refills;
    /// `retry_after_ms` says when the next one is accepted.
    RateLimited,
    /// More characters than the room's `max_chars` after trimming.
    TooLong,
    /// Nothing left after trimming.
    Empty,
    /// A moderator muted the author; `retry_after_ms` says when the mute ends.
    Muted,
    /// An anonymous member tried to write: chat is read-only without a chat token.
    SignInRequired,
    /// Delete or mute by someone who is not a moderator of the stream.
    NotModerator,
    /// `chat_join` for a stream nobody broadcasts on this SFU.
    NotLive,
    /// `chat_join` with a token that is malformed, forged, expired or for another stream.
    BadToken,
}

impl ChatRefusalCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatRefusalCode::RateLimited => "rate_limited",
            ChatRefusalCode::TooLong => "too_long",
            ChatRefusalCode::Empty => "empty",
            ChatRefusalCode::Muted => "muted",
            ChatRefusalCode::SignInRequired => "sign_in_required",
            ChatRefusalCode::NotModerator => "not_moderator",
            ChatRefusalCode::NotLive => "not_live",
            ChatRefusalCode::BadToken => "bad_token",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::ServerMessage;
    use crate::{MAX_FRAME_BYTES, to_frame};

    #[test]
    fn refusal_codes_serialise_as_their_wire_names() {
        let all = [
            ChatRefusalCode::RateLimited,
            ChatRefusalCode::TooLong,
            ChatRefusalCode::Empty,
            ChatRefusalCode::Muted,
            ChatRefusalCode::SignInRequired,
            ChatRefusalCode::NotModerator,
            ChatRefusalCode::NotLive,
            ChatRefusalCode::BadToken,
        ];
        for code in all {
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ChatRefusalCode>(&format!("\"{}\"", code.as_str())).unwrap(), code);
        }
        assert!(serde_json::from_str::<ChatRefusalCode>("\"RateLimited\"").is_err());
    }

    #[test]
    fn a_full_default_history_of_the_longest_lines_fits_in_one_frame() {
        // 50 lines (the default history) of 300 four-byte characters by 32-character
        // users (the longest username), with ids as long as a u64 makes them and
        // 13-digit times (until the year 2286). It is tight: about 65,400 of 65,536
        // bytes, so a larger history or `max_chars` needs the sender to trim history.
        let line = ChatLine {
            id: format!("m{}", u64::MAX),
            user: "u".repeat(32),
            text: "\u{1F600}".repeat(300),
            at_ms: 9_999_999_999_999,
            nonce: None,
        };
        assert_eq!(line.validate(), Ok(()));
        let joined = ServerMessage::ChatJoined {
            can_write: true,
            moderator: true,
            name: Some("u".repeat(32)),
            history: vec![line; 50],
            viewers: u32::MAX,
            max_chars: 300,
        };
        assert_eq!(joined.validate(), Ok(()));
        assert!(to_frame(&joined).len() <= MAX_FRAME_BYTES, "{} bytes", to_frame(&joined).len());
    }
}
