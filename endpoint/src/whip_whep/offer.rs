//! What a WHIP or WHEP `POST` must carry, checked before any signalling: the SDP content
//! type, a body within the SDP limit, and (WHIP) a bearer token.

use axum::body::Body;
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use myvid_core::{ApiError, ErrorCode};
use myvid_proto::MAX_SDP_BYTES;

/// The only body type WHIP and WHEP accept (RFC 9725 §4.2).
pub(super) const SDP_MIME: &str = "application/sdp";

/// Longest publish token accepted in `Authorization` (the signalling limit).
const MAX_TOKEN_BYTES: usize = 256;

/// `Content-Type: application/sdp` (parameters and letter case ignored), else 415.
pub(super) fn check_sdp_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let essence = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    if essence.as_deref() == Some(SDP_MIME) {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::UnsupportedMediaType, "the offer must be sent as `Content-Type: application/sdp`"))
    }
}

/// The publish token of `Authorization: Bearer <token>`, else 401.
pub(super) fn bearer_token(headers: &HeaderMap) -> Result<String, ApiError> {
    let unauthorized = || ApiError::new(ErrorCode::Unauthorized, "`Authorization: Bearer <stream token>` is required");
    let value = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(unauthorized)?;
    let (scheme, token) = value.split_once(' ').ok_or_else(unauthorized)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(unauthorized());
    }
    Ok(token.to_owned())
}

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("the offer is over the {MAX_SDP_BYTES}-byte SDP limit"))
}

/// The body as SDP text: at most [`MAX_SDP_BYTES`] (413 beyond, refused from
/// `Content-Length` before reading when it is given), UTF-8 and not empty (400).
pub(super) async fn read_offer(headers: &HeaderMap, body: Body) -> Result<String, ApiError> {
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_SDP_BYTES as u64) {
        return Err(too_large());
    }
    // Over the limit is the only way reading a request body held in memory fails
    // besides the client vanishing, which hears nothing either way.
    let bytes = axum::body::to_bytes(body, MAX_SDP_BYTES).await.map_err(|_| too_large())?;
    let sdp = String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::invalid("the offer is not UTF-8 text"))?;
    if sdp.trim().is_empty() {
        return Err(ApiError::invalid("the body must be an SDP offer"));
    }
    Ok(sdp)
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(axum::http::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn sdp_content_type_is_required() {
        assert!(check_sdp_type(&headers(&[(CONTENT_TYPE, "application/sdp")])).is_ok());
        assert!(check_sdp_type(&headers(&[(CONTENT_TYPE, "Application/SDP; charset=utf-8")])).is_ok());
        for bad in ["application/json", "text/plain", ""] {
            let err = check_sdp_type(&headers(&[(CONTENT_TYPE, bad)])).unwrap_err();
            assert_eq!(err.code, ErrorCode::UnsupportedMediaType, "{bad}");
        }
        assert!(check_sdp_type(&HeaderMap::new()).is_err());
    }

    #[test]
    fn bearer_tokens_are_required_and_bounded() {
        assert_eq!(bearer_token(&headers(&[(AUTHORIZATION, "Bearer abc")])).unwrap(), "abc");
        assert_eq!(bearer_token(&headers(&[(AUTHORIZATION, "bearer  abc ")])).unwrap(), "abc");
        let long = format!("Bearer {}", "x".repeat(MAX_TOKEN_BYTES + 1));
        for bad in ["Basic abc", "Bearer", "Bearer  ", long.as_str()] {
            assert!(bearer_token(&headers(&[(AUTHORIZATION, bad)])).is_err(), "{bad}");
        }
        assert!(bearer_token(&HeaderMap::new()).is_err());
    }

    #[tokio::test]
    async fn offers_are_bounded_and_text() {
        let ok = read_offer(&HeaderMap::new(), Body::from("v=0\r\n")).await.unwrap();
        assert_eq!(ok, "v=0\r\n");
        let big = Body::from("x".repeat(MAX_SDP_BYTES + 1));
        assert_eq!(read_offer(&HeaderMap::new(), big).await.unwrap_err().code, ErrorCode::PayloadTooLarge);
        let declared = headers(&[(CONTENT_LENGTH, "1000000")]);
        assert_eq!(read_offer(&declared, Body::empty()).await.unwrap_err().code, ErrorCode::PayloadTooLarge);
        assert_eq!(
            read_offer(&HeaderMap::new(), Body::from(vec![0xff, 0xfe])).await.unwrap_err().code,
            ErrorCode::InvalidInput
        );
        assert_eq!(read_offer(&HeaderMap::new(), Body::empty()).await.unwrap_err().code, ErrorCode::InvalidInput);
    }
}
