//! Running the ladder's ffmpeg: the only part of the transcode that touches a process
//! and the clock.
//!
//! ```text
//!   spawn (nice -n N) ffmpeg ── stdout ──► LineBuffer ──► ProgressParser ──► on_progress
//!         │                 └─ stderr ──► StderrTail (last 16 KiB) ──► reason
//!         └─ select! { cancel, Watchdog (timeout, stall), pipes, exit } ──► kill + wait
//! ```
//!
//! The child is killed when the run is cancelled, times out or stalls, and also when
//! the future is dropped (`kill_on_drop`). A worker that is SIGKILLed takes its ffmpeg
//! along too: ffmpeg is started through util-linux's `setpriv --pdeathsig KILL`, which
//! asks the kernel to kill it when the worker thread that started it dies (doing it
//! ourselves would need `pre_exec`, unsafe code, which this workspace forbids). The
//! "parent" is the spawning thread, a runtime worker thread that lives as long as the
//! process. Without `setpriv` (not Linux) such an orphan runs until its input ends.

mod lines;
mod stderr;
mod watchdog;

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use self::lines::LineBuffer;
use self::stderr::StderrTail;
use self::watchdog::{Expiry, Watchdog};
use super::progress::{Progress, ProgressParser};

/// The longest stdout line read as progress (ffmpeg's are under 100 bytes).
const MAX_PROGRESS_LINE: usize = 1024;

/// util-linux's `setpriv`, which sets the parent-death signal before it runs ffmpeg.
const SETPRIV: &str = "/usr/bin/setpriv";

/// The highest `nice` increment (coreutils accepts up to 19).
pub const MAX_NICE: u8 = 19;

/// One ffmpeg run: what to start, where, and for how long.
#[derive(Debug, Clone)]
pub struct FfmpegRun<'a> {
    /// The program (`ffmpeg`, or a path to it).
    pub program: &'a Path,
    /// Its arguments (see [`super::command::LadderCommand::args`]).
    pub args: &'a [OsString],
    /// Its working directory: where its relative output paths land.
    pub current_dir: &'a Path,
    /// `nice` increment, 0–19; 0 runs the program directly, more prefixes
    /// `nice -n N` so the API and SFU on the same machine keep their CPU share.
    pub nice: u8,
    /// How long the output should be, for the progress share.
    pub expected_duration: Duration,
    /// The whole run may take at most this long.
    pub timeout: Duration,
    /// The run is ended when its output has not grown for this long.
    pub stall: Duration,
}

/// A run that exited with status 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The last thing ffmpeg complained about although it succeeded (a truncated
    /// input, for instance: `File ended prematurely`), cleaned like a failure reason.
    pub warning: Option<String>,
    /// The furthest output time reported.
    pub out_time: Duration,
}

/// Why a run did not finish with status 0.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The program could not be started (not installed, not executable).
    #[error("could not start {program}: {source}")]
    Spawn {
        /// The program (file name only).
        program: String,
        /// Why.
        source: io::Error,
    },
    /// It ran past the overall limit and was killed.
    #[error("the transcode took longer than {} s", .0.as_secs())]
    Timeout(Duration),
    /// Its output did not grow for the stall limit, and it was killed.
    #[error("the transcode made no progress for {} s", .0.as_secs())]
    Stalled(Duration),
    /// The caller cancelled it, and it was killed.
    #[error("the transcode was cancelled")]
    Cancelled,
    /// It exited with a failure.
    #[error("{reason}")]
    Failed {
        /// The last line of its standard error, cleaned (no paths, ≤ 200 characters),
        /// or its exit status when it printed nothing.
        reason: String,
    },
}

/// What woke the run loop.
enum Event {
    Cancelled,
    Clock,
    Stdout(io::Result<usize>),
    Stderr(io::Result<usize>),
    Exited(io::Result<ExitStatus>),
}

/// Runs ffmpeg to the end, calling `on_progress` after each progress block (from
/// the task running this future; keep it short, e.g. a `watch::Sender::send`).
pub async fn run(
    job: &FfmpegRun<'_>,
    mut on_progress: impl FnMut(Progress),
    cancel: &CancellationToken,
) -> Result<Finished, RunError> {
    let program_name = job.program.file_name().unwrap_or(job.program.as_os_str()).to_string_lossy().into_owned();
    let nice = job.nice.min(MAX_NICE);
    let mut line: Vec<OsString> = Vec::new();
    if Path::new(SETPRIV).is_file() {
        line.extend([SETPRIV, "--pdeathsig", "KILL", "--"].map(OsString::from));
    }
    if nice > 0 {
        line.extend(["nice".into(), "-n".into(), nice.to_string().into()]);
    }
    line.push(job.program.into());
    let mut command = Command::new(&line[0]);
    command
        .args(&line[1..])
        .args(job.args)
        .current_dir(job.current_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|source| RunError::Spawn { program: program_name.clone(), source })?;
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        kill(&mut child).await;
        return Err(RunError::Failed { reason: "ffmpeg has no output pipes".into() });
    };

    let mut watchdog = Watchdog::new(Instant::now(), job.timeout, job.stall);
    let mut parser = ProgressParser::new(job.expected_duration);
    let mut lines = LineBuffer::new(MAX_PROGRESS_LINE);
    let mut tail = StderrTail::default();
    let mut out_time = Duration::ZERO;
    let (mut out_buf, mut err_buf) = (vec![0u8; 4096], vec![0u8; 4096]);
    let (mut out_open, mut err_open) = (true, true);
    loop {
        let event = tokio::select! {
            biased;
            () = cancel.cancelled() => Event::Cancelled,
            () = sleep_until(watchdog.wake_at()) => Event::Clock,
            read = stdout.read(&mut out_buf), if out_open => Event::Stdout(read),
            read = stderr.read(&mut err_buf), if err_open => Event::Stderr(read),
            status = child.wait(), if !out_open && !err_open => Event::Exited(status),
        };
        match event {
            Event::Cancelled => {
                kill(&mut child).await;
                return Err(RunError::Cancelled);
            }
            Event::Clock => match watchdog.expired(Instant::now()) {
                Some(Expiry::Timeout) => {
                    kill(&mut child).await;
                    return Err(RunError::Timeout(job.timeout));
                }
                Some(Expiry::Stalled) => {
                    kill(&mut child).await;
                    return Err(RunError::Stalled(job.stall));
                }
                None => {}
            },
            Event::Stdout(Ok(n)) if n > 0 => {
                let mut reports = Vec::new();
                lines.push(&out_buf[..n], |line| reports.extend(parser.push_line(line)));
                let now = Instant::now();
                for report in reports {
                    watchdog.observe(now, report.out_time);
                    out_time = out_time.max(report.out_time);
                    on_progress(report);
                }
            }
            Event::Stdout(_) => {
                lines.finish(|line| {
                    if let Some(report) = parser.push_line(line) {
                        out_time = out_time.max(report.out_time);
                        on_progress(report);
                    }
                });
                out_open = false;
            }
            Event::Stderr(Ok(n)) if n > 0 => tail.push(&err_buf[..n]),
            Event::Stderr(_) => err_open = false,
            Event::Exited(Err(e)) => {
                kill(&mut child).await;
                return Err(RunError::Failed { reason: format!("waiting for ffmpeg: {e}") });
            }
            Event::Exited(Ok(status)) => return outcome(status, &tail, program_name, out_time),
        }
    }
}

/// Turns an exit status into the run's result.
fn outcome(status: ExitStatus, tail: &StderrTail, program: String, out_time: Duration) -> Result<Finished, RunError> {
    if status.success() {
        return Ok(Finished { warning: tail.reason(), out_time });
    }
    // `nice` exits 127 (not found) or 126 (not executable) when it cannot start the
    // program: that is a spawn failure, not a bad input.
    let wrapper_failed = tail.contains("nice:") || tail.contains("setpriv:");
    if matches!(status.code(), Some(126 | 127)) && wrapper_failed {
        let kind = if status.code() == Some(127) { io::ErrorKind::NotFound } else { io::ErrorKind::PermissionDenied };
        let reason = tail.reason().unwrap_or_else(|| format!("nice exited with {status}"));
        return Err(RunError::Spawn { program, source: io::Error::new(kind, reason) });
    }
    let reason = tail.reason().unwrap_or_else(|| format!("ffmpeg ended with {status}"));
    Err(RunError::Failed { reason })
}

/// Kills the child and reaps it (an error means it had already exited).
async fn kill(child: &mut Child) {
    let _ = child.start_kill();
    let _ = child.wait().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Runs `sh -c script` as if it were ffmpeg.
    async fn run_script(
        script: &str,
        nice: u8,
        timeout: Duration,
        stall: Duration,
        cancel: &CancellationToken,
    ) -> (Result<Finished, RunError>, Vec<Progress>) {
        let dir = tempfile::tempdir().unwrap();
        let args = [OsString::from("-c"), OsString::from(script)];
        let job = FfmpegRun {
            program: Path::new("sh"),
            args: &args,
            current_dir: dir.path(),
            nice,
            expected_duration: Duration::from_secs(4),
            timeout,
            stall,
        };
        let mut reports = Vec::new();
        let result = run(&job, |p| reports.push(p), cancel).await;
        (result, reports)
    }

    const LONG: Duration = Duration::from_secs(600);

    #[tokio::test]
    async fn reports_progress_and_finishes() {
        let script = "printf 'out_time_us=1000000\\nprogress=continue\\nout_time_us=4000000\\nprogress=end\\n'; \
                      echo '[x @ 0x1] File ended prematurely' >&2";
        let (result, reports) = run_script(script, 0, LONG, LONG, &CancellationToken::new()).await;
        let finished = result.unwrap();
        assert_eq!(finished.warning.as_deref(), Some("File ended prematurely"));
        assert_eq!(finished.out_time, Duration::from_secs(4));
        let permilles: Vec<_> = reports.iter().map(|p| (p.permille, p.ended)).collect();
        assert_eq!(permilles, [(250, false), (1000, true)]);
    }

    #[tokio::test]
    async fn a_failure_gives_the_last_line_of_stderr_without_paths() {
        let script = "echo '/srv/job/in: Invalid data found when processing input' >&2; echo >&2; exit 1";
        let (result, _) = run_script(script, 0, LONG, LONG, &CancellationToken::new()).await;
        match result {
            Err(RunError::Failed { reason }) => assert_eq!(reason, "Invalid data found when processing input"),
            other => panic!("{other:?}"),
        }
        let (result, _) = run_script("kill -9 $$", 0, LONG, LONG, &CancellationToken::new()).await;
        match result {
            Err(RunError::Failed { reason }) => assert!(reason.contains("signal"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn runs_under_nice() {
        // The test itself may already run niced: compare with our own niceness.
        let own: u8 = String::from_utf8(std::process::Command::new("nice").output().unwrap().stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let (result, _) = run_script("echo nice=$(nice) >&2", 7, LONG, LONG, &CancellationToken::new()).await;
        let expected = format!("nice={}", (own + 7).min(19));
        assert_eq!(result.unwrap().warning.as_deref(), Some(expected.as_str()));
    }

    #[tokio::test]
    async fn a_missing_program_is_a_spawn_error_with_or_without_nice() {
        let dir = tempfile::tempdir().unwrap();
        for nice in [0, 10] {
            let job = FfmpegRun {
                program: Path::new("/nonexistent/ffmpeg"),
                args: &[],
                current_dir: dir.path(),
                nice,
                expected_duration: Duration::from_secs(1),
                timeout: LONG,
                stall: LONG,
            };
            match run(&job, |_| {}, &CancellationToken::new()).await {
                Err(RunError::Spawn { program, .. }) => assert_eq!(program, "ffmpeg"),
                other => panic!("nice {nice}: {other:?}"),
            }
        }
    }

    // The clock tests run on paused time: the runtime jumps to the next timer as soon
    // as it would otherwise wait, so a silent child is "stalled" at once, without
    // sleeping for real. (The child is `exec`ed so that killing it closes its pipes.)

    #[tokio::test(start_paused = true)]
    async fn a_silent_process_is_stalled_and_killed() {
        let (result, _) =
            run_script("exec sleep 600", 0, LONG, Duration::from_secs(120), &CancellationToken::new()).await;
        assert!(matches!(result, Err(RunError::Stalled(d)) if d == Duration::from_secs(120)), "{result:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_overall_limit_comes_first_when_shorter() {
        let (result, _) =
            run_script("exec sleep 600", 10, Duration::from_secs(30), LONG, &CancellationToken::new()).await;
        assert!(matches!(result, Err(RunError::Timeout(_))), "{result:?}");
        assert_eq!(result.unwrap_err().to_string(), "the transcode took longer than 30 s");
    }

    #[tokio::test]
    async fn cancelling_kills_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script =
            format!("echo $$ > '{}'; echo 'out_time_us=1\nprogress=continue'; exec sleep 600", pid_file.display());
        let cancel = CancellationToken::new();
        let seen = Arc::new(AtomicUsize::new(0));
        let (seen2, cancel2) = (seen.clone(), cancel.clone());
        let args = [OsString::from("-c"), OsString::from(script)];
        let job = FfmpegRun {
            program: Path::new("sh"),
            args: &args,
            current_dir: dir.path(),
            nice: 0,
            expected_duration: Duration::from_secs(1),
            timeout: LONG,
            stall: LONG,
        };
        // Cancel once the process has shown it is running (its first progress block).
        let result = run(
            &job,
            move |_| {
                seen2.fetch_add(1, Ordering::SeqCst);
                cancel2.cancel();
            },
            &cancel,
        )
        .await;
        assert!(matches!(result, Err(RunError::Cancelled)), "{result:?}");
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        assert!(!Path::new(&format!("/proc/{}", pid.trim())).exists(), "process {pid} is still there");
    }
}
