//! Sealing a sender's outgoing RTCP in place with AES-GCM (RFC 7714 §9): the compound
//! packet's first 8 bytes stay clear (and are authenticated), the rest is encrypted,
//! then the tag and the E-flag with the 31-bit SRTCP index are appended.
//!
//! ```text
//!  buffer: [ header 8 (AAD) | rest → ciphertext | tag 16 | E ‖ index 4 (AAD) ]
//!  nonce  = salt XOR (00 00 ‖ SSRC ‖ 00 00 ‖ 0 ‖ index)     (RFC 7714 §9.1)
//! ```

use ring::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};

use super::{SealError, SessionKeys, TAG_LEN, gcm_key};

/// Bytes SRTCP adds after a compound packet: the tag, then E-flag and SRTCP index.
pub const RTCP_TRAILER_LEN: usize = TAG_LEN + 4;

/// One sender's outgoing SRTCP state: the key, the salt and the SRTCP index (RFC 7714 §9).
pub struct RtcpSealer {
    key: LessSafeKey,
    salt: [u8; 12],
    /// The next packet's index (31 bits).
    index: u32,
}

impl std::fmt::Debug for RtcpSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtcpSealer").field("index", &self.index).finish_non_exhaustive()
    }
}

impl RtcpSealer {
    /// A sealer for RTCP with `keys` (the writing side's), starting at index 0.
    pub fn new(keys: &SessionKeys) -> RtcpSealer {
        RtcpSealer { key: gcm_key(keys.profile, &keys.rtcp_key), salt: keys.rtcp_salt, index: 0 }
    }

    /// Seals the RTCP compound packet in `buffer[..len]` in place: everything after its
    /// first 8 bytes is encrypted, then the tag and the E-flag with the SRTCP index are
    /// appended. Returns the sealed length (`len + RTCP_TRAILER_LEN`).
    pub fn seal(&mut self, buffer: &mut [u8], len: usize) -> Result<usize, SealError> {
        if len < 8 || buffer.len() < len + RTCP_TRAILER_LEN || buffer[0] >> 6 != 2 {
            return Err(SealError::BadPacket);
        }
        let index = self.index;
        self.index = (self.index + 1) & 0x7FFF_FFFF;
        let e_and_index = (index | 0x8000_0000).to_be_bytes();
        let mut nonce = [0u8; NONCE_LEN];
        nonce[2..6].copy_from_slice(&buffer[4..8]);
        nonce[8..12].copy_from_slice(&index.to_be_bytes());
        for (n, s) in nonce.iter_mut().zip(self.salt) {
            *n ^= s;
        }
        let mut aad = [0u8; 12];
        aad[..8].copy_from_slice(&buffer[..8]);
        aad[8..].copy_from_slice(&e_and_index);
        let (body, tail) = buffer[8..].split_at_mut(len - 8);
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), body)
            .map_err(|_| SealError::Cipher)?;
        tail[..TAG_LEN].copy_from_slice(tag.as_ref());
        tail[TAG_LEN..RTCP_TRAILER_LEN].copy_from_slice(&e_and_index);
        Ok(len + RTCP_TRAILER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::srtp::{AeadProfile, oracle};

    /// A sender report (28 bytes) followed by a PLI (12): what the lean path sends.
    fn compound(ssrc: u32, ntp_low: u32) -> Vec<u8> {
        let mut p = vec![0x80, 200, 0, 6];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&[0x12, 0x34, 0x56, 0x78]);
        p.extend_from_slice(&ntp_low.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x30, 0x39, 0, 0, 0, 42, 0, 0, 0xA4, 0x10]);
        p.extend_from_slice(&[0x81, 206, 0, 2]);
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&0x0BAD_CAFEu32.to_be_bytes());
        p
    }

    #[test]
    fn rtc_srtp_opens_the_rtcp_we_seal() {
        for profile in [AeadProfile::Aes128Gcm, AeadProfile::Aes256Gcm] {
            let master_key: Vec<u8> = (0..profile.key_len()).map(|i| 0xC3 ^ i as u8).collect();
            let master_salt = [0x11u8; 12];
            let keys = SessionKeys::derive(profile, &master_key, &master_salt);
            let mut sealer = RtcpSealer::new(&keys);
            let mut opener = oracle(profile, &master_key, &master_salt);
            for i in 0..5u32 {
                let plain = compound(0xCAFE_F00D, i);
                let mut buffer = plain.clone();
                buffer.resize(plain.len() + RTCP_TRAILER_LEN, 0);
                let sealed = sealer.seal(&mut buffer, plain.len()).unwrap();
                assert_eq!(&buffer[..8], &plain[..8], "the first 8 bytes stay clear");
                assert_eq!(&buffer[sealed - 4..sealed], &(0x8000_0000 | i).to_be_bytes(), "E flag and index");
                let opened = opener.decrypt_rtcp(&buffer[..sealed]).unwrap_or_else(|e| panic!("{profile:?} #{i}: {e}"));
                assert_eq!(&opened[..], &plain[..]);
            }
        }
        let mut sealer = RtcpSealer::new(&SessionKeys::derive(AeadProfile::Aes128Gcm, &[1; 16], &[2; 12]));
        let mut short = vec![0x80, 200, 0, 0, 0, 0];
        short.resize(40, 0);
        assert_eq!(sealer.seal(&mut short, 6), Err(SealError::BadPacket), "shorter than an RTCP header");
    }
}
