//! Signed HLS playback: the master playlist of a ready video is handed out as
//! `{base}/playback/hls/{video}/{expires}/{sig}/master.m3u8`, where `sig` is the
//! platform key's MAC of the video and expiry (see [`StreamTokens`]; every API process
//! shares it). The signature sits in the path, so the master's relative variant URIs
//! (`480p/index.m3u8`) stay signed; each variant playlist is rewritten when served so
//! that its segments are presigned object URLs (objects are never served unsigned, and
//! segment bytes never pass through MyVid).
//!
//! Expiries are rounded up to the next hour plus the URL lifetime, so that every viewer
//! within an hour gets the same URLs: playlists and segments cache well.

use hmac::Mac;

use crate::error::{ApiError, ErrorCode};
use crate::live::StreamTokens;
use crate::services::Services;

/// The path every playback URL starts with.
pub const HLS_PATH: &str = "/playback/hls";

/// Seconds an expiry is rounded to.
const WINDOW_SECS: i64 = 3600;

/// When URLs handed out at `now` expire: the end of this hour plus `ttl_secs`.
pub fn expiry(now: i64, ttl_secs: i64) -> i64 {
    (now.div_euclid(WINDOW_SECS) + 1) * WINDOW_SECS + ttl_secs.max(0)
}

/// The hex signature of video `video_id`'s playback path until `expires_at`.
pub fn signature(tokens: &StreamTokens, video_id: &str, expires_at: i64) -> String {
    hex::encode(tokens.mac_for("hls", video_id, expires_at).finalize().into_bytes())
}

/// The signed master playlist URL of video `video_id` (which must be ready).
pub fn master_url(services: &Services, video_id: &str) -> String {
    let expires_at = expiry(services.clock.now(), services.settings.url_ttl_secs);
    let sig = signature(&services.stream_tokens, video_id, expires_at);
    format!("{}{HLS_PATH}/{video_id}/{expires_at}/{sig}/master.m3u8", services.settings.endpoint_url)
}

/// Checks a playback path's signature at `now`: `signature_invalid` or `url_expired`.
pub fn verify(tokens: &StreamTokens, video_id: &str, expires_at: i64, sig: &str, now: i64) -> Result<(), ApiError> {
    let invalid = || ApiError::new(ErrorCode::SignatureInvalid, "this playback URL is not valid");
    let sig = hex::decode(sig).map_err(|_| invalid())?;
    tokens.mac_for("hls", video_id, expires_at).verify_slice(&sig).map_err(|_| invalid())?;
    if now >= expires_at {
        return Err(ApiError::new(ErrorCode::UrlExpired, "this playback URL has expired; reload the page"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_are_stable_within_an_hour() {
        assert_eq!(expiry(7_200, 100), 10_900);
        assert_eq!(expiry(10_799, 100), 10_900);
        assert_eq!(expiry(10_800, 100), 14_500);
    }

    #[test]
    fn signatures_bind_the_video_and_the_expiry() {
        let tokens = StreamTokens::new(b"k");
        let sig = signature(&tokens, "v1", 1_000);
        assert!(verify(&tokens, "v1", 1_000, &sig, 999).is_ok());
        let code = |r: Result<(), ApiError>| r.unwrap_err().code;
        assert_eq!(code(verify(&tokens, "v1", 1_000, &sig, 1_000)), ErrorCode::UrlExpired);
        assert_eq!(code(verify(&tokens, "v2", 1_000, &sig, 0)), ErrorCode::SignatureInvalid);
        assert_eq!(code(verify(&tokens, "v1", 1_001, &sig, 0)), ErrorCode::SignatureInvalid);
        assert_eq!(code(verify(&tokens, "v1", 1_000, "zz", 0)), ErrorCode::SignatureInvalid);
        let publish = tokens.issue("v1", 1_000);
        let publish_sig = publish.rsplit('.').next().unwrap();
        assert_eq!(code(verify(&tokens, "v1", 1_000, publish_sig, 0)), ErrorCode::SignatureInvalid, "purposes differ");
    }
}
