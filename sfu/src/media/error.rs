//! Why the media plane refused a command.

use myvid_proto::MAX_SDP_BYTES;

/// A refused media command. Each case has a stable [`MediaError::code`] for the error
/// frame a client receives; the message is safe to show (it never carries internals).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The SDP is over [`MAX_SDP_BYTES`].
    #[error("SDP of {0} bytes exceeds the {MAX_SDP_BYTES}-byte limit")]
    SdpTooLarge(usize),
    /// The SDP could not be parsed or negotiated.
    #[error("SDP refused: {0}")]
    BadSdp(String),
    /// The stream already has a live publisher.
    #[error("stream `{0}` already has a publisher")]
    AlreadyPublishing(String),
    /// Nobody publishes the stream.
    #[error("stream `{0}` is not live")]
    NotLive(String),
    /// No such session (never existed, closed, or failed).
    #[error("no such media session")]
    UnknownSession,
    /// The command does not fit the session's state (an answer to a publisher session,
    /// a second answer, …).
    #[error("unexpected in this state: {0}")]
    WrongState(&'static str),
    /// The session has sent its limit of ICE candidates.
    #[error("more than {0} ICE candidates")]
    TooManyCandidates(usize),
    /// An ICE candidate that could not be parsed.
    #[error("ICE candidate refused: {0}")]
    BadCandidate(String),
    /// The server holds its limit of sessions.
    #[error("the media server is full")]
    Full,
    /// The media task has stopped.
    #[error("the media server is not running")]
    Unavailable,
    /// A WebRTC stack failure that is not the client's fault (details are logged).
    #[error("internal media error")]
    Internal,
}

impl MediaError {
    /// The stable error code sent in an error frame.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::SdpTooLarge(_) => "sdp_too_large",
            MediaError::BadSdp(_) => "bad_sdp",
            MediaError::AlreadyPublishing(_) => "already_live",
            MediaError::NotLive(_) => "not_live",
            MediaError::UnknownSession => "unknown_session",
            MediaError::WrongState(_) => "unexpected_message",
            MediaError::TooManyCandidates(_) => "too_many_candidates",
            MediaError::BadCandidate(_) => "bad_candidate",
            MediaError::Full => "server_full",
            MediaError::Unavailable => "unavailable",
            MediaError::Internal => "internal",
        }
    }
}

/// Turns a WebRTC stack error on a client's SDP into a message for the client: the stack's
/// own text, cut to a length that fits an error frame.
pub(crate) fn bad_sdp(err: impl std::fmt::Display) -> MediaError {
    let mut text = err.to_string();
    if text.len() > 200 {
        let mut cut = 200;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    MediaError::BadSdp(text)
}
