//! ICE settings with the endpoint's own TURN server: `GET /API/ICE` (anonymous or
//! signed in) and NEWSTREAM hand out `stun:` and `turn:` URLs of the TURN server
//! `myvid dev` runs, with `<expiry>:<user>` credentials that verify — and that the
//! running TURN server accepts until they expire (on the server's clock); and that
//! TURN relays to the in-process SFU's loopback media socket with no extra config, and
//! to no other internal address.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use myvid_core::turn_credentials;
use myvid_store::{MetaStore, ServerKind, SqliteMeta};
use serde_json::{Value, json};
use support::TestServer;
use tokio::net::UdpSocket;
use turn::client::{Client, ClientConfig};
use webrtc_util::Conn;

const SECRET: &str = "turn-secret-for-the-api-tests";
const LIFETIME: i64 = 600;

async fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.turn.secret = Some(SECRET.into());
        c.turn.credential_lifetime_secs = LIFETIME;
        c.live.ice_servers = vec!["stun:stun.example.org:3478".into()];
    })
    .await
}

/// The `turn:` entry of an `ice_servers` list, after checking the list's shape.
fn turn_entry(ice_servers: &Value) -> (String, String, String) {
    let list = ice_servers.as_array().expect("a list");
    assert_eq!(list.len(), 3, "configured STUN, our STUN, our TURN: {ice_servers}");
    assert_eq!(list[0], json!({"urls": ["stun:stun.example.org:3478"]}));
    let stun = list[1]["urls"][0].as_str().unwrap();
    let turn = &list[2];
    let turn_url = turn["urls"][0].as_str().unwrap();
    let addr = stun.strip_prefix("stun:").expect("a stun: URL");
    assert!(addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"), "the bound loopback port: {addr}");
    assert_eq!(turn_url, format!("turn:{addr}?transport=udp"));
    assert!(list[1].get("username").is_none());
    (addr.to_owned(), turn["username"].as_str().unwrap().to_owned(), turn["credential"].as_str().unwrap().to_owned())
}

/// Checks `username` is `<now + LIFETIME>:<user>` with a password that verifies;
/// returns the user part.
fn check_credential(username: &str, password: &str) -> String {
    let (expiry, user) = username.split_once(':').expect("<expiry>:<user>");
    let now = myvid_core::Clock::system().now();
    let expiry: i64 = expiry.parse().unwrap();
    // The test server's clock stands still at its start, a moment ago.
    assert!((now + LIFETIME - 60..=now + LIFETIME).contains(&expiry), "expiry {expiry} ≈ now {now} + {LIFETIME}");
    assert_eq!(password, turn_credentials::password(SECRET.as_bytes(), username), "the password verifies");
    assert!(turn_credentials::check_username(username, now).is_ok());
    user.to_owned()
}

async fn turn_client(addr: &str, username: &str, password: &str) -> Client {
    let conn = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let client = Client::new(ClientConfig {
        stun_serv_addr: addr.into(),
        turn_serv_addr: addr.into(),
        username: username.into(),
        password: password.into(),
        realm: "myvid".into(),
        software: String::new(),
        rto_in_ms: 0,
        conn,
        vnet: None,
    })
    .await
    .unwrap();
    client.listen().await.unwrap();
    client
}

#[tokio::test]
async fn anonymous_viewers_get_turn_credentials_that_the_turn_server_accepts_until_they_expire() {
    let server = server().await;
    let ice: Value = server.get("/API/ICE", None).await.json().await.unwrap();
    let (addr, username, password) = turn_entry(&ice["ice_servers"]);
    let user = check_credential(&username, &password);
    assert!(user.starts_with("anon-"), "an anonymous user: {user}");
    let again: Value = server.get("/v1/ice", None).await.json().await.unwrap();
    let (_, other, _) = turn_entry(&again["ice_servers"]);
    assert_ne!(other, username, "each anonymous viewer is a user of its own");

    let client = turn_client(&addr, &username, &password).await;
    let relay = client.allocate().await.expect("the handed-out credential allocates");
    let metrics = server.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("myvid_turn_allocations 1"), "{metrics}");
    drop(relay);
    client.close().await.unwrap();

    // Past the expiry on the server's clock the same credential is refused.
    server.clock.advance(LIFETIME + 1);
    let late = turn_client(&addr, &username, &password).await;
    assert!(late.allocate().await.is_err(), "an expired credential must not allocate");
    late.close().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn signed_in_callers_and_broadcasters_get_credentials_for_their_user_id() {
    let server = server().await;
    let token = server.signup("caster").await;
    let me: Value = server.get("/v1/me", Some(&token)).await.json().await.unwrap();
    let id = me["id"].as_i64().unwrap().to_string();

    let ice: Value = server.get("/API/ICE", Some(&token)).await.json().await.unwrap();
    let (_, username, password) = turn_entry(&ice["ice_servers"]);
    assert_eq!(check_credential(&username, &password), id);

    let grant: Value =
        server.post_json("/API/NEWSTREAM/", Some(&token), json!({"title": "TURN show"})).await.json().await.unwrap();
    let (_, username, password) = turn_entry(&grant["ice_servers"]);
    assert_eq!(check_credential(&username, &password), id);
    server.stop().await;
}

#[tokio::test]
async fn without_turn_only_the_configured_servers_are_handed_out() {
    let server = TestServer::start_with(|c| {
        c.turn.enabled = false;
        c.live.ice_servers = vec!["stun:stun.example.org:3478".into()];
    })
    .await;
    let ice: Value = server.get("/API/ICE", None).await.json().await.unwrap();
    assert_eq!(ice, json!({"ice_servers": [{"urls": ["stun:stun.example.org:3478"]}]}));
    server.stop().await;
}

/// One counter's value from `/metrics` (0 when absent).
async fn metric(server: &TestServer, name: &str) -> u64 {
    let text = server.get("/metrics", None).await.text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0)
}

/// The in-process SFU's media socket, from its registry entry (bounded wait).
async fn sfu_media_socket(server: &TestServer) -> SocketAddr {
    let meta = SqliteMeta::open(&server.dir.path().join("data/meta.sqlite3")).await.unwrap();
    for _ in 0..250 {
        if let Some(sfu) = meta.live_servers(ServerKind::Sfu, 0).await.unwrap().first() {
            return sfu.url.strip_prefix("udp://").expect("udp://ip:port").parse().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the SFU did not register");
}

#[tokio::test]
async fn out_of_the_box_turn_reaches_the_sfu_of_myvid_dev_and_no_other_internal_address() {
    // No `turn.allow_peer_ranges`: the SFU's media socket is on 127.0.0.1.
    let server = server().await;
    let sfu = sfu_media_socket(&server).await;
    assert!(sfu.ip().is_loopback(), "{sfu}");
    let ice: Value = server.get("/API/ICE", None).await.json().await.unwrap();
    let (addr, username, password) = turn_entry(&ice["ice_servers"]);
    let client = turn_client(&addr, &username, &password).await;
    let relay = client.allocate().await.expect("allocation");

    // The SFU is reached (its address is picked up from the registry within a
    // heartbeat interval, hence the retries).
    for _ in 0..250 {
        relay.send_to(b"stun-ish probe", sfu).await.unwrap();
        if metric(&server, "myvid_turn_relayed_bytes_total").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(metric(&server, "myvid_turn_relayed_bytes_total").await > 0, "datagrams to the SFU are relayed");

    // Nothing else internal: the API's own port, another loopback port, a private
    // address, the cloud metadata service.
    let api: SocketAddr = server.url.strip_prefix("http://").unwrap().parse().unwrap();
    let others = [api, SocketAddr::new(sfu.ip(), sfu.port() ^ 1), "10.1.2.3:5000".parse().unwrap()];
    let others = others.into_iter().chain(["169.254.169.254:80".parse().unwrap()]);
    let relayed = metric(&server, "myvid_turn_relayed_bytes_total").await;
    for other in others {
        // Sent again until it shows up as blocked (the first may still wait on the
        // client's permission exchange when the machine is busy).
        let before = metric(&server, "myvid_turn_blocked_packets_total").await;
        let mut blocked = before;
        for _ in 0..250 {
            relay.send_to(b"elsewhere", other).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            blocked = metric(&server, "myvid_turn_blocked_packets_total").await;
            if blocked > before {
                break;
            }
        }
        assert!(blocked > before, "the datagram to {other} is blocked");
    }
    assert_eq!(metric(&server, "myvid_turn_relayed_bytes_total").await, relayed, "none of them relayed");
    relay.close().await.unwrap();
    client.close().await.unwrap();
    server.stop().await;
}
