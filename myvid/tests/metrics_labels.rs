//! `/metrics` stays bounded whatever clients send: every label of
//! `myvid_http_requests_total` comes from a closed set, so random methods and paths
//! cannot add series (each series lives as long as the process).

mod support;

use std::collections::BTreeSet;

use reqwest::Method;
use support::TestServer;

/// The method labels the server may use.
const METHOD_LABELS: [&str; 8] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"];

/// A small deterministic generator (xorshift64*), so that a failure can be replayed.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("small")
    }

    /// `len` characters that are valid in an HTTP method token.
    fn token(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~";
        (0..len).map(|_| CHARS[self.below(CHARS.len())] as char).collect()
    }

    fn method(&mut self) -> Method {
        let len = match self.below(4) {
            0 => 8000,
            1 => 1 + self.below(3),
            _ => 4 + self.below(12),
        };
        Method::from_bytes(self.token(len).as_bytes()).expect("a token is a method")
    }

    fn path(&mut self) -> String {
        let prefixes = ["/", "/API/", "/API/VIDEO/", "/v1/", "/v1/videos/", "/objects/videos/", "/ENDPOINT/", "/x/"];
        let prefix = prefixes[self.below(prefixes.len())];
        let len = 1 + self.below(20);
        let segment = self.token(len).replace(['#', '%', '`', '|', '^'], "-");
        format!("{prefix}{segment}")
    }
}

/// The `{method, route, status}` label values of every `myvid_http_requests_total` series.
fn request_series(metrics: &str) -> Vec<(String, String, String)> {
    metrics
        .lines()
        .filter(|line| line.starts_with("myvid_http_requests_total{"))
        .map(|line| {
            let labels = &line[line.find('{').unwrap() + 1..line.rfind('}').unwrap()];
            let value = |name: &str| {
                let start = labels.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("no {name} in {line}"));
                let rest = &labels[start + name.len() + 2..];
                rest[..rest.find('"').unwrap()].to_owned()
            };
            (value("method"), value("route"), value("status"))
        })
        .collect()
}

#[tokio::test]
async fn metrics_labels_stay_bounded_under_random_methods_and_paths() {
    let server = TestServer::start().await;
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut sent_methods = BTreeSet::new();
    for _ in 0..300 {
        let method = if noise.below(3) == 0 { Method::GET } else { noise.method() };
        sent_methods.insert(method.to_string());
        let path = noise.path();
        // The server may refuse an 8,000-byte method before routing; either way it
        // must not grow the metrics.
        let _ = server.http.request(method, server.at(&path)).send().await;
    }
    assert!(sent_methods.len() > 150, "the requests used many distinct methods");

    let metrics = server.get("/metrics", None).await.text().await.unwrap();
    let series = request_series(&metrics);
    let methods: BTreeSet<&str> = series.iter().map(|(m, _, _)| m.as_str()).collect();
    let routes: BTreeSet<&str> = series.iter().map(|(_, r, _)| r.as_str()).collect();
    assert!(methods.contains("other"), "random methods are counted as `other`: {methods:?}");
    assert!(methods.iter().all(|m| METHOD_LABELS.contains(m)), "method labels outside the closed set: {methods:?}");
    assert!(routes.contains("unmatched"), "unknown paths are counted as `unmatched`: {routes:?}");
    for route in &routes {
        // A route label is a registered template (`{id}`-style parameters, no request
        // path text) or `unmatched`.
        let known = *route == "unmatched"
            || [
                "/API/VIDEO/",
                "/API/VIDEO/{id}",
                "/v1/videos/{id}",
                "/objects/{bucket}/{*key}",
                "/ENDPOINT/{stream_id}",
                "/SFU",
                "/SFU/attach/{client_id}",
                "/healthz",
                "/metrics",
            ]
            .contains(route);
        assert!(known, "route label {route:?} is not a registered template");
    }
    for (_, _, status) in &series {
        assert!(status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()), "status label {status:?}");
    }
    assert!(series.len() <= 80, "{} request series after 300 random requests", series.len());
    assert!(metrics.len() < 32 * 1024, "/metrics is {} bytes", metrics.len());
}
