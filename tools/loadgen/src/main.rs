//! `myvid-loadgen`: starts `myvid dev` as a child process, publishes one synthetic VP8
//! stream over WHIP and opens N WHEP viewers (real ICE/DTLS/SRTP, webrtc-rs's sans-I/O
//! `rtc`, one task and one UDP socket per peer connection), then measures the child's
//! CPU time per forwarded packet, loss per viewer and forwarding delay.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bytes::{Bytes, BytesMut};
use clap::Parser;
use myvid_loadgen::stats::{SeqUnwrapper, ViewerWindow, mean_max, percentile};
use myvid_loadgen::{procstat, vp8};
use rtc::interceptor::Registry;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_VP8, MediaEngine};
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate, RTCIceCandidateInit};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, mpsc};

/// Viewer phases, shared through one atomic.
const PHASE_WARMUP: u8 = 0;
const PHASE_MEASURE: u8 = 1;
const PHASE_DONE: u8 = 2;

/// The publisher's video SSRC.
const PUBLISHER_SSRC: u32 = 0x4C4F_4144;

#[derive(Parser, Debug)]
#[command(about = "Load an SFU (a `myvid dev` child process) with one synthetic publisher and N viewers")]
struct Args {
    /// Viewer sessions to open.
    #[arg(long, default_value_t = 50)]
    viewers: usize,
    /// Length of the measurement window, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seconds between the last viewer connecting and the start of the window.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// The `myvid` binary (default: `myvid` next to this executable).
    #[arg(long)]
    myvid_bin: Option<PathBuf>,
    /// WHEP sessions being set up at once.
    #[arg(long, default_value_t = 8)]
    join_concurrency: usize,
    /// Longest wait for every viewer to connect, in seconds.
    #[arg(long, default_value_t = 120)]
    join_timeout: u64,
    /// Where the child's stderr goes (default: discarded).
    #[arg(long)]
    child_log: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let (child, url, _data_dir) = start_myvid(&args).await?;
        let pid = child.id().ok_or_else(|| anyhow!("child exited"))?;
        let mut child = child;
        let result = tokio::select! {
            r = run(&args, &url, pid) => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
        };
        // Stop the child we started (by its handle, i.e. its PID) on every path.
        let _ = child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        result
    })?;
    // Viewer and publisher tasks may still be blocked on sockets; do not wait for them.
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}

/// Starts `myvid dev` on an ephemeral port with a fresh data directory and returns the
/// child, its base URL and the directory (deleted on drop).
async fn start_myvid(args: &Args) -> Result<(tokio::process::Child, String, tempfile::TempDir)> {
    let bin = match &args.myvid_bin {
        Some(bin) => bin.clone(),
        None => std::env::current_exe()?.with_file_name("myvid"),
    };
    let data_dir = tempfile::tempdir()?;
    let stderr = match &args.child_log {
        Some(path) => Stdio::from(std::fs::File::create(path)?),
        None => Stdio::null(),
    };
    let mut child = tokio::process::Command::new(&bin)
        .args(["dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir.path())
        // Every viewer comes from 127.0.0.1: the per-IP abuse limits (20 WHEP offers at
        // once) would refuse all but the first few, and the per-IP connection cap (256,
        // counting each WHEP session's signalling and its SFU attach link) all but ~250.
        .env("MYVID_LIMITS__ENABLED", "false")
        .env("MYVID_LIMITS__MAX_CONNECTIONS_PER_IP", "1000000")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("myvid listening on ") {
                return Ok(url.trim().trim_end_matches('/').to_owned());
            }
        }
        bail!("myvid exited before listening")
    })
    .await
    .context("waiting for `myvid listening on`")??;
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, url, data_dir))
}

struct StreamUrls {
    whip: String,
    whep: String,
    token: String,
}

fn absolute(base: &str, url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") { url.to_owned() } else { format!("{base}{url}") }
}

async fn create_stream(http: &reqwest::Client, base: &str) -> Result<StreamUrls> {
    let signup: serde_json::Value = http
        .post(format!("{base}/v1/auth/signup"))
        .json(
            &serde_json::json!({"username": "loadgen", "email": "loadgen@example.com", "password": "loadgen-password"}),
        )
        .send()
        .await?
        .error_for_status()
        .context("signup")?
        .json()
        .await?;
    let user_token = signup["token"].as_str().ok_or_else(|| anyhow!("signup: no token"))?;
    let stream: serde_json::Value = http
        .post(format!("{base}/API/NEWSTREAM/"))
        .bearer_auth(user_token)
        .json(&serde_json::json!({"title": "loadgen", "description": "synthetic VP8"}))
        .send()
        .await?
        .error_for_status()
        .context("NEWSTREAM")?
        .json()
        .await?;
    let field = |name: &str| {
        stream[name].as_str().map(str::to_owned).ok_or_else(|| anyhow!("NEWSTREAM: no {name} in {stream}"))
    };
    Ok(StreamUrls {
        whip: absolute(base, &field("whip_url")?),
        whep: absolute(base, &field("whep_url")?),
        token: field("token")?,
    })
}

/// POSTs an SDP offer (WHIP or WHEP) and returns the answer.
async fn post_sdp(http: &reqwest::Client, url: &str, token: Option<&str>, offer: String) -> Result<String> {
    let mut request = http.post(url).header("Content-Type", "application/sdp").body(offer);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let body = response.text().await?;
    if status != reqwest::StatusCode::CREATED {
        bail!("POST {url}: {status}: {body}");
    }
    Ok(body)
}

/// A client peer connection (full ICE, controlling) with its own UDP socket on loopback.
struct Peer {
    pc: RTCPeerConnection,
    socket: UdpSocket,
    local: SocketAddr,
    connected: bool,
    failed: bool,
    /// Times the connection went to `disconnected` (it may come back).
    disconnects: u32,
}

impl Peer {
    async fn new() -> Result<Peer> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let local = socket.local_addr()?;
        let mut engine = MediaEngine::default();
        engine.register_default_codecs()?;
        let registry = register_default_interceptors(Registry::new(), &mut engine)?;
        let pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .build(Instant::now())?;
        Ok(Peer { pc, socket, local, connected: false, failed: false, disconnects: 0 })
    }

    /// Creates the offer with our one host candidate in it (no trickle).
    fn offer(&mut self) -> Result<String> {
        let offer = self.pc.create_offer(None)?;
        self.pc.set_local_description(Instant::now(), offer)?;
        let candidate = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".to_owned(),
                address: self.local.ip().to_string(),
                port: self.local.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()?;
        self.pc.add_local_candidate(RTCIceCandidate::from(&candidate).to_json()?)?;
        self.pc.add_local_candidate(RTCIceCandidateInit::default())?;
        Ok(self.pc.local_description().ok_or_else(|| anyhow!("no local description"))?.sdp)
    }

    fn answer(&mut self, sdp: String) -> Result<()> {
        self.pc.set_remote_description(Instant::now(), RTCSessionDescription::answer(sdp)?)?;
        Ok(())
    }

    /// Sends everything queued and notes state changes.
    fn flush(&mut self) {
        while let Some(out) = self.pc.poll_write() {
            let _ = self.socket.try_send_to(&out.message, out.transport.peer_addr);
        }
        while let Some(event) = self.pc.poll_event() {
            if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) = event {
                match state {
                    RTCPeerConnectionState::Connected => self.connected = true,
                    RTCPeerConnectionState::Disconnected => self.disconnects += 1,
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => self.failed = true,
                    _ => {}
                }
            }
        }
    }

    fn deadline(&mut self) -> Instant {
        let fallback = Instant::now() + Duration::from_millis(100);
        self.pc.poll_timeout().map_or(fallback, |t| t.min(fallback))
    }

    fn on_datagram(&mut self, data: &[u8], peer_addr: SocketAddr) {
        let _ = self.pc.handle_read(TaggedBytesMut {
            now: Instant::now(),
            transport: TransportContext {
                local_addr: self.local,
                peer_addr,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: BytesMut::from(data),
        });
    }
}

/// Shared by every task: the clock base, the phase and counters.
struct Shared {
    base: Instant,
    phase: AtomicU8,
    connected: AtomicUsize,
    dropped: AtomicUsize,
    sent_in_window: AtomicUsize,
    disconnects: AtomicUsize,
}

impl Shared {
    fn nanos(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Counts and logs new `disconnected` states of `peer` (`seen` is what was counted).
    fn note_disconnects(&self, who: &str, peer: &Peer, seen: &mut u32) {
        if peer.disconnects > *seen {
            self.disconnects.fetch_add((peer.disconnects - *seen) as usize, Ordering::Relaxed);
            *seen = peer.disconnects;
            eprintln!("loadgen: {who} ICE disconnected at t={:.1} s", self.base.elapsed().as_secs_f64());
        }
    }
}

async fn publisher(http: reqwest::Client, urls: Arc<StreamUrls>, shared: Arc<Shared>) -> Result<()> {
    let mut peer = Peer::new().await?;
    let track = MediaStreamTrack::new(
        "loadgen".into(),
        "video".into(),
        "video".into(),
        RtpCodecKind::Video,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(PUBLISHER_SSRC), ..Default::default() },
            codec: RTCRtpCodec { mime_type: MIME_TYPE_VP8.into(), clock_rate: vp8::CLOCK_RATE, ..Default::default() },
            ..Default::default()
        }],
    );
    let init = RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Sendonly, ..Default::default() };
    let transceiver = peer.pc.add_transceiver_from_track(track, Some(init))?;
    let offer = peer.offer()?;
    let answer = post_sdp(&http, &urls.whip, Some(&urls.token), offer).await?;
    peer.answer(answer)?;
    let sender =
        peer.pc.rtp_transceiver(transceiver).and_then(|t| t.sender()).ok_or_else(|| anyhow!("publisher: no sender"))?;
    let payload_type = peer
        .pc
        .rtp_sender(sender)
        .and_then(|mut s| s.get_parameters().rtp_parameters.codecs.first().map(|c| c.payload_type))
        .ok_or_else(|| anyhow!("publisher: no negotiated codec"))?;

    let mut buf = vec![0u8; 2048];
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / u64::from(vp8::FPS)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut seq, mut frame) = (1u16, 0u32);
    let mut disconnects_seen = 0;
    loop {
        peer.flush();
        shared.note_disconnects("publisher", &peer, &mut disconnects_seen);
        if peer.failed {
            bail!("publisher connection failed");
        }
        if shared.phase.load(Ordering::Relaxed) == PHASE_DONE {
            return Ok(());
        }
        let deadline = peer.deadline();
        tokio::select! {
            r = peer.socket.recv_from(&mut buf) => {
                let (n, from) = r?;
                peer.on_datagram(&buf[..n], from);
                // Drain RTCP (PLI, receiver reports); the GOP is fixed at 2 s.
                while peer.pc.poll_read().is_some() {}
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                let _ = peer.pc.handle_timeout(Instant::now());
            }
            _ = tick.tick(), if peer.connected => {
                let keyframe = vp8::is_keyframe(frame);
                let count = vp8::packets_in_frame(frame);
                let timestamp = frame.wrapping_mul(vp8::CLOCK_RATE / vp8::FPS);
                for i in 0..count {
                    let header = rtc::rtp::header::Header {
                        version: 2,
                        marker: i + 1 == count,
                        payload_type,
                        sequence_number: seq,
                        timestamp,
                        ssrc: PUBLISHER_SSRC,
                        ..Default::default()
                    };
                    let payload = Bytes::from(vp8::payload(frame as u16 & 0x7FFF, i == 0, keyframe, shared.nanos()));
                    if let Some(mut s) = peer.pc.rtp_sender(sender) {
                        s.write_rtp(Instant::now(), rtc::rtp::Packet { header, payload })?;
                    }
                    seq = seq.wrapping_add(1);
                    if shared.phase.load(Ordering::Relaxed) == PHASE_MEASURE {
                        shared.sent_in_window.fetch_add(1, Ordering::Relaxed);
                    }
                    // Send each packet as it is made, as a real sender's pacer would.
                    peer.flush();
                }
                frame = frame.wrapping_add(1);
            }
        }
    }
}

/// One viewer: WHEP, then counts video until the window ends. Fails if the WHEP request
/// is refused or the connection fails or closes.
async fn viewer(
    http: reqwest::Client,
    urls: Arc<StreamUrls>,
    shared: Arc<Shared>,
    joins: Arc<Semaphore>,
) -> Result<ViewerWindow> {
    let mut peer = Peer::new().await?;
    let recvonly = || RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Recvonly, ..Default::default() };
    peer.pc.add_transceiver_from_kind(RtpCodecKind::Video, Some(recvonly()))?;
    peer.pc.add_transceiver_from_kind(RtpCodecKind::Audio, Some(recvonly()))?;
    let permit = joins.acquire_owned().await?;
    let offer = peer.offer()?;
    let answer = post_sdp(&http, &urls.whep, None, offer).await?;
    peer.answer(answer)?;
    let mut permit = Some(permit);
    let mut buf = vec![0u8; 2048];
    let mut unwrapper = SeqUnwrapper::default();
    let mut window = ViewerWindow::default();
    let mut was_connected = false;
    let mut disconnects_seen = 0;
    loop {
        peer.flush();
        shared.note_disconnects("a viewer", &peer, &mut disconnects_seen);
        if peer.connected && !was_connected {
            was_connected = true;
            permit = None;
            shared.connected.fetch_add(1, Ordering::Relaxed);
        }
        if peer.failed {
            drop(permit);
            if was_connected {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            bail!("viewer connection ended");
        }
        let phase = shared.phase.load(Ordering::Relaxed);
        if phase == PHASE_DONE {
            return Ok(window);
        }
        while let Some(TaggedRTCMessage { message, .. }) = peer.pc.poll_read() {
            let RTCMessage::RtpPacket(_, packet) = message else { continue };
            if packet.payload.len() != vp8::PAYLOAD_BYTES {
                continue;
            }
            let ext = unwrapper.unwrap(packet.header.sequence_number);
            if phase == PHASE_MEASURE {
                let delay = vp8::sent_nanos(&packet.payload)
                    .map(|sent| (shared.nanos().saturating_sub(sent) / 1_000).min(u64::from(u32::MAX)) as u32);
                window.record(ext, delay);
            }
        }
        let deadline = peer.deadline();
        tokio::select! {
            r = peer.socket.recv_from(&mut buf) => {
                let (n, from) = r?;
                peer.on_datagram(&buf[..n], from);
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                let _ = peer.pc.handle_timeout(Instant::now());
            }
        }
    }
}

async fn run(args: &Args, base: &str, child_pid: u32) -> Result<()> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.join_concurrency.max(1)).build()?;
    let urls = Arc::new(create_stream(&http, base).await?);
    let rcvbuf_errors_start = procstat::read_udp_rcvbuf_errors();
    let shared = Arc::new(Shared {
        base: Instant::now(),
        phase: AtomicU8::new(PHASE_WARMUP),
        connected: AtomicUsize::new(0),
        dropped: AtomicUsize::new(0),
        sent_in_window: AtomicUsize::new(0),
        disconnects: AtomicUsize::new(0),
    });
    let publishing = tokio::spawn(publisher(http.clone(), urls.clone(), shared.clone()));
    // Let the publisher connect before viewers arrive.
    tokio::time::sleep(Duration::from_secs(1)).await;
    if publishing.is_finished() {
        return publishing.await?.context("publisher");
    }

    let joins = Arc::new(Semaphore::new(args.join_concurrency.max(1)));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let join_started = Instant::now();
    for _ in 0..args.viewers {
        let (http, urls, shared, joins, done_tx) =
            (http.clone(), urls.clone(), shared.clone(), joins.clone(), done_tx.clone());
        tokio::spawn(async move {
            let _ = done_tx.send(viewer(http, urls, shared, joins).await);
        });
    }
    drop(done_tx);
    let join_deadline = join_started + Duration::from_secs(args.join_timeout);
    let mut failures = Vec::new();
    loop {
        let connected = shared.connected.load(Ordering::Relaxed);
        if connected + failures.len() >= args.viewers || Instant::now() >= join_deadline {
            break;
        }
        // Viewers that fail before the window report here.
        while let Ok(r) = done_rx.try_recv() {
            if let Err(e) = r {
                failures.push(e);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let joined_in = join_started.elapsed();
    eprintln!(
        "loadgen: {} of {} viewers connected in {:.1} s ({} failed{})",
        shared.connected.load(Ordering::Relaxed),
        args.viewers,
        joined_in.as_secs_f64(),
        failures.len(),
        failures.first().map(|e| format!(", first: {e:#}")).unwrap_or_default()
    );
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    if publishing.is_finished() {
        return publishing.await?.context("publisher");
    }

    let ticks_per_second = procstat::clock_ticks_per_second();
    let child = child_pid.to_string();
    let sfu_start = procstat::read_cpu_ticks(&child).ok_or_else(|| anyhow!("cannot read /proc/{child}/stat"))?;
    let own_start = procstat::read_cpu_ticks("self").unwrap_or(0);
    let held_at_start = shared.connected.load(Ordering::Relaxed) - shared.dropped.load(Ordering::Relaxed);
    let window_started = Instant::now();
    shared.phase.store(PHASE_MEASURE, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    shared.phase.store(PHASE_DONE, Ordering::Relaxed);
    let window = window_started.elapsed();
    let sfu_end = procstat::read_cpu_ticks(&child).ok_or_else(|| anyhow!("cannot read /proc/{child}/stat"))?;
    let own_end = procstat::read_cpu_ticks("self").unwrap_or(0);
    let held_at_end = shared.connected.load(Ordering::Relaxed) - shared.dropped.load(Ordering::Relaxed);

    // Collect every viewer (they stop at PHASE_DONE within ~100 ms).
    let mut windows = Vec::new();
    let collect_deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(Some(r)) = tokio::time::timeout_at(collect_deadline, done_rx.recv()).await {
        match r {
            Ok(w) => windows.push(w),
            Err(e) => failures.push(e),
        }
    }
    if let Ok(r) = tokio::time::timeout(Duration::from_secs(1), publishing).await {
        r?.context("publisher")?;
    }

    let rcvbuf_errors = match (rcvbuf_errors_start, procstat::read_udp_rcvbuf_errors()) {
        (Some(start), Some(end)) => (end - start).to_string(),
        _ => "n/a".to_owned(),
    };
    let forwarded: u64 = windows.iter().map(|w| w.received).sum();
    let sfu_cpu_us = (sfu_end - sfu_start) as f64 * 1e6 / ticks_per_second as f64;
    let own_cpu_us = own_end.saturating_sub(own_start) as f64 * 1e6 / ticks_per_second as f64;
    let window_us = window.as_secs_f64() * 1e6;
    let losses: Vec<u64> = windows.iter().filter(|w| w.received > 0).map(ViewerWindow::lost).collect();
    let (loss_mean, loss_max) = mean_max(&losses);
    let mut delays: Vec<u32> = windows.iter().flat_map(|w| w.delays_us.iter().copied()).collect();
    delays.sort_unstable();
    let ms = |q: f64| percentile(&delays, q).map_or("n/a".to_owned(), |us| format!("{:.2}", f64::from(us) / 1e3));
    let receiving = windows.iter().filter(|w| w.received > 0).count();
    let sent = shared.sent_in_window.load(Ordering::Relaxed);
    println!(
        "viewers={} held={} receiving={} window={:.1}s published_pkts={} forwarded_pkts={} sfu_cpu_us_per_pkt={} \
         loss_per_viewer_mean={:.2} max={} delay_p50_ms={} p99_ms={} sfu_cpu={:.1}% loadgen_cpu={:.1}% join={:.1}s ice_disconnects={} udp_rcvbuf_errors={}",
        args.viewers,
        held_at_start.min(held_at_end),
        receiving,
        window.as_secs_f64(),
        sent,
        forwarded,
        if forwarded > 0 { format!("{:.2}", sfu_cpu_us / forwarded as f64) } else { "n/a".to_owned() },
        loss_mean,
        loss_max,
        ms(0.5),
        ms(0.99),
        sfu_cpu_us / window_us * 100.0,
        own_cpu_us / window_us * 100.0,
        joined_in.as_secs_f64(),
        shared.disconnects.load(Ordering::Relaxed),
        rcvbuf_errors,
    );
    Ok(())
}
