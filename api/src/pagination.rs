//! Opaque `/v1` cursors: a page token encoded as URL-safe base64 so clients treat it
//! as a black box and we stay free to change what is inside.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use myvid_core::ApiError;
use myvid_store::meta::PageToken;

/// Encodes a page token as a cursor string.
pub fn encode(token: PageToken) -> String {
    let raw = match token {
        PageToken::Offset(n) => format!("o{n}"),
        PageToken::Before(seq) => format!("b{seq}"),
    };
    URL_SAFE_NO_PAD.encode(raw)
}

/// Decodes a cursor from a previous page.
pub fn decode(cursor: &str) -> Result<PageToken, ApiError> {
    let bad = || ApiError::invalid("`cursor` is not a cursor this server handed out");
    if cursor.len() > 64 {
        return Err(bad());
    }
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let raw = std::str::from_utf8(&raw).map_err(|_| bad())?;
    match raw.split_at_checked(1) {
        Some(("o", n)) => n.parse().map(PageToken::Offset).map_err(|_| bad()),
        Some(("b", n)) => n.parse().map(PageToken::Before).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// Decodes the `cursor` parameter of a listing: absent or empty (`?cursor=`, as an
/// empty form field sends it) is the first page.
pub fn decode_optional(cursor: Option<&str>) -> Result<Option<PageToken>, ApiError> {
    cursor.filter(|c| !c.is_empty()).map(decode).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for token in [PageToken::Offset(0), PageToken::Offset(40), PageToken::Before(-3), PageToken::Before(i64::MAX)] {
            assert_eq!(decode(&encode(token)).unwrap(), token);
        }
        assert_eq!(decode_optional(None).unwrap(), None);
        assert_eq!(decode_optional(Some("")).unwrap(), None);
        assert_eq!(decode_optional(Some(&encode(PageToken::Offset(3)))).unwrap(), Some(PageToken::Offset(3)));
        for bad in ["", "!!", "eDE", &"A".repeat(65), &URL_SAFE_NO_PAD.encode("o-1")] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}
