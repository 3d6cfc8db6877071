//! Free loopback ports for the daemons: single ports from port-0 binds, and a block of ports
//! below the kernel's ephemeral range for the OSDs and the manager.

use std::fs;
use std::net::TcpListener;
use std::ops::RangeInclusive;
use std::process;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// Ports and blocks this process already handed out: the kernel may offer a port again as
/// soon as it is released, before the daemon it was meant for binds it, and clusters of one
/// test binary start in parallel threads.
static HANDED_OUT: Mutex<Vec<RangeInclusive<u16>>> = Mutex::new(Vec::new());

/// Where the OSD blocks are looked for: from here up to the start of the ephemeral range.
const BLOCK_FLOOR: u16 = 10_000;

/// `count` distinct ports that were free a moment ago on 127.0.0.1 (from the ephemeral range).
///
/// All the listeners stay open until every port is known, so the ports differ from each other;
/// another process can still take one before a daemon binds it (`up.sh` then exits 75 and the
/// caller retries with new ports).
pub(crate) fn free_ports(count: usize) -> Vec<u16> {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let mut listeners = Vec::new();
    let mut ports = Vec::with_capacity(count);
    while ports.len() < count {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .unwrap_or_else(|e| panic!("ceph-harness: cannot bind a port on 127.0.0.1: {e}"));
        let port = listener.local_addr().expect("a bound listener has an address").port();
        if !handed_out.iter().any(|taken| taken.contains(&port)) {
            handed_out.push(port..=port);
            ports.push(port);
        }
        listeners.push(listener);
    }
    ports
}

/// A block of `len` consecutive ports, all free a moment ago on 127.0.0.1, below the
/// ephemeral range (so outgoing connections do not take them meanwhile). Ceph daemons skip a
/// port of their range that is in use, so a port taken later costs nothing.
///
/// Panics when no such block is free.
pub(crate) fn free_block(len: u16) -> RangeInclusive<u16> {
    let ceiling = ephemeral_start().saturating_sub(len);
    assert!(ceiling > BLOCK_FLOOR, "ceph-harness: no room for {len} ports below the ephemeral port range");
    let slots = (ceiling - BLOCK_FLOOR) / len;
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    // start at a different block in each process, so parallel test binaries rarely meet
    let first = (seed() % u64::from(slots)) as u16;
    for i in 0..slots {
        let start = BLOCK_FLOOR + ((first + i) % slots) * len;
        let block = start..=start + (len - 1);
        let overlaps = handed_out.iter().any(|taken| taken.start() <= block.end() && block.start() <= taken.end());
        if !overlaps && all_free(&block) {
            handed_out.push(block.clone());
            return block;
        }
    }
    panic!("ceph-harness: no block of {len} free ports between {BLOCK_FLOOR} and {ceiling}")
}

/// True when every port of `block` can be bound on 127.0.0.1 right now.
fn all_free(block: &RangeInclusive<u16>) -> bool {
    let mut listeners = Vec::with_capacity(block.len());
    for port in block.clone() {
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(listener) => listeners.push(listener),
            Err(_) => return false,
        }
    }
    true
}

/// The first port of the kernel's ephemeral range (32768 when it cannot be read).
fn ephemeral_start() -> u16 {
    fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A number that differs between processes and runs.
fn seed() -> u64 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    u64::from(process::id()).wrapping_mul(2_654_435_761) ^ u64::from(nanos)
}

#[cfg(test)]
mod tests {
    use super::{free_block, free_ports};

    #[test]
    fn blocks_and_ports_do_not_overlap() {
        let a = free_block(100);
        let b = free_block(100);
        assert_eq!(a.len(), 100);
        assert!(a.end() < b.start() || b.end() < a.start(), "{a:?} {b:?}");
        let ports = free_ports(3);
        assert!(ports.iter().all(|p| !a.contains(p) && !b.contains(p)));
    }
}
