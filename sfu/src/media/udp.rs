//! The shared UDP socket: large kernel buffers, and sends batched into one `sendmmsg`
//! system call per [`SEND_BATCH`] datagrams (Linux; one `sendto` each elsewhere).
//!
//! Fan-out turns one publisher packet into one datagram per viewer, each to its own
//! address, so GSO (one destination per call) does not apply but `sendmmsg` does: with
//! 500 viewers a packet costs 8 system calls instead of 500.

use std::io::{self, IoSlice};
use std::net::SocketAddr;

use tokio::net::UdpSocket;
use tracing::{debug, info};

use super::plane::Transmit;

/// Datagrams per `sendmmsg` call (the kernel caps a call at 1,024 — `UIO_MAXIOV`).
pub const SEND_BATCH: usize = 64;

/// Receive and send buffer asked of the kernel. Bursts (a keyframe is dozens of packets,
/// and every viewer's RTCP and STUN keepalives arrive in between) overflow the usual
/// 208 KiB default, which drops datagrams; the kernel caps the request at
/// `net.core.rmem_max` / `wmem_max` (raise those on a media server: docs in
/// `infra/README.md`).
pub const SOCKET_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// Binds the media socket with [`SOCKET_BUFFER_BYTES`] buffers (as much as the kernel
/// grants).
pub async fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(addr).await?;
    let sock = socket2::SockRef::from(&socket);
    // Best effort: a smaller buffer still works, it just drops more under bursts.
    let _ = sock.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
    let _ = sock.set_send_buffer_size(SOCKET_BUFFER_BYTES);
    info!(
        recv_buffer = sock.recv_buffer_size().unwrap_or(0),
        send_buffer = sock.send_buffer_size().unwrap_or(0),
        "media socket buffers"
    );
    Ok(socket)
}

/// Sends every datagram in `batch` (at most [`SEND_BATCH`]), waiting while the socket's
/// send buffer is full. A datagram the kernel refuses (an unreachable address) is
/// logged and skipped; the batch goes on.
pub async fn send_batch(socket: &UdpSocket, batch: &[Transmit]) {
    let mut sent = 0;
    while sent < batch.len() {
        let rest = &batch[sent..];
        match socket.try_io(tokio::io::Interest::WRITABLE, || send_some(socket, rest)) {
            Ok(n) => sent += n.max(1),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                if let Err(err) = socket.writable().await {
                    debug!(%err, "socket not writable");
                    return;
                }
            }
            Err(err) => {
                // The first datagram of `rest` failed: skip it, keep the others.
                debug!(to = %rest[0].to, %err, "send failed");
                sent += 1;
            }
        }
    }
}

/// One `sendmmsg` call for as many of `batch` as the kernel takes; returns how many.
#[cfg(target_os = "linux")]
fn send_some(socket: &UdpSocket, batch: &[Transmit]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;

    use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, sendmmsg};

    let slices: Vec<[IoSlice<'_>; 1]> = batch.iter().map(|t| [IoSlice::new(&t.payload)]).collect();
    let addrs: Vec<Option<SockaddrStorage>> = batch.iter().map(|t| Some(SockaddrStorage::from(t.to))).collect();
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(batch.len(), None);
    let results =
        sendmmsg(socket.as_raw_fd(), &mut headers, &slices, &addrs, [], MsgFlags::empty()).map_err(io::Error::from)?;
    Ok(results.count())
}

/// One `sendto` (no `sendmmsg` here).
#[cfg(not(target_os = "linux"))]
fn send_some(socket: &UdpSocket, batch: &[Transmit]) -> io::Result<usize> {
    socket.try_send_to(&batch[0].payload, batch[0].to).map(|_| 1)
}
