//! Properties of reading the API's `Authorization` header: any value is answered
//! without a panic, and a token is taken exactly from `Bearer <token>` with a token of
//! 1 to 128 bytes.

use axum::http::{HeaderValue, Request};
use proptest::prelude::*;

use super::*;

/// Header values: any bytes a header may hold, and near-miss bearer headers.
fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..60).prop_map(|bytes| {
            let bytes: Vec<u8> =
                bytes.into_iter().map(|b| if (b < 0x20 && b != b'\t') || b == 0x7f { b' ' } else { b }).collect();
            HeaderValue::from_bytes(&bytes).unwrap()
        }),
        "(Bearer|bearer|BEARER|Basic)[ \t]{0,2}[ -~]{0,140}".prop_map(|s| HeaderValue::from_str(&s).unwrap()),
    ]
}

fn parts(value: Option<HeaderValue>) -> Parts {
    let mut request = Request::builder();
    if let Some(value) = value {
        request = request.header(AUTHORIZATION, value);
    }
    request.body(()).unwrap().into_parts().0
}

proptest! {
    #[test]
    fn a_token_is_taken_exactly_from_bearer_and_a_bounded_token(value in prop::option::of(header_value())) {
        let text = value.as_ref().map(|v| v.to_str().map(str::to_owned));
        let parts = parts(value);
        match bearer(&parts) {
            Ok(None) => prop_assert!(text.is_none(), "only a missing header means no token"),
            Ok(Some(token)) => {
                let text = text.and_then(Result::ok).expect("a text header");
                let rest = text.strip_prefix("Bearer ").or_else(|| text.strip_prefix("bearer ")).expect("the scheme");
                prop_assert_eq!(token, rest.trim());
                prop_assert!(!token.is_empty() && token.len() <= MAX_TOKEN_CHARS);
            }
            Err(err) => prop_assert_eq!(err.code, ErrorCode::Unauthorized),
        }
    }
}
