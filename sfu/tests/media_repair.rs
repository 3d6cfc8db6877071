//! Loss repair and keyframe requests over real WebRTC (the async `webrtc` crate as
//! clients, loopback UDP): a viewer's NACK is answered from the stream's packet cache as
//! RTX, and a publisher that negotiated FIR but not PLI is asked for keyframes with FIR.

mod media_common;

use std::time::Duration;

use media_common::{Harness, TestPublisher, TestViewer, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewers_nack_is_answered_from_the_stream_cache_as_rtx() {
    let harness = Harness::start().await;
    let publisher = TestPublisher::start(&harness, "repair-1", 0x2222_0000).await;
    let mut viewer = TestViewer::join(&harness, "repair-1").await;
    let sdp = &viewer.server_sdp;
    assert!(sdp.contains("apt=96") && sdp.contains("a=ssrc-group:FID"), "the offer has RTX for VP8:\n{sdp}");
    viewer.wait_video(20).await;

    // Claim a packet we did get was lost: the SFU resends it, so it arrives twice (the
    // client's stack unwraps the RTX packet into the video track).
    let nacked = viewer.snapshot().video[10].seq;
    viewer.send_nack(nacked).await;
    let count = |v: &TestViewer| v.snapshot().video.iter().filter(|p| p.seq == nacked).count();
    let deadline = tokio::time::Instant::now() + WAIT;
    while count(&viewer) < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = harness.media.stats().await.unwrap();
    assert_eq!(count(&viewer), 2, "packet {nacked} resent once: {stats:?}");
    let stats = harness.media.stats().await.unwrap();
    assert_eq!((stats.viewer_nacks, stats.retransmissions), (1, 1), "{stats:?}");

    // A NACK for a packet long gone from the cache (or never sent) is ignored.
    viewer.send_nack(nacked.wrapping_sub(5_000)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stats = harness.media.stats().await.unwrap();
    assert_eq!((stats.viewer_nacks, stats.retransmissions), (2, 1), "{stats:?}");
    viewer.leave().await;
    publisher.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_without_pli_is_asked_for_keyframes_with_fir() {
    let harness = Harness::start().await;
    let publisher = TestPublisher::start_fir_only(&harness, "fir-1", 0x3333_0000).await;
    // Past the first keyframe (frame 0), so the viewer's join needs a fresh one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut viewer = TestViewer::join(&harness, "fir-1").await;
    viewer.wait_video(10).await;
    let stats = harness.media.stats().await.unwrap();
    assert!(publisher.firs() >= 1, "the join reached the publisher as a FIR: {stats:?} plis {}", publisher.plis());
    assert_eq!(publisher.plis(), 0, "no PLI to a publisher that did not negotiate it");
    let stats = harness.media.stats().await.unwrap();
    assert!(stats.keyframe_requests >= 1, "{stats:?}");
    viewer.leave().await;
    publisher.leave().await;
}
