//! Abuse limits on a real server: guessing passwords is slowed and then refused,
//! log-in takes as long for unknown accounts as for wrong passwords, floods get 429
//! with `Retry-After`, and connections are capped per IP and cut off when their headers
//! or body stall.

mod support;

use std::time::{Duration, Instant};

use myvid_core::abuse::Rate;
use serde_json::json;
use support::{TestServer, assert_error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn login(server: &TestServer, credential: &str, password: &str) -> reqwest::Response {
    server.post_json("/v1/auth/login", None, json!({"credential": credential, "password": password})).await
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::test]
async fn password_guessing_is_refused_with_429_and_retry_after_even_for_the_right_password() {
    let server = TestServer::start_with(|c| c.limits.failed_login_ms = 0).await;
    server.signup("victim").await;
    let mut refused_at = None;
    for attempt in 1..=100 {
        let res = login(&server, "victim", &format!("guess-{attempt:03}")).await;
        if res.status() == 429 {
            let retry_after: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry_after), "{retry_after}");
            assert_error(res, 429, "rate_limited").await;
            refused_at = Some(attempt);
            break;
        }
        assert_error(res, 401, "invalid_credentials").await;
    }
    assert_eq!(refused_at, Some(11), "the account's budget is 10 attempts at once");
    // The right password, now, is refused too: guessing cannot be followed by a win.
    assert_error(login(&server, "victim", "password-victim").await, 429, "rate_limited").await;
    // Another account is not affected.
    server.signup("bystander").await;
    assert_eq!(login(&server, "bystander", "password-bystander").await.status(), 200);
    let metrics = server.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("myvid_rate_limited_total 2"), "{metrics}");
}

#[tokio::test]
async fn failed_logins_take_the_same_time_for_unknown_accounts_and_wrong_passwords() {
    // The floor hides everything; first show that the work itself is the same without it.
    let server = TestServer::start_with(|c| c.limits.failed_login_ms = 0).await;
    server.signup("alice").await;
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..7 {
        let started = Instant::now();
        assert_eq!(login(&server, "alice", &format!("wrong-{i}-pass")).await.status(), 401);
        wrong.push(started.elapsed());
        let started = Instant::now();
        assert_eq!(login(&server, &format!("nobody{i}"), "any-password").await.status(), 401);
        unknown.push(started.elapsed());
    }
    let (wrong, unknown) = (median(wrong), median(unknown));
    // An unknown account used to answer ~50x faster (no hash to check).
    assert!(unknown * 2 >= wrong, "unknown {unknown:?} vs wrong password {wrong:?}");
    server.stop().await;

    // The floor is far above a password check (tens of ms) so that a busy machine cannot make
    // a right password look delayed.
    const FLOOR: Duration = Duration::from_millis(1_000);
    let server = TestServer::start_with(|c| c.limits.failed_login_ms = FLOOR.as_millis() as u64).await;
    server.signup("alice").await;
    for credential in ["alice", "nobody"] {
        let started = Instant::now();
        assert_eq!(login(&server, credential, "not-the-password").await.status(), 401);
        let took = started.elapsed();
        assert!(took >= FLOOR, "{credential}: {took:?}");
    }
    let started = Instant::now();
    assert_eq!(login(&server, "alice", "password-alice").await.status(), 200);
    let took = started.elapsed();
    assert!(took < FLOOR, "a right password is not slowed down to the floor: {took:?}");
}

#[tokio::test]
async fn a_search_flood_from_one_address_gets_429() {
    let server = TestServer::start_with(|c| c.limits.search_per_ip = Rate { burst: 5, per_minute: 1 }).await;
    for _ in 0..5 {
        assert_eq!(server.get("/v1/videos?q=x", None).await.status(), 200);
    }
    let res = server.get("/v1/videos?q=x", None).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_error(res, 429, "rate_limited").await;
    let res = server.post_json("/API/VIDEO/", None, json!({"search": "x"})).await;
    assert_error(res, 429, "rate_limited").await;
    // Calls that are not searches are not counted against it.
    assert_eq!(server.get("/healthz", None).await.status(), 200);
}

/// Whether the server closes `stream` (EOF or reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// A connection to `addr` from 127.0.0.2, an address no other client of the test
/// server uses (the harness's own client is on 127.0.0.1).
async fn connect_from_other_address(addr: std::net::SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

#[tokio::test]
async fn connections_over_the_per_ip_cap_are_closed_at_once() {
    let server = TestServer::start_with(|c| c.limits.max_connections_per_ip = 4).await;
    let addr: std::net::SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from_other_address(addr).await);
    }
    let mut fifth = connect_from_other_address(addr).await;
    assert!(closed_within(&mut fifth, Duration::from_secs(2)).await, "the fifth connection is closed");
    assert!(!closed_within(&mut held[0], Duration::from_millis(200)).await, "the first four stay open");
    assert_eq!(server.get("/healthz", None).await.status(), 200, "other addresses are not affected");
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = connect_from_other_address(addr).await;
    again.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    again.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "a closed slot is free again: {answer}");
    let metrics = server.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("myvid_connections_refused_total 1"), "{metrics}");
}

#[tokio::test]
async fn a_client_that_sends_its_headers_too_slowly_is_cut_off() {
    let server = TestServer::start_with(|c| c.limits.header_timeout_secs = 1).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut slow, Duration::from_secs(5)).await, "still open after 5 s");
    assert!(started.elapsed() >= Duration::from_millis(900), "not before the deadline: {:?}", started.elapsed());
}

#[tokio::test]
async fn an_upload_whose_body_stalls_is_cut_off_and_stores_nothing() {
    let server = TestServer::start_with(|c| c.limits.body_idle_timeout_secs = 1).await;
    let token = server.signup("stall").await;
    let grant = server.new_upload(&token, "Stalled", "").await;
    let url = reqwest::Url::parse(grant["video_upload_url"].as_str().unwrap()).unwrap();
    let mut stream = TcpStream::connect(format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())).await.unwrap();
    let head = format!(
        "PUT {}?{} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n",
        url.path(),
        url.query().unwrap()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[0u8; 1000]).await.unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer)).await;
    assert!(read.is_ok(), "the server waited for the body for more than 10 s");
    assert!(started.elapsed() >= Duration::from_millis(900), "not before the deadline");
    assert!(!answer.starts_with("HTTP/1.1 200"), "a stalled upload is not stored: {answer}");
    let id = grant["id"].as_str().unwrap();
    assert!(!server.dir.path().join("data/objects/staging").join(id).join("video").exists());
}
