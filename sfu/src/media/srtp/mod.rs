//! The SFU's own SRTP for the viewer leg (issue 14's lean send path): session keys
//! from the DTLS-SRTP keying material, and AES-GCM sealing in place into the send
//! buffer, RTP ([`RtpSealer`]) and RTCP ([`RtcpSealer`]). Not wired into the send path
//! yet: what it needs first is the keying material of a viewer's DTLS handshake, which
//! rtc 0.21 keeps to itself (see `docs/plans/sfu-speed.md` §1). Tested against
//! rtc-srtp, an independent implementation, as the oracle.

mod keys;
mod rtcp;
mod rtp;

use ring::aead::{AES_128_GCM, AES_256_GCM, LessSafeKey, UnboundKey};

pub use keys::{AeadProfile, BadKeyingMaterial, SessionKeys};
pub use rtcp::{RTCP_TRAILER_LEN, RtcpSealer};
pub use rtp::RtpSealer;

/// Bytes the GCM tag adds.
pub const TAG_LEN: usize = 16;

/// Why a packet was not sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The buffer cannot hold the packet and what sealing adds, or the packet is not
    /// RTP (or RTCP).
    #[error("not a sealable packet")]
    BadPacket,
    /// The cipher refused (a payload over GCM's limit).
    #[error("AES-GCM refused the packet")]
    Cipher,
}

/// The AES-GCM key of `profile` for a session key of its length (as
/// [`SessionKeys::derive`] makes them).
fn gcm_key(profile: AeadProfile, key: &[u8]) -> LessSafeKey {
    let algorithm = match profile {
        AeadProfile::Aes128Gcm => &AES_128_GCM,
        AeadProfile::Aes256Gcm => &AES_256_GCM,
    };
    match UnboundKey::new(algorithm, key) {
        Ok(key) => LessSafeKey::new(key),
        // Unreachable: session keys have the profile's length by construction.
        Err(_) => LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &[0; 16]).expect("a 16-byte AES-128 key is valid")),
    }
}

/// rtc-srtp's context for the same master key and salt: the tests' independent opener.
#[cfg(test)]
fn oracle(profile: AeadProfile, key: &[u8], salt: &[u8]) -> rtc::srtp::context::Context {
    use rtc::srtp::protection_profile::ProtectionProfile;
    let rtc_profile = match profile {
        AeadProfile::Aes128Gcm => ProtectionProfile::AeadAes128Gcm,
        AeadProfile::Aes256Gcm => ProtectionProfile::AeadAes256Gcm,
    };
    let provider = rtc::crypto::default_provider().unwrap();
    rtc::srtp::context::Context::new(key, salt, rtc_profile, None, None, provider.crypto()).unwrap()
}
