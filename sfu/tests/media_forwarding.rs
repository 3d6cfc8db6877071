//! End to end over loopback: a publisher and three viewers (the async `webrtc` crate),
//! signalling through `Signalling::serve` with JSON frames, real ICE/DTLS/SRTP against the
//! media plane on one UDP socket. Proves continuous forwarding, a late join served by a
//! keyframe (asked for, or fresh in the SFU's cache), a viewer leaving without disturbing the others, and the end of the
//! stream reaching every viewer.

mod media_common;

use std::time::{Duration, Instant};

use media_common::{Harness, TestPublisher, TestViewer, assert_continuous, video_packets_after};
use myvid_proto::signal::ServerMessage;
use myvid_sfu::forward::KEYFRAME_MIN_INTERVAL;
use myvid_sfu::session::LiveChange;

/// About half a second of video at 30 fps and 2 packets per delta frame.
const HALF_SECOND: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_get_continuous_video_join_late_leave_and_see_the_end() {
    let started = Instant::now();
    let harness = Harness::start().await;
    let mut publisher = TestPublisher::start(&harness, "live-1", 0x1111_0000).await;
    let connected_at = started.elapsed();

    // Two viewers join together.
    let (mut first, mut second) =
        tokio::join!(TestViewer::join(&harness, "live-1"), TestViewer::join(&harness, "live-1"));
    // Keyframe requests are throttled per layer: the late join must come more than one
    // throttle interval after the last request the first two caused (which came no later
    // than either's first keyframe) for its own request to go out at once.
    let settled = video_packets_after(KEYFRAME_MIN_INTERVAL + Duration::from_millis(100));
    tokio::join!(first.wait_video(settled), second.wait_video(settled));

    // A third joins later: the SFU asks the publisher for a keyframe when its session is
    // created, and video starts on it, replayed from the SFU's cache if it came before
    // the viewer connected (instant start), else as it arrives. Either way it asked.
    let plis_before = publisher.plis();
    let instant_before = harness.media.stats().await.unwrap().instant_starts;
    let joined = Instant::now();
    let mut late = TestViewer::join(&harness, "live-1").await;
    late.wait_video(1).await;
    let late_first_video = joined.elapsed();
    let instant = harness.media.stats().await.unwrap().instant_starts > instant_before;
    assert!(
        publisher.plis() > plis_before || instant,
        "the late join reached the publisher as a PLI, or started on a fresh cached keyframe"
    );
    late.wait_video(HALF_SECOND).await;

    // The publisher hears the audience grow to three.
    let (viewers, _) = publisher.client.recv_until(|m| matches!(m, ServerMessage::Viewers { count: 3 })).await;
    assert_eq!(viewers, ServerMessage::Viewers { count: 3 });

    // The first viewer leaves; the others keep receiving.
    let first_received = first.leave().await;
    publisher.client.recv_until(|m| matches!(m, ServerMessage::Viewers { count: 2 })).await;
    let (second_count, late_count) = (second.video_count(), late.video_count());
    tokio::join!(second.wait_video(second_count + HALF_SECOND), late.wait_video(late_count + HALF_SECOND));

    // The publisher leaves: every remaining viewer is told the stream ended.
    let plis_total = publisher.plis();
    let frames = publisher.frames.load(std::sync::atomic::Ordering::SeqCst);
    publisher.leave().await;
    for viewer in [&mut second, &mut late] {
        let (ended, _) = viewer.client.recv_until(|m| matches!(m, ServerMessage::Ended { .. })).await;
        assert!(matches!(ended, ServerMessage::Ended { .. }));
    }
    let stats = harness.media.stats().await.unwrap();

    let mut totals = Vec::new();
    for (name, received) in [("first", first_received), ("second", second.snapshot()), ("late", late.snapshot())] {
        totals.push((name, assert_continuous(name, &received, 0x1111_0000), received.video[0].ssrc));
    }
    let ssrcs: std::collections::HashSet<u32> = totals.iter().map(|t| t.2).collect();
    assert_eq!(ssrcs.len(), 3, "every viewer has its own SSRC");
    assert_eq!(
        *harness.live_changes.lock().unwrap(),
        vec![LiveChange::Live { stream_id: "live-1".into() }, LiveChange::Ended { stream_id: "live-1".into() }]
    );
    assert_eq!(stats.streams, 0, "the stream is gone");
    assert_eq!(stats.forward_errors, 0, "every forwarded packet was accepted by its viewer's sender");
    println!(
        "publisher connected after {connected_at:?}; late viewer's first video {late_first_video:?} after joining; \
         {frames} frames sent, {plis_total} PLIs at the publisher"
    );
    for (name, (video, audio), _) in &totals {
        println!("viewer {name}: {video} video packets (consecutive from a keyframe), {audio} audio packets");
    }
    println!("media stats: {stats:?}");
    println!("total {:?}", started.elapsed());
}
