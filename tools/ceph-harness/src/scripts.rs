//! Running the shell scripts of `scripts/ceph` in this repository, and reporting failures.

use std::env;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The exit status of `up.sh` when a monitor or S3 port was already taken.
pub(crate) const EXIT_PORT_TAKEN: i32 = 75;

/// A script that did not succeed.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Its exit status (`None`: killed by a signal, or it could not be run).
    pub(crate) code: Option<i32>,
    /// What it wrote to stderr (its log), or why it could not be run.
    pub(crate) log: String,
}

/// `scripts/ceph`, found from this crate's own directory.
fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ceph")
}

/// Runs `script` with bash and waits for it. The daemons it starts are detached and write to
/// their own files, so the pipes close when the script exits.
pub(crate) fn run<I, S>(script: &Path, args: I, envs: &[(&str, String)]) -> Result<(), Failure>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let output = Command::new("bash")
        .arg(script)
        .args(args)
        .envs(envs.iter().map(|(name, value)| (name, value)))
        .output()
        .map_err(|e| Failure { code: None, log: format!("cannot run {}: {e}", script.display()) })?;
    if output.status.success() {
        return Ok(());
    }
    Err(Failure { code: output.status.code(), log: String::from_utf8_lossy(&output.stderr).into_owned() })
}

/// Runs `up.sh BASE_DIR` with the given settings.
pub(crate) fn up(base_dir: &Path, envs: &[(&str, String)]) -> Result<(), Failure> {
    run(&dir().join("up.sh"), [base_dir], envs)
}

/// Runs `down.sh` for the given OSDs (the whole cluster when empty); `signal` is TERM or KILL.
pub(crate) fn down(base_dir: &Path, osds: &[usize], signal: &str) -> Result<(), Failure> {
    let numbers = osds.iter().map(usize::to_string);
    let args = [base_dir.as_os_str().to_owned()].into_iter().chain(numbers.map(Into::into));
    run(&dir().join("down.sh"), args, &[("MYVID_S3_STOP_SIGNAL", signal.to_owned())])
}

/// Runs `start-osd.sh BASE_DIR N --wait`: returns once the monitor marks osd.N up.
pub(crate) fn start_osd(base_dir: &Path, osd: usize) -> Result<(), Failure> {
    run(&dir().join("start-osd.sh"), [base_dir.as_os_str(), OsStr::new(&osd.to_string()), OsStr::new("--wait")], &[])
}

/// Kills every daemon in `base_dir` and removes it, unless `MYVID_KEEP_S3` is set. Reports
/// problems on stderr and never panics (it runs in `Drop`).
pub(crate) fn remove(base_dir: &Path) {
    if base_dir.join("ceph.conf").exists()
        && let Err(failure) = down(base_dir, &[], "KILL")
    {
        eprintln!("ceph-harness: stopping the daemons in {} failed: {}", base_dir.display(), failure.log.trim_end());
    }
    if env::var_os("MYVID_KEEP_S3").is_some_and(|value| !value.is_empty()) {
        eprintln!("ceph-harness: MYVID_KEEP_S3 is set: kept {}", base_dir.display());
    } else if let Err(e) = fs::remove_dir_all(base_dir) {
        eprintln!("ceph-harness: cannot remove {}: {e}", base_dir.display());
    }
}

/// The last lines of the logs of the given daemons (`mon.a`, `osd.3`, `client.rgw`, ...),
/// for a failure message.
pub(crate) fn log_tails(base_dir: &Path, daemons: &[String]) -> String {
    let mut tails = String::new();
    for daemon in daemons {
        let log = base_dir.join(format!("log/{daemon}.log"));
        let Ok(text) = fs::read_to_string(&log) else { continue };
        let lines: Vec<&str> = text.lines().collect();
        tails.push_str(&format!("--- {} (end) ---\n", log.display()));
        for line in &lines[lines.len().saturating_sub(10)..] {
            tails.push_str(line);
            tails.push('\n');
        }
    }
    tails
}
