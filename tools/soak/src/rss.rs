//! Resident memory of a process from `/proc/<pid>/status` (Linux).

/// `VmRSS` in KiB from the text of `/proc/<pid>/status`.
pub fn vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resident memory of `pid` in MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    // KiB to MiB for display; any real RSS is exact enough in an f64.
    #[allow(clippy::cast_precision_loss)]
    vm_rss_kib(&status).map(|kib| kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_vm_rss() {
        let status = "Name:\tmyvid\nVmPeak:\t  9000 kB\nVmRSS:\t  123456 kB\nThreads:\t9\n";
        assert_eq!(super::vm_rss_kib(status), Some(123_456));
        assert_eq!(super::vm_rss_kib("Name:\tx\n"), None);
    }
}
