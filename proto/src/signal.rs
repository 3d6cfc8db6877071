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
//! ```json
//! {"type":"publish","token":"…","sdp":"v=0…"}
//! {"type":"answer","sdp":"v=0…"}
//! {"type":"candidate","candidate":"candidate:1 1 udp …","sdp_mid":"0","sdp_mline_index":0}
//! {"type":"join"}
//! {"type":"offer","sdp":"v=0…"}
//! {"type":"view","sdp":"v=0…"}
//! {"type":"viewers","count":3}
//! {"type":"ended","reason":"the broadcaster left"}
//! {"type":"error","code":"malformed_message","message":"…"}
//! {"type":"bye","reason":"closing"}
//! {"type":"session","resume":"…","grace_ms":30000}
//! {"type":"resume","resume":"…"}
//! {"type":"resumed"}
//! ```

use serde::{Deserialize, Serialize};

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
            ClientMessage::Join {} => Ok(()),
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
