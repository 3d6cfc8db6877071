//! SRTP session keys for the AEAD profiles: the DTLS-SRTP keying material split into
//! each side's master key and salt (RFC 5764 §4.2), and the session keys derived from a
//! master key and salt with the AES-CM PRF (RFC 3711 §4.3, with AES-256 for the 256-bit
//! profile as RFC 7714 §11 says).
//!
//! ```text
//!  keying material = client key ‖ server key ‖ client salt ‖ server salt
//!  master (key, salt) ─▶ PRF(label 0: RTP key, 2: RTP salt, 3: RTCP key, 5: RTCP salt)
//! ```

use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};

/// The AEAD protection profiles this module seals with (RFC 7714 §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadProfile {
    /// `SRTP_AEAD_AES_128_GCM` (0x0007).
    Aes128Gcm,
    /// `SRTP_AEAD_AES_256_GCM` (0x0008).
    Aes256Gcm,
}

impl AeadProfile {
    /// Master and session key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            AeadProfile::Aes128Gcm => 16,
            AeadProfile::Aes256Gcm => 32,
        }
    }

    /// Master and session salt length in bytes (96 bits for both).
    pub fn salt_len(self) -> usize {
        12
    }
}

/// Labels of the key derivation (RFC 3711 §4.3.1).
const LABEL_RTP_KEY: u8 = 0x00;
const LABEL_RTP_SALT: u8 = 0x02;
const LABEL_RTCP_KEY: u8 = 0x03;
const LABEL_RTCP_SALT: u8 = 0x05;

/// One direction's session keys.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    /// The profile they are for.
    pub profile: AeadProfile,
    /// AES key sealing RTP.
    pub rtp_key: Vec<u8>,
    /// Salt of RTP's nonces.
    pub rtp_salt: [u8; 12],
    /// AES key sealing RTCP.
    pub rtcp_key: Vec<u8>,
    /// Salt of RTCP's nonces.
    pub rtcp_salt: [u8; 12],
}

impl std::fmt::Debug for SessionKeys {
    /// Names the profile only: keys stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys").field("profile", &self.profile).finish_non_exhaustive()
    }
}

/// Keying material of the wrong length for its profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("SRTP keying material of {got} bytes; the profile needs {want}")]
pub struct BadKeyingMaterial {
    /// Bytes given.
    pub got: usize,
    /// Bytes needed.
    pub want: usize,
}

impl SessionKeys {
    /// The keys this side writes with, from the DTLS-SRTP keying material (RFC 5764
    /// §4.2: both master keys, then both master salts, the client's first); `is_client`
    /// says which side of the DTLS handshake we were.
    pub fn for_writing(
        profile: AeadProfile,
        material: &[u8],
        is_client: bool,
    ) -> Result<SessionKeys, BadKeyingMaterial> {
        let (k, s) = (profile.key_len(), profile.salt_len());
        let want = 2 * (k + s);
        if material.len() != want {
            return Err(BadKeyingMaterial { got: material.len(), want });
        }
        let (keys, salts) = material.split_at(2 * k);
        let (key, salt) = if is_client { (&keys[..k], &salts[..s]) } else { (&keys[k..], &salts[s..]) };
        Ok(SessionKeys::derive(profile, key, salt))
    }

    /// The session keys of a master key and salt. `master_key` must be
    /// [`AeadProfile::key_len`] bytes and `master_salt` 12 (as [`Self::for_writing`]
    /// ensures).
    pub fn derive(profile: AeadProfile, master_key: &[u8], master_salt: &[u8]) -> SessionKeys {
        let prf = |label, len| prf(profile, master_key, master_salt, label, len);
        let salt = |label| {
            let mut out = [0u8; 12];
            out.copy_from_slice(&prf(label, 12));
            out
        };
        SessionKeys {
            profile,
            rtp_key: prf(LABEL_RTP_KEY, profile.key_len()),
            rtp_salt: salt(LABEL_RTP_SALT),
            rtcp_key: prf(LABEL_RTCP_KEY, profile.key_len()),
            rtcp_salt: salt(LABEL_RTCP_SALT),
        }
    }
}

/// The AES-CM PRF with key derivation rate 0 (DTLS-SRTP's): `len` bytes of the AES
/// keystream whose counter block is the master salt with `label` XORed into byte 7 and
/// the block number in bytes 14–15.
fn prf(profile: AeadProfile, master_key: &[u8], master_salt: &[u8], label: u8, len: usize) -> Vec<u8> {
    let mut block_in = [0u8; 16];
    block_in[..master_salt.len()].copy_from_slice(master_salt);
    block_in[7] ^= label;
    let mut out = Vec::with_capacity(len.div_ceil(16) * 16);
    for counter in 0..len.div_ceil(16) {
        let mut block = block_in;
        block[14..].copy_from_slice(&u16::try_from(counter).unwrap_or(u16::MAX).to_be_bytes());
        let mut block = GenericArray::from(block);
        match profile {
            AeadProfile::Aes128Gcm => aes::Aes128::new(GenericArray::from_slice(master_key)).encrypt_block(&mut block),
            AeadProfile::Aes256Gcm => aes::Aes256::new(GenericArray::from_slice(master_key)).encrypt_block(&mut block),
        }
        out.extend_from_slice(&block);
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// RFC 3711 Appendix B.3's key derivation test vectors (AES-128, 112-bit salt): the
    /// PRF is the same for the 96-bit salts of GCM, which leave bytes 12–13 zero.
    #[test]
    fn the_prf_gives_rfc_3711_appendix_b3() {
        let master_key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        let master_salt = hex("0EC675AD498AFEEBB6960B3AABE6");
        assert_eq!(
            prf(AeadProfile::Aes128Gcm, &master_key, &master_salt, LABEL_RTP_KEY, 16),
            hex("C61E7A93744F39EE10734AFE3FF7A087")
        );
        assert_eq!(
            prf(AeadProfile::Aes128Gcm, &master_key, &master_salt, LABEL_RTP_SALT, 14),
            hex("30CBBC08863D8C85D49DB34A9AE1")
        );
        assert_eq!(
            prf(AeadProfile::Aes128Gcm, &master_key, &master_salt, 0x01, 94),
            hex(concat!(
                "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE",
                "E049646C43D9327AD175578EF7227098",
                "6371C10C9A369AC2F94A8C5FBCDDDC256D6E919A48B610EF17C2041E47403576",
                "6B68642C59BBFC2F34DB60DBDFB2"
            ))
        );
    }

    #[test]
    fn the_material_splits_client_first() {
        let profile = AeadProfile::Aes128Gcm;
        let material: Vec<u8> = (0u8..56).collect();
        let client = SessionKeys::for_writing(profile, &material, true).unwrap();
        let server = SessionKeys::for_writing(profile, &material, false).unwrap();
        assert_eq!(client, SessionKeys::derive(profile, &material[0..16], &material[32..44]));
        assert_eq!(server, SessionKeys::derive(profile, &material[16..32], &material[44..56]));
        assert_ne!(client.rtp_key, server.rtp_key);
        assert_eq!(
            SessionKeys::for_writing(AeadProfile::Aes256Gcm, &material, true),
            Err(BadKeyingMaterial { got: 56, want: 88 })
        );
        assert!(!format!("{client:?}").contains(&format!("{:?}", client.rtp_key)), "no key in Debug");
    }
}
