//! The signalling session in front of the media plane: refusals are error frames with
//! stable codes and the session goes on; tokens are checked; one publisher per stream;
//! per-session limits hold; `bye` ends the session and frees the stream.

mod media_common;

use media_common::{GOOD_TOKEN, Harness, publisher_offer};
use myvid_proto::MAX_FRAME_BYTES;
use myvid_proto::signal::{Candidate, ClientMessage, ServerMessage};
use myvid_sfu::media::MAX_CANDIDATES_PER_SESSION;

fn code(message: &ServerMessage) -> &str {
    match message {
        ServerMessage::Error { code, .. } => code,
        other => panic!("expected an error frame, got {other:?}"),
    }
}

fn host_candidate(port: u16) -> ClientMessage {
    ClientMessage::Candidate(Candidate {
        candidate: format!("candidate:{port} 1 udp 2130706431 127.0.0.1 {port} typ host"),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    })
}

#[tokio::test]
async fn refusals_are_error_frames_and_the_session_keeps_working() {
    let harness = Harness::start().await;
    let mut client = harness.connect("s1");
    let oversized = format!(r#"{{"type":"bye","reason":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
    let refused = [
        ("{", "malformed_message"),
        ("[]", "malformed_message"),
        (r#"{"type":"publish"}"#, "malformed_message"),
        (r#"{"type":"nope"}"#, "malformed_message"),
        (oversized.as_str(), "frame_too_large"),
        (r#"{"type":"answer","sdp":"v=0"}"#, "unexpected_message"),
        (r#"{"type":"candidate","candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}"#, "unexpected_message"),
        (r#"{"type":"join"}"#, "not_live"),
        (r#"{"type":"publish","token":"wrong","sdp":"v=0"}"#, "unauthorized"),
        (r#"{"type":"publish","token":"good-token","sdp":"v=0"}"#, "bad_sdp"),
    ];
    for (frame, expected) in refused {
        client.send_raw(frame).await;
        assert_eq!(code(&client.recv().await), expected, "{frame:.60}");
    }
    // Still alive: a real offer with the right token is answered.
    let (offer, _pc) = publisher_offer().await;
    client.send(&ClientMessage::Publish { token: GOOD_TOKEN.into(), sdp: offer.clone() }).await;
    let ServerMessage::Answer { sdp } = client.recv().await else { panic!("expected an answer") };
    assert!(sdp.contains("a=ice-lite") && sdp.contains("a=candidate:"), "ICE-lite answer with our candidate:\n{sdp}");
    assert!(matches!(client.recv().await, ServerMessage::Session { .. }), "a resume key follows");
    // One media session per connection.
    client.send(&ClientMessage::Join {}).await;
    assert_eq!(code(&client.recv().await), "unexpected_message");

    // One publisher per stream.
    let mut second = harness.connect("s1");
    second.send(&ClientMessage::Publish { token: GOOD_TOKEN.into(), sdp: offer.clone() }).await;
    assert_eq!(code(&second.recv().await), "already_live");

    // Viewers: the offer comes with our candidate; a bad answer and bad candidates are refused.
    let mut viewer = harness.connect("s1");
    viewer.send(&ClientMessage::Join {}).await;
    let ServerMessage::Offer { sdp } = viewer.recv().await else { panic!("expected an offer") };
    assert!(sdp.contains("a=ice-lite") && sdp.contains("a=candidate:") && sdp.contains("a=sendonly"), "{sdp}");
    assert!(matches!(viewer.recv().await, ServerMessage::Session { .. }), "a resume key follows");
    viewer.send(&ClientMessage::Answer { sdp: "v=0\r\n".into() }).await;
    assert_eq!(code(&viewer.recv().await), "bad_sdp");
    viewer.send_raw(r#"{"type":"candidate","candidate":"not a candidate"}"#).await;
    assert_eq!(code(&viewer.recv().await), "bad_candidate");
    for port in 0..MAX_CANDIDATES_PER_SESSION as u16 {
        viewer.send(&host_candidate(10_000 + port)).await;
    }
    viewer.send(&host_candidate(9_999)).await;
    assert_eq!(code(&viewer.recv().await), "too_many_candidates", "the first refusal is the one over the limit");

    // `bye` ends the publisher's session and frees the stream for a new publisher.
    client.send(&ClientMessage::Bye { reason: "done".into() }).await;
    client.finished().await;
    let (ended, _) = viewer.recv_until(|m| matches!(m, ServerMessage::Ended { .. })).await;
    assert!(matches!(ended, ServerMessage::Ended { .. }));
    second.send(&ClientMessage::Publish { token: GOOD_TOKEN.into(), sdp: offer }).await;
    assert!(matches!(second.recv().await, ServerMessage::Answer { .. }));
    // Never connected: never live.
    assert!(harness.live_changes.lock().unwrap().is_empty());
    // A viewer whose stream ended may join again on the same connection.
    viewer.send(&ClientMessage::Join {}).await;
    assert!(matches!(viewer.recv().await, ServerMessage::Offer { .. }));
    viewer.send(&ClientMessage::Bye { reason: String::new() }).await;
    viewer.finished().await;
    let stats = harness.media.stats().await.unwrap();
    assert_eq!((stats.sessions, stats.streams), (1, 1), "only the second publisher is left");
}
