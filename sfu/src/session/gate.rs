//! The publish gate: asked before every `publish`, once the token has been checked.
//!
//! The token says *who* may publish a stream; the gate says whether the stream may
//! (still) go live, and whether it is recorded. A stream's life only goes forward — pending, live, ended — so an
//! ended stream is refused even with a valid token. The SFU itself knows nothing of
//! that life (it lives in the metadata store), hence a hook; without one every stream
//! may be published.
//!
//! ```text
//!  publish{token,sdp} ─▶ TokenCheck ─▶ PublishGate(stream) ─┬─ Ok(Admission) ─▶ media.publish
//!                                                          └─ Err ─▶ error{code, message}
//! ```

use std::future::Future;
use std::pin::Pin;

/// Why the gate refused a `publish`; each case has a stable code for the `error` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PublishRefusal {
    /// The stream has ended: it never goes live again.
    #[error("this stream has ended and cannot go live again; create a new stream")]
    Ended,
    /// The gate cannot tell now (its store does not answer).
    #[error("the stream's state cannot be checked right now; try again shortly")]
    Unavailable,
}

impl PublishRefusal {
    /// The stable code sent in the `error` frame.
    pub fn code(self) -> &'static str {
        match self {
            PublishRefusal::Ended => "stream_ended",
            PublishRefusal::Unavailable => "unavailable",
        }
    }
}

/// What the gate lets a publisher of one stream do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// Whether the stream is recorded (when the SFU records at all).
    pub record: bool,
}

/// The gate's answer for one stream.
pub type GateAnswer = Pin<Box<dyn Future<Output = Result<Admission, PublishRefusal>> + Send>>;

/// Asked with the stream id before each `publish` (after the token check); must not
/// block (return a future that does the slow part).
pub type PublishGate = Box<dyn Fn(&str) -> GateAnswer + Send + Sync>;
