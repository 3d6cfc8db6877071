//! The SFU's own SRTP for the viewer leg (issue 14's lean send path): session keys
//! from the DTLS-SRTP keying material, and AES-GCM sealing in place into the send
//! buffer. Not wired into the send path yet: what it needs first is the keying material
//! of a viewer's DTLS handshake, which rtc 0.21 keeps to itself (see
//! `docs/plans/sfu-speed.md` §1). Tested against rtc-srtp, an independent
//! implementation, as the oracle.

mod keys;
mod seal;

pub use keys::{AeadProfile, BadKeyingMaterial, SessionKeys};
pub use seal::{RtpSealer, SealError, TAG_LEN};
