//! An SFU shutting down on purpose drains: new `publish`/`join`/`view` are refused with
//! `draining`, live streams keep flowing to their viewers until they end, and whatever
//! is left at the deadline is ended (viewers hear `ended`) so the process can exit.

mod media_common;

use std::time::Duration;

use media_common::{GOOD_TOKEN, Harness, TestPublisher, TestViewer, WAIT, publisher_offer, viewer_offer};
use myvid_proto::signal::{ClientMessage, ServerMessage};
use myvid_sfu::drain::DrainEnd;
use myvid_sfu::media::MediaConfig;
use tokio::time::timeout;

/// About half a second of video at 30 fps and 2 packets per delta frame.
const HALF_SECOND: usize = 30;

fn is_draining_refusal(message: &ServerMessage) -> bool {
    matches!(message, ServerMessage::Error { code, .. } if code == "draining")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_stream_survives_an_sfu_drain_to_its_end() {
    let harness = Harness::start().await;
    let publisher = TestPublisher::start(&harness, "drained", 0x2222_0000).await;
    let mut viewer = TestViewer::join(&harness, "drained").await;
    viewer.wait_video(HALF_SECOND).await;

    let (drain, media) = (harness.drain.clone(), harness.media.clone());
    let mut draining = tokio::spawn(async move { drain.run(&media, Duration::from_secs(60)).await });

    // The viewer keeps receiving after the drain began.
    let before = viewer.video_count();
    viewer.wait_video(before + HALF_SECOND).await;

    // New work is refused: a viewer of the live stream, a WHEP-style viewer, a broadcaster.
    let mut late = harness.connect("drained");
    late.send(&ClientMessage::Join {}).await;
    let refusal = late.recv().await;
    assert!(is_draining_refusal(&refusal), "join during a drain: {refusal:?}");
    let (sdp, _viewer_pc) = viewer_offer().await;
    late.send(&ClientMessage::View { sdp }).await;
    let refusal = late.recv().await;
    assert!(is_draining_refusal(&refusal), "view during a drain: {refusal:?}");
    let mut broadcaster = harness.connect("another");
    let (sdp, _publisher_pc) = publisher_offer().await;
    broadcaster.send(&ClientMessage::Publish { token: GOOD_TOKEN.into(), sdp }).await;
    let refusal = broadcaster.recv().await;
    assert!(is_draining_refusal(&refusal), "publish during a drain: {refusal:?}");
    assert!(!draining.is_finished(), "the drain waits for the live stream");

    // The broadcaster leaves: the viewer hears the end, and the drain completes.
    publisher.leave().await;
    viewer.client.recv_until(|m| matches!(m, ServerMessage::Ended { .. })).await;
    let end = timeout(WAIT, &mut draining).await.expect("the drain ends once nothing is left").unwrap();
    assert_eq!(end, DrainEnd::Empty);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streams_left_at_the_drain_deadline_are_ended() {
    // Sessions that never connect but are not dropped for it: only the deadline ends them.
    // The media plane runs on the real clock, so the deadline is a short real one here;
    // `drain`'s own tests cover long deadlines on virtual time.
    let config = MediaConfig { connect_timeout: Duration::from_secs(24 * 3600), ..MediaConfig::default() };
    let harness = Harness::start_with(config).await;
    let mut broadcaster = harness.connect("forever");
    let (sdp, _publisher_pc) = publisher_offer().await;
    broadcaster.send(&ClientMessage::Publish { token: GOOD_TOKEN.into(), sdp }).await;
    assert!(matches!(broadcaster.recv().await, ServerMessage::Answer { .. }));
    let mut viewer = harness.connect("forever");
    viewer.send(&ClientMessage::Join {}).await;
    assert!(matches!(viewer.recv().await, ServerMessage::Offer { .. }));

    let deadline = Duration::from_millis(800);
    let started = std::time::Instant::now();
    let end = harness.drain.run(&harness.media, deadline).await;
    let waited = started.elapsed();

    assert_eq!(end, DrainEnd::DeadlineReached { sessions: 2 });
    assert!(waited >= deadline && waited < deadline + WAIT, "ended at the deadline: {waited:?}");
    let (ended, _) = viewer.recv_until(|m| matches!(m, ServerMessage::Ended { .. })).await;
    assert!(matches!(ended, ServerMessage::Ended { .. }), "the viewer is told the stream ended");
}
