//! Arithmetic on RTP's wrapping counters (16-bit sequence numbers, 32-bit timestamps).

/// Whether sequence number `a` comes after `b`, allowing for wrap-around: `a` is newer
/// if it is less than half the number space (32,768) ahead of `b`.
pub fn seq_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

/// Signed distance from `b` to `a` (`a - b`), in the range −32,768..32,767.
pub fn seq_diff(a: u16, b: u16) -> i32 {
    i32::from(a.wrapping_sub(b).cast_signed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_survives_wrap_around() {
        assert!(seq_newer(1, 0));
        assert!(seq_newer(0, 65_535));
        assert!(seq_newer(10, 65_530));
        assert!(!seq_newer(65_530, 10));
        assert!(!seq_newer(5, 5));
        assert_eq!(seq_diff(2, 65_534), 4);
        assert_eq!(seq_diff(65_534, 2), -4);
    }
}
