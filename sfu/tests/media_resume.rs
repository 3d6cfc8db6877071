//! Losing the signalling socket (its endpoint died) does not stop the media: the media
//! session is parked, keeps flowing, and a new connection takes it over with `resume`;
//! unclaimed, it is closed when the grace period runs out.

mod media_common;

use std::time::Duration;

use media_common::{Harness, TestPublisher, TestViewer};
use myvid_proto::signal::{ClientMessage, ServerMessage};
use myvid_sfu::media::MediaConfig;
use myvid_sfu::session::LiveChange;

fn resume_key(messages: &[ServerMessage]) -> String {
    messages
        .iter()
        .rev()
        .find_map(|m| match m {
            ServerMessage::Session { resume, .. } => Some(resume.clone()),
            _ => None,
        })
        .expect("a session message")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_survives_a_lost_socket_and_resume_takes_it_over() {
    let harness = Harness::start().await;
    let mut publisher = TestPublisher::start(&harness, "resume-1", 0x4444_0000).await;
    let mut viewer = TestViewer::join(&harness, "resume-1").await;
    viewer.wait_video(20).await;
    let (_, before) = publisher.client.recv_until(|m| matches!(m, ServerMessage::Viewers { count: 1 })).await;
    let publisher_key = resume_key(&before);

    // The viewer's socket dies without a word; so does the publisher's.
    viewer.client.cut().await;
    publisher.client.cut().await;
    assert_eq!(harness.signalling.parked(), 2, "both media sessions parked");
    // Media keeps flowing from publisher to viewer meanwhile.
    let count = viewer.video_count();
    viewer.wait_video(count + 30).await;

    // A new connection takes the publisher's session over: resumed, the viewer count,
    // and a fresh key.
    let mut again = harness.connect("resume-1");
    again.send(&ClientMessage::Resume { resume: publisher_key.clone() }).await;
    assert_eq!(again.recv().await, ServerMessage::Resumed {});
    assert_eq!(again.recv().await, ServerMessage::Viewers { count: 1 });
    let ServerMessage::Session { resume, .. } = again.recv().await else { panic!("expected a new key") };
    assert_ne!(resume, publisher_key, "keys are not reused");
    assert_eq!(harness.signalling.parked(), 1);

    // A key is good once; a wrong stream or an unknown key is refused.
    let mut thief = harness.connect("resume-1");
    thief.send(&ClientMessage::Resume { resume: publisher_key }).await;
    let ServerMessage::Error { code, .. } = thief.recv().await else { panic!("expected an error") };
    assert_eq!(code, "resume_failed");

    // `bye` on the resumed connection ends the stream as usual.
    again.send(&ClientMessage::Bye { reason: "done".into() }).await;
    again.finished().await;
    assert_eq!(
        *harness.live_changes.lock().unwrap(),
        vec![LiveChange::Live { stream_id: "resume-1".into() }, LiveChange::Ended { stream_id: "resume-1".into() }],
        "live once, ended once: the lost socket did not end it"
    );
    // The viewer's parked session heard the end; it is closed when its grace runs out
    // (or, here, stays parked: the harness's grace is the default 30 s).
    assert_eq!(harness.signalling.parked(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_takes_a_session_from_a_connection_not_yet_known_lost() {
    let harness = Harness::start().await;
    let publisher = TestPublisher::start(&harness, "resume-3", 0x6666_0000).await;
    let mut viewer = TestViewer::join(&harness, "resume-3").await;
    viewer.wait_video(10).await;
    let (session, _) = viewer.client.recv_until(|m| matches!(m, ServerMessage::Session { .. })).await;
    let ServerMessage::Session { resume, .. } = session else { unreachable!() };

    // The old connection is still open (half-open, as far as the SFU knows): a new one
    // resumes anyway, and the old one lets go.
    let mut again = harness.connect("resume-3");
    again.send(&ClientMessage::Resume { resume }).await;
    assert_eq!(again.recv().await, ServerMessage::Resumed {});
    viewer.client.finished().await;
    let count = viewer.video_count();
    viewer.wait_video(count + 10).await;
    again.send(&ClientMessage::Bye { reason: "done".into() }).await;
    again.finished().await;
    assert_eq!(harness.signalling.parked(), 0, "taken over, then ended by bye: nothing parked");
    publisher.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unclaimed_session_is_closed_after_the_grace_period() {
    let harness = Harness::start_with_grace(MediaConfig::default(), Duration::from_millis(300)).await;
    let mut publisher = TestPublisher::start(&harness, "resume-2", 0x5555_0000).await;
    let (_, messages) = publisher.client.recv_until(|m| matches!(m, ServerMessage::Session { .. })).await;
    drop(messages);
    let live = || harness.live_changes.lock().unwrap().clone();
    // Live once connected.
    for _ in 0..50 {
        if !live().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    publisher.client.cut().await;
    assert_eq!(harness.signalling.parked(), 1);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(harness.signalling.parked(), 0, "closed after the grace");
    let stats = harness.media.stats().await.unwrap();
    assert_eq!((stats.sessions, stats.streams), (0, 0), "the media session is gone");
    assert_eq!(
        live(),
        vec![LiveChange::Live { stream_id: "resume-2".into() }, LiveChange::Ended { stream_id: "resume-2".into() }]
    );
}

/// Waits until `viewer` has received `more` video packets beyond what it has now.
async fn keeps_playing(viewer: &mut TestViewer, more: usize) {
    let count = viewer.video_count();
    viewer.wait_video(count + more).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_for_another_stream_is_refused_and_the_publisher_keeps_publishing() {
    let harness = Harness::start().await;
    let mut publisher = TestPublisher::start(&harness, "resume-a", 0x7777_0000).await;
    let mut viewer = TestViewer::join(&harness, "resume-a").await;
    viewer.wait_video(20).await;
    let (_, before) = publisher.client.recv_until(|m| matches!(m, ServerMessage::Viewers { count: 1 })).await;
    let key = resume_key(&before);

    // Stream A's key on a socket opened for stream B: refused, and A is left alone.
    let mut elsewhere = harness.connect("resume-b");
    elsewhere.send(&ClientMessage::Resume { resume: key.clone() }).await;
    let ServerMessage::Error { code, .. } = elsewhere.recv().await else { panic!("expected an error") };
    assert_eq!(code, "resume_failed");
    assert_eq!(harness.signalling.parked(), 0, "the publisher's session was not made to let go");
    keeps_playing(&mut viewer, 30).await;
    // The publisher's socket still holds its session: it hears about a second viewer.
    let second = TestViewer::join(&harness, "resume-a").await;
    publisher.client.recv_until(|m| matches!(m, ServerMessage::Viewers { count: 2 })).await;
    assert_eq!(*harness.live_changes.lock().unwrap(), vec![LiveChange::Live { stream_id: "resume-a".into() }]);

    // Nor may a connection that already has a media session (a viewer) use it.
    let mut viewer_socket = second.client;
    viewer_socket.send(&ClientMessage::Resume { resume: key.clone() }).await;
    let ServerMessage::Error { code, .. } =
        viewer_socket.recv_until(|m| matches!(m, ServerMessage::Error { .. })).await.0
    else {
        unreachable!()
    };
    assert_eq!(code, "unexpected_message");
    assert_eq!(harness.signalling.parked(), 0);
    keeps_playing(&mut viewer, 30).await;

    // The key still works on its own stream (the refusals did not use it up) …
    let mut again = harness.connect("resume-a");
    again.send(&ClientMessage::Resume { resume: key.clone() }).await;
    assert_eq!(again.recv().await, ServerMessage::Resumed {});
    publisher.client.finished().await;
    // … once: replayed after the successful resume, it is refused, and the resumed
    // connection keeps the session.
    let mut replay = harness.connect("resume-a");
    replay.send(&ClientMessage::Resume { resume: key }).await;
    let ServerMessage::Error { code, .. } = replay.recv().await else { panic!("expected an error") };
    assert_eq!(code, "resume_failed");
    keeps_playing(&mut viewer, 30).await;
    again.send(&ClientMessage::Bye { reason: "done".into() }).await;
    again.finished().await;
    assert_eq!(
        *harness.live_changes.lock().unwrap(),
        vec![LiveChange::Live { stream_id: "resume-a".into() }, LiveChange::Ended { stream_id: "resume-a".into() }],
        "live once, ended once, by the bye"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_session_is_not_resumed_from_another_stream() {
    let harness = Harness::start().await;
    let mut publisher = TestPublisher::start(&harness, "resume-p", 0x8888_0000).await;
    let mut viewer = TestViewer::join(&harness, "resume-p").await;
    viewer.wait_video(20).await;
    let (_, before) = publisher.client.recv_until(|m| matches!(m, ServerMessage::Viewers { count: 1 })).await;
    let key = resume_key(&before);
    publisher.client.cut().await;
    assert_eq!(harness.signalling.parked(), 1);

    let mut elsewhere = harness.connect("resume-q");
    elsewhere.send(&ClientMessage::Resume { resume: key.clone() }).await;
    let ServerMessage::Error { code, .. } = elsewhere.recv().await else { panic!("expected an error") };
    assert_eq!(code, "resume_failed");
    assert_eq!(harness.signalling.parked(), 1, "still parked for its own stream");
    keeps_playing(&mut viewer, 30).await;

    let mut again = harness.connect("resume-p");
    again.send(&ClientMessage::Resume { resume: key }).await;
    assert_eq!(again.recv().await, ServerMessage::Resumed {});
    again.send(&ClientMessage::Bye { reason: "done".into() }).await;
    again.finished().await;
}
