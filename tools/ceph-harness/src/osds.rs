//! Crashing and restarting single OSDs, and waiting for the cluster to notice.

use std::thread;
use std::time::{Duration, Instant};

use crate::scripts;
use crate::status::{self, PgCounts};
use crate::store::S3Store;

/// How often the waits ask the cluster again.
const POLL: Duration = Duration::from_millis(200);
/// How long a killed OSD may take to be marked down (on an idle machine: under a second).
const DOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the placement groups may take to serve I/O again after a restart.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long after that a restart waits for active+clean (recovery of missed writes).
const CLEAN_TIMEOUT: Duration = Duration::from_secs(30);
/// `ceph pg stat` is the manager's view, which the OSDs refresh every second
/// (`mgr stats period` in up.sh): read earlier, it may still show the states from before
/// the restart.
const STATS_DELAY: Duration = Duration::from_millis(1500);

impl S3Store {
    /// Crashes osd.`n` (from 0): SIGKILL to its `ceph-osd`, by a PID checked against
    /// `/proc/PID/cmdline`. Returns once the monitor has marked it down (its peers report the
    /// refused connections at once: usually under a second).
    ///
    /// Panics when there is no such OSD, it cannot be stopped, or it is still up after 30 s.
    /// An OSD that is already down is fine.
    pub fn kill_osd(&self, n: usize) {
        self.check_osd(n);
        let started = Instant::now();
        if let Err(failure) = scripts::down(&self.base_dir, &[n], "KILL") {
            panic!("ceph-harness: killing osd.{n} failed: {}", failure.log);
        }
        loop {
            let dump = self.ceph(&["osd", "dump"]);
            if let Ok(dump) = &dump
                && status::osd_is_up(dump, n) == Some(false)
            {
                break;
            }
            assert!(
                started.elapsed() < DOWN_TIMEOUT,
                "ceph-harness: osd.{n} was killed but is not marked down after {DOWN_TIMEOUT:?} ({})",
                dump.err().unwrap_or_default()
            );
            thread::sleep(POLL);
        }
        eprintln!("ceph-harness: osd.{n} killed, marked down after {:.1} s", started.elapsed().as_secs_f64());
    }

    /// Starts osd.`n` again after [`S3Store::kill_osd`]. With bluestore it keeps the data
    /// it had and catches up with the writes it missed from the other OSDs. Returns once it
    /// is up and every placement group is active (serving I/O). When no other OSD is down, it
    /// then waits up to 30 s more for active+clean (recovery done). It says on stderr which
    /// of the two it reached.
    ///
    /// Panics when there is no such OSD, it does not come up (with the end of its log), or
    /// the placement groups do not become active within 60 s.
    pub fn restart_osd(&self, n: usize) {
        self.check_osd(n);
        let started = Instant::now();
        if let Err(failure) = scripts::start_osd(&self.base_dir, n) {
            panic!(
                "ceph-harness: restarting osd.{n} failed (exit {:?}):\n{}\n{}",
                failure.code,
                failure.log,
                scripts::log_tails(&self.base_dir, &[format!("osd.{n}")])
            );
        }
        let up = started.elapsed().as_secs_f64();
        thread::sleep(STATS_DELAY);
        let Some(active) = self.wait_pgs(ACTIVE_TIMEOUT, PgCounts::all_active) else {
            let stat = self.ceph(&["pg", "stat"]).unwrap_or_else(|e| e);
            panic!(
                "ceph-harness: osd.{n} is up but the placement groups are not all active after {ACTIVE_TIMEOUT:?}: {stat}"
            );
        };
        // with another OSD still down, placement groups stay undersized: never clean
        let down = self.ceph(&["osd", "dump"]).map(|dump| status::osds_down(&dump)).unwrap_or_default();
        let state =
            if active.all_clean() || (down.is_empty() && self.wait_pgs(CLEAN_TIMEOUT, PgCounts::all_clean).is_some()) {
                "all PGs active+clean".to_owned()
            } else if down.is_empty() {
                format!("all PGs active, still recovering after {CLEAN_TIMEOUT:?}")
            } else {
                format!("all PGs active (not clean: {} down)", down.join(", "))
            };
        eprintln!(
            "ceph-harness: osd.{n} restarted: up after {up:.1} s, {state} after {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }

    /// Polls `ceph pg stat` until `done` holds (returning those counts) or `timeout` passes.
    fn wait_pgs(&self, timeout: Duration, done: fn(PgCounts) -> bool) -> Option<PgCounts> {
        let deadline = Instant::now() + timeout;
        loop {
            let counts = self.ceph(&["pg", "stat"]).ok().and_then(|stat| status::pg_counts(&stat));
            if let Some(counts) = counts
                && done(counts)
            {
                return Some(counts);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(POLL);
        }
    }
}
