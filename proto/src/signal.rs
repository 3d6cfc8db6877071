//! Client ↔ SFU messages, relayed verbatim by the endpoint.
//!
//! Broadcaster: `publish` (with the stream token and an SDP offer) → `answer`; both
//! sides trickle `candidate`s. Viewer: `join` → the SFU sends an `offer` → the viewer
//! replies `answer`; candidates both ways. A viewer that brings its own offer (WHEP
//! style: receive-only video and audio) sends `view` instead, and the SFU replies
//! `answer`. The SFU sends `viewers` counts to the
//! broadcaster, `ended` to viewers when the broadcast stops, and `error` frames for
//! anything it refuses. Either side may send `bye` before closing.
//!
//! Surviving the loss of an endpoint: once a client has a media session the SFU sends
//! `session` with a resume key. If the signalling socket drops without a `bye` (the
//! endpoint died), the SFU keeps the media session — media flows directly between the
//! client and the SFU, not through the endpoint — for `grace_ms`; the client opens a new
//! socket to any live endpoint and sends `resume` with the key as its first message, and
//! the SFU answers `resumed` and carries on (a broadcaster also gets the current
//! `viewers`). An unknown or expired key gets the error `resume_failed`: start afresh.
//!
//! A viewer may cap what it receives with `max_bitrate` (bit/s; 0 lifts the cap) at any
//! time after `join` or `view`: the SFU then sends no simulcast layer above the lower of
//! the cap and the viewer's bandwidth estimate (a player in a small window, or on a
//! metered link, asks for less than its link could carry).
//!
//! Live chat rides the same socket and is opt-in: a client that sends `chat_join`
//! (after its `offer` or `answer`) gets `chat_joined` and from then on the room's
//! `chat_message`, `chat_deleted`, `chat_muted` and `viewers`; its own refused chat
//! requests get `chat_refused`. A client that never sends `chat_join` gets none of them.
//! The shared types and limits are in [`crate::chat`].
//!
//! ```json
//! {"type":"publish","token":"…","sdp":"v=0…"}
//! {"type":"answer","sdp":"v=0…"}
//! {"type":"candidate","candidate":"candidate:1 1 udp …","sdp_mid":"0","sdp_mline_index":0}
//! {"type":"join"}
//! {"type":"offer","sdp":"v=0…"}
//! {"type":"view","sdp":"v=0…"}
//! {"type":"max_bitrate","bps":250000}
//! {"type":"viewers","count":3}
//! {"type":"ended","reason":"the broadcaster left"}
//! {"type":"error","code":"malformed_message","message":"…"}
//! {"type":"bye","reason":"closing"}
//! {"type":"session","resume":"…","grace_ms":30000}
//! {"type":"resume","resume":"…"}
//! {"type":"resumed"}
//! {"type":"chat_join","token":"c1.…"}
//! {"type":"chat_send","text":"hello","nonce":"n7"}
//! {"type":"chat_delete","id":"m42"}
//! {"type":"chat_mute","id":"m42","seconds":600}
//! {"type":"chat_joined","can_write":true,"moderator":false,"name":"alice","history":[],"viewers":3,"max_chars":300}
//! {"type":"chat_message","id":"m42","user":"alice","text":"hello","at_ms":1767000000000,"nonce":"n7"}
//! {"type":"chat_deleted","id":"m42"}
//! {"type":"chat_muted","user":"bob","until_ms":1767000600000}
//! {"type":"chat_refused","code":"rate_limited","message":"…","retry_after_ms":1800,"nonce":"n7"}
//! ```

use serde::{Deserialize, Serialize};

use crate::chat::{
    ChatLine, ChatRefusalCode, MAX_CHAT_HISTORY, MAX_CHAT_ID_BYTES, MAX_CHAT_NAME_BYTES, MAX_CHAT_TEXT_BYTES,
    MAX_CHAT_TOKEN_BYTES, MAX_MUTE_SECONDS,
};
use crate::{MAX_CANDIDATE_BYTES, MAX_SDP_BYTES, ProtoError, Validate, check_len};

/// Longest free-text `reason` or `message`.
const MAX_TEXT_BYTES: usize = 512;
/// Longest stream token.
const MAX_TOKEN_BYTES: usize = 256;
/// Longest `sdp_mid`.
const MAX_MID_BYTES: usize = 64;

/// One trickled ICE candidate, as the browser's `RTCIceCandidateInit` names it
/// (snake case on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The `candidate:` line; empty string means end of candidates.
    pub candidate: String,
    /// Media id the candidate belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    /// Index of the m-line it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mline_index: Option<u16>,
}

impl Validate for Candidate {
    fn validate(&self) -> Result<(), ProtoError> {
        check_len("candidate", &self.candidate, MAX_CANDIDATE_BYTES)?;
        check_len("sdp_mid", self.sdp_mid.as_deref().unwrap_or(""), MAX_MID_BYTES)
    }
}

/// What a client (broadcaster or viewer) sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Start broadcasting: the stream's token (from `NEWSTREAM`) and an SDP offer.
    Publish {
        /// Proves the right to publish this stream.
        token: String,
        /// The broadcaster's offer.
        sdp: String,
    },
    /// Start watching: the SFU answers with an `offer`.
    Join {},
    /// Start watching with your own offer (WHEP style: receive-only video and audio);
    /// the SFU replies `answer` (send-only), with its ICE candidate inside.
    View {
        /// The viewer's offer.
        sdp: String,
    },
    /// The viewer's answer to the SFU's offer.
    Answer {
        /// SDP answer.
        sdp: String,
    },
    /// A trickled ICE candidate.
    Candidate(Candidate),
    /// Leaving.
    Bye {
        /// Why, for logs.
        #[serde(default)]
        reason: String,
    },
    /// Take over the media session a lost socket held (the key from `session`).
    Resume {
        /// The resume key.
        resume: String,
    },
    /// Viewers: receive no simulcast layer above this many bit/s (0 lifts the cap).
    MaxBitrate {
        /// The cap, in bit/s; 0 for none.
        bps: u64,
    },
    /// Join the stream's chat: the SFU answers `chat_joined` and from then on sends the
    /// room's messages. Without a token the member may only read.
    ChatJoin {
        /// A chat token (`POST /v1/streams/{id}/chat-token`) naming the user.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Say something in the chat.
    ChatSend {
        /// The message; the room trims it and counts its characters.
        text: String,
        /// Any short string the client picks; echoed in the resulting `chat_message`
        /// or `chat_refused`, so the client can match them to what it sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<String>,
    },
    /// Moderators: delete a message for everyone.
    ChatDelete {
        /// The message's id (`m42`).
        id: String,
    },
    /// Moderators: mute the author of a message for `seconds` (0 lifts a mute).
    ChatMute {
        /// The id of a message by the user to mute.
        id: String,
        /// How long, at most a day ([`MAX_MUTE_SECONDS`]).
        seconds: u32,
    },
}

impl Validate for ClientMessage {
    fn validate(&self) -> Result<(), ProtoError> {
        match self {
            ClientMessage::Publish { token, sdp } => {
                check_len("token", token, MAX_TOKEN_BYTES)?;
                check_len("sdp", sdp, MAX_SDP_BYTES)
            }
            ClientMessage::Answer { sdp } | ClientMessage::View { sdp } => check_len("sdp", sdp, MAX_SDP_BYTES),
            ClientMessage::Candidate(c) => c.validate(),
            ClientMessage::Bye { reason } => check_len("reason", reason, MAX_TEXT_BYTES),
            ClientMessage::Resume { resume } => check_len("resume", resume, MAX_TOKEN_BYTES),
            ClientMessage::Join {} | ClientMessage::MaxBitrate { .. } => Ok(()),
            ClientMessage::ChatJoin { token } => {
                check_len("token", token.as_deref().unwrap_or(""), MAX_CHAT_TOKEN_BYTES)
            }
            ClientMessage::ChatSend { text, nonce } => {
                check_len("text", text, MAX_CHAT_TEXT_BYTES)?;
                check_len("nonce", nonce.as_deref().unwrap_or(""), MAX_CHAT_ID_BYTES)
            }
            ClientMessage::ChatDelete { id } => check_len("id", id, MAX_CHAT_ID_BYTES),
            ClientMessage::ChatMute { id, seconds } => {
                check_len("id", id, MAX_CHAT_ID_BYTES)?;
                if *seconds > MAX_MUTE_SECONDS {
                    return Err(ProtoError::Invalid(format!(
                        "`seconds` is {seconds}; the limit is {MAX_MUTE_SECONDS}"
                    )));
                }
                Ok(())
            }
        }
    }
}

/// What the SFU sends to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMessage {
    /// The SFU's answer to a broadcaster's offer, or to a viewer's `view` offer.
    Answer {
        /// SDP answer.
        sdp: String,
    },
    /// The SFU's offer to a joining viewer.
    Offer {
        /// SDP offer.
        sdp: String,
    },
    /// A trickled ICE candidate.
    Candidate(Candidate),
    /// How many viewers are watching (sent to the broadcaster when it changes).
    Viewers {
        /// Current count.
        count: u32,
    },
    /// The stream has ended (sent to viewers).
    Ended {
        /// Why.
        reason: String,
    },
    /// A refused message or a failure; the session stays open unless a `bye` follows.
    Error {
        /// Stable code, e.g. `malformed_message`, `unauthorized`, `not_found`.
        code: String,
        /// For people.
        message: String,
    },
    /// The SFU is closing this session.
    Bye {
        /// Why.
        reason: String,
    },
    /// The connection now has a media session; `resume` takes it over from another
    /// socket if this one is lost (within `grace_ms`).
    Session {
        /// The resume key (secret: it is the right to the media session).
        resume: String,
        /// How long the SFU keeps the media session of a lost socket, in milliseconds.
        grace_ms: u64,
    },
    /// A `resume` succeeded: this socket now holds the media session.
    Resumed {},
    /// The answer to `chat_join`: what this member may do and the recent messages.
    ChatJoined {
        /// Whether the member may send (it joined with a valid token).
        can_write: bool,
        /// Whether the member may delete messages and mute users.
        moderator: bool,
        /// The member's display name, when it joined with a token.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The last messages, oldest first (deleted ones left out).
        history: Vec<ChatLine>,
        /// How many are watching.
        viewers: u32,
        /// The longest message the room accepts, in characters after trimming.
        max_chars: u32,
    },
    /// A new chat message (to every chat member, the sender included).
    ChatMessage(ChatLine),
    /// A moderator deleted a message: stop showing it.
    ChatDeleted {
        /// The message's id.
        id: String,
    },
    /// A moderator muted (or unmuted) a user.
    ChatMuted {
        /// The user's display name.
        user: String,
        /// When the mute ends, in milliseconds since the Unix epoch; 0 when a mute
        /// was lifted.
        until_ms: u64,
    },
    /// A chat request of this client was refused (only the sender gets it).
    ChatRefused {
        /// Why, stable.
        code: ChatRefusalCode,
        /// For people.
        message: String,
        /// When trying again may succeed (`rate_limited`, `muted`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
        /// The refused `chat_send`'s nonce.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<String>,
    },
}

impl Validate for ServerMessage {
    fn validate(&self) -> Result<(), ProtoError> {
        match self {
            ServerMessage::Answer { sdp } | ServerMessage::Offer { sdp } => check_len("sdp", sdp, MAX_SDP_BYTES),
            ServerMessage::Candidate(c) => c.validate(),
            ServerMessage::Ended { reason } | ServerMessage::Bye { reason } => {
                check_len("reason", reason, MAX_TEXT_BYTES)
            }
            ServerMessage::Error { code, message } => {
                check_len("code", code, 64)?;
                check_len("message", message, MAX_TEXT_BYTES)
            }
            ServerMessage::Session { resume, .. } => check_len("resume", resume, MAX_TOKEN_BYTES),
            ServerMessage::Viewers { .. } | ServerMessage::Resumed {} => Ok(()),
            ServerMessage::ChatJoined { name, history, .. } => {
                check_len("name", name.as_deref().unwrap_or(""), MAX_CHAT_NAME_BYTES)?;
                if history.len() > MAX_CHAT_HISTORY {
                    return Err(ProtoError::Invalid(format!(
                        "`history` has {} lines; the limit is {MAX_CHAT_HISTORY}",
                        history.len()
                    )));
                }
                history.iter().try_for_each(Validate::validate)
            }
            ServerMessage::ChatMessage(line) => line.validate(),
            ServerMessage::ChatDeleted { id } => check_len("id", id, MAX_CHAT_ID_BYTES),
            ServerMessage::ChatMuted { user, .. } => check_len("user", user, MAX_CHAT_NAME_BYTES),
            ServerMessage::ChatRefused { message, nonce, .. } => {
                check_len("message", message, MAX_TEXT_BYTES)?;
                check_len("nonce", nonce.as_deref().unwrap_or(""), MAX_CHAT_ID_BYTES)
            }
        }
    }
}

impl ServerMessage {
    /// An error frame for a refused client frame. The message quotes parts of the
    /// refused frame (serde names an unknown `type`), so it is cut to the text limit
    /// on a character boundary.
    pub fn refused(err: &ProtoError) -> ServerMessage {
        let mut message = err.to_string();
        message.truncate(message.floor_char_boundary(MAX_TEXT_BYTES));
        ServerMessage::Error { code: err.code().to_owned(), message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MAX_FRAME_BYTES, parse, to_frame};

    #[test]
    fn wire_shapes_round_trip() {
        let frames = [
            r#"{"type":"publish","token":"t","sdp":"v=0"}"#,
            r#"{"type":"join"}"#,
            r#"{"type":"view","sdp":"v=0"}"#,
            r#"{"type":"answer","sdp":"v=0"}"#,
            r#"{"type":"candidate","candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdp_mid":"0","sdp_mline_index":0}"#,
            r#"{"type":"bye","reason":"done"}"#,
            r#"{"type":"resume","resume":"k"}"#,
            r#"{"type":"max_bitrate","bps":250000}"#,
            r#"{"type":"max_bitrate","bps":0}"#,
            r#"{"type":"chat_join","token":"c1.e30.00"}"#,
            r#"{"type":"chat_join"}"#,
            r#"{"type":"chat_send","text":"hello","nonce":"n7"}"#,
            r#"{"type":"chat_send","text":"hello"}"#,
            r#"{"type":"chat_delete","id":"m42"}"#,
            r#"{"type":"chat_mute","id":"m42","seconds":600}"#,
            r#"{"type":"chat_mute","id":"m42","seconds":0}"#,
        ];
        for frame in frames {
            let msg: ClientMessage = parse(frame).unwrap();
            assert_eq!(to_frame(&msg), frame);
        }
        let server = ServerMessage::Viewers { count: 3 };
        assert_eq!(to_frame(&server), r#"{"type":"viewers","count":3}"#);
        assert_eq!(parse::<ServerMessage>(&to_frame(&server)).unwrap(), server);
    }

    #[test]
    fn chat_wire_shapes_round_trip() {
        let client = [
            (r#"{"type":"chat_join","token":"t"}"#, ClientMessage::ChatJoin { token: Some("t".into()) }),
            (r#"{"type":"chat_join"}"#, ClientMessage::ChatJoin { token: None }),
            (
                r#"{"type":"chat_send","text":" hi ","nonce":"n1"}"#,
                ClientMessage::ChatSend { text: " hi ".into(), nonce: Some("n1".into()) },
            ),
            (r#"{"type":"chat_delete","id":"m1"}"#, ClientMessage::ChatDelete { id: "m1".into() }),
            (
                r#"{"type":"chat_mute","id":"m1","seconds":86400}"#,
                ClientMessage::ChatMute { id: "m1".into(), seconds: 86_400 },
            ),
        ];
        for (frame, message) in client {
            assert_eq!(parse::<ClientMessage>(frame).as_ref(), Ok(&message), "{frame}");
            assert_eq!(to_frame(&message), frame);
        }
        let line = ChatLine {
            id: "m42".into(),
            user: "alice".into(),
            text: "hello".into(),
            at_ms: 1_767_000_000_000,
            nonce: None,
        };
        let server = [
            (
                r#"{"type":"chat_joined","can_write":true,"moderator":false,"name":"alice","history":[{"id":"m42","user":"alice","text":"hello","at_ms":1767000000000}],"viewers":3,"max_chars":300}"#,
                ServerMessage::ChatJoined {
                    can_write: true,
                    moderator: false,
                    name: Some("alice".into()),
                    history: vec![line.clone()],
                    viewers: 3,
                    max_chars: 300,
                },
            ),
            (
                r#"{"type":"chat_joined","can_write":false,"moderator":false,"history":[],"viewers":0,"max_chars":300}"#,
                ServerMessage::ChatJoined {
                    can_write: false,
                    moderator: false,
                    name: None,
                    history: vec![],
                    viewers: 0,
                    max_chars: 300,
                },
            ),
            (
                r#"{"type":"chat_message","id":"m42","user":"alice","text":"hello","at_ms":1767000000000,"nonce":"n7"}"#,
                ServerMessage::ChatMessage(ChatLine { nonce: Some("n7".into()), ..line.clone() }),
            ),
            (
                r#"{"type":"chat_message","id":"m42","user":"alice","text":"hello","at_ms":1767000000000}"#,
                ServerMessage::ChatMessage(line),
            ),
            (r#"{"type":"chat_deleted","id":"m42"}"#, ServerMessage::ChatDeleted { id: "m42".into() }),
            (
                r#"{"type":"chat_muted","user":"bob","until_ms":1767000600000}"#,
                ServerMessage::ChatMuted { user: "bob".into(), until_ms: 1_767_000_600_000 },
            ),
            (
                r#"{"type":"chat_refused","code":"rate_limited","message":"Slow down.","retry_after_ms":1800,"nonce":"n7"}"#,
                ServerMessage::ChatRefused {
                    code: ChatRefusalCode::RateLimited,
                    message: "Slow down.".into(),
                    retry_after_ms: Some(1800),
                    nonce: Some("n7".into()),
                },
            ),
            (
                r#"{"type":"chat_refused","code":"sign_in_required","message":"Sign in to chat."}"#,
                ServerMessage::ChatRefused {
                    code: ChatRefusalCode::SignInRequired,
                    message: "Sign in to chat.".into(),
                    retry_after_ms: None,
                    nonce: None,
                },
            ),
        ];
        for (frame, message) in server {
            assert_eq!(parse::<ServerMessage>(frame).as_ref(), Ok(&message), "{frame}");
            assert_eq!(to_frame(&message), frame);
        }
    }

    #[test]
    fn chat_fields_over_their_limits_are_refused() {
        let at_limit = [
            format!(r#"{{"type":"chat_join","token":"{}"}}"#, "t".repeat(MAX_CHAT_TOKEN_BYTES)),
            format!(
                r#"{{"type":"chat_send","text":"{}","nonce":"{}"}}"#,
                "x".repeat(MAX_CHAT_TEXT_BYTES),
                "n".repeat(MAX_CHAT_ID_BYTES)
            ),
            format!(r#"{{"type":"chat_delete","id":"{}"}}"#, "m".repeat(MAX_CHAT_ID_BYTES)),
            format!(r#"{{"type":"chat_mute","id":"m1","seconds":{MAX_MUTE_SECONDS}}}"#),
        ];
        for frame in &at_limit {
            assert!(parse::<ClientMessage>(frame).is_ok(), "{frame}");
        }
        let over = [
            format!(r#"{{"type":"chat_join","token":"{}"}}"#, "t".repeat(MAX_CHAT_TOKEN_BYTES + 1)),
            format!(r#"{{"type":"chat_send","text":"{}"}}"#, "x".repeat(MAX_CHAT_TEXT_BYTES + 1)),
            format!(r#"{{"type":"chat_send","text":"hi","nonce":"{}"}}"#, "n".repeat(MAX_CHAT_ID_BYTES + 1)),
            format!(r#"{{"type":"chat_delete","id":"{}"}}"#, "m".repeat(MAX_CHAT_ID_BYTES + 1)),
            format!(r#"{{"type":"chat_mute","id":"{}","seconds":1}}"#, "m".repeat(MAX_CHAT_ID_BYTES + 1)),
            format!(r#"{{"type":"chat_mute","id":"m1","seconds":{}}}"#, MAX_MUTE_SECONDS + 1),
        ];
        for frame in &over {
            assert_eq!(parse::<ClientMessage>(frame).unwrap_err().code(), "invalid_message", "{frame}");
        }
        for bad in [
            r#"{"type":"chat_send"}"#,
            r#"{"type":"chat_send","text":"hi","x":1}"#,
            r#"{"type":"chat_mute","id":"m1"}"#,
            r#"{"type":"chat_mute","id":"m1","seconds":-1}"#,
            r#"{"type":"chat_join","token":null,"name":"x"}"#,
        ] {
            assert_eq!(parse::<ClientMessage>(bad).unwrap_err().code(), "malformed_message", "{bad}");
        }
        for bad in [
            r#"{"type":"chat_message","id":"m1","user":"a","text":"b","at_ms":1,"extra":true}"#,
            r#"{"type":"chat_refused","code":"nope","message":"m"}"#,
        ] {
            assert_eq!(parse::<ServerMessage>(bad).unwrap_err().code(), "malformed_message", "{bad}");
        }
        let long_history = ServerMessage::ChatJoined {
            can_write: false,
            moderator: false,
            name: None,
            history: vec![
                ChatLine { id: "m1".into(), user: "a".into(), text: "b".into(), at_ms: 1, nonce: None };
                MAX_CHAT_HISTORY + 1
            ],
            viewers: 0,
            max_chars: 300,
        };
        assert_eq!(long_history.validate().unwrap_err().code(), "invalid_message");
    }

    #[test]
    fn refusing_an_unknown_type_of_multibyte_characters_cuts_the_message_on_a_character_boundary() {
        // Found by `the_error_frame_for_any_refused_frame_is_itself_a_valid_message`
        // (proto/tests/frame_properties.rs): serde quotes the unknown type, and the
        // 512-byte cut fell inside a three-byte character.
        let frame = format!(r#"{{"type":"{}"}}"#, "\u{800}".repeat(200));
        let err = parse::<ClientMessage>(&frame).unwrap_err();
        let ServerMessage::Error { code, message } = ServerMessage::refused(&err) else { panic!("not an error frame") };
        assert_eq!(code, "malformed_message");
        assert!(message.len() <= MAX_TEXT_BYTES && message.starts_with("malformed message: unknown variant"));
    }

    #[test]
    fn hostile_frames_are_refused_with_codes() {
        let huge = format!(r#"{{"type":"answer","sdp":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
        assert_eq!(parse::<ClientMessage>(&huge).unwrap_err().code(), "frame_too_large");
        let big_sdp = format!(r#"{{"type":"answer","sdp":"{}"}}"#, "x".repeat(MAX_SDP_BYTES + 1));
        assert_eq!(parse::<ClientMessage>(&big_sdp).unwrap_err().code(), "invalid_message");
        let big_view = format!(r#"{{"type":"view","sdp":"{}"}}"#, "x".repeat(MAX_SDP_BYTES + 1));
        assert_eq!(parse::<ClientMessage>(&big_view).unwrap_err().code(), "invalid_message");
        assert_eq!(parse::<ClientMessage>(r#"{"type":"view"}"#).unwrap_err().code(), "malformed_message");
        for bad in
            ["", "null", "[]", "{}", r#"{"type":"nope"}"#, r#"{"type":"answer"}"#, r#"{"type":"join","x":1}"#, "{"]
        {
            assert_eq!(parse::<ClientMessage>(bad).unwrap_err().code(), "malformed_message", "{bad}");
        }
        let err = parse::<ClientMessage>("{").unwrap_err();
        assert!(
            matches!(ServerMessage::refused(&err), ServerMessage::Error { code, .. } if code == "malformed_message")
        );
    }
}
