//! The HTTP server loop every role uses: hyper's HTTP/1.1 connection per accepted
//! socket, with what `axum::serve` does not offer — a deadline for a request's headers
//! and an idle deadline for its body (slowloris), a cap on open connections per
//! client IP, and the client's address handed to handlers (`ConnectInfo`) for the
//! abuse limits.
//!
//! ```text
//! accept ──▶ per-IP count < max? ──no──▶ close (myvid_connections_refused_total)
//!              │ yes: GuardedIo holds the count until the socket closes (upgrades too)
//!              ▼
//!  hyper http1 (header_read_timeout, upgrades) ──▶ Router (+ ConnectInfo, body idle timeout)
//! shutdown: stop accepting, ask every connection to finish its request, wait ≤ DRAIN_TIMEOUT
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::extract::connect_info::ConnectInfo;
use axum::http::HeaderValue;
use axum::http::header::{REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::middleware::{self, Next};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use myvid_core::Services;
use myvid_core::abuse::{self, AbuseLimits, Limiters};
use myvid_core::json_errors;
use myvid_core::metrics::{self, Metrics};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

/// How long requests in flight (a long video download, say) may run after shutdown
/// begins before the server stops anyway.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection limits of one server.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections one IP may hold.
    pub max_per_ip: u32,
    /// Time a client has to send a request's headers.
    pub header_timeout: Duration,
    /// Time a request body may go without a byte.
    pub body_idle_timeout: Duration,
}

impl From<&AbuseLimits> for ConnectionLimits {
    fn from(limits: &AbuseLimits) -> Self {
        ConnectionLimits {
            max_per_ip: limits.max_connections_per_ip,
            header_timeout: Duration::from_secs(limits.header_timeout_secs),
            body_idle_timeout: Duration::from_secs(limits.body_idle_timeout_secs),
        }
    }
}

/// Open connections per client IP.
#[derive(Debug, Default)]
struct OpenConnections(Mutex<HashMap<IpAddr, u32>>);

impl OpenConnections {
    /// Counts a new connection from `ip`, unless it already holds `max`.
    fn admit(self: &Arc<Self>, ip: IpAddr, max: u32) -> Option<ConnectionSlot> {
        let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot { table: Arc::clone(self), ip })
    }
}

/// One counted connection; uncounted when dropped (the entry goes with the last one).
#[derive(Debug)]
struct ConnectionSlot {
    table: Arc<OpenConnections>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.table.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A socket that keeps its connection counted for as long as it lives, including
/// after an upgrade to WebSocket hands it over to another task.
struct GuardedIo {
    io: TcpStream,
    _slot: ConnectionSlot,
}

impl AsyncRead for GuardedIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The layers every role's router gets, outermost first: request tracing, metrics
/// (429s and all), the baseline security headers, every error made JSON, and the
/// abuse limits (innermost, so that they see the matched route).
pub fn outer_layers(app: Router, services: &Services) -> Router {
    app.layer(middleware::from_fn_with_state(services.clone(), abuse::middleware::limit))
        .layer(middleware::from_fn(json_errors::layer))
        .layer(middleware::from_fn(baseline_headers))
        .layer(middleware::from_fn_with_state(services.clone(), metrics::track))
        .layer(TraceLayer::new_for_http())
}

/// Headers on every response: never sniff a type, never send our URLs (which may
/// carry signatures or ids) as a referrer.
async fn baseline_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.entry(X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    headers.entry(REFERRER_POLICY).or_insert(HeaderValue::from_static("no-referrer"));
    response
}

/// The process's rate limiters, with a task that forgets idle clients every minute
/// for as long as the limiters are in use.
pub fn limiters(limits: &AbuseLimits) -> Arc<Limiters> {
    let limiters = Arc::new(Limiters::new(limits));
    let weak = Arc::downgrade(&limiters);
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(FORGET_IDLE_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(limiters) = weak.upgrade() else { break };
                limiters.forget_idle();
            }
        });
    }
    limiters
}

/// How often rate limiters drop the state of clients that are back at full budget.
const FORGET_IDLE_EVERY: Duration = Duration::from_secs(60);

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets
/// requests in flight finish (up to [`DRAIN_TIMEOUT`]) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = app.layer(RequestBodyTimeoutLayer::new(limits.body_idle_timeout));
    let open = Arc::new(OpenConnections::default());
    // Connection tasks hold a receiver; `closing` tells them to finish, and the
    // channel closing tells us they all have.
    let (closing, close_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = open.admit(peer.ip(), limits.max_per_ip) else {
            metrics.connections_refused.inc();
            tracing::debug!(%peer, "connection refused: too many open from this address");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(GuardedIo { io: stream, _slot: slot });
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req.map(Body::new))
        });
        let mut close_rx = close_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
            let mut conn = std::pin::pin!(builder.serve_connection(io, service).with_upgrades());
            let mut finishing = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    changed = close_rx.wait_for(|closing| *closing), if !finishing => {
                        finishing = true;
                        if changed.is_ok() {
                            conn.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
            drop(close_rx);
        });
    }
    drop(listener);
    drop(close_rx);
    let _ = closing.send(true);
    if tokio::time::timeout(DRAIN_TIMEOUT, closing.closed()).await.is_err() {
        tracing::warn!("requests still running after {DRAIN_TIMEOUT:?}; stopping anyway");
    }
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_counted_per_ip_and_released_on_drop() {
        let open = Arc::new(OpenConnections::default());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let first = open.admit(a, 2).unwrap();
        let second = open.admit(a, 2).unwrap();
        assert!(open.admit(a, 2).is_none(), "a third is over the cap");
        assert!(open.admit("192.0.2.2".parse().unwrap(), 2).is_some(), "other addresses are not affected");
        drop(first);
        let third = open.admit(a, 2).unwrap();
        drop((second, third));
        assert!(open.0.lock().unwrap().is_empty(), "no entry is kept for an address without connections");
    }
}
