//! Finding the Ceph programs this harness needs, with a clear message if absent.

use std::env;
use std::path::PathBuf;

/// What to do when something is missing.
const INSTALL_HINT: &str = "install ceph-mon ceph-osd ceph-mgr radosgw ceph-common (scripts/install-deps.sh test)";

/// Checks that the cluster can be started and returns the path of the `ceph` CLI.
///
/// Panics naming the missing program and the packages to install.
pub(crate) fn require() -> PathBuf {
    for program in ["ceph-mon", "ceph-mgr", "ceph-osd", "radosgw", "radosgw-admin", "ceph-authtool", "monmaptool"] {
        find(program).unwrap_or_else(|| panic!("ceph-harness: {program} not found: {INSTALL_HINT}"));
    }
    find("curl").unwrap_or_else(|| panic!("ceph-harness: curl not found: install curl (scripts/install-deps.sh test)"));
    find("ceph").unwrap_or_else(|| panic!("ceph-harness: ceph (the CLI) not found: {INSTALL_HINT}"))
}

/// `program` in `PATH`, or in /usr/sbin and /sbin (not on every user's `PATH`).
fn find(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
