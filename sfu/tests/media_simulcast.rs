//! Simulcast end to end: a publisher sends three rid layers (q, h, f) on one track; a
//! viewer gets the highest at first, moves down when its REMB estimate shrinks and back up
//! when it grows, each switch at a keyframe of the new layer, with one SSRC and unbroken
//! sequence numbers throughout.

mod media_common;

use media_common::{Harness, LayerSpec, Received, TestPublisher, TestViewer};
use myvid_proto::signal::{ClientMessage, ServerMessage};

/// Fill bytes name the layers at the viewer.
const LOW: u8 = 0;
const HIGH: u8 = 2;

fn layers() -> [LayerSpec; 3] {
    // ~50, ~160 and ~530 kbit/s of payload at 30 fps.
    [
        LayerSpec { rid: Some("q"), ssrc: 0x0A00, payload: 100, fill: LOW },
        LayerSpec { rid: Some("h"), ssrc: 0x0B00, payload: 300, fill: 1 },
        LayerSpec { rid: Some("f"), ssrc: 0x0C00, payload: 1000, fill: HIGH },
    ]
}

fn last_tag(received: &Received) -> Option<u8> {
    received.video.last().map(|p| p.tag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_follows_its_bandwidth_estimate_across_layers() {
    let started = std::time::Instant::now();
    let harness = Harness::start().await;
    let publisher = TestPublisher::start_layers(&harness, "sim", &layers()).await;
    // A viewer gets the best layer live when it joins: let all three arrive first (the
    // publisher sends q, h, f in turn, so a viewer joining after its very first packet
    // would rightly start on q).
    while publisher.frames.load(std::sync::atomic::Ordering::SeqCst) < 10 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut viewer = TestViewer::join(&harness, "sim").await;

    // No estimate yet: the highest layer.
    viewer.wait_video(20).await;
    assert!(viewer.snapshot().video.iter().all(|p| p.tag == HIGH), "only the full layer at first");

    // A small estimate: down to q once the layers' rates are measured (a 1 s window).
    viewer.send_estimate(100_000.0).await;
    viewer.wait_until("the switch to q", |r| last_tag(r) == Some(LOW)).await;
    let switched_down = started.elapsed();
    viewer.wait_until("more of q", |r| r.video.iter().filter(|p| p.tag == LOW).count() >= 20).await;

    // A large one: back up to f.
    viewer.send_estimate(5_000_000.0).await;
    viewer.wait_until("the switch back to f", |r| last_tag(r) == Some(HIGH)).await;

    let received = viewer.leave().await;
    let video = &received.video;
    assert!(video[0].keyframe);
    for pair in video.windows(2) {
        assert_eq!(pair[1].ssrc, pair[0].ssrc, "one SSRC across switches");
        assert_eq!(pair[1].seq, pair[0].seq.wrapping_add(1), "consecutive across switches");
        if pair[1].tag != pair[0].tag {
            assert!(pair[1].keyframe, "a switch lands on a keyframe: {pair:?}");
        }
    }
    let switches = video.windows(2).filter(|p| p[0].tag != p[1].tag).count();
    assert_eq!(switches, 2, "down once, up once");
    let stats = harness.media.stats().await.unwrap();
    assert!(stats.viewer_estimates >= 2);
    publisher.leave().await;
    println!(
        "{} video packets, switched down after {switched_down:?}, {} PLIs at the publisher; stats {stats:?}; total {:?}",
        video.len(),
        stats.keyframe_requests,
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewers_own_cap_holds_it_below_its_estimate_until_lifted() {
    let harness = Harness::start().await;
    let publisher = TestPublisher::start_layers(&harness, "cap", &layers()).await;
    while publisher.frames.load(std::sync::atomic::Ordering::SeqCst) < 10 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut viewer = TestViewer::join(&harness, "cap").await;
    viewer.wait_video(20).await;
    viewer.send_estimate(5_000_000.0).await;

    // The estimate allows f; the viewer's own cap (over signalling) allows only q.
    viewer.client.send(&ClientMessage::MaxBitrate { bps: 100_000 }).await;
    viewer.wait_until("the switch down to q", |r| last_tag(r) == Some(LOW)).await;
    viewer.wait_until("q for a while", |r| r.video.iter().rev().take(30).all(|p| p.tag == LOW)).await;

    // Lifted: back to what the estimate allows.
    viewer.client.send(&ClientMessage::MaxBitrate { bps: 0 }).await;
    viewer.wait_until("the switch back up to f", |r| last_tag(r) == Some(HIGH)).await;

    // A publisher cannot cap itself: a clear refusal, nothing else changes.
    let mut other = harness.connect("cap");
    other.send(&ClientMessage::MaxBitrate { bps: 1 }).await;
    let refusal = other.recv().await;
    assert!(matches!(&refusal, ServerMessage::Error { code, .. } if code == "unexpected_message"), "{refusal:?}");

    // More than four changes in a second: the fifth is refused.
    for bps in [200_000, 300_000, 400_000, 500_000] {
        viewer.client.send(&ClientMessage::MaxBitrate { bps }).await;
    }
    viewer.client.send(&ClientMessage::MaxBitrate { bps: 600_000 }).await;
    let (limited, _) = viewer.client.recv_until(|m| matches!(m, ServerMessage::Error { .. })).await;
    assert!(matches!(&limited, ServerMessage::Error { code, .. } if code == "rate_limited"), "{limited:?}");

    viewer.leave().await;
    publisher.leave().await;
}
