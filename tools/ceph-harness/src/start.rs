//! Starting a cluster: a fresh directory, free ports, `up.sh`, one retry on a port clash.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::process;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use crate::store::S3Store;
use crate::{ports, programs, scripts};

/// How many OSDs: one per chunk of the k=4 m=2 erasure code.
const OSDS: usize = 6;
/// Ports for the OSDs and the manager: 8 per OSD (public, cluster and two heartbeat
/// addresses, each msgr v2 and v1) and 2 for the manager, with room for restarts.
const OSD_BLOCK: u16 = 100;

impl S3Store {
    /// A Ceph cluster serving S3 on free loopback ports: 1 monitor, 1 manager, 6 bluestore
    /// OSDs on sparse files, the S3 data pool erasure coded k=4 m=2 over the OSDs (min_size
    /// 4, so 2 OSDs may be down), radosgw with one user ([`S3Store::access_key`]). Every
    /// placement group is active+clean and a signed S3 request has succeeded when it returns.
    ///
    /// Takes about 15 s. Panics with a clear message when Ceph is missing ("install ceph-mon
    /// ceph-osd ceph-mgr radosgw ceph-common (scripts/install-deps.sh test)") or when the
    /// cluster does not come up (with the end of the main daemons' logs).
    pub fn start() -> S3Store {
        let ceph_cli = programs::require();
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let base_dir = new_base_dir();
            let ports = ports::free_ports(3);
            let block = ports::free_block(OSD_BLOCK);
            let envs = [
                ("MYVID_S3_MON_PORT", ports[0].to_string()),
                ("MYVID_S3_MON_V1_PORT", ports[1].to_string()),
                ("MYVID_S3_RGW_PORT", ports[2].to_string()),
                ("MYVID_S3_OSD_PORTS", format!("{}-{}", block.start(), block.end())),
                ("MYVID_S3_OSDS", OSDS.to_string()),
                ("MYVID_S3_OWNER_PID", process::id().to_string()),
            ];
            match scripts::up(&base_dir, &envs) {
                Ok(()) => {
                    let seconds = started.elapsed().as_secs_f64();
                    eprintln!("ceph-harness: S3 store (6 OSDs, EC 4+2) up in {seconds:.1} s in {}", base_dir.display());
                    return S3Store { base_dir, rgw_port: ports[2], osds: OSDS, ceph_cli };
                }
                Err(failure) if failure.code == Some(scripts::EXIT_PORT_TAKEN) && attempt == 1 => {
                    eprintln!("ceph-harness: a port was taken by someone else; trying again with other ports");
                    scripts::remove(&base_dir);
                    attempt += 1;
                }
                Err(failure) => {
                    let daemons = ["mon.a", "mgr.x", "client.rgw"].map(String::from);
                    let logs = scripts::log_tails(&base_dir, &daemons);
                    scripts::remove(&base_dir);
                    panic!(
                        "ceph-harness: the S3 store did not start (up.sh exit {:?}):\n{}\n{logs}",
                        failure.code, failure.log
                    );
                }
            }
        }
    }
}

/// A new empty directory `/tmp/mvs3-PID-N` (its admin sockets need short paths).
fn new_base_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    loop {
        let dir = PathBuf::from(format!("/tmp/mvs3-{}-{}", process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
        match fs::create_dir(&dir) {
            Ok(()) => return dir,
            // left behind by an earlier process with the same PID
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("ceph-harness: cannot create {}: {e}", dir.display()),
        }
    }
}
