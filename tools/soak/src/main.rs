//! `myvid-soak`: does resident memory stay flat under a long mix of requests?
//!
//! Starts a real `myvid dev` (the binary given), signs up a user, creates a stream,
//! then sends `--requests` HTTP requests from [`mix`] and opens `--sessions` signalling
//! WebSocket sessions (join, wait for the answer, close), `--concurrency` at a time,
//! sampling the server's `VmRSS` as it goes. After a warm-up (the first tenth), memory
//! must not grow by more than `--max-growth-mib`; the exit status says whether it did.
//!
//! ```text
//! cargo build --release -p myvid -p myvid-soak
//! target/release/myvid-soak --bin target/release/myvid --requests 100000 --sessions 2000
//! ```

mod mix;
mod rss;

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio_tungstenite::tungstenite::Message;

/// Command-line options.
#[derive(Parser, Debug)]
#[command(about = "Memory soak of a real myvid dev process")]
struct Args {
    /// The `myvid` binary.
    #[arg(long)]
    bin: String,
    /// HTTP requests to send.
    #[arg(long, default_value_t = 100_000)]
    requests: u64,
    /// Signalling WebSocket sessions to open.
    #[arg(long, default_value_t = 2_000)]
    sessions: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Memory samples to take.
    #[arg(long, default_value_t = 20)]
    samples: u64,
    /// Allowed growth after warm-up, in MiB.
    #[arg(long, default_value_t = 16.0)]
    max_growth_mib: f64,
}

/// The server under test; killed when dropped.
struct Server {
    child: tokio::process::Child,
    url: String,
    pid: u32,
    _data: tempfile::TempDir,
}

/// Rates high enough for one client to send the whole mix: the limiters still run
/// and keep state for every key (that is part of what is measured), they just do not
/// refuse.
const GENEROUS: &str = "{burst = 1000000, per_minute = 1000000}";

async fn start(bin: &str) -> anyhow::Result<Server> {
    let data = tempfile::tempdir()?;
    let mut cmd = Command::new(bin);
    cmd.args(["dev", "--listen", "127.0.0.1:0", "--data-dir"]).arg(data.path());
    for field in [
        "LOGIN_PER_IP",
        "LOGIN_PER_ACCOUNT",
        "SIGNUP_PER_IP",
        "UPLOAD_PER_IP",
        "STREAM_PER_IP",
        "SEARCH_PER_IP",
        "CONNECT_PER_IP",
    ] {
        cmd.env(format!("MYVID_LIMITS__{field}"), GENEROUS);
    }
    cmd.env("MYVID_LIMITS__FAILED_LOGIN_MS", "0").env("MYVID_LOG__LEVEL", "warn");
    let mut child =
        cmd.stdout(Stdio::piped()).stderr(Stdio::null()).kill_on_drop(true).spawn().context("start myvid")?;
    let pid = child.id().context("no pid")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("myvid listening on ") {
                return Ok(url.to_owned());
            }
        }
        bail!("myvid exited before it listened")
    })
    .await
    .context("myvid did not start within 30 s")??;
    Ok(Server { child, url, pid, _data: data })
}

/// One signalling session: join the stream, wait for the first answer, say bye.
async fn session(ws_base: &str, stream_id: &str) -> anyhow::Result<()> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{ws_base}/ENDPOINT/{stream_id}")).await?;
    ws.send(Message::text(r#"{"type":"join"}"#)).await?;
    let _ = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
    ws.send(Message::text(r#"{"type":"bye","reason":"soak"}"#)).await?;
    ws.close(None).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut server = start(&args.bin).await?;
    let http = reqwest::Client::new();
    let token = mix::signup(&http, &server.url, "soaker").await?;
    let stream_id = mix::new_stream(&http, &server.url, &token).await?;
    let target = mix::Target { url: server.url.clone(), http, token, username: "soaker".into(), stream_id };
    let ws_base = server.url.replacen("http", "ws", 1);
    let total = args.requests + args.sessions;
    // Sessions are spread evenly through the requests.
    let session_every = total.checked_div(args.sessions).map_or(u64::MAX, |n| n.max(1));
    let per_sample = (total / args.samples.max(1)).max(1);
    println!("steps\trss_mib\telapsed_s\tstatus_counts");
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    let (mut sessions_failed, mut requests_failed) = (0u64, 0u64);
    let mut done = 0u64;
    while done < total {
        let end = (done + per_sample).min(total);
        let results: Vec<_> = futures_util::stream::iter(done..end)
            .map(|i| {
                let (target, ws_base) = (&target, &ws_base);
                async move {
                    if i % session_every == 0 {
                        (true, session(ws_base, &target.stream_id).await.map(|()| 0))
                    } else {
                        (false, mix::step(target, i).await)
                    }
                }
            })
            .buffer_unordered(args.concurrency)
            .collect()
            .await;
        for (is_session, result) in results {
            match (is_session, result) {
                (_, Ok(0)) => {}
                (false, Ok(status)) => *statuses.entry(status).or_default() += 1,
                (true, Err(_)) => sessions_failed += 1,
                (false, Err(_)) => requests_failed += 1,
                (true, Ok(_)) => {}
            }
        }
        done = end;
        let rss = rss::rss_mib(server.pid).context("the server is gone")?;
        samples.push(rss);
        let counts: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}:{n}")).collect();
        println!("{done}\t{rss:.1}\t{:.1}\t{}", started.elapsed().as_secs_f64(), counts.join(","));
    }
    let _ = server.child.kill().await;
    let warm = samples[(samples.len() / 10).min(samples.len() - 1)];
    let mut tail = samples[samples.len().saturating_sub(3)..].to_vec();
    tail.sort_by(f64::total_cmp);
    let end = tail[tail.len() / 2];
    let peak = samples.iter().copied().fold(0.0, f64::max);
    let growth = end - warm;
    println!(
        "soak: {} requests ({requests_failed} failed), {} sessions ({sessions_failed} failed) in {:.0} s; RSS after warm-up {warm:.1} MiB, at the end {end:.1} MiB (median of the last 3), peak {peak:.1} MiB: growth {growth:+.1} MiB",
        args.requests,
        args.sessions,
        started.elapsed().as_secs_f64()
    );
    if statuses.get(&500).copied().unwrap_or(0) > 0 {
        bail!("the server answered 500 {} times", statuses[&500]);
    }
    if growth > args.max_growth_mib {
        bail!("resident memory grew by {growth:.1} MiB after warm-up (limit {} MiB)", args.max_growth_mib);
    }
    Ok(())
}
