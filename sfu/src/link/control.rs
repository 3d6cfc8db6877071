//! The control connection's loop: connect, register, serve, and after any loss wait
//! out the backoff and start again.
//!
//! ```text
//!  loop:  Connecting{attempt} ─▶ open WS /SFU ─▶ await registered ─▶ Registered
//!           │ fail: attempt += 1                                      │
//!           ▼                                                         ▼
//!         sleep backoff.delay(attempt - 1)            serve: attach ─▶ spawn attach task
//!           ▲                                                load tick ─▶ load report
//!           │                                      hosted set changed ─▶ hosting / released
//!           └──────────── socket lost (attempt = 0) ◀───────  ping / silence
//!  shutdown (any time) ─▶ close 1001 ─▶ Stopped
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use myvid_proto::control::{EndpointMessage, SfuMessage};
use myvid_proto::{parse, to_frame};
use tokio::sync::{mpsc, watch};
use tokio::time::{MissedTickBehavior, interval, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

use super::socket::{self, Due, KeepAlive, Ws};
use super::{ClientLink, LinkConfig, LinkState, attach};

/// How one connection ended.
enum Ended {
    /// The shutdown token was cancelled.
    Shutdown,
    /// Lost or refused; `registered` if it got as far as registering.
    Lost {
        /// Whether the endpoint had registered us on this connection.
        registered: bool,
    },
}

/// Runs the link until `shutdown`.
pub(super) async fn run(
    config: Arc<LinkConfig>,
    clients: mpsc::Sender<ClientLink>,
    shutdown: CancellationToken,
    state: watch::Sender<LinkState>,
) {
    // `state` starts as `Connecting { attempt: 0 }`.
    let mut attempt: u32 = 0;
    loop {
        match connection(&config, &clients, &shutdown, &state).await {
            Ended::Shutdown => break,
            Ended::Lost { registered: true } => attempt = 0,
            Ended::Lost { registered: false } => attempt = attempt.saturating_add(1),
        }
        state.send_replace(LinkState::Connecting { attempt });
        // Even the first try after losing a registration waits a little: when an
        // endpoint restarts, all its SFUs lose it at once.
        let delay = config.backoff.delay(attempt.saturating_sub(1), rand::random::<f64>());
        tracing::debug!(endpoint = %config.endpoint_url, ?delay, attempt, "reconnecting after a pause");
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(delay) => {}
        }
    }
    state.send_replace(LinkState::Stopped);
    tracing::info!(endpoint = %config.endpoint_url, "link stopped");
}

/// One control connection, from dialling to its end.
async fn connection(
    config: &Arc<LinkConfig>,
    clients: &mpsc::Sender<ClientLink>,
    shutdown: &CancellationToken,
    state: &watch::Sender<LinkState>,
) -> Ended {
    let endpoint = &config.endpoint_url;
    // Checked in `connect`: a failure here cannot happen, but is a loss, not a panic.
    let Ok(request) = socket::request(&format!("{}/SFU", config.base_url()), &config.secret) else {
        return Ended::Lost { registered: false };
    };
    let mut ws = tokio::select! {
        () = shutdown.cancelled() => return Ended::Shutdown,
        opened = socket::open(request, config.connect_timeout) => match opened {
            Ok(ws) => ws,
            Err(err) => {
                tracing::warn!(%endpoint, %err, "cannot reach the endpoint");
                return Ended::Lost { registered: false };
            }
        },
    };
    let sfu_id = tokio::select! {
        () = shutdown.cancelled() => {
            socket::close(&mut ws, CloseCode::Away, "SFU shutting down").await;
            return Ended::Shutdown;
        }
        registered = timeout(config.connect_timeout, registration(&mut ws)) => match registered {
            Ok(Some(sfu_id)) => sfu_id,
            _ => {
                tracing::warn!(%endpoint, "the endpoint did not register us");
                return Ended::Lost { registered: false };
            }
        },
    };
    tracing::info!(%endpoint, %sfu_id, "registered with the endpoint");
    state.send_replace(LinkState::Registered { sfu_id: sfu_id.clone() });
    serve(config, clients, shutdown, &mut ws).await
}

/// Waits for `registered`; `None` if the socket ends or says something else first.
async fn registration(ws: &mut Ws) -> Option<String> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(text)) => {
                return match parse::<EndpointMessage>(text.as_str()) {
                    Ok(EndpointMessage::Registered { sfu_id }) => Some(sfu_id),
                    _ => None,
                };
            }
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            _ => return None,
        }
    }
}

/// Serves a registered control socket until it is lost or shutdown.
async fn serve(
    config: &Arc<LinkConfig>,
    clients: &mpsc::Sender<ClientLink>,
    shutdown: &CancellationToken,
    ws: &mut Ws,
) -> Ended {
    let endpoint = &config.endpoint_url;
    let lost = Ended::Lost { registered: true };
    let mut keep = KeepAlive::new(config.keepalive, config.idle_timeout);
    // The first tick is immediate: the endpoint learns our load as soon as we register.
    let mut load = interval(config.load_interval);
    load.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Every stream live here is announced at once, then each change.
    let mut hosted = config.hosted.subscribe();
    hosted.mark_changed();
    let mut announced = BTreeSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                socket::close(ws, CloseCode::Away, "SFU shutting down").await;
                return Ended::Shutdown;
            }
            incoming = ws.next() => {
                keep.heard();
                match incoming {
                    Some(Ok(Message::Text(text))) => match parse::<EndpointMessage>(text.as_str()) {
                        Ok(EndpointMessage::Attach { client_id, stream_id }) => {
                            tracing::debug!(%endpoint, %client_id, %stream_id, "attach");
                            let task = attach::run(config.clone(), client_id, stream_id, clients.clone(), shutdown.clone());
                            tokio::spawn(task);
                        }
                        Ok(EndpointMessage::Registered { .. }) => {
                            tracing::warn!(%endpoint, "ignoring a second `registered`");
                        }
                        Err(err) => tracing::warn!(%endpoint, %err, "ignoring a bad control frame"),
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Binary(_))) => tracing::warn!(%endpoint, "ignoring a binary control frame"),
                    Some(Ok(Message::Close(frame))) => {
                        tracing::warn!(%endpoint, ?frame, "the endpoint closed the control socket");
                        return lost;
                    }
                    Some(Err(err)) => {
                        tracing::warn!(%endpoint, %err, "control socket failed");
                        return lost;
                    }
                    None => return lost,
                }
            }
            _ = load.tick() => {
                let report = SfuMessage::Load { sessions: config.load() };
                if ws.send(Message::text(to_frame(&report))).await.is_err() {
                    return lost;
                }
            }
            Ok(()) = hosted.changed() => {
                let now = hosted.borrow_and_update().clone();
                let started = now.difference(&announced).map(|id| SfuMessage::Hosting { stream_id: id.clone() });
                let ended = announced.difference(&now).map(|id| SfuMessage::Released { stream_id: id.clone() });
                let messages: Vec<SfuMessage> = started.chain(ended).collect();
                for message in messages {
                    if ws.send(Message::text(to_frame(&message))).await.is_err() {
                        return lost;
                    }
                }
                announced = now;
            }
            due = keep.due() => match due {
                Due::Ping => {
                    if ws.send(socket::ping()).await.is_err() {
                        return lost;
                    }
                }
                Due::Silent => {
                    tracing::warn!(%endpoint, "control socket silent; reconnecting");
                    return lost;
                }
            },
        }
    }
}
