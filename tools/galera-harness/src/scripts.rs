//! Running the shell scripts of `scripts/galera` in this repository, and reporting failures.

use std::env;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The exit status of `up.sh` and `start-node.sh` when a port was already taken.
pub(crate) const EXIT_PORT_TAKEN: i32 = 75;

/// A script that did not succeed.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Its exit status (`None`: killed by a signal, or it could not be run).
    pub(crate) code: Option<i32>,
    /// What it wrote to stderr (its log), or why it could not be run.
    pub(crate) log: String,
}

/// `scripts/galera`, found from this crate's own directory.
fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/galera")
}

/// Runs `script` with bash and waits for it. The servers it starts are detached and write to
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

/// Runs `down.sh` for the given 0-based nodes (all nodes when empty); `signal` is TERM or KILL.
pub(crate) fn down(base_dir: &Path, nodes: &[usize], signal: &str) -> Result<(), Failure> {
    let numbers = nodes.iter().map(|node| (node + 1).to_string());
    let args = [base_dir.as_os_str().to_owned()].into_iter().chain(numbers.map(Into::into));
    run(&dir().join("down.sh"), args, &[("MYVID_DB_STOP_SIGNAL", signal.to_owned())])
}

/// Kills every node in `base_dir` and removes it, unless `MYVID_KEEP_DB` is set. Reports
/// problems on stderr and never panics (it runs in `Drop`).
pub(crate) fn remove(base_dir: &Path) {
    if base_dir.join("node1").exists()
        && let Err(failure) = down(base_dir, &[], "KILL")
    {
        eprintln!("galera-harness: stopping the servers in {} failed: {}", base_dir.display(), failure.log.trim_end());
    }
    if env::var_os("MYVID_KEEP_DB").is_some_and(|value| !value.is_empty()) {
        eprintln!("galera-harness: MYVID_KEEP_DB is set: kept {}", base_dir.display());
    } else if let Err(e) = fs::remove_dir_all(base_dir) {
        eprintln!("galera-harness: cannot remove {}: {e}", base_dir.display());
    }
}

/// The last lines of every node's error.log, for a failure message.
pub(crate) fn error_log_tails(base_dir: &Path) -> String {
    let mut tails = String::new();
    for node in 1.. {
        let log = base_dir.join(format!("node{node}/error.log"));
        if !base_dir.join(format!("node{node}")).exists() {
            break;
        }
        let text = fs::read_to_string(&log).unwrap_or_else(|e| format!("({e})"));
        let lines: Vec<&str> = text.lines().collect();
        tails.push_str(&format!("--- {} (end) ---\n", log.display()));
        for line in &lines[lines.len().saturating_sub(15)..] {
            tails.push_str(line);
            tails.push('\n');
        }
    }
    tails
}
