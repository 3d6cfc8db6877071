//! Free loopback ports for the servers, found by binding port 0.

use std::net::TcpListener;
use std::sync::{Mutex, PoisonError};

/// Ports this process already handed out: the kernel may offer a port again as soon as it is
/// released, before the server it was meant for binds it, and clusters of one test binary
/// start in parallel threads.
static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());

/// `count` distinct ports that were free a moment ago on 127.0.0.1.
///
/// All the listeners stay open until every port is known, so the ports differ from each other;
/// another process can still take one before a server binds it (`up.sh` then exits 75 and the
/// caller retries with new ports).
pub(crate) fn free_ports(count: usize) -> Vec<u16> {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let mut listeners = Vec::new();
    let mut ports = Vec::with_capacity(count);
    while ports.len() < count {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .unwrap_or_else(|e| panic!("galera-harness: cannot bind a port on 127.0.0.1: {e}"));
        let port = listener.local_addr().expect("a bound listener has an address").port();
        if !handed_out.contains(&port) {
            handed_out.push(port);
            ports.push(port);
        }
        listeners.push(listener);
    }
    ports
}
