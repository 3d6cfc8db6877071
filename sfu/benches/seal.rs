//! Cost of sealing one RTP packet in place with the SFU's own SRTP (AES-GCM, RFC 7714):
//! a 12-byte header and a 1,000-byte payload in a reused buffer, as the lean send path
//! will seal each viewer's copy. Median of 5 runs of 200,000 packets.
//!
//! Run: `cargo bench -p myvid-sfu --bench seal`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use myvid_sfu::media::srtp::{AeadProfile, RtpSealer, SessionKeys, TAG_LEN};

const PACKETS: u32 = 200_000;
const PAYLOAD: usize = 1_000;

fn run(profile: AeadProfile) -> f64 {
    let keys = SessionKeys::derive(profile, &vec![7; profile.key_len()], &[9; 12]);
    let mut sealer = RtpSealer::new(&keys);
    let mut buffer = vec![0u8; 12 + PAYLOAD + TAG_LEN];
    buffer[0] = 0x80;
    buffer[1] = 96;
    let started = Instant::now();
    for i in 0..PACKETS {
        buffer[2..4].copy_from_slice(&(i as u16).to_be_bytes());
        let sealed = sealer.seal(&mut buffer, 12 + PAYLOAD).expect("sealed");
        black_box(&buffer[..sealed]);
    }
    started.elapsed().as_nanos() as f64 / f64::from(PACKETS)
}

fn main() {
    for profile in [AeadProfile::Aes128Gcm, AeadProfile::Aes256Gcm] {
        let mut runs: Vec<f64> = (0..5).map(|_| run(profile)).collect();
        runs.sort_by(f64::total_cmp);
        println!("{profile:?}: {:.0} ns per 1,000-byte packet (median of 5; runs {runs:.0?})", runs[2]);
    }
}
