//! Chat over the signalling session: connections of one stream that sent `chat_join`
//! share a room (two writers exchange messages, an anonymous member only reads); a
//! `chat_join` where the stream is not published is refused with `not_live`; a bad
//! token with `bad_token`; connections that never joined get no chat frame at all.

mod media_common;

use std::sync::Arc;
use std::time::Duration;

use media_common::{GOOD_TOKEN, WAIT, publisher_offer};
use myvid_proto::chat::ChatRefusalCode;
use myvid_proto::signal::{ClientMessage, ServerMessage};
use myvid_proto::{parse, to_frame};
use myvid_sfu::chat::{ChatIdentity, ChatLimits};
use myvid_sfu::media::{self, MediaConfig};
use myvid_sfu::session::{ChatConfig, MAX_CHAT_FRAMES_PER_SECOND, Signalling};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Signalling with chat; tokens are user names, `owner` moderates.
async fn signalling() -> (Arc<Signalling>, tokio_util::sync::CancellationToken) {
    let stop = tokio_util::sync::CancellationToken::new();
    let server = media::spawn_with_shutdown(MediaConfig::default(), stop.clone()).await.expect("media plane starts");
    let check = Box::new(|_stream: &str, token: &str| match token {
        "alice" | "bob" | "owner" => Ok(ChatIdentity {
            user_id: i64::from(token.as_bytes()[0]),
            name: token.to_owned(),
            moderator: token == "owner",
        }),
        _ => Err("unknown".to_owned()),
    });
    let signalling = Signalling::new(
        server.handle,
        Box::new(|_stream, token| if token == GOOD_TOKEN { Ok(()) } else { Err("wrong token".into()) }),
    )
    .with_chat(ChatConfig { check, limits: ChatLimits::default() });
    (Arc::new(signalling), stop)
}

struct Conn {
    to_server: mpsc::Sender<String>,
    from_server: mpsc::Receiver<String>,
}

impl Conn {
    fn open(signalling: &Arc<Signalling>, stream_id: &str) -> Conn {
        let (to_server, incoming) = mpsc::channel(64);
        let (outgoing, from_server) = mpsc::channel(64);
        let (signalling, stream_id) = (signalling.clone(), stream_id.to_owned());
        tokio::spawn(async move { signalling.serve(stream_id, incoming, outgoing).await });
        Conn { to_server, from_server }
    }

    async fn send(&self, message: &ClientMessage) {
        self.to_server.send(to_frame(message)).await.expect("session is running");
    }

    async fn recv(&mut self) -> ServerMessage {
        let frame = timeout(WAIT, self.from_server.recv()).await.expect("a frame in time").expect("session open");
        parse(&frame).expect("server frames parse")
    }

    /// Nothing more arrives for a while.
    async fn silent(&mut self) {
        let more = timeout(Duration::from_millis(200), self.from_server.recv()).await;
        assert!(more.is_err(), "expected no frame, got {more:?}");
    }

    async fn join(&mut self, token: Option<&str>) -> ServerMessage {
        self.send(&ClientMessage::ChatJoin { token: token.map(str::to_owned) }).await;
        self.recv().await
    }
}

fn refusal_code(message: &ServerMessage) -> ChatRefusalCode {
    match message {
        ServerMessage::ChatRefused { code, .. } => *code,
        other => panic!("expected chat_refused, got {other:?}"),
    }
}

fn message_text(message: &ServerMessage) -> (&str, &str) {
    match message {
        ServerMessage::ChatMessage(line) => (line.user.as_str(), line.text.as_str()),
        other => panic!("expected chat_message, got {other:?}"),
    }
}

#[tokio::test]
async fn members_of_one_room_exchange_messages_and_anonymous_ones_only_read() {
    let (signalling, _stop) = signalling().await;

    // Not published here: refused, and no room is left behind.
    let mut early = Conn::open(&signalling, "s1");
    assert_eq!(refusal_code(&early.join(Some("alice")).await), ChatRefusalCode::NotLive);
    assert!(signalling.chat_rooms().is_empty());

    let publisher = Conn::open(&signalling, "s1");
    let (offer, _pc) = publisher_offer().await;
    publisher.send(&ClientMessage::Publish { token: GOOD_TOKEN.into(), sdp: offer }).await;
    let mut publisher = publisher;
    assert!(matches!(publisher.recv().await, ServerMessage::Answer { .. }));
    assert!(matches!(publisher.recv().await, ServerMessage::Session { .. }));

    let mut alice = Conn::open(&signalling, "s1");
    let mut bob = Conn::open(&signalling, "s1");
    let mut anonymous = Conn::open(&signalling, "s1");
    let mut bystander = Conn::open(&signalling, "s1");
    let ServerMessage::ChatJoined { can_write: true, moderator: false, .. } = alice.join(Some("alice")).await else {
        panic!("alice joins as a writer")
    };
    assert!(matches!(bob.join(Some("bob")).await, ServerMessage::ChatJoined { can_write: true, .. }));
    let ServerMessage::ChatJoined { can_write: false, name: None, .. } = anonymous.join(None).await else {
        panic!("anonymous joins read only")
    };
    assert_eq!(refusal_code(&early.join(Some("forged")).await), ChatRefusalCode::BadToken);

    alice.send(&ClientMessage::ChatSend { text: " hello bob ".into(), nonce: Some("n1".into()) }).await;
    for conn in [&mut alice, &mut bob, &mut anonymous] {
        assert_eq!(message_text(&conn.recv().await), ("alice", "hello bob"));
    }
    bob.send(&ClientMessage::ChatSend { text: "hi alice".into(), nonce: None }).await;
    for conn in [&mut alice, &mut bob, &mut anonymous] {
        assert_eq!(message_text(&conn.recv().await), ("bob", "hi alice"));
    }

    // The anonymous member is told, and only it.
    anonymous.send(&ClientMessage::ChatSend { text: "me too".into(), nonce: Some("n9".into()) }).await;
    let refusal = anonymous.recv().await;
    assert_eq!(refusal_code(&refusal), ChatRefusalCode::SignInRequired);
    assert!(matches!(refusal, ServerMessage::ChatRefused { nonce: Some(ref n), .. } if n == "n9"));

    // A newcomer gets the history.
    let mut late = Conn::open(&signalling, "s1");
    let ServerMessage::ChatJoined { history, .. } = late.join(None).await else { panic!("late joins") };
    let texts: Vec<&str> = history.iter().map(|line| line.text.as_str()).collect();
    assert_eq!(texts, ["hello bob", "hi alice"]);

    // Those that never sent chat_join heard nothing, even of their own chat frames.
    bystander.send(&ClientMessage::ChatSend { text: "hey".into(), nonce: None }).await;
    bystander.silent().await;
    publisher.silent().await;
    alice.silent().await;
}

#[tokio::test]
async fn chat_frames_beyond_the_per_connection_rate_are_dropped() {
    let (signalling, _stop) = signalling().await;
    let mut publisher = Conn::open(&signalling, "s2");
    let (offer, _pc) = publisher_offer().await;
    publisher.send(&ClientMessage::Publish { token: GOOD_TOKEN.into(), sdp: offer }).await;
    assert!(matches!(publisher.recv().await, ServerMessage::Answer { .. }));

    let mut anonymous = Conn::open(&signalling, "s2");
    assert!(matches!(anonymous.join(None).await, ServerMessage::ChatJoined { .. }));
    // The join was one frame of this second; every refused send after it is another.
    for _ in 0..MAX_CHAT_FRAMES_PER_SECOND + 5 {
        anonymous.send(&ClientMessage::ChatSend { text: "x".into(), nonce: None }).await;
    }
    for _ in 1..MAX_CHAT_FRAMES_PER_SECOND {
        assert_eq!(refusal_code(&anonymous.recv().await), ChatRefusalCode::SignInRequired);
    }
    anonymous.silent().await;
}
