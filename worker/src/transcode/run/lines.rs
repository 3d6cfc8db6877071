//! Cutting a byte stream into lines, with a bound on how long a line may grow.

/// Collects bytes and hands out complete lines. A line longer than the bound is
/// dropped whole (a progress line is under 100 bytes; anything longer is not one), so
/// memory stays bounded whatever the process prints.
#[derive(Debug)]
pub(crate) struct LineBuffer {
    /// The unfinished last line.
    partial: Vec<u8>,
    /// The longest line kept, in bytes.
    max: usize,
    /// Whether the unfinished line already went past `max` (it is being skipped).
    skipping: bool,
}

impl LineBuffer {
    /// A buffer keeping lines of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        LineBuffer { partial: Vec::new(), max, skipping: false }
    }

    /// Adds `bytes` and calls `each` with every line they complete (without its `\n`;
    /// invalid UTF-8 replaced).
    pub fn push(&mut self, mut bytes: &[u8], mut each: impl FnMut(&str)) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            self.take(&bytes[..end]);
            if !self.skipping {
                each(&String::from_utf8_lossy(&self.partial));
            }
            self.partial.clear();
            self.skipping = false;
            bytes = &bytes[end + 1..];
        }
        self.take(bytes);
    }

    /// Calls `each` with the unfinished last line, if any (the stream has ended).
    pub fn finish(&mut self, mut each: impl FnMut(&str)) {
        if !self.skipping && !self.partial.is_empty() {
            each(&String::from_utf8_lossy(&self.partial));
        }
        self.partial.clear();
        self.skipping = false;
    }

    /// Appends to the unfinished line, or starts skipping it once it is too long.
    fn take(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        if self.partial.len() + bytes.len() > self.max {
            self.partial.clear();
            self.skipping = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn collect(max: usize, chunks: &[&[u8]]) -> Vec<String> {
        let mut buffer = LineBuffer::new(max);
        let mut lines = Vec::new();
        for chunk in chunks {
            buffer.push(chunk, |l| lines.push(l.to_owned()));
        }
        buffer.finish(|l| lines.push(l.to_owned()));
        lines
    }

    #[test]
    fn joins_lines_split_across_reads() {
        assert_eq!(
            collect(64, &[b"out_time", b"_us=1\nprogress=con", b"tinue\nlast"]),
            ["out_time_us=1", "progress=continue", "last"]
        );
    }

    #[test]
    fn drops_overlong_lines_whole_and_keeps_the_next() {
        assert_eq!(collect(4, &[b"abcd\nabcdef", b"gh\nxy\n"]), ["abcd", "xy"]);
        assert_eq!(collect(4, &[b"ok\n", b"toolong"]), ["ok"]);
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_lines(text in "[a-z=\n]{0,200}", cut in 0usize..200) {
            let cut = cut.min(text.len());
            let whole = collect(1000, &[text.as_bytes()]);
            let split = collect(1000, &[&text.as_bytes()[..cut], &text.as_bytes()[cut..]]);
            prop_assert_eq!(&whole, &split);
            let expected: Vec<&str> = text.split('\n').filter(|l| !l.is_empty()).collect();
            let got: Vec<&str> = whole.iter().map(String::as_str).filter(|l| !l.is_empty()).collect();
            prop_assert_eq!(got, expected);
        }
    }
}
