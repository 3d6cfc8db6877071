//! Random identifiers and tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

/// Length of a public video id: 12 base-62 characters is about 71 bits, plenty to
/// make ids unguessable and collisions (retried anyway) vanishingly rare.
pub const VIDEO_ID_LEN: usize = 12;

/// A new random video id such as `k3J9xQ2mPa0Z`.
pub fn new_video_id() -> String {
    rand::rng().sample_iter(Alphanumeric).take(VIDEO_ID_LEN).map(char::from).collect()
}

/// A new bearer token: 32 random bytes, URL-safe base64 (43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a token: its SHA-256 in hex, so a leaked database holds no
/// usable tokens.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A stable id for an imported entry, derived from its URL so that importing the same
/// file twice adds nothing.
pub fn import_id(url: &str) -> String {
    let digest = Sha256::digest(url.as_bytes());
    let encoded = URL_SAFE_NO_PAD.encode(digest);
    let alnum: String = encoded.chars().filter(char::is_ascii_alphanumeric).take(VIDEO_ID_LEN - 1).collect();
    format!("x{alnum}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_documented_shape() {
        let id = new_video_id();
        assert_eq!(id.len(), VIDEO_ID_LEN);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(new_video_id(), new_video_id());
        assert_eq!(new_token().len(), 43);
        assert_eq!(token_hash("a").len(), 64);
        let imported = import_id("https://example.org/a.mp4");
        assert_eq!(imported, import_id("https://example.org/a.mp4"));
        assert_ne!(imported, import_id("https://example.org/b.mp4"));
        assert_eq!(imported.len(), VIDEO_ID_LEN);
    }
}
