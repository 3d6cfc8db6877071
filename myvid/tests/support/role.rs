//! A role of the real binary (`myvid api|endpoint|sfu|worker`) as a child process, and small
//! HTTP helpers for tests that drive several of them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_myvid");

/// A role's process, killed by its PID when the test ends, pass or fail.
pub struct Role {
    pub child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Role {
    /// Starts `myvid <role>` on a free port over `data_dir` with `env`, and reads the URL
    /// from its one line on stdout. Its log goes to `<role>.log` beside the data.
    pub fn start(role: &str, data_dir: &Path, env: &[(&str, &str)]) -> Role {
        Self::start_named(role, role, data_dir, env)
    }

    /// [`Role::start`] with the log at `<name>.log`, for several processes of one role.
    pub fn start_named(role: &str, name: &str, data_dir: &Path, env: &[(&str, &str)]) -> Role {
        let log = data_dir.with_file_name(format!("{name}.log"));
        let mut child = Command::new(BIN)
            .args([role, "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("start myvid {role}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let mut role_process = Role { child, url: String::new(), log };
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read stdout");
        let prefix = format!("myvid {role} listening on ");
        role_process.url = line
            .trim()
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("unexpected first line {line:?}; log:\n{}", role_process.log_text()))
            .to_owned();
        role_process
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and returns whether the process exited 0 within `within`.
    pub fn stop(&mut self, within: Duration) -> bool {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Polls `check` every 50 ms until it holds or `within` has passed.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

pub async fn post(http: &Client, url: String, token: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = http.post(url).json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}
