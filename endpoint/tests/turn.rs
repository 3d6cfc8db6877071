//! The endpoint's TURN server against the `turn` crate's own client, over real UDP on
//! 127.0.0.1: time-limited credentials, the peer address policy (with the registered
//! SFUs' media sockets), the per-user quota, the bandwidth cap, and the allocation gauge.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use myvid_core::Clock;
use myvid_core::metrics::Metrics;
use myvid_core::turn_credentials::{TurnCredential, issue};
use myvid_endpoint::turn::sfu_peers::follow_registry;
use myvid_endpoint::turn::{PeerPolicy, TurnConfig, TurnServer};
use myvid_store::SqliteMeta;
use myvid_store::meta::{MetaStore, ServerEntry, ServerKind};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use turn::client::{Client, ClientConfig};
use webrtc_util::Conn;

const SECRET: &[u8] = b"turn-secret-for-tests";
const REALM: &str = "myvid";
/// How long a datagram that should not arrive is waited for.
const SILENCE: Duration = Duration::from_millis(400);
/// How long anything that should happen may take.
const DEADLINE: Duration = Duration::from_secs(5);

struct Harness {
    server: TurnServer,
    addr: SocketAddr,
    metrics: Arc<Metrics>,
}

struct Limits {
    allow: &'static [&'static str],
    max_allocations_per_user: usize,
    max_bytes_per_sec: u64,
}

const LOOPBACK_ALLOWED: Limits =
    Limits { allow: &["127.0.0.0/8"], max_allocations_per_user: 10, max_bytes_per_sec: 625_000 };

async fn start(limits: Limits) -> Harness {
    let metrics = Arc::new(Metrics::default());
    let config = TurnConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        announce_ip: None,
        realm: REALM.into(),
        secret: SECRET.to_vec(),
        policy: PeerPolicy::parse(limits.allow).unwrap(),
        max_allocations_per_user: limits.max_allocations_per_user,
        max_bytes_per_sec: limits.max_bytes_per_sec,
    };
    let (server, addr) = TurnServer::start(config, Clock::system(), metrics.clone()).await.unwrap();
    assert_eq!(server.public_addr(), addr, "without announce_ip the bound address is announced");
    Harness { server, addr, metrics }
}

fn now() -> i64 {
    Clock::system().now()
}

fn credential(user: &str) -> TurnCredential {
    issue(SECRET, user, now(), 3600)
}

async fn client(server: SocketAddr, username: &str, password: &str) -> Client {
    let conn = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let client = Client::new(ClientConfig {
        stun_serv_addr: server.to_string(),
        turn_serv_addr: server.to_string(),
        username: username.into(),
        password: password.into(),
        realm: REALM.into(),
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

async fn client_for(server: SocketAddr, cred: &TurnCredential) -> Client {
    client(server, &cred.username, &cred.password).await
}

async fn recv(socket: &UdpSocket, wait: Duration) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = [0u8; 1500];
    let (n, from) = tokio::time::timeout(wait, socket.recv_from(&mut buf)).await.ok()?.unwrap();
    Some((buf[..n].to_vec(), from))
}

/// Polls `probe` until it holds or [`DEADLINE`] passes.
async fn eventually(what: &str, probe: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !probe() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn valid_credentials_allocate_and_relay_both_ways_and_close_returns_the_allocation() {
    let h = start(LOOPBACK_ALLOWED).await;
    let c = client_for(h.addr, &credential("42")).await;
    let mapped = c.send_binding_request().await.expect("STUN Binding on the TURN port");
    assert_eq!(mapped.ip().to_string(), "127.0.0.1");

    let relay = c.allocate().await.expect("allocation");
    let relayed = relay.local_addr().unwrap();
    assert_eq!(relayed.ip().to_string(), "127.0.0.1");
    assert_eq!(h.metrics.turn_allocations.get(), 1);

    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    relay.send_to(b"hello peer", peer.local_addr().unwrap()).await.unwrap();
    let (got, from) = recv(&peer, DEADLINE).await.expect("the peer receives the relayed datagram");
    assert_eq!((got.as_slice(), from), (&b"hello peer"[..], relayed));

    peer.send_to(b"hello client", relayed).await.unwrap();
    let mut buf = [0u8; 1500];
    let (n, from) = tokio::time::timeout(DEADLINE, relay.recv_from(&mut buf)).await.unwrap().unwrap();
    assert_eq!((&buf[..n], from), (&b"hello client"[..], peer.local_addr().unwrap()));
    assert_eq!(h.metrics.turn_relayed_bytes.get(), 22);
    assert_eq!(h.metrics.turn_blocked_packets.get(), 0);

    relay.close().await.unwrap();
    eventually("the allocation is closed", || h.metrics.turn_allocations.get() == 0).await;
    c.close().await.unwrap();
    h.server.shutdown().await;
}

#[tokio::test]
async fn expired_credentials_are_refused() {
    let h = start(LOOPBACK_ALLOWED).await;
    let expired = issue(SECRET, "42", now() - 7200, 3600);
    let c = client_for(h.addr, &expired).await;
    assert!(c.allocate().await.is_err(), "an expired user name must not allocate");
    assert_eq!(h.metrics.turn_allocations.get(), 0);
    c.close().await.unwrap();
    h.server.shutdown().await;
}

#[tokio::test]
async fn forged_passwords_are_refused() {
    let h = start(LOOPBACK_ALLOWED).await;
    let good = credential("42");
    let other_secret = issue(b"not-the-secret", "42", now(), 3600);
    for password in ["wrong", other_secret.password.as_str()] {
        let c = client(h.addr, &good.username, password).await;
        assert!(c.allocate().await.is_err(), "password {password:?} must not allocate");
        c.close().await.unwrap();
    }
    // A later expiry with the old password: the user name is signed too.
    let later = format!("{}:42", now() + 999_999);
    let c = client(h.addr, &later, &good.password).await;
    assert!(c.allocate().await.is_err(), "a user name edited after signing must not allocate");
    c.close().await.unwrap();
    assert_eq!(h.metrics.turn_allocations.get(), 0);
    h.server.shutdown().await;
}

#[tokio::test]
async fn loopback_peers_are_unreachable_unless_allowed() {
    let h = start(Limits { allow: &[], ..LOOPBACK_ALLOWED }).await;
    let c = client_for(h.addr, &credential("42")).await;
    let relay = c.allocate().await.expect("allocation");
    let relayed = relay.local_addr().unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();

    relay.send_to(b"to loopback", peer.local_addr().unwrap()).await.unwrap();
    eventually("the datagram to 127.0.0.1 is blocked", || h.metrics.turn_blocked_packets.get() >= 1).await;
    assert!(recv(&peer, SILENCE).await.is_none(), "nothing may reach a loopback peer");

    // Nor may a loopback sender reach the client through the relay.
    let blocked = h.metrics.turn_blocked_packets.get();
    peer.send_to(b"from loopback", relayed).await.unwrap();
    eventually("the datagram from 127.0.0.1 is blocked", || h.metrics.turn_blocked_packets.get() > blocked).await;
    let mut buf = [0u8; 1500];
    assert!(tokio::time::timeout(SILENCE, relay.recv_from(&mut buf)).await.is_err(), "nothing reaches the client");
    assert_eq!(h.metrics.turn_relayed_bytes.get(), 0);

    relay.close().await.unwrap();
    c.close().await.unwrap();
    h.server.shutdown().await;
}

#[tokio::test]
async fn the_per_user_quota_refuses_the_extra_allocation() {
    let h = start(Limits { max_allocations_per_user: 2, ..LOOPBACK_ALLOWED }).await;
    let alice = credential("alice");
    let mut clients = Vec::new();
    let mut relays = Vec::new();
    for _ in 0..2 {
        let c = client_for(h.addr, &alice).await;
        relays.push(c.allocate().await.expect("within the quota"));
        clients.push(c);
    }
    let extra = client_for(h.addr, &alice).await;
    assert!(extra.allocate().await.is_err(), "a third allocation for alice is over the quota");
    assert_eq!(h.metrics.turn_allocations_refused.get(), 1);
    let bob = client_for(h.addr, &credential("bob")).await;
    let bobs = bob.allocate().await.expect("another user has a quota of their own");
    assert_eq!(h.metrics.turn_allocations.get(), 3);

    // Closing one of alice's allocations makes room again.
    relays.pop().unwrap().close().await.unwrap();
    eventually("alice's allocation is closed", || h.metrics.turn_allocations.get() == 2).await;
    let again = client_for(h.addr, &alice).await;
    let relay = again.allocate().await.expect("room again after a close");

    relay.close().await.unwrap();
    bobs.close().await.unwrap();
    for r in relays {
        r.close().await.unwrap();
    }
    eventually("every allocation is closed", || h.metrics.turn_allocations.get() == 0).await;
    for c in clients.iter().chain([&extra, &bob, &again]) {
        c.close().await.unwrap();
    }
    h.server.shutdown().await;
}

#[tokio::test]
async fn the_bandwidth_cap_drops_what_exceeds_it() {
    // 12,500 bytes/s: a burst of 20 datagrams of 1,000 bytes exceeds one second's budget.
    let h = start(Limits { max_bytes_per_sec: 12_500, ..LOOPBACK_ALLOWED }).await;
    let c = client_for(h.addr, &credential("42")).await;
    let relay = c.allocate().await.expect("allocation");
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = peer.local_addr().unwrap();
    for _ in 0..20 {
        relay.send_to(&[7u8; 1000], to).await.unwrap();
    }
    eventually("datagrams over the cap are dropped", || h.metrics.turn_rate_limited_packets.get() >= 1).await;
    let mut received = 0;
    while recv(&peer, SILENCE).await.is_some() {
        received += 1;
    }
    assert!((1..=13).contains(&received), "{received} datagrams passed a cap of about 12");
    relay.close().await.unwrap();
    c.close().await.unwrap();
    h.server.shutdown().await;
}

/// An SFU's registry entry announcing its media socket at `media`.
fn sfu_entry(id: &str, media: SocketAddr) -> ServerEntry {
    ServerEntry {
        id: id.into(),
        kind: ServerKind::Sfu,
        url: format!("udp://{media}"),
        load: 0,
        turn: None,
        media: Some(media.to_string()),
        heartbeat_at: now(),
    }
}

#[tokio::test]
async fn turn_relays_to_registered_sfu_media_addresses_only() {
    // No allowed ranges: only the registry opens the way, and only to the SFU's socket.
    let h = start(Limits { allow: &[], ..LOOPBACK_ALLOWED }).await;
    let meta: Arc<dyn MetaStore> = Arc::new(SqliteMeta::open_in_memory().await.unwrap());
    let stop = CancellationToken::new();
    tokio::spawn(follow_registry(h.server.sfu_peers(), meta.clone(), Clock::system(), stop.clone()));
    let sfu = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sfu_addr = sfu.local_addr().unwrap();
    // Other internal services: another port of the same host, and unroutable ranges.
    let other_service = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    meta.heartbeat(sfu_entry("sfu-1", sfu_addr)).await.unwrap();
    eventually("the SFU's media socket is allowed", || h.server.sfu_peers().contains(sfu_addr)).await;

    let c = client_for(h.addr, &credential("viewer")).await;
    let relay = c.allocate().await.expect("allocation");
    let relayed = relay.local_addr().unwrap();
    relay.send_to(b"to the sfu", sfu_addr).await.unwrap();
    let (got, from) = recv(&sfu, DEADLINE).await.expect("the SFU receives the relayed datagram");
    assert_eq!((got.as_slice(), from), (&b"to the sfu"[..], relayed));
    sfu.send_to(b"from the sfu", relayed).await.unwrap();
    let mut buf = [0u8; 1500];
    let (n, from) = tokio::time::timeout(DEADLINE, relay.recv_from(&mut buf)).await.unwrap().unwrap();
    assert_eq!((&buf[..n], from), (&b"from the sfu"[..], sfu_addr));

    let others =
        [other_service.local_addr().unwrap(), "10.0.0.1:5000".parse().unwrap(), "169.254.169.254:80".parse().unwrap()];
    for (i, other) in others.into_iter().enumerate() {
        relay.send_to(b"elsewhere", other).await.unwrap();
        eventually(&format!("the datagram to {other} is blocked"), || h.metrics.turn_blocked_packets.get() > i as u64)
            .await;
    }
    assert!(recv(&other_service, SILENCE).await.is_none(), "nothing reaches another port of the SFU's host");

    // Once the SFU leaves the registry, its socket is out of reach too.
    meta.remove_server("sfu-1").await.unwrap();
    eventually("the departed SFU is no longer allowed", || !h.server.sfu_peers().contains(sfu_addr)).await;
    let blocked = h.metrics.turn_blocked_packets.get();
    relay.send_to(b"after it left", sfu_addr).await.unwrap();
    eventually("the datagram to the departed SFU is blocked", || h.metrics.turn_blocked_packets.get() > blocked).await;
    assert!(recv(&sfu, SILENCE).await.is_none());

    stop.cancel();
    relay.close().await.unwrap();
    c.close().await.unwrap();
    h.server.shutdown().await;
}
