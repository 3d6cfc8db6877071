//! SFU ↔ endpoint control messages.
//!
//! An SFU opens `WS {endpoint}/SFU` with `Authorization: Bearer <sfu secret>` and is
//! answered `registered` with its id. When a client opens `/ENDPOINT/{stream_id}`,
//! the endpoint parks it under a temporary client id and sends the SFU `attach`; the
//! SFU opens `WS {endpoint}/SFU/attach/{client_id}` (same secret), and the endpoint
//! bridges the two sockets. A client not attached within the endpoint's park timeout
//! gets an error frame and is closed.
//!
//! ```json
//! {"type":"registered","sfu_id":"sfu-3f9a"}
//! {"type":"attach","client_id":"c-8d1e2f","stream_id":"k3J9xQ2mPa0Z"}
//! {"type":"load","sessions":42}
//! ```

use serde::{Deserialize, Serialize};

use crate::{ProtoError, Validate, check_len};

/// Longest id on the control channel.
const MAX_ID_BYTES: usize = 64;

/// Endpoint → SFU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EndpointMessage {
    /// The SFU is registered under `sfu_id`.
    Registered {
        /// Id the endpoint gave this SFU.
        sfu_id: String,
    },
    /// A client for `stream_id` waits under `client_id`: open `/SFU/attach/{client_id}`.
    Attach {
        /// Temporary id of the parked client socket.
        client_id: String,
        /// The stream the client asked for.
        stream_id: String,
    },
}

impl Validate for EndpointMessage {
    fn validate(&self) -> Result<(), ProtoError> {
        match self {
            EndpointMessage::Registered { sfu_id } => check_len("sfu_id", sfu_id, MAX_ID_BYTES),
            EndpointMessage::Attach { client_id, stream_id } => {
                check_len("client_id", client_id, MAX_ID_BYTES)?;
                check_len("stream_id", stream_id, MAX_ID_BYTES)
            }
        }
    }
}

/// SFU → endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SfuMessage {
    /// Current load, for placement.
    Load {
        /// Sessions (publishers plus viewers) the SFU holds.
        sessions: u32,
    },
    /// A stream is live on this SFU: place its clients here, whichever endpoint they
    /// come through (sent for every live stream on registration, then as they start).
    Hosting {
        /// The stream.
        stream_id: String,
    },
    /// A stream this SFU hosted has ended.
    Released {
        /// The stream.
        stream_id: String,
    },
}

impl Validate for SfuMessage {
    fn validate(&self) -> Result<(), ProtoError> {
        match self {
            SfuMessage::Load { .. } => Ok(()),
            SfuMessage::Hosting { stream_id } | SfuMessage::Released { stream_id } => {
                check_len("stream_id", stream_id, MAX_ID_BYTES)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, to_frame};

    #[test]
    fn control_frames_round_trip() {
        let attach = EndpointMessage::Attach { client_id: "c-1".into(), stream_id: "s".into() };
        let frame = to_frame(&attach);
        assert_eq!(frame, r#"{"type":"attach","client_id":"c-1","stream_id":"s"}"#);
        assert_eq!(parse::<EndpointMessage>(&frame).unwrap(), attach);
        assert_eq!(parse::<SfuMessage>(r#"{"type":"load","sessions":2}"#).unwrap(), SfuMessage::Load { sessions: 2 });
        let hosting = SfuMessage::Hosting { stream_id: "s1".into() };
        assert_eq!(to_frame(&hosting), r#"{"type":"hosting","stream_id":"s1"}"#);
        assert_eq!(
            parse::<SfuMessage>(r#"{"type":"released","stream_id":"s1"}"#).unwrap(),
            SfuMessage::Released { stream_id: "s1".into() }
        );
        let long = format!(r#"{{"type":"hosting","stream_id":"{}"}}"#, "x".repeat(65));
        assert!(parse::<SfuMessage>(&long).is_err(), "stream ids are bounded");
        let long = format!(r#"{{"type":"registered","sfu_id":"{}"}}"#, "x".repeat(65));
        assert!(parse::<EndpointMessage>(&long).is_err());
    }
}
