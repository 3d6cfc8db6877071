//! Sealing one outgoing RTP stream in place with AES-GCM (RFC 7714): the packet is
//! built in the send buffer, and the payload is encrypted where it lies, the header
//! authenticated as it is, and the tag written after the payload. No allocation, no copy.
//!
//! ```text
//!  buffer: [ RTP header (AAD) | payload → ciphertext | 16-byte tag ]
//!  nonce  = salt XOR (00 00 ‖ SSRC ‖ ROC ‖ SEQ)          (RFC 7714 §8.1)
//!  ROC    = the rollover counter, kept here from the sequence numbers sealed
//! ```

use ring::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};

use super::{SealError, SessionKeys, TAG_LEN, gcm_key};

/// One SSRC's outgoing SRTP state: the key, the salt and the rollover counter.
pub struct RtpSealer {
    key: LessSafeKey,
    salt: [u8; 12],
    roc: u32,
    /// The highest sequence number sealed so far (with `roc`, the highest index).
    highest: Option<u16>,
}

impl std::fmt::Debug for RtpSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpSealer").field("roc", &self.roc).field("highest", &self.highest).finish_non_exhaustive()
    }
}

impl RtpSealer {
    /// A sealer for RTP with `keys` (the writing side's), starting at rollover count 0.
    pub fn new(keys: &SessionKeys) -> RtpSealer {
        RtpSealer { key: gcm_key(keys.profile, &keys.rtp_key), salt: keys.rtp_salt, roc: 0, highest: None }
    }

    /// Seals the RTP packet in `buffer[..len]` (header, then payload) in place and
    /// appends the tag; returns the sealed length (`len + TAG_LEN`). `buffer` must have
    /// room for the tag.
    pub fn seal(&mut self, buffer: &mut [u8], len: usize) -> Result<usize, SealError> {
        let header_len = rtp_header_len(buffer.get(..len).ok_or(SealError::BadPacket)?).ok_or(SealError::BadPacket)?;
        if buffer.len() < len + TAG_LEN {
            return Err(SealError::BadPacket);
        }
        let seq = u16::from_be_bytes([buffer[2], buffer[3]]);
        let ssrc = [buffer[8], buffer[9], buffer[10], buffer[11]];
        let roc = self.roc_for(seq);
        let mut nonce = [0u8; NONCE_LEN];
        nonce[2..6].copy_from_slice(&ssrc);
        nonce[6..10].copy_from_slice(&roc.to_be_bytes());
        nonce[10..12].copy_from_slice(&seq.to_be_bytes());
        for (n, s) in nonce.iter_mut().zip(self.salt) {
            *n ^= s;
        }
        let (header, rest) = buffer.split_at_mut(header_len);
        let (payload, tail) = rest.split_at_mut(len - header_len);
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&*header), payload)
            .map_err(|_| SealError::Cipher)?;
        tail[..TAG_LEN].copy_from_slice(tag.as_ref());
        Ok(len + TAG_LEN)
    }

    /// The rollover counter for `seq` (RFC 3711 §3.3.1, as a sender: a number far below
    /// the highest is a wrap, a number far above it is from before the last wrap), and
    /// the highest index advanced.
    fn roc_for(&mut self, seq: u16) -> u32 {
        let Some(highest) = self.highest else {
            self.highest = Some(seq);
            return self.roc;
        };
        let ahead = seq.wrapping_sub(highest);
        if ahead == 0 {
            self.roc
        } else if ahead < 0x8000 {
            if seq < highest {
                self.roc = self.roc.wrapping_add(1);
            }
            self.highest = Some(seq);
            self.roc
        } else if seq > highest {
            // Behind the highest, across the wrap: from the previous cycle (a resend).
            self.roc.wrapping_sub(1)
        } else {
            self.roc
        }
    }
}

/// The length of an RTP header (fixed part, CSRCs and extension), or `None` if `packet`
/// is not RTP version 2 or is shorter than its header says.
fn rtp_header_len(packet: &[u8]) -> Option<usize> {
    let first = *packet.first()?;
    if first >> 6 != 2 || packet.len() < 12 {
        return None;
    }
    let mut len = 12 + 4 * usize::from(first & 0x0f);
    if first & 0x10 != 0 {
        let words = packet.get(len + 2..len + 4)?;
        len += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    (len <= packet.len()).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::srtp::{AeadProfile, oracle};

    fn packet(seq: u16, payload_len: usize, extension: bool) -> Vec<u8> {
        let mut p = vec![0x80 | if extension { 0x10 } else { 0 }, 96];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        p.extend_from_slice(&0xCAFE_F00Du32.to_be_bytes());
        if extension {
            // One-byte header extension (RFC 8285): one element, padded to a word.
            p.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x01, 0x10, 0xAA, 0x00, 0x00]);
        }
        p.extend((0..payload_len).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seq as u8)));
        p
    }

    /// Ours sealed, rtc-srtp (an independent implementation) opens: both profiles, with
    /// and without a header extension, across a sequence number wrap (the ROC), and a
    /// resend from before the wrap.
    #[test]
    fn rtc_srtp_opens_what_we_seal_across_a_rollover() {
        for profile in [AeadProfile::Aes128Gcm, AeadProfile::Aes256Gcm] {
            let master_key: Vec<u8> = (0..profile.key_len()).map(|i| i as u8 ^ 0x5A).collect();
            let master_salt: Vec<u8> = (0..12).map(|i| 0xA0 + i as u8).collect();
            let keys = SessionKeys::derive(profile, &master_key, &master_salt);
            let mut sealer = RtpSealer::new(&keys);
            let mut opener = oracle(profile, &master_key, &master_salt);
            let mut seqs: Vec<u16> = (65_530..=65_535).chain(0..6).collect();
            seqs.push(65_534); // a resend of a packet from before the wrap
            for (i, seq) in seqs.into_iter().enumerate() {
                let plain = packet(seq, 100 + i * 37, i % 2 == 1);
                let mut buffer = plain.clone();
                buffer.resize(plain.len() + TAG_LEN, 0);
                let sealed = sealer.seal(&mut buffer, plain.len()).unwrap();
                assert_eq!(sealed, plain.len() + TAG_LEN);
                assert_ne!(
                    &buffer[plain.len() - 20..plain.len()],
                    &plain[plain.len() - 20..],
                    "the payload is encrypted"
                );
                if seq == 65_534 && i > 6 {
                    // rtc-srtp's replay protection refuses a second copy of one index:
                    // check the resend against the first sealing instead.
                    let mut again = RtpSealer::new(&keys);
                    let mut first = plain.clone();
                    first.resize(plain.len() + TAG_LEN, 0);
                    again.seal(&mut first, plain.len()).unwrap();
                    assert_eq!(buffer, first, "a resend before the wrap is sealed with the old ROC");
                    continue;
                }
                let opened =
                    opener.decrypt_rtp(&buffer[..sealed]).unwrap_or_else(|e| panic!("{profile:?} seq {seq}: {e}"));
                assert_eq!(&opened[..], &plain[..], "{profile:?} seq {seq}");
            }
        }
    }

    #[test]
    fn what_is_not_rtp_or_has_no_room_is_refused() {
        let keys = SessionKeys::derive(AeadProfile::Aes128Gcm, &[1; 16], &[2; 12]);
        let mut sealer = RtpSealer::new(&keys);
        let plain = packet(1, 50, false);
        let mut tight = plain.clone();
        assert_eq!(sealer.seal(&mut tight, plain.len()), Err(SealError::BadPacket), "no room for the tag");
        let mut stun = vec![0u8; 100];
        assert_eq!(sealer.seal(&mut stun, 80), Err(SealError::BadPacket), "not RTP version 2");
        let mut cut = packet(1, 0, true);
        cut.truncate(14);
        cut.resize(40, 0);
        assert_eq!(sealer.seal(&mut cut, 14), Err(SealError::BadPacket), "header longer than the packet");
    }
}
