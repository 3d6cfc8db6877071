//! A burst of log-ins must not leave memory behind: argon2id takes 19 MiB per hash,
//! and when every concurrent log-in hashed on a thread of its own, each thread's
//! allocator kept that memory after the burst (hundreds of MiB for good). Alone in its
//! test binary, so that no other test's allocations are counted.

mod support;

use myvid_core::abuse::Rate;
use serde_json::json;
use support::TestServer;

/// This process's resident memory in MiB.
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS line");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse::<u64>().ok()).expect("VmRSS in kB") / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bursts_of_concurrent_logins_do_not_leave_memory_behind() {
    let server = TestServer::start_with(|c| {
        c.limits.failed_login_ms = 0;
        c.limits.login_per_ip = Rate { burst: 10_000, per_minute: 10_000 };
    })
    .await;
    server.signup("alice").await;
    let burst = |round: usize| {
        let attempts = (0..48).map(|i| {
            let body = json!({"credential": format!("nobody-{round}-{i}"), "password": "not-the-password"});
            server.post_json("/v1/auth/login", None, body)
        });
        futures_util::future::join_all(attempts)
    };
    let before = rss_mib();
    for round in 0..4 {
        for res in burst(round).await {
            assert!(matches!(res.status().as_u16(), 401 | 503), "{}", res.status());
        }
    }
    let after = rss_mib();
    // At most one hash per core is in memory at once (≤ 4 × 19 MiB); a thread per
    // log-in held 48 × 19 MiB ≈ 900 MiB.
    assert!(after <= before + 128, "resident memory grew from {before} MiB to {after} MiB over four bursts");
}
