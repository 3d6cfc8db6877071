//! Properties of [`myvid_proto::parse`] on frames from outside: whatever arrives, it
//! answers `Ok` or a clean [`ProtoError`] (never a panic), accepted messages are within
//! every limit, and every valid message survives `to_frame` → `parse` unchanged.
//!
//! Case count and seed: `PROPTEST_CASES` and `PROPTEST_RNG_SEED` (see
//! docs/PROPERTY_TESTS.md).

use myvid_proto::chat::{ChatLine, ChatRefusalCode};
use myvid_proto::control::{EndpointMessage, SfuMessage};
use myvid_proto::signal::{Candidate, ClientMessage, ServerMessage};
use myvid_proto::{MAX_CANDIDATE_BYTES, MAX_FRAME_BYTES, MAX_SDP_BYTES, ProtoError, Validate, parse, to_frame};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The signalling spec's limits on free text, tokens and ids (private in the crate).
const TEXT: usize = 512;
const TOKEN: usize = 256;
const MID: usize = 64;
const ID: usize = 64;
const CODE: usize = 64;
/// Live chat's limits (public in `myvid_proto::chat`, restated here so that a change
/// there is a change the tests notice).
const CHAT_TEXT: usize = 1_200;
const CHAT_TOKEN: usize = 512;
const CHAT_ID: usize = 32;
const CHAT_NAME: usize = 64;
const CHAT_HISTORY: usize = 100;
const MUTE_SECONDS: u32 = 86_400;

/// Field names the messages use, plus one no message has.
const KEYS: &[&str] = &[
    "type",
    "sdp",
    "token",
    "candidate",
    "sdp_mid",
    "sdp_mline_index",
    "reason",
    "resume",
    "count",
    "code",
    "message",
    "grace_ms",
    "sfu_id",
    "client_id",
    "stream_id",
    "sessions",
    "text",
    "nonce",
    "id",
    "seconds",
    "can_write",
    "moderator",
    "name",
    "history",
    "viewers",
    "max_chars",
    "user",
    "at_ms",
    "until_ms",
    "retry_after_ms",
    "bps",
    "unknown",
];

/// Every `type` on either channel, plus near misses.
const TYPES: &[&str] = &[
    "publish",
    "join",
    "view",
    "answer",
    "offer",
    "candidate",
    "bye",
    "resume",
    "resumed",
    "session",
    "viewers",
    "ended",
    "error",
    "registered",
    "attach",
    "load",
    "hosting",
    "released",
    "chat_join",
    "chat_send",
    "chat_delete",
    "chat_mute",
    "chat_joined",
    "chat_message",
    "chat_deleted",
    "chat_muted",
    "chat_refused",
    "max_bitrate",
    "chat",
    "Publish",
    "",
];

/// Text of any characters, sometimes long enough to cross a field limit.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        1 => (any::<char>(), 0..700usize).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

/// Any JSON value, a few levels deep.
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

/// An object shaped like a message: a known (or near-miss, or any) `type` and fields
/// of the names messages use, each holding any JSON value.
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

/// Any frame: arbitrary text, arbitrary bytes read as text, JSON values and
/// message-shaped objects.
fn frame() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..256).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        json_value().prop_map(|v| v.to_string()),
        message_like(),
        message_like(),
    ]
}

/// Parses `frame` as `T` and checks what any answer must satisfy; returns the error.
fn parse_cleanly<T>(frame: &str) -> Result<T, ProtoError>
where
    T: DeserializeOwned + Serialize + Validate + PartialEq + std::fmt::Debug,
{
    let parsed = parse::<T>(frame);
    match &parsed {
        Ok(message) => {
            assert!(frame.len() <= MAX_FRAME_BYTES);
            // What was accepted re-encodes into a frame that parses to the same message.
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

fn candidate_within(c: &Candidate) -> bool {
    within(&c.candidate, MAX_CANDIDATE_BYTES) && within(c.sdp_mid.as_deref().unwrap_or(""), MID)
}

fn client_within_limits(m: &ClientMessage) -> bool {
    match m {
        ClientMessage::Publish { token, sdp } => within(token, TOKEN) && within(sdp, MAX_SDP_BYTES),
        ClientMessage::View { sdp } | ClientMessage::Answer { sdp } => within(sdp, MAX_SDP_BYTES),
        ClientMessage::Candidate(c) => candidate_within(c),
        ClientMessage::Bye { reason } => within(reason, TEXT),
        ClientMessage::Resume { resume } => within(resume, TOKEN),
        ClientMessage::Join {} | ClientMessage::MaxBitrate { .. } => true,
        ClientMessage::ChatJoin { token } => within(token.as_deref().unwrap_or(""), CHAT_TOKEN),
        ClientMessage::ChatSend { text, nonce } => {
            within(text, CHAT_TEXT) && within(nonce.as_deref().unwrap_or(""), CHAT_ID)
        }
        ClientMessage::ChatDelete { id } => within(id, CHAT_ID),
        ClientMessage::ChatMute { id, seconds } => within(id, CHAT_ID) && *seconds <= MUTE_SECONDS,
    }
}

fn chat_line_within(line: &ChatLine) -> bool {
    within(&line.id, CHAT_ID)
        && within(&line.user, CHAT_NAME)
        && within(&line.text, CHAT_TEXT)
        && within(line.nonce.as_deref().unwrap_or(""), CHAT_ID)
}

fn server_within_limits(m: &ServerMessage) -> bool {
    match m {
        ServerMessage::Answer { sdp } | ServerMessage::Offer { sdp } => within(sdp, MAX_SDP_BYTES),
        ServerMessage::Candidate(c) => candidate_within(c),
        ServerMessage::Ended { reason } | ServerMessage::Bye { reason } => within(reason, TEXT),
        ServerMessage::Error { code, message } => within(code, CODE) && within(message, TEXT),
        ServerMessage::Session { resume, .. } => within(resume, TOKEN),
        ServerMessage::Viewers { .. } | ServerMessage::Resumed {} => true,
        ServerMessage::ChatJoined { name, history, .. } => {
            within(name.as_deref().unwrap_or(""), CHAT_NAME)
                && history.len() <= CHAT_HISTORY
                && history.iter().all(chat_line_within)
        }
        ServerMessage::ChatMessage(line) => chat_line_within(line),
        ServerMessage::ChatDeleted { id } => within(id, CHAT_ID),
        ServerMessage::ChatMuted { user, .. } => within(user, CHAT_NAME),
        ServerMessage::ChatRefused { message, nonce, .. } => {
            within(message, TEXT) && within(nonce.as_deref().unwrap_or(""), CHAT_ID)
        }
    }
}

/// A string of at most `max` bytes (any characters).
fn bounded(max: usize) -> impl Strategy<Value = String> {
    any::<String>().prop_map(move |s| {
        let mut cut = s.len().min(max);
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s[..cut].to_owned()
    })
}

/// A string of `max + 1` to `max + 64` bytes.
fn over(max: usize) -> impl Strategy<Value = String> {
    (1..64usize).prop_map(move |extra| "x".repeat(max + extra))
}

fn candidate_within_strategy() -> impl Strategy<Value = Candidate> {
    (bounded(MAX_CANDIDATE_BYTES), prop::option::of(bounded(MID)), any::<Option<u16>>())
        .prop_map(|(candidate, sdp_mid, sdp_mline_index)| Candidate { candidate, sdp_mid, sdp_mline_index })
}

fn valid_client() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        (bounded(TOKEN), bounded(2048)).prop_map(|(token, sdp)| ClientMessage::Publish { token, sdp }),
        Just(ClientMessage::Join {}),
        bounded(2048).prop_map(|sdp| ClientMessage::View { sdp }),
        bounded(2048).prop_map(|sdp| ClientMessage::Answer { sdp }),
        candidate_within_strategy().prop_map(ClientMessage::Candidate),
        bounded(TEXT).prop_map(|reason| ClientMessage::Bye { reason }),
        bounded(TOKEN).prop_map(|resume| ClientMessage::Resume { resume }),
    ]
}

fn valid_server() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        bounded(2048).prop_map(|sdp| ServerMessage::Answer { sdp }),
        bounded(2048).prop_map(|sdp| ServerMessage::Offer { sdp }),
        candidate_within_strategy().prop_map(ServerMessage::Candidate),
        any::<u32>().prop_map(|count| ServerMessage::Viewers { count }),
        bounded(TEXT).prop_map(|reason| ServerMessage::Ended { reason }),
        (bounded(CODE), bounded(TEXT)).prop_map(|(code, message)| ServerMessage::Error { code, message }),
        bounded(TEXT).prop_map(|reason| ServerMessage::Bye { reason }),
        (bounded(TOKEN), any::<u64>()).prop_map(|(resume, grace_ms)| ServerMessage::Session { resume, grace_ms }),
        Just(ServerMessage::Resumed {}),
    ]
}

fn valid_chat_client() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        prop::option::of(bounded(CHAT_TOKEN)).prop_map(|token| ClientMessage::ChatJoin { token }),
        (bounded(CHAT_TEXT), prop::option::of(bounded(CHAT_ID)))
            .prop_map(|(text, nonce)| ClientMessage::ChatSend { text, nonce }),
        bounded(CHAT_ID).prop_map(|id| ClientMessage::ChatDelete { id }),
        (bounded(CHAT_ID), 0..=MUTE_SECONDS).prop_map(|(id, seconds)| ClientMessage::ChatMute { id, seconds }),
    ]
}

fn chat_line() -> impl Strategy<Value = ChatLine> {
    (bounded(CHAT_ID), bounded(CHAT_NAME), bounded(CHAT_TEXT), any::<u64>(), prop::option::of(bounded(CHAT_ID)))
        .prop_map(|(id, user, text, at_ms, nonce)| ChatLine { id, user, text, at_ms, nonce })
}

fn refusal_code() -> impl Strategy<Value = ChatRefusalCode> {
    prop::sample::select(
        &[
            ChatRefusalCode::RateLimited,
            ChatRefusalCode::TooLong,
            ChatRefusalCode::Empty,
            ChatRefusalCode::Muted,
            ChatRefusalCode::SignInRequired,
            ChatRefusalCode::NotModerator,
            ChatRefusalCode::NotLive,
            ChatRefusalCode::BadToken,
        ][..],
    )
}

fn valid_chat_server() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        (
            any::<(bool, bool, u32, u32)>(),
            prop::option::of(bounded(CHAT_NAME)),
            // Few lines: even escaped control characters (6 bytes each) stay under 64 KiB.
            prop::collection::vec(chat_line(), 0..4),
        )
            .prop_map(|((can_write, moderator, viewers, max_chars), name, history)| {
                ServerMessage::ChatJoined { can_write, moderator, name, history, viewers, max_chars }
            }),
        chat_line().prop_map(ServerMessage::ChatMessage),
        bounded(CHAT_ID).prop_map(|id| ServerMessage::ChatDeleted { id }),
        (bounded(CHAT_NAME), any::<u64>()).prop_map(|(user, until_ms)| ServerMessage::ChatMuted { user, until_ms }),
        (refusal_code(), bounded(TEXT), any::<Option<u64>>(), prop::option::of(bounded(CHAT_ID))).prop_map(
            |(code, message, retry_after_ms, nonce)| ServerMessage::ChatRefused {
                code,
                message,
                retry_after_ms,
                nonce
            }
        ),
    ]
}

fn valid_endpoint() -> impl Strategy<Value = EndpointMessage> {
    prop_oneof![
        bounded(ID).prop_map(|sfu_id| EndpointMessage::Registered { sfu_id }),
        (bounded(ID), bounded(ID)).prop_map(|(client_id, stream_id)| EndpointMessage::Attach { client_id, stream_id }),
    ]
}

fn valid_sfu() -> impl Strategy<Value = SfuMessage> {
    prop_oneof![
        any::<u32>().prop_map(|sessions| SfuMessage::Load { sessions }),
        bounded(ID).prop_map(|stream_id| SfuMessage::Hosting { stream_id }),
        bounded(ID).prop_map(|stream_id| SfuMessage::Released { stream_id }),
    ]
}

/// A message with one field over its limit (the frame itself stays under 64 KiB).
fn client_with_a_field_over_its_limit() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![media_client_with_a_field_over_its_limit(), chat_client_with_a_field_over_its_limit()]
}

fn chat_client_with_a_field_over_its_limit() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        over(CHAT_TOKEN).prop_map(|token| ClientMessage::ChatJoin { token: Some(token) }),
        (over(CHAT_TEXT), prop::option::of(bounded(CHAT_ID)))
            .prop_map(|(text, nonce)| ClientMessage::ChatSend { text, nonce }),
        (bounded(CHAT_TEXT), over(CHAT_ID))
            .prop_map(|(text, nonce)| ClientMessage::ChatSend { text, nonce: Some(nonce) }),
        over(CHAT_ID).prop_map(|id| ClientMessage::ChatDelete { id }),
        (over(CHAT_ID), 0..=MUTE_SECONDS).prop_map(|(id, seconds)| ClientMessage::ChatMute { id, seconds }),
        (bounded(CHAT_ID), MUTE_SECONDS + 1..=u32::MAX)
            .prop_map(|(id, seconds)| ClientMessage::ChatMute { id, seconds }),
    ]
}

fn media_client_with_a_field_over_its_limit() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        (over(TOKEN), bounded(64)).prop_map(|(token, sdp)| ClientMessage::Publish { token, sdp }),
        (bounded(TOKEN), over(MAX_SDP_BYTES)).prop_map(|(token, sdp)| ClientMessage::Publish { token, sdp }),
        over(MAX_SDP_BYTES).prop_map(|sdp| ClientMessage::View { sdp }),
        over(MAX_SDP_BYTES).prop_map(|sdp| ClientMessage::Answer { sdp }),
        over(MAX_CANDIDATE_BYTES).prop_map(|candidate| ClientMessage::Candidate(Candidate {
            candidate,
            sdp_mid: None,
            sdp_mline_index: None
        })),
        over(MID).prop_map(|mid| ClientMessage::Candidate(Candidate {
            candidate: String::new(),
            sdp_mid: Some(mid),
            sdp_mline_index: Some(0)
        })),
        over(TEXT).prop_map(|reason| ClientMessage::Bye { reason }),
        over(TOKEN).prop_map(|resume| ClientMessage::Resume { resume }),
    ]
}

proptest! {
    #[test]
    fn any_frame_parses_or_refuses_without_panicking(frame in frame()) {
        if let Ok(message) = parse_cleanly::<ClientMessage>(&frame) {
            prop_assert!(client_within_limits(&message), "{message:?}");
        }
        if let Ok(message) = parse_cleanly::<ServerMessage>(&frame) {
            prop_assert!(server_within_limits(&message), "{message:?}");
        }
        if let Ok(EndpointMessage::Registered { sfu_id }) = parse_cleanly::<EndpointMessage>(&frame) {
            prop_assert!(within(&sfu_id, ID));
        }
        if let Ok(SfuMessage::Hosting { stream_id } | SfuMessage::Released { stream_id }) =
            parse_cleanly::<SfuMessage>(&frame)
        {
            prop_assert!(within(&stream_id, ID));
        }
    }

    #[test]
    fn the_error_frame_for_any_refused_frame_is_itself_a_valid_message(frame in frame()) {
        if let Err(err) = parse::<ClientMessage>(&frame) {
            let answer = ServerMessage::refused(&err);
            prop_assert_eq!(answer.validate(), Ok(()));
            prop_assert_eq!(parse::<ServerMessage>(&to_frame(&answer)), Ok(answer));
        }
    }

    #[test]
    fn valid_messages_round_trip_through_a_frame(
        client in valid_client(),
        server in valid_server(),
        chat_client in valid_chat_client(),
        chat_server in valid_chat_server(),
        endpoint in valid_endpoint(),
        sfu in valid_sfu(),
    ) {
        prop_assert_eq!(parse::<ClientMessage>(&to_frame(&client)), Ok(client));
        prop_assert_eq!(parse::<ServerMessage>(&to_frame(&server)), Ok(server));
        prop_assert_eq!(parse::<ClientMessage>(&to_frame(&chat_client)), Ok(chat_client));
        prop_assert_eq!(parse::<ServerMessage>(&to_frame(&chat_server)), Ok(chat_server));
        prop_assert_eq!(parse::<EndpointMessage>(&to_frame(&endpoint)), Ok(endpoint));
        prop_assert_eq!(parse::<SfuMessage>(&to_frame(&sfu)), Ok(sfu));
    }

    #[test]
    fn a_field_over_its_limit_is_refused_as_invalid(message in client_with_a_field_over_its_limit()) {
        let frame = to_frame(&message);
        prop_assert!(frame.len() <= MAX_FRAME_BYTES);
        prop_assert_eq!(parse::<ClientMessage>(&frame).map_err(|e| e.code()), Err("invalid_message"));
    }

    #[test]
    fn frames_over_the_size_limit_are_refused_before_parsing(extra in 1..4096usize, body in any::<String>()) {
        let mut frame = body;
        frame.push_str(&" ".repeat(MAX_FRAME_BYTES + extra));
        let len = frame.len();
        prop_assert_eq!(parse::<ClientMessage>(&frame), Err(ProtoError::TooLarge(len)));
        prop_assert_eq!(parse::<SfuMessage>(&frame), Err(ProtoError::TooLarge(len)));
    }
}
