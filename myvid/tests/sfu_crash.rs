//! A media server that dies (`kill -9`) cannot end its streams: another `myvid sfu`
//! process ends them once the dead one has left the server registry, and leaves its own
//! alone. (The stream is put live through the store, as its SFU would have done.)

mod support;

use std::time::{Duration, Instant};

use myvid_store::meta::{LiveState, NewVideo, VideoSource, Visibility};
use myvid_store::{MetaStore, ServerKind, SqliteMeta};
use support::role::Role;

const SECRETS: [(&str, &str); 3] = [
    ("MYVID_LIVE__SFU_SECRET", "sfu-secret-shared-by-the-roles-0123456789"),
    ("MYVID_LIVE__STREAM_SECRET", "stream-secret-shared-by-the-roles-0123456789"),
    ("MYVID_TURN__SECRET", "turn-secret-shared-by-the-roles-0123456789"),
];

/// The registry ids of the SFUs beating now.
async fn sfu_ids(meta: &SqliteMeta) -> Vec<String> {
    let now = myvid_core::Clock::system().now();
    meta.live_servers(ServerKind::Sfu, now - 6).await.unwrap().into_iter().map(|e| e.id).collect()
}

async fn live_stream(meta: &SqliteMeta, id: &str, host: &str) {
    let stream = NewVideo {
        id: id.into(),
        owner_id: None,
        title: format!("Stream {id}"),
        description: String::new(),
        source: VideoSource::Live { state: LiveState::Pending, record: true },
        visibility: Visibility::Private,
        duration_ms: None,
        created_at: 1,
    };
    meta.create_video(stream).await.unwrap();
    meta.set_live_state(id, LiveState::Live, Some(host), 2).await.unwrap();
}

async fn state(meta: &SqliteMeta, id: &str) -> VideoSource {
    meta.video(id).await.unwrap().unwrap().source
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streams_of_a_crashed_sfu_are_ended_by_another() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut doomed = Role::start("sfu", &data, &SECRETS);
    let meta = SqliteMeta::open(&data.join("meta.sqlite3")).await.unwrap();
    let started = Instant::now();
    let doomed_id = loop {
        if let [id] = sfu_ids(&meta).await.as_slice() {
            break id.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the first SFU never registered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _survivor = Role::start("sfu", &data, &SECRETS);
    let survivor_id = loop {
        if let Some(id) = sfu_ids(&meta).await.into_iter().find(|id| *id != doomed_id) {
            break id;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the second SFU never registered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    live_stream(&meta, "on-doomed", &doomed_id).await;
    live_stream(&meta, "on-survivor", &survivor_id).await;

    doomed.child.kill().unwrap();
    let _ = doomed.child.wait();
    let killed = Instant::now();
    // Heartbeats older than 30 s, seen in two reads 10 s apart: ended within ~50 s.
    while state(&meta, "on-doomed").await == (VideoSource::Live { state: LiveState::Live, record: true }) {
        assert!(killed.elapsed() < Duration::from_secs(75), "the crashed SFU's stream is still live");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("the crashed SFU's stream ended {:?} after the kill", killed.elapsed());
    assert_eq!(state(&meta, "on-doomed").await, VideoSource::Live { state: LiveState::Ended, record: true });
    assert!(killed.elapsed() >= Duration::from_secs(30), "not before its heartbeats were 30 s old");
    assert_eq!(
        state(&meta, "on-survivor").await,
        VideoSource::Live { state: LiveState::Live, record: true },
        "a live SFU's stream stays"
    );
}
