//! The media plane against real sans-I/O `rtc` peers on virtual time (see `net`): ICE,
//! DTLS and SRTP as on the wire, without sockets or sleeps. Forwarding order and
//! sequence continuity, NACK answered by retransmission, keyframe requests both ways,
//! session events, and connect deadlines.

mod net;

use std::collections::BTreeSet;
use std::time::Duration;

use myvid_sfu::forward::KEYFRAME_MIN_INTERVAL;
use myvid_sfu::media::{MediaConfig, PlaneEvent, SessionEvent};
use net::{ClientId, Net, tag_of};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;

/// One frame's duration at 30 fps.
const FRAME: Duration = Duration::from_millis(33);
/// Packets per frame and their size.
const PACKETS: usize = 3;
const SIZE: usize = 1_000;

/// A connected publisher of "s" and a connected viewer of it.
fn live_pair() -> (Net, ClientId, ClientId) {
    let mut net = Net::new();
    let publisher = net.publisher("s", 0x1111);
    net.connect_all();
    let viewer = net.viewer("s");
    net.connect_all();
    (net, publisher, viewer)
}

/// Sends `frames` frames at 30 fps as a browser's encoder would: a keyframe first if
/// `keyframe_first`, and one on every keyframe request it reads. Returns the publisher's
/// sequence numbers sent, in order.
fn stream(net: &mut Net, publisher: ClientId, frames: usize, keyframe_first: bool) -> Vec<u16> {
    let mut sent = Vec::new();
    for f in 0..frames {
        let asked = net.take_keyframe_request(publisher);
        let keyframe = (f == 0 && keyframe_first) || asked;
        let first = next_seq(net, publisher);
        net.send_frame(publisher, keyframe, PACKETS, SIZE);
        sent.extend((0..PACKETS as u16).map(|i| first.wrapping_add(i)));
        net.run_for(FRAME);
    }
    sent
}

fn next_seq(net: &Net, publisher: ClientId) -> u16 {
    match net.clients[publisher].kind {
        net::Kind::Publisher { seq, .. } => seq,
        net::Kind::Viewer => panic!("not a publisher"),
    }
}

#[test]
fn a_viewer_gets_every_packet_in_order_with_contiguous_sequence_numbers() {
    let (mut net, publisher, viewer) = live_pair();
    let sent = stream(&mut net, publisher, 30, true);
    net.run_for(Duration::from_millis(100));

    let got: Vec<_> = net.clients[viewer].video().collect();
    let tags: Vec<u16> = got.iter().map(|p| tag_of(&p.payload)).collect();
    assert_eq!(tags, sent, "every packet, in the publisher's order");
    for pair in got.windows(2) {
        assert_eq!(pair[1].header.sequence_number, pair[0].header.sequence_number.wrapping_add(1), "no gap");
    }
    let (publisher_session, viewer_session) = (net.clients[publisher].session, net.clients[viewer].session);
    assert_eq!(net.events_of(publisher_session), [SessionEvent::Connected, SessionEvent::ViewerCount(1)]);
    assert_eq!(net.events_of(viewer_session), [SessionEvent::Connected]);
    assert_eq!(net.plane.stats().rtp_forwarded, sent.len() as u64);
}

#[test]
fn a_packet_lost_on_the_way_to_a_viewer_is_resent_after_its_nack() {
    let (mut net, publisher, viewer) = live_pair();
    let viewer_addr = net.clients[viewer].addr;
    let mut video_to_viewer = 0;
    net.loss = Box::new(move |d| {
        if d.to != viewer_addr || d.rtp_seq().is_none() || d.bytes.len() < SIZE {
            return false;
        }
        video_to_viewer += 1;
        video_to_viewer == 10
    });
    let sent = stream(&mut net, publisher, 30, true);
    net.run_for(Duration::from_millis(300));

    assert_eq!(net.dropped.len(), 1, "one video packet lost");
    let stats = net.plane.stats();
    assert!(stats.viewer_nacks >= 1, "the viewer's NACK reached the plane: {stats:?}");
    assert!(stats.retransmissions >= 1, "and was answered: {stats:?}");
    // Whether rtc hands the retransmission over as the original packet or as RTX (the
    // original sequence number in front of the payload), every packet sent is there.
    let got: BTreeSet<u16> = net.clients[viewer].video().map(|p| tag_of(&p.payload)).collect();
    let missing: Vec<u16> = sent.iter().filter(|s| !got.contains(s)).copied().collect();
    assert!(missing.is_empty(), "missing after the NACK: {missing:?}");
}

#[test]
fn a_late_viewer_makes_the_plane_ask_the_publisher_for_a_keyframe_and_starts_on_it() {
    let mut net = Net::new();
    let publisher = net.publisher("s", 0x1111);
    net.connect_all();
    stream(&mut net, publisher, 60, true);
    let requests_before = net.clients[publisher].keyframe_requests();
    let viewer = net.viewer("s");
    net.connect_all();
    stream(&mut net, publisher, 10, false);

    assert_eq!(net.clients[publisher].keyframe_requests(), requests_before + 1, "one keyframe request for the joiner");
    let first = net.clients[viewer].video().next().expect("the viewer got video");
    assert!(
        myvid_sfu::codec::keyframe::starts_keyframe(myvid_sfu::codec::Codec::Vp8, &first.payload),
        "the viewer's first video packet starts a keyframe"
    );
}

#[test]
fn a_viewers_keyframe_request_reaches_the_publisher() {
    let (mut net, publisher, viewer) = live_pair();
    // Past the throttle that the join's own request started.
    let frames = (KEYFRAME_MIN_INTERVAL.as_millis() / FRAME.as_millis()) as usize + 5;
    stream(&mut net, publisher, frames, true);
    let before = net.clients[publisher].keyframe_requests();
    let media_ssrc = net.clients[viewer].tracks.iter().map(|(_, ssrc, _)| *ssrc).next().expect("a track");
    net.send_feedback(viewer, vec![Box::new(PictureLossIndication { sender_ssrc: 0, media_ssrc })]);
    net.run_for(Duration::from_millis(50));

    assert_eq!(net.plane.stats().viewer_keyframe_requests, 1);
    assert_eq!(net.clients[publisher].keyframe_requests(), before + 1, "the publisher was asked");
}

#[test]
fn a_publisher_closed_by_its_owner_ends_its_viewers() {
    let (mut net, publisher, viewer) = live_pair();
    stream(&mut net, publisher, 5, true);
    let (publisher_session, viewer_session) = (net.clients[publisher].session, net.clients[viewer].session);
    let now = net.now;
    net.plane.close(now, publisher_session).expect("a known session");
    net.run_for(Duration::from_millis(50));

    assert_eq!(net.events_of(viewer_session).last(), Some(&SessionEvent::StreamEnded));
    assert!(net.gone(viewer_session) && net.gone(publisher_session));
    let gone_at = |id| net.events.iter().position(|e| *e == PlaneEvent::Gone(id));
    let ended_at = net.events.iter().position(|e| *e == PlaneEvent::Session(viewer_session, SessionEvent::StreamEnded));
    assert!(ended_at < gone_at(viewer_session), "the last event comes before Gone");
    assert_eq!(net.plane.stats().sessions, 0);
    assert!(net.plane.close(net.now, viewer_session).is_err(), "a gone session is unknown");
}

#[test]
fn a_viewer_that_never_connects_fails_at_its_connect_deadline() {
    let connect_timeout = Duration::from_secs(3);
    let mut net = Net::with_config(MediaConfig { connect_timeout, ..MediaConfig::default() });
    let publisher = net.publisher("s", 0x1111);
    net.connect_all();
    let viewer = net.viewer("s");
    let created = net.now;
    let viewer_addr = net.clients[viewer].addr;
    net.loss = Box::new(move |d| d.from == viewer_addr);
    let session = net.clients[viewer].session;
    net.run_until_true("the viewer is gone", connect_timeout * 2, |net| net.gone(session));

    let waited = net.now - created;
    assert!(
        waited >= connect_timeout && waited <= connect_timeout + Duration::from_millis(10),
        "gone after {waited:?}"
    );
    assert_eq!(net.events_of(session), [SessionEvent::Failed]);
    assert!(!net.gone(net.clients[publisher].session), "the publisher lives on");
}

/// Streams frames at 30 fps (answering keyframe requests) until `done` holds.
fn stream_until(net: &mut Net, publisher: ClientId, what: &str, done: impl Fn(&Net) -> bool) {
    for _ in 0..300 {
        if done(net) {
            return;
        }
        let keyframe = net.take_keyframe_request(publisher);
        net.send_frame(publisher, keyframe, PACKETS, SIZE);
        net.run_for(FRAME);
    }
    panic!("{what}: not within 10 s");
}

#[test]
fn a_viewer_joining_a_running_stream_starts_at_once_on_the_keyframe_asked_for_at_its_creation() {
    let mut net = Net::new();
    let publisher = net.publisher("s", 0x1111);
    net.connect_all();
    stream(&mut net, publisher, 60, true);
    let requests_before = net.clients[publisher].keyframe_requests();
    // A path of 40 ms each way, as to a viewer across a country: its ICE and DTLS take
    // a few round trips, and the keyframe asked for at its creation arrives meanwhile.
    net.delay = Duration::from_millis(40);

    let viewer = net.viewer("s");
    stream_until(&mut net, publisher, "the viewer connects", |net| net.clients[viewer].connected_at.is_some());
    net.run_for(Duration::from_millis(100));

    let client = &net.clients[viewer];
    let (connected, first_video) = (client.connected_at.unwrap(), client.first_video_at.expect("video at once"));
    // The SFU sends the replay as it sees the connection complete; it arrives one
    // network delay later.
    assert!(first_video - connected <= net.delay * 2, "first video {:?} after connecting", first_video - connected);
    let video: Vec<_> = client.video().collect();
    assert!(
        myvid_sfu::codec::keyframe::starts_keyframe(myvid_sfu::codec::Codec::Vp8, &video[0].payload),
        "the replay starts with the keyframe"
    );
    for pair in video.windows(2) {
        assert_eq!(
            pair[1].header.sequence_number,
            pair[0].header.sequence_number.wrapping_add(1),
            "replay runs into live"
        );
    }
    assert_eq!(net.plane.stats().instant_starts, 1);
    assert_eq!(
        net.clients[publisher].keyframe_requests(),
        requests_before + 1,
        "one request, at the session's creation"
    );
}

#[test]
fn a_viewer_whose_keyframe_is_stale_waits_for_a_new_one() {
    let mut net = Net::new();
    let publisher = net.publisher("s", 0x1111);
    net.connect_all();
    stream(&mut net, publisher, 60, true);
    // The publisher ignores keyframe requests (its encoder is slow): when the viewer
    // connects, the only keyframe is two seconds old.
    let viewer = net.viewer("s");
    for _ in 0..10 {
        net.send_frame(publisher, false, PACKETS, SIZE);
        net.run_for(FRAME);
    }
    assert!(net.clients[viewer].connected_at.is_some());
    assert_eq!(net.clients[viewer].first_video_at, None, "nothing stale is replayed");
    assert_eq!(net.plane.stats().instant_starts, 0);
    stream(&mut net, publisher, 5, true);
    assert!(net.clients[viewer].first_video_at.is_some(), "video from the next keyframe");
}
