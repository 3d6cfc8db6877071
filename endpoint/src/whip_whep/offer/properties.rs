//! Properties of a WHIP/WHEP `POST`'s checks on any headers and body: the content type,
//! the bearer token and the offer body are accepted exactly under their rules, within
//! their limits, and never with a panic.

use axum::http::HeaderValue;
use proptest::prelude::*;

use super::*;

/// Header values as clients send them: any visible bytes, and near misses.
fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        // Any bytes a header may hold (controls other than tab may not: they become spaces).
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|bytes| {
            let bytes: Vec<u8> =
                bytes.into_iter().map(|b| if (b < 0x20 && b != b'\t') || b == 0x7f { b' ' } else { b }).collect();
            HeaderValue::from_bytes(&bytes).unwrap()
        }),
        "(Bearer|bearer|BEARER|Basic|) {0,3}[ -~]{0,300}".prop_map(|s| HeaderValue::from_str(&s).unwrap()),
        "(application|Application|text)/(sdp|SDP|json)( ?; ?[a-z=0-9-]{0,20})?"
            .prop_map(|s| HeaderValue::from_str(&s).unwrap()),
    ]
}

fn with(name: axum::http::HeaderName, value: Option<HeaderValue>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(value) = value {
        headers.insert(name, value);
    }
    headers
}

/// Bodies: any bytes, text around the size limit, blank text.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        any::<String>().prop_map(String::into_bytes),
        "[ \r\n\t]{0,8}".prop_map(String::into_bytes),
        (MAX_SDP_BYTES - 4..MAX_SDP_BYTES + 4).prop_map(|n| vec![b'v'; n]),
    ]
}

fn declared_length() -> impl Strategy<Value = Option<HeaderValue>> {
    prop::option::of(prop_oneof![
        any::<u64>().prop_map(HeaderValue::from),
        (0..MAX_SDP_BYTES as u64 * 2).prop_map(HeaderValue::from),
        "[ -~]{0,12}".prop_map(|s| HeaderValue::from_str(&s).unwrap()),
    ])
}

proptest! {
    #[test]
    fn only_application_sdp_is_accepted_as_the_content_type(value in prop::option::of(header_value())) {
        let expected = value.as_ref().and_then(|v| v.to_str().ok()).is_some_and(|v| {
            v.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/sdp")
        });
        let result = check_sdp_type(&with(CONTENT_TYPE, value));
        prop_assert_eq!(result.is_ok(), expected);
        if let Err(err) = result {
            prop_assert_eq!(err.code, ErrorCode::UnsupportedMediaType);
        }
    }

    #[test]
    fn a_bearer_token_is_accepted_exactly_when_present_and_within_its_limit(
        value in prop::option::of(header_value()),
    ) {
        match bearer_token(&with(AUTHORIZATION, value.clone())) {
            Ok(token) => {
                let text = value.as_ref().and_then(|v| v.to_str().ok()).expect("a text header");
                let (scheme, rest) = text.split_once(' ').expect("scheme and token");
                prop_assert!(scheme.eq_ignore_ascii_case("bearer"));
                prop_assert_eq!(token.as_str(), rest.trim());
                prop_assert!(!token.is_empty() && token.len() <= MAX_TOKEN_BYTES);
            }
            Err(err) => prop_assert_eq!(err.code, ErrorCode::Unauthorized),
        }
    }

    #[test]
    fn an_offer_body_is_accepted_exactly_when_nonblank_utf8_within_the_limit(
        body in body(),
        declared in declared_length(),
    ) {
        let headers = with(CONTENT_LENGTH, declared.clone());
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let result = runtime.block_on(read_offer(&headers, Body::from(body.clone())));
        let declared_over = declared
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > MAX_SDP_BYTES as u64);
        let expected = if declared_over || body.len() > MAX_SDP_BYTES {
            Err(ErrorCode::PayloadTooLarge)
        } else {
            match String::from_utf8(body) {
                Ok(text) if !text.trim().is_empty() => Ok(text),
                _ => Err(ErrorCode::InvalidInput),
            }
        };
        prop_assert_eq!(result.map_err(|e| e.code), expected);
    }
}
