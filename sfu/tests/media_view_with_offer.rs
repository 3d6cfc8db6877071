//! Viewers that bring their own offer (`view`, as WHEP players do): the SFU answers
//! send-only with its candidate inside, and forwards to them exactly as to viewers it
//! offered to. Real ICE/DTLS/SRTP over loopback with the async `webrtc` crate as client.

mod media_common;

use media_common::{Harness, TestPublisher, TestViewer, assert_continuous, viewer_offer};
use myvid_proto::signal::{ClientMessage, ServerMessage};

/// About half a second of video at 30 fps and 2 packets per delta frame.
const HALF_SECOND: usize = 30;

fn code(message: &ServerMessage) -> &str {
    match message {
        ServerMessage::Error { code, .. } => code,
        other => panic!("expected an error frame, got {other:?}"),
    }
}

#[tokio::test]
async fn view_is_refused_with_codes_and_the_session_goes_on() {
    let harness = Harness::start().await;
    let mut client = harness.connect("s1");
    let (offer, _pc) = viewer_offer().await;
    client.send(&ClientMessage::View { sdp: offer.clone() }).await;
    assert_eq!(code(&client.recv().await), "not_live", "nobody publishes s1");

    let publisher = TestPublisher::start(&harness, "s1", 0x2222_0000).await;
    client.send(&ClientMessage::View { sdp: "v=0\r\n".into() }).await;
    assert_eq!(code(&client.recv().await), "bad_sdp");
    client.send(&ClientMessage::View { sdp: offer }).await;
    let ServerMessage::Answer { sdp } = client.recv().await else { panic!("expected an answer") };
    assert!(sdp.contains("a=ice-lite") && sdp.contains("a=candidate:") && sdp.contains("a=sendonly"), "{sdp}");
    assert!(matches!(client.recv().await, ServerMessage::Session { .. }), "a resume key follows");
    // One media session per connection, and no answer is expected from this viewer.
    let (again, _pc2) = viewer_offer().await;
    client.send(&ClientMessage::View { sdp: again }).await;
    assert_eq!(code(&client.recv().await), "unexpected_message");
    client.send(&ClientMessage::Answer { sdp: "v=0\r\n".into() }).await;
    assert_eq!(code(&client.recv().await), "unexpected_message");
    client.send(&ClientMessage::Bye { reason: String::new() }).await;
    client.finished().await;
    publisher.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_with_its_own_offer_gets_the_same_video_and_the_end() {
    let harness = Harness::start().await;
    let mut publisher = TestPublisher::start(&harness, "live-2", 0x3333_0000).await;
    let (mut offered, mut offering) =
        tokio::join!(TestViewer::join(&harness, "live-2"), TestViewer::view_with_offer(&harness, "live-2"));
    tokio::join!(offered.wait_video(HALF_SECOND), offering.wait_video(HALF_SECOND));
    publisher.client.recv_until(|m| matches!(m, ServerMessage::Viewers { count: 2 })).await;

    publisher.leave().await;
    for viewer in [&mut offered, &mut offering] {
        let (ended, _) = viewer.client.recv_until(|m| matches!(m, ServerMessage::Ended { .. })).await;
        assert!(matches!(ended, ServerMessage::Ended { .. }));
    }
    let (video, audio) = assert_continuous("view with offer", &offering.snapshot(), 0x3333_0000);
    assert_continuous("join", &offered.snapshot(), 0x3333_0000);
    let stats = harness.media.stats().await.unwrap();
    assert_eq!(stats.forward_errors, 0, "every forwarded packet was accepted by its viewer's sender");
    println!("viewer with its own offer: {video} video packets (consecutive from a keyframe), {audio} audio");
}
