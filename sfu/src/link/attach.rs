//! One attached client: open `/SFU/attach/{client_id}`, hand a [`ClientLink`] to the
//! session code, then pump frames between the socket and the link's channels.
//!
//! ```text
//!  attach notice ─▶ open WS (Bearer) ─▶ ClientLink{incoming, outgoing} ─▶ clients
//!  socket text ──────────▶ incoming      (closed receiver: close the socket)
//!  socket     ◀────────── outgoing       (all senders dropped: close 1000)
//!  socket closed / silent ─▶ incoming ends · shutdown ─▶ close 1001
//! ```

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

use super::socket::{self, Due, KeepAlive, Ws};
use super::{ClientLink, LinkConfig};

/// Frames queued each way per client before the pump waits: a handful of signalling
/// messages (an offer and its candidates) fit; a stalled peer cannot grow memory.
const QUEUE_FRAMES: usize = 64;

/// Longest client id accepted from the endpoint (the protocol's id limit).
const MAX_CLIENT_ID_BYTES: usize = 64;

/// Opens the attach socket for `client_id` and serves it until it ends.
pub(super) async fn run(
    config: Arc<LinkConfig>,
    client_id: String,
    stream_id: String,
    clients: mpsc::Sender<ClientLink>,
    shutdown: CancellationToken,
) {
    let endpoint = &config.endpoint_url;
    // The id goes into a URL path: refuse anything but the endpoint's own alphabet.
    if !valid_client_id(&client_id) {
        tracing::warn!(%endpoint, ?client_id, "ignoring an attach with a malformed client id");
        return;
    }
    let url = format!("{}/SFU/attach/{client_id}", config.base_url());
    let Ok(request) = socket::request(&url, &config.secret) else { return };
    let mut ws = tokio::select! {
        () = shutdown.cancelled() => return,
        opened = socket::open(request, config.connect_timeout) => match opened {
            Ok(ws) => ws,
            Err(err) => {
                tracing::warn!(%endpoint, %client_id, %err, "cannot attach the client");
                return;
            }
        },
    };
    let _session = config.sessions.enter();
    let (to_session, incoming) = mpsc::channel(QUEUE_FRAMES);
    let (outgoing, from_session) = mpsc::channel(QUEUE_FRAMES);
    let link = ClientLink { client_id: client_id.clone(), stream_id, incoming, outgoing };
    if clients.send(link).await.is_err() {
        tracing::warn!(%endpoint, %client_id, "no one takes client links; closing");
        socket::close(&mut ws, CloseCode::Away, "SFU not accepting sessions").await;
        return;
    }
    pump(&config, &mut ws, to_session, from_session, &shutdown).await;
    tracing::debug!(%endpoint, %client_id, "client link closed");
}

fn valid_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_BYTES
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Moves frames between the socket and the session until either side ends.
async fn pump(
    config: &LinkConfig,
    ws: &mut Ws,
    to_session: mpsc::Sender<String>,
    mut from_session: mpsc::Receiver<String>,
    shutdown: &CancellationToken,
) {
    let mut keep = KeepAlive::new(config.keepalive, config.idle_timeout);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                socket::close(ws, CloseCode::Away, "SFU shutting down").await;
                return;
            }
            frame = from_session.recv() => match frame {
                Some(text) => {
                    if ws.send(Message::text(text)).await.is_err() {
                        return;
                    }
                }
                None => {
                    socket::close(ws, CloseCode::Normal, "").await;
                    return;
                }
            },
            incoming = ws.next() => {
                keep.heard();
                match incoming {
                    Some(Ok(Message::Text(text))) => {
                        if to_session.send(text.as_str().to_owned()).await.is_err() {
                            socket::close(ws, CloseCode::Normal, "").await;
                            return;
                        }
                    }
                    // The endpoint forwards text only; anything else carries nothing for us.
                    Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                }
            }
            due = keep.due() => match due {
                Due::Ping => {
                    if ws.send(socket::ping()).await.is_err() {
                        return;
                    }
                }
                Due::Silent => return,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_must_be_path_safe() {
        assert!(valid_client_id("c-AbC123xyz"));
        for bad in ["", "../SFU", "a/b", "a?b", "a b", &"x".repeat(65)] {
            assert!(!valid_client_id(bad), "{bad}");
        }
    }
}
