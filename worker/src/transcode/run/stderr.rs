//! What ffmpeg printed on standard error, reduced to a reason a person can read.

/// How much of standard error is kept: the *last* 16 KiB, because ffmpeg prints the
/// error that ended it last (with `-v error`, there is rarely more than a few lines).
pub(crate) const STDERR_KEPT: usize = 16 * 1024;

/// The longest reason given, in characters (it ends up in a database column and a UI).
pub(crate) const REASON_CHARS: usize = 200;

/// The tail of a process's standard error.
#[derive(Debug, Default)]
pub(crate) struct StderrTail {
    /// At most `2 × STDERR_KEPT` bytes; trimmed to the last `STDERR_KEPT` when it grows
    /// past that (so trimming happens once per 16 KiB, not on every read).
    kept: Vec<u8>,
}

impl StderrTail {
    /// Appends what was read.
    pub fn push(&mut self, bytes: &[u8]) {
        self.kept.extend_from_slice(bytes);
        if self.kept.len() > 2 * STDERR_KEPT {
            self.kept.drain(..self.kept.len() - STDERR_KEPT);
        }
    }

    /// The last non-empty line, cleaned by [`clean_reason`]; `None` when nothing was
    /// printed.
    pub fn reason(&self) -> Option<String> {
        let text = String::from_utf8_lossy(&self.kept);
        text.lines().rev().map(str::trim).find(|l| !l.is_empty()).map(clean_reason).filter(|r| !r.is_empty())
    }

    /// Whether any kept line contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        String::from_utf8_lossy(&self.kept).contains(needle)
    }
}

/// One line of ffmpeg's standard error as a reason for a person: without the
/// `[matroska,webm @ 0x55…] ` context prefix, without a leading `path: `, with any
/// other absolute path replaced by `<file>` (the machine's layout is nobody's
/// business), at most [`REASON_CHARS`] characters.
pub(crate) fn clean_reason(line: &str) -> String {
    let mut line = line.trim();
    if line.starts_with('[')
        && let Some((_, rest)) = line.split_once("] ")
    {
        line = rest.trim_start();
    }
    if let Some((head, rest)) = line.split_once(": ")
        && is_path(head)
    {
        line = rest;
    }
    let words: Vec<&str> = line.split(' ').map(|w| if is_path(w) { "<file>" } else { w }).collect();
    words.join(" ").chars().take(REASON_CHARS).collect()
}

/// Whether a word looks like a file path or a `file:` URL (quotes and trailing
/// punctuation ignored).
fn is_path(word: &str) -> bool {
    let word = word.trim_matches(|c: char| matches!(c, '\'' | '"' | ',' | '.' | ':' | '(' | ')'));
    word.starts_with('/') || word.starts_with("file:") || word.starts_with("./") || word.starts_with("../")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_the_last_line_without_prefixes_or_paths() {
        let mut tail = StderrTail::default();
        tail.push(b"[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55c9d96c2640] moov atom not found\n");
        tail.push(b"file:/tmp/wx/trunc.mp4: Invalid data found when processing input\n\n");
        assert_eq!(tail.reason().unwrap(), "Invalid data found when processing input");
        let mut tail = StderrTail::default();
        tail.push(b"[matroska,webm @ 0x5579ffb4d640] File ended prematurely\n");
        assert_eq!(tail.reason().unwrap(), "File ended prematurely");
        assert_eq!(
            clean_reason("[hls @ 0x1] Failed to open segment '/srv/myvid/work/j1/480p/init.mp4'"),
            "Failed to open segment <file>"
        );
        assert_eq!(clean_reason("Conversion failed!"), "Conversion failed!");
        assert_eq!(StderrTail::default().reason(), None);
    }

    #[test]
    fn keeps_only_the_tail_and_bounds_the_reason() {
        let mut tail = StderrTail::default();
        for i in 0..10_000 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        assert!(tail.kept.len() <= 2 * STDERR_KEPT);
        assert_eq!(tail.reason().unwrap(), "line 9999");
        let mut tail = StderrTail::default();
        tail.push("é".repeat(1000).as_bytes());
        assert_eq!(tail.reason().unwrap().chars().count(), REASON_CHARS);
    }

    proptest! {
        #[test]
        fn reasons_are_bounded_and_never_panic(chunks in prop::collection::vec(any::<Vec<u8>>(), 0..8)) {
            let mut tail = StderrTail::default();
            for chunk in &chunks {
                tail.push(chunk);
            }
            if let Some(reason) = tail.reason() {
                prop_assert!(!reason.is_empty() && reason.chars().count() <= REASON_CHARS);
                prop_assert!(!reason.contains('\n'));
            }
        }
    }
}
