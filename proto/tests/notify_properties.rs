//! Properties of the live-notification messages ([`myvid_proto::notify`]) on frames
//! from outside: whatever arrives, [`myvid_proto::parse`] answers `Ok` or a clean
//! [`ProtoError`] (never a panic), accepted messages are within every limit, and every
//! valid message survives `to_frame` → `parse` unchanged.
//!
//! Case count and seed: `PROPTEST_CASES` and `PROPTEST_RNG_SEED` (see
//! docs/PROPERTY_TESTS.md).

use myvid_proto::notify::{LiveNotice, NotifyClientMessage, NotifyServerMessage};
use myvid_proto::{MAX_FRAME_BYTES, ProtoError, Validate, parse, to_frame};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The limits, restated so that a change in the crate is a change the tests notice.
const TOKEN: usize = 256;
const CHANNEL: usize = 64;
const VIDEO_ID: usize = 64;
const TITLE: usize = 800;
const CODE: usize = 64;
const MESSAGE: usize = 512;
const READY: usize = 50;

const KEYS: &[&str] =
    &["type", "token", "live", "channel", "video_id", "title", "started_at", "code", "message", "unknown"];
const TYPES: &[&str] = &["auth", "ready", "went_live", "error", "Auth", "went-live", ""];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        1 => (any::<char>(), 0..900usize).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(KEYS).prop_map(str::to_owned), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object with a known (or near-miss, or any) `type` and fields of the names the
/// messages use.
fn message_like() -> impl Strategy<Value = String> {
    (
        prop_oneof![3 => prop::sample::select(TYPES).prop_map(str::to_owned), 1 => text()],
        prop::collection::btree_map(prop::sample::select(&KEYS[1..]).prop_map(str::to_owned), json_value(), 0..5),
    )
        .prop_map(|(kind, fields)| {
            let mut object: Map<String, Value> = fields.into_iter().collect();
            object.insert("type".into(), Value::String(kind));
            Value::Object(object).to_string()
        })
}

fn frame() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..256).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        json_value().prop_map(|v| v.to_string()),
        message_like(),
        message_like(),
    ]
}

fn parse_cleanly<T>(frame: &str) -> Result<T, ProtoError>
where
    T: DeserializeOwned + Serialize + Validate + PartialEq + std::fmt::Debug,
{
    let parsed = parse::<T>(frame);
    match &parsed {
        Ok(message) => {
            assert!(frame.len() <= MAX_FRAME_BYTES);
            assert_eq!(&parse::<T>(&to_frame(message)).expect("re-encoded frame parses"), message);
        }
        Err(err) => {
            assert!(["frame_too_large", "malformed_message", "invalid_message"].contains(&err.code()));
            assert_eq!(matches!(err, ProtoError::TooLarge(_)), frame.len() > MAX_FRAME_BYTES);
        }
    }
    parsed
}

fn within(value: &str, max: usize) -> bool {
    value.len() <= max
}

fn notice_within(n: &LiveNotice) -> bool {
    within(&n.channel, CHANNEL) && within(&n.video_id, VIDEO_ID) && within(&n.title, TITLE)
}

fn server_within_limits(m: &NotifyServerMessage) -> bool {
    match m {
        NotifyServerMessage::Ready { live } => live.len() <= READY && live.iter().all(notice_within),
        NotifyServerMessage::WentLive(n) => notice_within(n),
        NotifyServerMessage::Error { code, message } => within(code, CODE) && within(message, MESSAGE),
    }
}

fn bounded(max: usize) -> impl Strategy<Value = String> {
    any::<String>().prop_map(move |s| {
        let mut cut = s.len().min(max);
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s[..cut].to_owned()
    })
}

fn over(max: usize) -> impl Strategy<Value = String> {
    (1..64usize).prop_map(move |extra| "x".repeat(max + extra))
}

fn notice() -> impl Strategy<Value = LiveNotice> {
    (bounded(CHANNEL), bounded(VIDEO_ID), bounded(TITLE), any::<i64>())
        .prop_map(|(channel, video_id, title, started_at)| LiveNotice { channel, video_id, title, started_at })
}

fn valid_server() -> impl Strategy<Value = NotifyServerMessage> {
    prop_oneof![
        // Few notices: even escaped control characters (6 bytes each) stay under 64 KiB.
        prop::collection::vec(notice(), 0..4).prop_map(|live| NotifyServerMessage::Ready { live }),
        notice().prop_map(NotifyServerMessage::WentLive),
        (bounded(CODE), bounded(MESSAGE)).prop_map(|(code, message)| NotifyServerMessage::Error { code, message }),
    ]
}

fn notice_with_a_field_over_its_limit() -> impl Strategy<Value = LiveNotice> {
    prop_oneof![
        over(CHANNEL).prop_map(|channel| LiveNotice {
            channel,
            video_id: "v".into(),
            title: "t".into(),
            started_at: 1
        }),
        over(VIDEO_ID).prop_map(|video_id| LiveNotice {
            channel: "c".into(),
            video_id,
            title: "t".into(),
            started_at: 1
        }),
        over(TITLE).prop_map(|title| LiveNotice { channel: "c".into(), video_id: "v".into(), title, started_at: 1 }),
    ]
}

fn server_with_a_field_over_its_limit() -> impl Strategy<Value = NotifyServerMessage> {
    prop_oneof![
        notice_with_a_field_over_its_limit().prop_map(NotifyServerMessage::WentLive),
        notice_with_a_field_over_its_limit().prop_map(|n| NotifyServerMessage::Ready { live: vec![n] }),
        (READY + 1..READY + 8).prop_map(|count| NotifyServerMessage::Ready {
            live: vec![
                LiveNotice { channel: "c".into(), video_id: "v".into(), title: "t".into(), started_at: 1 };
                count
            ]
        }),
        over(CODE).prop_map(|code| NotifyServerMessage::Error { code, message: String::new() }),
        over(MESSAGE).prop_map(|message| NotifyServerMessage::Error { code: String::new(), message }),
    ]
}

proptest! {
    #[test]
    fn any_frame_parses_or_refuses_without_panicking(frame in frame()) {
        if let Ok(NotifyClientMessage::Auth { token }) = parse_cleanly::<NotifyClientMessage>(&frame) {
            prop_assert!(within(&token, TOKEN));
        }
        if let Ok(message) = parse_cleanly::<NotifyServerMessage>(&frame) {
            prop_assert!(server_within_limits(&message), "{message:?}");
        }
    }

    #[test]
    fn valid_messages_round_trip(server in valid_server(), token in bounded(TOKEN)) {
        prop_assert_eq!(parse::<NotifyServerMessage>(&to_frame(&server)), Ok(server));
        let client = NotifyClientMessage::Auth { token };
        prop_assert_eq!(parse::<NotifyClientMessage>(&to_frame(&client)), Ok(client));
    }

    #[test]
    fn a_field_over_its_limit_is_refused(server in server_with_a_field_over_its_limit(), token in over(TOKEN)) {
        let refused = parse::<NotifyServerMessage>(&to_frame(&server)).unwrap_err();
        prop_assert_eq!(refused.code(), "invalid_message");
        let refused = parse::<NotifyClientMessage>(&to_frame(&NotifyClientMessage::Auth { token })).unwrap_err();
        prop_assert_eq!(refused.code(), "invalid_message");
    }
}
