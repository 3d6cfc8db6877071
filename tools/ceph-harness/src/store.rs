//! The [`S3Store`] handle: where the cluster is, its S3 credentials, and its removal on drop.

use std::path::{Path, PathBuf};

use crate::scripts;

/// The S3 access key `up.sh` gives the test user (unless `MYVID_S3_ACCESS_KEY` is set for it).
pub(crate) const ACCESS_KEY: &str = "MYVIDTESTACCESSKEY01";
/// The S3 secret key of [`ACCESS_KEY`].
pub(crate) const SECRET_KEY: &str = "myvid-test-secret-key-0123456789abcdef";
/// The region S3 requests are signed for.
pub(crate) const REGION: &str = "us-east-1";

/// A running Ceph cluster serving S3 on 127.0.0.1, owned by a test.
///
/// The daemons run detached from the test (their own session); their PIDs live in
/// `run/NAME.pid` in [`S3Store::base_dir`], and the scripts signal a PID only after checking
/// in `/proc/PID/cmdline` that it is that daemon of this cluster. Dropping the `S3Store`
/// kills every daemon and removes the directory (kept when `MYVID_KEEP_S3` is set). If the
/// test process dies without dropping it, a watchdog started with the cluster does the same.
#[derive(Debug)]
pub struct S3Store {
    /// Directory with `ceph.conf`, `env.sh`, `log/`, `run/` and one `osdN/` per OSD.
    pub(crate) base_dir: PathBuf,
    /// The port radosgw serves S3 on.
    pub(crate) rgw_port: u16,
    /// How many OSDs the cluster has.
    pub(crate) osds: usize,
    /// The `ceph` command-line client.
    pub(crate) ceph_cli: PathBuf,
}

impl S3Store {
    /// The S3 endpoint, `"http://127.0.0.1:PORT"` (plain HTTP; use path-style addressing).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.rgw_port)
    }

    /// The access key of the S3 user (it may create buckets).
    pub fn access_key(&self) -> &str {
        ACCESS_KEY
    }

    /// The secret key of [`S3Store::access_key`].
    pub fn secret_key(&self) -> &str {
        SECRET_KEY
    }

    /// The region to sign requests for (`"us-east-1"`).
    pub fn region(&self) -> &str {
        REGION
    }

    /// How many OSDs the cluster has (6: each holds one of the k+m = 4+2 chunks).
    pub fn osd_count(&self) -> usize {
        self.osds
    }

    /// The directory holding the cluster: `ceph.conf`, `env.sh` (the S3 settings as shell
    /// exports, and `CEPH_CONF`), `log/NAME.log`, `osdN/` (N from 0).
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// Panics with the valid range when there is no OSD `n`.
    pub(crate) fn check_osd(&self, n: usize) {
        assert!(n < self.osds, "ceph-harness: no osd.{n}: this cluster has OSDs 0..{}", self.osds);
    }
}

impl Drop for S3Store {
    /// Kills every daemon (this is the end of the test, whatever its outcome) and removes the
    /// directory unless `MYVID_KEEP_S3` is set. Never panics.
    fn drop(&mut self) {
        scripts::remove(&self.base_dir);
    }
}
