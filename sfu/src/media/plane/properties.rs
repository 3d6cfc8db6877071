//! Properties of SDP handling in the media plane: a publisher's or WHEP viewer's offer
//! of any text — garbage, or a browser's offer cut, shuffled and rewritten — is
//! answered or refused with a client error, never a panic, and a refusal leaves no
//! session behind.

use std::net::SocketAddr;
use std::time::Instant;

use myvid_proto::MAX_SDP_BYTES;
use proptest::prelude::*;

use super::*;
use crate::media::{MediaConfig, MediaError};

const FINGERPRINT: &str = "a=fingerprint:sha-256 \
    4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3B:E0:C3:B7:2F:AD:B8:12:1D:94:61:07";

/// A browser's publishing offer: Opus, and VP8 with RTX and the usual feedback.
fn browser_offer(direction: &str) -> Vec<String> {
    let transport = |mid: &str| {
        vec![
            "c=IN IP4 0.0.0.0".to_owned(),
            "a=rtcp:9 IN IP4 0.0.0.0".to_owned(),
            "a=ice-ufrag:Xy7q".to_owned(),
            "a=ice-pwd:k3Fj9sQ0pLm2Nx8Vb4Cz7Hd1".to_owned(),
            "a=ice-options:trickle".to_owned(),
            FINGERPRINT.to_owned(),
            "a=setup:actpass".to_owned(),
            format!("a=mid:{mid}"),
            format!("a={direction}"),
            "a=rtcp-mux".to_owned(),
        ]
    };
    let mut lines: Vec<String> = [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=msid-semantic: WMS",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    ]
    .map(str::to_owned)
    .to_vec();
    lines.extend(transport("0"));
    lines.extend(
        ["a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1", "a=ssrc:1111 cname:pt"]
            .map(str::to_owned),
    );
    lines.push("m=video 9 UDP/TLS/RTP/SAVPF 96 97".to_owned());
    lines.extend(transport("1"));
    lines.extend(
        [
            "a=rtcp-rsize",
            "a=rtpmap:96 VP8/90000",
            "a=rtcp-fb:96 goog-remb",
            "a=rtcp-fb:96 ccm fir",
            "a=rtcp-fb:96 nack",
            "a=rtcp-fb:96 nack pli",
            "a=rtpmap:97 rtx/90000",
            "a=fmtp:97 apt=96",
            "a=ssrc-group:FID 2222 3333",
            "a=ssrc:2222 cname:pt",
            "a=ssrc:3333 cname:pt",
        ]
        .map(str::to_owned),
    );
    lines
}

/// One edit of an offer's lines (indices wrap around the line count).
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    /// Keeps the `x=` and replaces what follows.
    Rewrite(usize, String),
    Insert(usize, String),
    /// Cuts the text at a byte (on a character boundary at or below it).
    Cut(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let index = any::<usize>();
    let line_text = prop_oneof![any::<String>(), "[a-z]=[ -~]{0,60}", "[0-9 :/A-Za-z.-]{0,40}"];
    prop_oneof![
        index.prop_map(Edit::Delete),
        index.prop_map(Edit::Duplicate),
        (index, index).prop_map(|(a, b)| Edit::Swap(a, b)),
        (index, line_text.clone()).prop_map(|(i, t)| Edit::Rewrite(i, t)),
        (index, line_text).prop_map(|(i, t)| Edit::Insert(i, t)),
        (0..2_000usize).prop_map(Edit::Cut),
    ]
}

fn apply(mut lines: Vec<String>, edits: &[Edit], crlf: bool) -> String {
    let mut cut = None;
    for e in edits {
        let n = lines.len().max(1);
        match e {
            Edit::Delete(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Edit::Duplicate(i) if !lines.is_empty() => lines.insert(i % n, lines[i % n].clone()),
            Edit::Swap(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            Edit::Rewrite(i, text) if !lines.is_empty() => {
                let line = &mut lines[i % n];
                let keep = line.char_indices().nth(2).map_or(line.len(), |(at, _)| at);
                line.truncate(keep);
                line.push_str(text);
            }
            Edit::Insert(i, text) => lines.insert(i % (lines.len() + 1), text.clone()),
            Edit::Cut(at) => cut = Some(*at),
            _ => {}
        }
    }
    let mut text = lines.join(if crlf { "\r\n" } else { "\n" });
    text.push_str(if crlf { "\r\n" } else { "\n" });
    if let Some(at) = cut {
        text.truncate(text.floor_char_boundary(at));
    }
    text
}

/// Offers a client might send: garbage, or a browser's offer edited.
fn offer_text(direction: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        1 => any::<String>(),
        1 => prop::collection::vec(any::<u8>(), 0..400).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        6 => (prop::collection::vec(edit(), 0..6), any::<bool>())
            .prop_map(move |(edits, crlf)| apply(browser_offer(direction), &edits, crlf)),
    ]
}

fn plane() -> MediaPlane {
    MediaPlane::new(MediaConfig::default(), SocketAddr::from(([127, 0, 0, 1], 40_000)), Instant::now())
}

fn publish(plane: &mut MediaPlane, stream: &str, sdp: String) -> Result<String, MediaError> {
    plane.publish(Instant::now(), stream.into(), sdp, None).map(|p| p.sdp)
}

fn view(plane: &mut MediaPlane, stream: &str, sdp: String) -> Result<String, MediaError> {
    plane.view_with_offer(Instant::now(), stream.into(), sdp).map(|v| v.sdp)
}

/// What any answer to a client's SDP must satisfy: an answer and a new session, or a
/// client error (short enough for an error frame) and no new session.
fn check(result: &Result<String, MediaError>, sessions_before: u64, plane: &MediaPlane) -> Result<(), TestCaseError> {
    let sessions = plane.stats().sessions;
    match result {
        Ok(answer) => {
            prop_assert!(answer.starts_with("v=0"));
            prop_assert_eq!(sessions, sessions_before + 1);
        }
        Err(err) => {
            prop_assert!(matches!(err, MediaError::BadSdp(_) | MediaError::SdpTooLarge(_)), "{:?}", err);
            prop_assert!(err.to_string().len() <= 256);
            prop_assert_eq!(sessions, sessions_before, "a refusal leaves no session");
        }
    }
    Ok(())
}

#[test]
fn the_unedited_browser_offers_are_answered() {
    let mut plane = plane();
    let offer = apply(browser_offer("sendonly"), &[], true);
    assert!(publish(&mut plane, "s", offer).is_ok());
    let offer = apply(browser_offer("recvonly"), &[], true);
    assert!(view(&mut plane, "s", offer).is_ok());
}

proptest! {
    #[test]
    fn any_publisher_offer_is_answered_or_refused_without_panicking(sdp in offer_text("sendonly")) {
        let mut plane = plane();
        let result = publish(&mut plane, "s", sdp);
        check(&result, 0, &plane)?;
    }

    #[test]
    fn any_viewer_offer_is_answered_or_refused_without_panicking(sdp in offer_text("recvonly")) {
        let mut plane = plane();
        publish(&mut plane, "s", apply(browser_offer("sendonly"), &[], true)).expect("the publisher's offer");
        let result = view(&mut plane, "s", sdp);
        check(&result, 1, &plane)?;
    }

    #[test]
    fn offers_over_the_sdp_limit_are_refused_before_parsing(extra in 1..2_000usize) {
        let mut plane = plane();
        let mut sdp = apply(browser_offer("sendonly"), &[], true);
        sdp.push_str(&"a=x\r\n".repeat((MAX_SDP_BYTES + extra) / 5 + 1));
        let len = sdp.len();
        prop_assert_eq!(publish(&mut plane, "s", sdp.clone()), Err(MediaError::SdpTooLarge(len)));
        publish(&mut plane, "s", apply(browser_offer("sendonly"), &[], true)).expect("the publisher's offer");
        prop_assert_eq!(view(&mut plane, "s", sdp), Err(MediaError::SdpTooLarge(len)));
    }
}
