//! Prometheus metrics: a registry with request counters and the domain events an
//! operator watches (sign-ups, uploads, publishes, refusals, live sessions, TURN
//! relaying), served at `/metrics`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::services::Services;

type Labels = Vec<(&'static str, String)>;

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by method, route template and status.
    pub http_requests: Family<Labels, Counter>,
    /// HTTP request latency in seconds.
    pub http_latency: Histogram,
    /// Accounts created.
    pub signups: Counter,
    /// Failed log-ins.
    pub login_failures: Counter,
    /// Requests refused by an abuse limit (429).
    pub rate_limited: Counter,
    /// Connections refused because their IP already held its maximum.
    pub connections_refused: Counter,
    /// Upload grants handed out.
    pub uploads_created: Counter,
    /// Bytes received by the local object store.
    pub upload_bytes: Counter,
    /// Videos made public.
    pub videos_published: Counter,
    /// Videos deleted by their owners.
    pub videos_deleted: Counter,
    /// Objects of deleted videos removed by purge jobs.
    pub purged_objects: Counter,
    /// Views counted in the metadata store.
    pub views_counted: Counter,
    /// Views dropped because too many waited for a flush.
    pub views_dropped: Counter,
    /// Seconds one flush of views took.
    pub views_flush_seconds: Histogram,
    /// Publish attempts refused (missing, empty or non-video files).
    pub publish_refused: Counter,
    /// SFUs with an open control connection to this endpoint's relay.
    pub live_sfus: Gauge,
    /// Signalling clients parked, waiting for an SFU to attach.
    pub live_parked_clients: Gauge,
    /// Client sockets bridged to an SFU.
    pub live_bridged_sessions: Gauge,
    /// Open TURN allocations.
    pub turn_allocations: Gauge,
    /// TURN allocations refused by the per-user quota.
    pub turn_allocations_refused: Counter,
    /// Bytes relayed by TURN allocations, both directions.
    pub turn_relayed_bytes: Counter,
    /// Datagrams to or from a peer address the TURN policy forbids, dropped.
    pub turn_blocked_packets: Counter,
    /// Datagrams over an allocation's bandwidth cap, dropped.
    pub turn_rate_limited_packets: Counter,
    /// The object store's state as last probed: 0 writable, 1 read-only, 2 unavailable.
    pub object_store_state: Gauge,
    /// Writing calls refused because the object store was degraded.
    pub object_store_refusals: Counter,
    /// Recording segments stored.
    pub recording_segments: Counter,
    /// Bytes of recording segments stored.
    pub recording_bytes: Counter,
    /// Recording segments lost (the store refused them after retries, or the queue was full).
    pub recording_segments_lost: Counter,
    /// Transcode jobs claimed (attempts started) by this process's worker.
    pub transcodes_claimed: Counter,
    /// Transcodes this process's worker finished (videos made ready).
    pub transcodes_done: Counter,
    /// Transcode attempts that failed and were queued again.
    pub transcodes_retried: Counter,
    /// Transcodes dead-lettered after their last attempt failed.
    pub transcodes_dead: Counter,
    /// Attempts stopped because another worker took their job over.
    pub transcode_leases_lost: Counter,
    /// Seconds each successful transcode took (fetch, ffmpeg, upload).
    pub transcode_seconds: Histogram,
    /// Live-notification sockets open on this process (subscribed to the hub).
    pub notify_sockets: Gauge,
    /// `went_live` notices handed to notification sockets.
    pub notify_sent: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("myvid");
        let http_requests = Family::<Labels, Counter>::default();
        // 1 ms .. ~16 s in 15 doublings covers everything from a cached GET to a probe.
        let http_latency = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        let metrics = Metrics {
            http_requests,
            http_latency,
            signups: Counter::default(),
            login_failures: Counter::default(),
            rate_limited: Counter::default(),
            connections_refused: Counter::default(),
            uploads_created: Counter::default(),
            upload_bytes: Counter::default(),
            videos_published: Counter::default(),
            videos_deleted: Counter::default(),
            purged_objects: Counter::default(),
            views_counted: Counter::default(),
            views_dropped: Counter::default(),
            views_flush_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 14)),
            publish_refused: Counter::default(),
            live_sfus: Gauge::default(),
            live_parked_clients: Gauge::default(),
            live_bridged_sessions: Gauge::default(),
            turn_allocations: Gauge::default(),
            turn_allocations_refused: Counter::default(),
            turn_relayed_bytes: Counter::default(),
            turn_blocked_packets: Counter::default(),
            turn_rate_limited_packets: Counter::default(),
            object_store_state: Gauge::default(),
            object_store_refusals: Counter::default(),
            recording_segments: Counter::default(),
            recording_bytes: Counter::default(),
            recording_segments_lost: Counter::default(),
            transcodes_claimed: Counter::default(),
            transcodes_done: Counter::default(),
            transcodes_retried: Counter::default(),
            transcodes_dead: Counter::default(),
            transcode_leases_lost: Counter::default(),
            // 1 s .. ~2.3 h in 14 doublings.
            transcode_seconds: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            notify_sockets: Gauge::default(),
            notify_sent: Counter::default(),
            registry: Registry::default(),
        };
        registry.register("http_requests", "HTTP requests answered", metrics.http_requests.clone());
        registry.register(
            "object_store_state",
            "Object store state as last probed: 0 writable, 1 read-only, 2 unavailable",
            metrics.object_store_state.clone(),
        );
        registry.register(
            "object_store_refusals",
            "Uploads and publishes refused because the object store was degraded",
            metrics.object_store_refusals.clone(),
        );
        registry.register("recording_segments", "Recording segments stored", metrics.recording_segments.clone());
        registry.register("recording_bytes", "Bytes of recording segments stored", metrics.recording_bytes.clone());
        registry.register(
            "recording_segments_lost",
            "Recording segments lost: refused by the store after retries",
            metrics.recording_segments_lost.clone(),
        );
        registry.register("transcodes_claimed", "Transcode attempts started", metrics.transcodes_claimed.clone());
        registry.register("transcodes_done", "Videos transcoded into HLS", metrics.transcodes_done.clone());
        registry.register(
            "transcodes_retried",
            "Transcode attempts that failed and were queued again",
            metrics.transcodes_retried.clone(),
        );
        registry.register(
            "transcodes_dead",
            "Transcodes dead-lettered after their last attempt",
            metrics.transcodes_dead.clone(),
        );
        registry.register(
            "transcode_leases_lost",
            "Transcode attempts stopped because another worker took the job over",
            metrics.transcode_leases_lost.clone(),
        );
        registry.register(
            "transcode_seconds",
            "Seconds a successful transcode took",
            metrics.transcode_seconds.clone(),
        );
        registry.register("http_request_duration_seconds", "HTTP request latency", metrics.http_latency.clone());
        registry.register("signups", "Accounts created", metrics.signups.clone());
        registry.register("login_failures", "Failed log-in attempts", metrics.login_failures.clone());
        registry.register("rate_limited", "Requests refused by an abuse limit", metrics.rate_limited.clone());
        registry.register(
            "connections_refused",
            "Connections refused: their IP held the most open connections allowed",
            metrics.connections_refused.clone(),
        );
        registry.register("uploads_created", "Upload grants handed out", metrics.uploads_created.clone());
        registry.register("upload_bytes", "Bytes stored by the local object store", metrics.upload_bytes.clone());
        registry.register("videos_published", "Videos made public", metrics.videos_published.clone());
        registry.register("videos_deleted", "Videos deleted by their owners", metrics.videos_deleted.clone());
        registry.register("views_counted", "Views counted in the metadata store", metrics.views_counted.clone());
        registry.register(
            "views_dropped",
            "Views dropped because too many waited for a flush",
            metrics.views_dropped.clone(),
        );
        registry.register(
            "views_flush_seconds",
            "Seconds one flush of views took",
            metrics.views_flush_seconds.clone(),
        );
        registry.register(
            "purged_objects",
            "Objects of deleted videos removed by purge jobs",
            metrics.purged_objects.clone(),
        );
        registry.register("publish_refused", "Publish attempts refused", metrics.publish_refused.clone());
        registry.register("live_sfus", "SFUs registered with the signalling relay", metrics.live_sfus.clone());
        registry.register(
            "live_parked_clients",
            "Signalling clients waiting for an SFU",
            metrics.live_parked_clients.clone(),
        );
        registry.register(
            "live_bridged_sessions",
            "Signalling clients bridged to an SFU",
            metrics.live_bridged_sessions.clone(),
        );
        registry.register("turn_allocations", "Open TURN allocations", metrics.turn_allocations.clone());
        registry.register(
            "turn_allocations_refused",
            "TURN allocations refused by the per-user quota",
            metrics.turn_allocations_refused.clone(),
        );
        registry.register(
            "turn_relayed_bytes",
            "Bytes relayed by TURN, both directions",
            metrics.turn_relayed_bytes.clone(),
        );
        registry.register(
            "turn_blocked_packets",
            "TURN datagrams to or from a forbidden peer address, dropped",
            metrics.turn_blocked_packets.clone(),
        );
        registry.register(
            "turn_rate_limited_packets",
            "TURN datagrams over an allocation's bandwidth cap, dropped",
            metrics.turn_rate_limited_packets.clone(),
        );
        registry.register("notify_sockets", "Live-notification sockets open", metrics.notify_sockets.clone());
        registry.register("notify_sent", "went_live notices sent to sockets", metrics.notify_sent.clone());
        Metrics { registry, ..metrics }
    }
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Middleware counting every request by method, matched route and status.
///
/// Every label value comes from a closed set, so that no client can grow the number of
/// series (each one is kept for the life of the process): the method is one of the
/// standard ones or `other`, the route is a template the routers registered or
/// `unmatched`, and the status is a three-digit number.
pub async fn track(State(services): State<Services>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let labels =
        vec![("method", method.to_owned()), ("route", route), ("status", response.status().as_u16().to_string())];
    services.metrics.http_requests.get_or_create(&labels).inc();
    services.metrics.http_latency.observe(started.elapsed().as_secs_f64());
    response
}

/// The `route` label of a request no route matched (an unknown path answered by a
/// fallback): one series for all of them, whatever the path.
pub const UNMATCHED: &str = "unmatched";

/// The `method` label: the methods the routers answer keep their name, any other
/// (a WebDAV verb, a made-up token of any length) is `other`.
pub fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 7] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::OPTIONS, "OPTIONS"),
    ];
    KNOWN.iter().find(|(known, _)| known == method).map_or("other", |(_, label)| label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_keep_their_name_and_the_rest_are_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        assert_eq!(method_label(&Method::CONNECT), "other");
        assert_eq!(method_label(&Method::from_bytes(b"PROPFIND").unwrap()), "other");
        assert_eq!(method_label(&Method::from_bytes("X".repeat(8000).as_bytes()).unwrap()), "other");
    }
}
