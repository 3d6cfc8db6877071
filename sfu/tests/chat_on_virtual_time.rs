//! A stream's chat room driven on virtual time: the token bucket per user, the
//! character limit after trimming, mutes and their end, moderators' deletes, the
//! history newcomers get, read-only anonymous members and the viewer-count throttle.
//! No sockets, no sleeps: time is a number of milliseconds the test moves on.

use myvid_proto::chat::{ChatLine, ChatRefusalCode};
use myvid_proto::signal::ServerMessage;
use myvid_sfu::chat::{ChatIdentity, ChatLimits, MemberId, Refusal, Room, RoomEvent, VIEWER_COUNT_INTERVAL_MS};

/// Some wall-clock time in 2026, so `at_ms` and `until_ms` look like the real thing.
const T0: u64 = 1_767_000_000_000;

fn user(user_id: i64, name: &str) -> Option<ChatIdentity> {
    Some(ChatIdentity { user_id, name: name.to_owned(), moderator: false })
}

fn moderator(user_id: i64, name: &str) -> Option<ChatIdentity> {
    Some(ChatIdentity { user_id, name: name.to_owned(), moderator: true })
}

fn join(room: &mut Room, identity: Option<ChatIdentity>) -> MemberId {
    room.handle_join(identity).0
}

/// Sends `text` and returns the accepted line, failing the test on a refusal.
fn say(room: &mut Room, member: MemberId, text: &str, now: u64) -> ChatLine {
    match room.handle_send(member, text, None, now) {
        Ok(RoomEvent::Message(line)) => line,
        other => panic!("{text:?} at {now} was not accepted: {other:?}"),
    }
}

fn history_ids(room: &Room) -> Vec<String> {
    room.history().map(|line| line.id.clone()).collect()
}

#[test]
fn five_messages_at_once_then_the_sixth_waits_two_seconds() {
    let mut room = Room::new(ChatLimits::default());
    let alice = join(&mut room, user(1, "alice"));
    for i in 0..5 {
        say(&mut room, alice, &format!("hello {i}"), T0);
    }
    assert_eq!(room.handle_send(alice, "sixth", None, T0), Err(Refusal::RateLimited { retry_after_ms: 2_000 }));
    assert_eq!(room.handle_send(alice, "sixth", None, T0 + 1_500), Err(Refusal::RateLimited { retry_after_ms: 500 }));
    assert_eq!(say(&mut room, alice, "sixth", T0 + 2_000).text, "sixth");
    // Only one token came back in those 2 s.
    assert_eq!(
        room.handle_send(alice, "seventh", None, T0 + 2_000),
        Err(Refusal::RateLimited { retry_after_ms: 2_000 })
    );
    // Ten quiet seconds fill the bucket again: five more at once, not six.
    for i in 0..5 {
        say(&mut room, alice, &format!("again {i}"), T0 + 12_000);
    }
    assert!(room.handle_send(alice, "too many", None, T0 + 12_000).is_err());
}

#[test]
fn a_refusal_tells_only_the_sender_with_its_nonce_and_wait() {
    let mut room = Room::new(ChatLimits { burst: 1, ..ChatLimits::default() });
    let alice = join(&mut room, user(1, "alice"));
    say(&mut room, alice, "one", T0);
    let refusal = room.handle_send(alice, "two", Some("n7".into()), T0 + 200).unwrap_err();
    let ServerMessage::ChatRefused { code, retry_after_ms, nonce, message } = refusal.to_message(Some("n7".into()))
    else {
        panic!("not a chat_refused frame")
    };
    assert_eq!((code, retry_after_ms, nonce.as_deref()), (ChatRefusalCode::RateLimited, Some(1_800), Some("n7")));
    assert_eq!(message, "Slow down: you can send again in 2 seconds.");
}

#[test]
fn the_sender_s_nonce_comes_back_on_its_message_but_not_in_history() {
    let mut room = Room::new(ChatLimits::default());
    let alice = join(&mut room, user(1, "alice"));
    let Ok(RoomEvent::Message(line)) = room.handle_send(alice, "hi", Some("n1".into()), T0) else { panic!("refused") };
    assert_eq!(
        line,
        ChatLine { id: "m1".into(), user: "alice".into(), text: "hi".into(), at_ms: T0, nonce: Some("n1".into()) }
    );
    assert_eq!(room.history().next().and_then(|l| l.nonce.clone()), None);
}

#[test]
fn three_hundred_characters_after_trimming_is_the_limit() {
    let mut room = Room::new(ChatLimits { burst: 100, ..ChatLimits::default() });
    let alice = join(&mut room, user(1, "alice"));
    let max = "é".repeat(300);
    assert_eq!(say(&mut room, alice, &max, T0).text, max, "300 two-byte characters");
    assert_eq!(
        room.handle_send(alice, &"é".repeat(301), None, T0),
        Err(Refusal::TooLong { chars: 301, max_chars: 300 })
    );
    let padded = format!("  \t{max}\u{3000} \n");
    assert_eq!(say(&mut room, alice, &padded, T0).text, max, "whitespace around 300 characters is trimmed");
    assert_eq!(room.handle_send(alice, " \t\n\u{3000}", None, T0), Err(Refusal::Empty));
    assert_eq!(room.handle_send(alice, "", None, T0), Err(Refusal::Empty));
    assert_eq!(
        room.handle_send(alice, &format!(" {}x ", "a".repeat(300)), None, T0).map_err(|r| r.code()),
        Err(ChatRefusalCode::TooLong)
    );
}

#[test]
fn refused_messages_cost_no_token() {
    let mut room = Room::new(ChatLimits::default());
    let alice = join(&mut room, user(1, "alice"));
    for _ in 0..10 {
        assert_eq!(room.handle_send(alice, "   ", None, T0), Err(Refusal::Empty));
        assert!(matches!(room.handle_send(alice, &"x".repeat(301), None, T0), Err(Refusal::TooLong { .. })));
    }
    for i in 0..5 {
        say(&mut room, alice, &format!("{i}"), T0);
    }
}

#[test]
fn a_mute_ends_by_itself() {
    let mut room = Room::new(ChatLimits::default());
    let boss = join(&mut room, moderator(9, "boss"));
    let bob = join(&mut room, user(2, "bob"));
    let line = say(&mut room, bob, "spam", T0);
    let until_ms = T0 + 600_000;
    assert_eq!(room.handle_mute(boss, &line.id, 600, T0), Ok(Some(RoomEvent::Muted { user: "bob".into(), until_ms })));
    assert_eq!(
        room.handle_send(bob, "more spam", None, T0 + 1_000),
        Err(Refusal::Muted { until_ms, retry_after_ms: 599_000 })
    );
    assert_eq!(room.muted_until(2, T0 + 599_999), Some(until_ms));
    assert!(room.handle_send(bob, "still muted", None, until_ms - 1).is_err());
    assert_eq!(say(&mut room, bob, "I'm back", until_ms).text, "I'm back");
    assert_eq!(room.muted_until(2, until_ms), None);
}

#[test]
fn a_mute_of_zero_seconds_lifts_it_and_follows_the_user_across_connections() {
    let mut room = Room::new(ChatLimits::default());
    let boss = join(&mut room, moderator(9, "boss"));
    let bob = join(&mut room, user(2, "bob"));
    let line = say(&mut room, bob, "spam", T0);
    room.handle_mute(boss, &line.id, 86_400, T0).unwrap();
    // Leaving and coming back (a new connection) does not lift it.
    room.handle_leave(bob, T0 + 10);
    let bob_again = join(&mut room, user(2, "bob"));
    assert!(matches!(room.handle_send(bob_again, "hi", None, T0 + 20), Err(Refusal::Muted { .. })));
    assert_eq!(
        room.handle_mute(boss, &line.id, 0, T0 + 30),
        Ok(Some(RoomEvent::Muted { user: "bob".into(), until_ms: 0 }))
    );
    assert_eq!(say(&mut room, bob_again, "thanks", T0 + 40).text, "thanks");
}

#[test]
fn a_deleted_message_can_still_get_its_author_muted() {
    let mut room = Room::new(ChatLimits::default());
    let boss = join(&mut room, moderator(9, "boss"));
    let bob = join(&mut room, user(2, "bob"));
    let line = say(&mut room, bob, "rude", T0);
    assert_eq!(room.handle_delete(boss, &line.id, T0), Ok(Some(RoomEvent::Deleted(line.id.clone()))));
    assert!(room.handle_mute(boss, &line.id, 60, T0).unwrap().is_some());
    assert!(matches!(room.handle_send(bob, "ruder", None, T0), Err(Refusal::Muted { .. })));
}

#[test]
fn only_moderators_delete_and_mute() {
    let mut room = Room::new(ChatLimits::default());
    let alice = join(&mut room, user(1, "alice"));
    let anonymous = join(&mut room, None);
    let line = say(&mut room, alice, "mine", T0);
    for member in [alice, anonymous] {
        assert_eq!(room.handle_delete(member, &line.id, T0), Err(Refusal::NotModerator));
        assert_eq!(room.handle_mute(member, &line.id, 60, T0), Err(Refusal::NotModerator));
    }
    assert_eq!(history_ids(&room), ["m1"]);
    assert_eq!(say(&mut room, alice, "not muted", T0).id, "m2");
}

#[test]
fn a_deleted_message_is_gone_from_history_and_unknown_ids_are_no_ops() {
    let mut room = Room::new(ChatLimits::default());
    let boss = join(&mut room, moderator(9, "boss"));
    let alice = join(&mut room, user(1, "alice"));
    for text in ["one", "two", "three"] {
        say(&mut room, alice, text, T0);
    }
    assert_eq!(room.handle_delete(boss, "m2", T0), Ok(Some(RoomEvent::Deleted("m2".into()))));
    assert_eq!(history_ids(&room), ["m1", "m3"]);
    let (_, welcome) = room.handle_join(None);
    assert_eq!(welcome.history.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["one", "three"]);
    // Deleting again is harmless and still tells everyone; ids never issued change nothing.
    assert_eq!(room.handle_delete(boss, "m2", T0), Ok(Some(RoomEvent::Deleted("m2".into()))));
    assert_eq!(room.handle_delete(boss, "m99", T0), Ok(None));
    assert_eq!(room.handle_mute(boss, "m99", 60, T0), Ok(None));
    assert_eq!(history_ids(&room), ["m1", "m3"]);
    // Ids go on increasing; a deleted one is never reused.
    assert_eq!(say(&mut room, alice, "four", T0).id, "m4");
}

#[test]
fn history_keeps_the_last_fifty() {
    let mut room = Room::new(ChatLimits::default());
    let ids: Vec<String> = (1..=60)
        .map(|i| {
            // A user each, so the buckets stay out of the way.
            let member = join(&mut room, user(i, &format!("user{i}")));
            say(&mut room, member, &format!("message {i}"), T0 + i as u64).id
        })
        .collect();
    assert_eq!(history_ids(&room), ids[10..]);
    let (_, welcome) = room.handle_join(None);
    assert_eq!(welcome.history.len(), 50);
    assert_eq!(welcome.history.first().map(|l| l.text.as_str()), Some("message 11"));
    assert_eq!(welcome.history.last().map(|l| (l.id.as_str(), l.at_ms)), Some(("m60", T0 + 60)));
}

#[test]
fn anonymous_members_read_but_cannot_write() {
    let mut room = Room::new(ChatLimits::default());
    let alice = join(&mut room, user(1, "alice"));
    say(&mut room, alice, "hello", T0);
    let (anonymous, welcome) = room.handle_join(None);
    assert_eq!(
        welcome.to_message(),
        ServerMessage::ChatJoined {
            can_write: false,
            moderator: false,
            name: None,
            history: vec![ChatLine {
                id: "m1".into(),
                user: "alice".into(),
                text: "hello".into(),
                at_ms: T0,
                nonce: None
            }],
            viewers: 0,
            max_chars: 300,
        }
    );
    assert_eq!(room.handle_send(anonymous, "let me in", None, T0), Err(Refusal::SignInRequired));
    assert_eq!(room.history().count(), 1);
    let (_, signed_in) = room.handle_join(moderator(9, "boss"));
    assert_eq!((signed_in.can_write, signed_in.moderator, signed_in.name.as_deref()), (true, true, Some("boss")));
}

#[test]
fn two_connections_of_one_user_share_a_bucket() {
    let mut room = Room::new(ChatLimits::default());
    let tab1 = join(&mut room, user(1, "alice"));
    let tab2 = join(&mut room, user(1, "alice"));
    let other = join(&mut room, user(2, "bob"));
    for i in 0..3 {
        say(&mut room, tab1, &format!("tab 1: {i}"), T0);
    }
    for i in 0..2 {
        say(&mut room, tab2, &format!("tab 2: {i}"), T0);
    }
    assert!(matches!(room.handle_send(tab1, "x", None, T0), Err(Refusal::RateLimited { .. })));
    assert!(matches!(room.handle_send(tab2, "x", None, T0), Err(Refusal::RateLimited { .. })));
    // Another user is not affected.
    say(&mut room, other, "bob here", T0);
    // Closing a tab and opening a new one does not refill the bucket.
    room.handle_leave(tab1, T0 + 1);
    room.handle_leave(tab2, T0 + 1);
    let tab3 = join(&mut room, user(1, "alice"));
    assert_eq!(room.handle_send(tab3, "x", None, T0 + 1), Err(Refusal::RateLimited { retry_after_ms: 1_999 }));
}

#[test]
fn the_viewer_count_goes_out_at_most_once_a_second_when_it_changed() {
    let mut room = Room::new(ChatLimits::default());
    assert_eq!(room.poll_timeout(), None);
    assert_eq!(room.handle_viewer_count(1, T0), Some(RoomEvent::Viewers(1)));
    // A burst of joins inside the second: nothing now, the latest count when it ends.
    for (i, count) in [2, 3, 4].into_iter().enumerate() {
        assert_eq!(room.handle_viewer_count(count, T0 + 100 * (i as u64 + 1)), None);
    }
    assert_eq!(room.poll_timeout(), Some(T0 + VIEWER_COUNT_INTERVAL_MS));
    assert_eq!(room.handle_timeout(T0 + VIEWER_COUNT_INTERVAL_MS - 1), None);
    assert_eq!(room.handle_timeout(T0 + VIEWER_COUNT_INTERVAL_MS), Some(RoomEvent::Viewers(4)));
    assert_eq!(room.poll_timeout(), None);
    // Newcomers get the latest count in their welcome.
    assert_eq!(room.handle_join(None).1.viewers, 4);
    // An unchanged count is never sent again, however much later.
    assert_eq!(room.handle_viewer_count(4, T0 + 60_000), None);
    assert_eq!(room.handle_timeout(T0 + 60_000), None);
    // A change after a quiet second goes out at once, as a `viewers` frame.
    let event = room.handle_viewer_count(5, T0 + 60_000);
    assert_eq!(event.map(|e| e.to_message()), Some(ServerMessage::Viewers { count: 5 }));
    // Up and back down inside the interval: nothing to send.
    assert_eq!(room.handle_viewer_count(6, T0 + 60_100), None);
    assert_eq!(room.handle_viewer_count(5, T0 + 60_200), None);
    assert_eq!(room.poll_timeout(), None);
}

#[test]
fn events_become_the_frames_every_member_gets() {
    let line = ChatLine { id: "m1".into(), user: "a".into(), text: "b".into(), at_ms: T0, nonce: None };
    assert_eq!(RoomEvent::Message(line.clone()).to_message(), ServerMessage::ChatMessage(line));
    assert_eq!(RoomEvent::Deleted("m1".into()).to_message(), ServerMessage::ChatDeleted { id: "m1".into() });
    assert_eq!(
        RoomEvent::Muted { user: "a".into(), until_ms: 5 }.to_message(),
        ServerMessage::ChatMuted { user: "a".into(), until_ms: 5 }
    );
}

#[test]
fn members_come_and_go() {
    let mut room = Room::new(ChatLimits::default());
    let a = join(&mut room, user(1, "alice"));
    let b = join(&mut room, None);
    assert_eq!(room.member_count(), 2);
    room.handle_leave(a, T0);
    room.handle_leave(a, T0);
    assert_eq!(room.member_count(), 1);
    // A member that left is anonymous to the room from then on.
    assert_eq!(room.handle_send(a, "ghost", None, T0), Err(Refusal::SignInRequired));
    room.handle_leave(b, T0);
    assert_eq!(room.member_count(), 0);
}
