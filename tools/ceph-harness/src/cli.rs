//! Running the `ceph` CLI against the cluster, never for longer than a timeout.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::store::S3Store;

/// How long one `ceph` command may take (it waits for the monitor, which is always up).
const CEPH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the CLI tries to reach the monitor (seconds).
const CONNECT_TIMEOUT: &str = "10";

impl S3Store {
    /// Runs the `ceph` CLI against this cluster with `args` (e.g. `["osd", "tree"]` or
    /// `["pg", "stat", "-f", "json"]`) and returns its standard output without the final
    /// newline. The error holds the exit status and standard error, or says the command was
    /// killed after 30 s.
    pub fn ceph(&self, args: &[&str]) -> Result<String, String> {
        let mut command = Command::new(&self.ceph_cli);
        command
            .arg("--conf")
            .arg(self.base_dir.join("ceph.conf"))
            .args(["--connect-timeout", CONNECT_TIMEOUT])
            .args(args);
        let what = format!("ceph {}", args.join(" "));
        let (ok, stdout, stderr) = run_with_timeout(command, CEPH_TIMEOUT).map_err(|e| format!("{what}: {e}"))?;
        if !ok {
            return Err(format!("{what}: {}", stderr.trim_end()));
        }
        Ok(stdout.trim_end_matches('\n').to_owned())
    }
}

/// Runs `command` with its output captured; kills it when it is still running after
/// `timeout`. Returns (exited successfully, stdout, stderr).
fn run_with_timeout(mut command: Command, timeout: Duration) -> Result<(bool, String, String), String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run: {e}"))?;
    // the pipes are read while the command runs, so a large output cannot block it
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                kill(&mut child);
                return Err(format!("no answer after {timeout:?} (killed)"));
            }
            Err(e) => {
                kill(&mut child);
                return Err(format!("cannot wait for it: {e}"));
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ok((status.success(), stdout, stderr))
}

/// Kills our own child (by its handle: the PID cannot have been reused before it is reaped).
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn read_in_background<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
