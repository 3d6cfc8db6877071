//! A real erasure-coded S3 store for integration tests: a one-host Ceph cluster (1 monitor,
//! 1 manager, 6 bluestore OSDs on sparse files, an EC k=4 m=2 data pool with one chunk per
//! OSD) with radosgw serving S3 on a free loopback port, started by `scripts/ceph/up.sh` and
//! thrown away when the [`S3Store`] is dropped.
//!
//! ```no_run
//! use myvid_ceph_harness::S3Store;
//!
//! let store = S3Store::start();
//! let endpoint = store.endpoint(); // "http://127.0.0.1:PORT", path-style S3
//! let (key, secret, region) = (store.access_key(), store.secret_key(), store.region());
//! // ... S3 requests ...
//! store.kill_osd(1);
//! store.kill_osd(4); // two of six down: every S3 request still works
//! store.restart_osd(1);
//! store.restart_osd(4);
//! println!("{}", store.ceph(&["pg", "stat"]).unwrap());
//! # let _ = (endpoint, key, secret, region);
//! ```
//!
//! With a third OSD down, requests that touch the affected placement groups hang (Ceph never
//! answers an error for unavailable data): clients must use timeouts.
//!
//! Needs `ceph-mon ceph-osd ceph-mgr radosgw ceph-common` and `curl`
//! (`scripts/install-deps.sh test`). OSDs are numbered from 0, as Ceph numbers them. Set
//! `MYVID_KEEP_S3=1` to keep the cluster's directory (logs, data) after a test.

mod cli;
mod osds;
mod ports;
mod programs;
mod scripts;
mod start;
mod status;
mod store;

pub use store::S3Store;
