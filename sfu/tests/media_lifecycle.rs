//! Session lifecycle through `MediaHandle` directly (no signalling): sessions that never
//! connect are dropped (the publisher's owner hears `Failed`, its viewers `StreamEnded`,
//! and the stream is free again), and shutting the media task down ends every stream.

mod media_common;

use std::time::Duration;

use media_common::{WAIT, publisher_offer};
use myvid_sfu::media::{self, MediaConfig, MediaError, SessionEvent};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_publisher_that_never_connects_fails_and_ends_its_stream() {
    let config = MediaConfig { connect_timeout: Duration::from_millis(300), ..MediaConfig::default() };
    let server = media::spawn(config).await.unwrap();
    let media = server.handle;
    let (offer, _pc) = publisher_offer().await;
    let mut publication = media.publish("s", offer.clone()).await.unwrap();
    assert_eq!(media.publish("s", offer.clone()).await.unwrap_err(), MediaError::AlreadyPublishing("s".into()));
    let mut viewer = media.view("s").await.unwrap();
    assert_eq!(media.view("other").await.unwrap_err(), MediaError::NotLive("other".into()));

    assert_eq!(timeout(WAIT, publication.events.recv()).await.unwrap(), Some(SessionEvent::Failed));
    assert_eq!(timeout(WAIT, publication.events.recv()).await.unwrap(), None, "channel closed after the last event");
    assert_eq!(timeout(WAIT, viewer.events.recv()).await.unwrap(), Some(SessionEvent::StreamEnded));
    assert_eq!(media.close(viewer.session).await.unwrap_err(), MediaError::UnknownSession);
    assert_eq!(media.viewer_answer(viewer.session, "v=0".into()).await.unwrap_err(), MediaError::UnknownSession);

    // The stream can be published again.
    let again = media.publish("s", offer).await.unwrap();
    media.close(again.session).await.unwrap();
    let stats = media.stats().await.unwrap();
    assert_eq!((stats.sessions, stats.streams), (0, 0));

    // The task stops when the last handle is dropped.
    drop(media);
    timeout(WAIT, server.task).await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_ends_every_stream_and_stops_the_task() {
    let shutdown = CancellationToken::new();
    let server = media::spawn_with_shutdown(MediaConfig::default(), shutdown.clone()).await.unwrap();
    let (offer, _pc) = publisher_offer().await;
    let mut publication = server.handle.publish("s", offer).await.unwrap();
    let mut viewer = server.handle.view("s").await.unwrap();
    shutdown.cancel();
    timeout(WAIT, server.task).await.unwrap().unwrap().unwrap();
    assert_eq!(timeout(WAIT, viewer.events.recv()).await.unwrap(), Some(SessionEvent::StreamEnded));
    assert_eq!(timeout(WAIT, publication.events.recv()).await.unwrap(), None, "the publisher's channel just closes");
    assert_eq!(server.handle.stats().await.unwrap_err(), MediaError::Unavailable);
}
