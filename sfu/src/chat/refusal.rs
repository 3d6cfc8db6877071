//! [`Refusal`]: why a room refused a member's request, with the sentence people see.
//! Only the sender is told (`chat_refused`); nothing reaches the other members.

use myvid_proto::chat::ChatRefusalCode;
use myvid_proto::signal::ServerMessage;

/// A refused chat request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The user's token bucket is empty.
    RateLimited {
        /// When the next message will be accepted.
        retry_after_ms: u64,
    },
    /// Too many characters after trimming.
    TooLong {
        /// How many the message has.
        chars: usize,
        /// The room's limit.
        max_chars: u32,
    },
    /// Nothing left after trimming.
    Empty,
    /// A moderator muted the user.
    Muted {
        /// When the mute ends (milliseconds since the Unix epoch).
        until_ms: u64,
        /// How long that is from now.
        retry_after_ms: u64,
    },
    /// An anonymous member tried to write.
    SignInRequired,
    /// Delete or mute by a member who is not a moderator.
    NotModerator,
}

impl Refusal {
    /// The stable code.
    pub fn code(&self) -> ChatRefusalCode {
        match self {
            Refusal::RateLimited { .. } => ChatRefusalCode::RateLimited,
            Refusal::TooLong { .. } => ChatRefusalCode::TooLong,
            Refusal::Empty => ChatRefusalCode::Empty,
            Refusal::Muted { .. } => ChatRefusalCode::Muted,
            Refusal::SignInRequired => ChatRefusalCode::SignInRequired,
            Refusal::NotModerator => ChatRefusalCode::NotModerator,
        }
    }

    /// When trying again may succeed, for the refusals that pass.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Refusal::RateLimited { retry_after_ms } | Refusal::Muted { retry_after_ms, .. } => Some(*retry_after_ms),
            _ => None,
        }
    }

    /// The sentence for people.
    pub fn message(&self) -> String {
        match self {
            Refusal::RateLimited { retry_after_ms } => {
                format!("Slow down: you can send again in {}.", wait(*retry_after_ms))
            }
            Refusal::TooLong { chars, max_chars } => {
                format!("A message can be at most {max_chars} characters; this one has {chars}.")
            }
            Refusal::Empty => "The message is empty.".to_owned(),
            Refusal::Muted { retry_after_ms, .. } => {
                format!("A moderator muted you; you can write again in {}.", wait(*retry_after_ms))
            }
            Refusal::SignInRequired => "Sign in to chat.".to_owned(),
            Refusal::NotModerator => "Only the stream's moderators can delete messages or mute people.".to_owned(),
        }
    }

    /// The `chat_refused` frame for the sender, echoing its request's `nonce`.
    pub fn to_message(&self, nonce: Option<String>) -> ServerMessage {
        ServerMessage::ChatRefused {
            code: self.code(),
            message: self.message(),
            retry_after_ms: self.retry_after_ms(),
            nonce,
        }
    }
}

/// A wait in the largest whole unit that fits, rounded up ("2 seconds", "10 minutes").
fn wait(ms: u64) -> String {
    let seconds = ms.div_ceil(1_000).max(1);
    let (n, unit) = if seconds < 60 {
        (seconds, "second")
    } else if seconds < 3_600 {
        (seconds.div_ceil(60), "minute")
    } else {
        (seconds.div_ceil(3_600), "hour")
    };
    if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_to_a_readable_unit() {
        assert_eq!(wait(0), "1 second");
        assert_eq!(wait(1_800), "2 seconds");
        assert_eq!(wait(59_000), "59 seconds");
        assert_eq!(wait(60_000), "1 minute");
        assert_eq!(wait(600_000), "10 minutes");
        assert_eq!(wait(3_600_000), "1 hour");
        assert_eq!(wait(86_400_000), "24 hours");
    }

    #[test]
    fn the_frame_carries_code_wait_and_nonce() {
        let frame = Refusal::RateLimited { retry_after_ms: 1_800 }.to_message(Some("n7".into()));
        assert_eq!(
            frame,
            ServerMessage::ChatRefused {
                code: ChatRefusalCode::RateLimited,
                message: "Slow down: you can send again in 2 seconds.".into(),
                retry_after_ms: Some(1_800),
                nonce: Some("n7".into()),
            }
        );
        let ServerMessage::ChatRefused { retry_after_ms, code, .. } = Refusal::NotModerator.to_message(None) else {
            panic!("not a refusal")
        };
        assert_eq!((code, retry_after_ms), (ChatRefusalCode::NotModerator, None));
    }
}
