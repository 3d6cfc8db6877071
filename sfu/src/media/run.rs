//! The thin I/O loop around [`MediaPlane`]: one task, one UDP socket, one command channel.
//! The only place that reads the clock, and (through `super::dispatch`) the only one that
//! answers commands and sends sessions' events.
//!
//! ```text
//!            ┌──────────────────────── loop ────────────────────────┐
//!            │ send every pending datagram (poll_transmit)          │
//!            │ deliver every session event (poll_event)             │
//!            │ wake = poll_timeout()                                │
//!            │ select:                                              │
//!  socket ──▶│   readable  → up to RECV_BATCH datagrams, one `now`  │
//!  commands ▶│   command   → dispatch::serve (closed channel: stop) │
//!  timer ───▶│   wake      → handle_timeout                         │
//!            └──────────────────────────────────────────────────────┘
//! ```
//!
//! Batching: a readable socket is drained up to [`RECV_BATCH`] datagrams before anything
//! is flushed, so a burst of publisher packets becomes one pass over each viewer's peer
//! connection and one run of sends. Datagrams are received into one large buffer and split
//! off it, so the bytes handed to the plane are never copied. Sends go out
//! [`SEND_BATCH`] datagrams per `sendmmsg` (see `super::udp`).

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::BytesMut;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::command::{CommandReceiver, MediaHandle};
use super::config::{ConfigError, MediaConfig};
use super::dispatch::{self, Owners};
use super::plane::{MediaPlane, Transmit};
use super::udp::{self, SEND_BATCH};

/// Datagrams read per wake-up before the plane is flushed: a 30 fps keyframe of a
/// 2.5 Mbit/s stream is ~30 packets, so 64 takes in whole frames while bounding how long
/// commands and timers wait behind a flood.
pub const RECV_BATCH: usize = 64;

/// Largest datagram accepted. WebRTC keeps packets under the path MTU (~1,200–1,500
/// bytes); anything longer is not ours and is truncated by the kernel, then refused.
const MAX_DATAGRAM: usize = 2048;

/// Receive buffer: datagrams are split off its front, and it is renewed when less than
/// one datagram's room is left (one allocation per ~30 datagrams).
const RECV_BUFFER: usize = 64 * 1024;

/// Runs the media plane on `socket` until `shutdown` is cancelled or every
/// [`MediaHandle`] is dropped, then closes every session.
///
/// `config` is validated here; the socket's local address and
/// [`MediaConfig::announce_ip`] give the host candidate.
pub async fn run(
    config: MediaConfig,
    socket: UdpSocket,
    mut commands: CommandReceiver,
    shutdown: CancellationToken,
) -> Result<(), ConfigError> {
    config.validate()?;
    let local = socket.local_addr().map_err(|_| ConfigError::NoAnnounceAddress(config.bind))?;
    let announce = config.announce_addr(local)?;
    info!(%local, %announce, "media plane running");
    let mut plane = MediaPlane::new(config, announce, Instant::now());
    let mut buffer = BytesMut::with_capacity(RECV_BUFFER);
    let mut batch = Vec::with_capacity(SEND_BATCH);
    let mut owners = Owners::default();
    loop {
        send_all(&socket, &mut plane, &mut batch).await;
        owners.deliver_all(&mut plane);
        let wake = plane.poll_timeout();
        let timer = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            readable = socket.readable() => {
                if let Err(err) = readable {
                    warn!(%err, "socket not readable");
                    continue;
                }
                let now = Instant::now();
                for _ in 0..RECV_BATCH {
                    if buffer.capacity() - buffer.len() < MAX_DATAGRAM {
                        buffer = BytesMut::with_capacity(RECV_BUFFER);
                    }
                    match receive(&socket, &mut buffer) {
                        Ok(Some((datagram, from))) => plane.handle_datagram(now, from, datagram),
                        Ok(None) => break,
                        Err(err) => {
                            // ICMP errors surface here on some platforms: not fatal.
                            debug!(%err, "receive failed");
                            break;
                        }
                    }
                }
            }
            command = commands.recv() => match command {
                Some(command) => dispatch::serve(&mut plane, &mut owners, Instant::now(), command),
                None => break,
            },
            () = timer => plane.handle_timeout(Instant::now()),
            () = shutdown.cancelled() => break,
        }
    }
    plane.close_all(Instant::now());
    send_all(&socket, &mut plane, &mut batch).await;
    owners.deliver_all(&mut plane);
    info!(stats = ?plane.stats(), "media plane stopped");
    Ok(())
}

/// Sends every datagram the plane has queued, [`SEND_BATCH`] per system call.
async fn send_all(socket: &UdpSocket, plane: &mut MediaPlane, batch: &mut Vec<Transmit>) {
    loop {
        batch.clear();
        while batch.len() < SEND_BATCH {
            match plane.poll_transmit() {
                Some(transmit) => batch.push(transmit),
                None => break,
            }
        }
        if batch.is_empty() {
            return;
        }
        udp::send_batch(socket, batch).await;
    }
}

/// One datagram split off `buffer`, `None` when the socket has nothing more.
fn receive(socket: &UdpSocket, buffer: &mut BytesMut) -> io::Result<Option<(BytesMut, SocketAddr)>> {
    match socket.try_recv_buf_from(buffer) {
        Ok((_, from)) => Ok(Some((buffer.split(), from))),
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(err) => Err(err),
    }
}

/// A running media plane: its handle, its socket's address, and its task.
#[derive(Debug)]
pub struct MediaServer {
    /// Send commands here (clone freely; the task stops when every clone is dropped).
    pub handle: MediaHandle,
    /// The bound socket address.
    pub local_addr: SocketAddr,
    /// The task (resolves when the plane stops).
    pub task: tokio::task::JoinHandle<Result<(), ConfigError>>,
}

/// Binds `config.bind` and spawns [`run`] on the current tokio runtime; the task stops
/// when every [`MediaHandle`] is dropped.
pub async fn spawn(config: MediaConfig) -> io::Result<MediaServer> {
    spawn_with_shutdown(config, CancellationToken::new()).await
}

/// [`spawn`], also stopping (every session closed, viewers told the stream ended) when
/// `shutdown` is cancelled.
pub async fn spawn_with_shutdown(config: MediaConfig, shutdown: CancellationToken) -> io::Result<MediaServer> {
    config.validate().map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
    let socket = udp::bind(config.bind).await?;
    let local_addr = socket.local_addr()?;
    config.announce_addr(local_addr).map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
    let (handle, commands) = MediaHandle::channel();
    let task = tokio::spawn(run(config, socket, commands, shutdown));
    Ok(MediaServer { handle, local_addr, task })
}
