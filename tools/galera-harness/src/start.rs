//! Starting a cluster: a fresh directory, free ports, `up.sh`, one retry on a port clash.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::process;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use crate::cluster::Cluster;
use crate::{ports, programs, scripts};

/// Ports per Galera node: client, group communication, IST and SST.
const GALERA_PORTS_PER_NODE: usize = 4;

impl Cluster {
    /// A 3-node MariaDB Galera cluster on free loopback ports (found by binding port 0),
    /// every node Synced, with database `myvid` and user `myvid`/`myvid`.
    ///
    /// Takes a few seconds. Panics with a clear message when mariadbd, the Galera library or
    /// rsync is missing ("install mariadb-server galera-4 rsync (scripts/install-deps.sh
    /// test)") or when the cluster does not come up (with the end of each node's log).
    pub fn galera() -> Cluster {
        start(3, true)
    }

    /// One standalone MariaDB (no Galera) on a free loopback port, with the same settings,
    /// database and user as [`Cluster::galera`]. Panics like it.
    pub fn single() -> Cluster {
        start(1, false)
    }
}

fn start(nodes: usize, wsrep: bool) -> Cluster {
    let client = programs::require(wsrep);
    let what = if wsrep { format!("{nodes}-node Galera cluster") } else { "MariaDB server".to_owned() };
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        let base_dir = new_base_dir();
        let per_node = if wsrep { GALERA_PORTS_PER_NODE } else { 1 };
        let ports = ports::free_ports(nodes * per_node);
        let list = |kind: usize| -> String {
            let chosen = &ports[kind * nodes..(kind + 1) * nodes];
            chosen.iter().map(u16::to_string).collect::<Vec<_>>().join(" ")
        };
        let mut envs = vec![
            ("MYVID_DB_NODES", nodes.to_string()),
            ("MYVID_DB_WSREP", if wsrep { "on" } else { "off" }.to_owned()),
            ("MYVID_DB_CLIENT_PORTS", list(0)),
            ("MYVID_DB_OWNER_PID", process::id().to_string()),
        ];
        if wsrep {
            envs.extend([
                ("MYVID_DB_PEER_PORTS", list(1)),
                ("MYVID_DB_IST_PORTS", list(2)),
                ("MYVID_DB_SST_PORTS", list(3)),
            ]);
        }
        match scripts::up(&base_dir, &envs) {
            Ok(()) => {
                let seconds = started.elapsed().as_secs_f64();
                eprintln!("galera-harness: {what} up in {seconds:.1} s in {}", base_dir.display());
                return Cluster { base_dir, client_ports: ports[..nodes].to_vec(), wsrep, client };
            }
            Err(failure) if failure.code == Some(scripts::EXIT_PORT_TAKEN) && attempt == 1 => {
                eprintln!("galera-harness: a port was taken by someone else; trying again with other ports");
                scripts::remove(&base_dir);
                attempt += 1;
            }
            Err(failure) => {
                let logs = scripts::error_log_tails(&base_dir);
                scripts::remove(&base_dir);
                panic!(
                    "galera-harness: the {what} did not start (up.sh exit {:?}):\n{}\n{logs}",
                    failure.code, failure.log
                );
            }
        }
    }
}

/// A new empty directory `/tmp/mvdb-PID-N`: short, because the servers' unix socket paths in
/// it must stay below the kernel's limit.
fn new_base_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    loop {
        let dir = PathBuf::from(format!("/tmp/mvdb-{}-{}", process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
        match fs::create_dir(&dir) {
            Ok(()) => return dir,
            // left behind by an earlier process with the same PID
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("galera-harness: cannot create {}: {e}", dir.display()),
        }
    }
}
