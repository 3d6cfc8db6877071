//! Stopping `myvid dev` drains its SFU: the SFU marks itself full in the server registry
//! and new viewers are refused at once, while a live broadcast keeps reaching its viewer; the
//! process stops as soon as the broadcast ends.

mod support;
mod whip_whep_clients;

use std::time::Duration;

use myvid_sfu::link::DRAINING_LOAD;
use myvid_store::{MetaStore, ServerKind, SqliteMeta};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use support::{TestServer, assert_error};
use tokio::time::timeout;
use whip_whep_clients::stream::{new_stream, post_offer, wait_live_state};
use whip_whep_clients::{Broadcaster, Watcher};

/// Half a second of video: 15 frames of 2 packets, plus the first keyframe's extras.
const HALF_SECOND: usize = 36;

/// Longest wait for any step.
const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_stream_keeps_playing_while_myvid_dev_stops_and_the_stop_waits_for_its_end() {
    let mut server = TestServer::start().await;
    let registry = SqliteMeta::open(&server.dir.path().join("data").join("meta.sqlite3")).await.unwrap();
    let stream = new_stream(&server).await;

    let (mut broadcaster, offer) = Broadcaster::new(0x7200_0000).await;
    let res = post_offer(&server, &stream.whip_url, Some(&stream.token), &offer).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let whip_resource = res.headers()[LOCATION].to_str().unwrap().to_owned();
    broadcaster.pc.apply_answer(res.text().await.unwrap()).await;
    broadcaster.pc.connected().await;
    broadcaster.send_media().await;
    wait_live_state(&server, &stream, "live").await;
    let (mut watcher, offer) = Watcher::new().await;
    let res = post_offer(&server, &stream.whep_url, None, &offer).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    watcher.pc.apply_answer(res.text().await.unwrap()).await;
    watcher.pc.connected().await;
    watcher.wait_video(HALF_SECOND).await;

    // SIGTERM, as far as `run` can tell. The SFU's next heartbeat says it is full; it
    // stays registered, so that TURN keeps relaying to it.
    server.begin_stop();
    let sfu_loads = || async {
        registry.live_servers(ServerKind::Sfu, 0).await.unwrap().iter().map(|e| e.load).collect::<Vec<i64>>()
    };
    let marked = async {
        while sfu_loads().await != [i64::from(DRAINING_LOAD)] {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    timeout(WAIT, marked).await.expect("the SFU marks itself draining in the registry");

    // New viewers are refused; the one watching keeps receiving; the server waits.
    let (_late, offer) = Watcher::new().await;
    assert_error(post_offer(&server, &stream.whep_url, None, &offer).await, 503, "unavailable").await;
    let seen = watcher.video.lock().unwrap().len();
    watcher.wait_video(seen + HALF_SECOND).await;
    assert!(!server.has_stopped(), "the stop waits for the live stream");

    // The broadcast ends: the viewer's session ends and the server stops.
    broadcaster.stop();
    let res = server.http.delete(server.at(&whip_resource)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    watcher.pc.ended().await;
    timeout(WAIT, server.stop()).await.expect("the server stops once nothing is live");
    assert!(sfu_loads().await.is_empty(), "the SFU left the registry as it exited");
}
