//! Reassembling lines from serial output.
//!
//! QEMU hands us serial output in arbitrary chunks: one read may end in the
//! middle of a line, or hold several lines at once. The kernel-test protocol
//! is line-based, so [`LineBuffer`] keeps the unfinished tail of the last
//! chunk until the rest of its line arrives.

#[derive(Debug, Default)]
pub struct LineBuffer {
    partial: Vec<u8>,
}

impl LineBuffer {
    /// Adds a chunk of output and returns the lines it completed, without
    /// their line endings (a `\r` before the `\n` is dropped too).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &byte in chunk {
            if byte == b'\n' {
                lines.push(self.take());
            } else {
                self.partial.push(byte);
            }
        }
        lines
    }

    /// Returns the unfinished last line, if any: called once the output has
    /// ended, because a kernel that dies mid-line still said something useful.
    pub fn finish(&mut self) -> Option<String> {
        (!self.partial.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> String {
        let bytes = std::mem::take(&mut self.partial);
        String::from_utf8_lossy(&bytes)
            .trim_end_matches('\r')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_lines_split_across_chunks() {
        let mut buffer = LineBuffer::default();
        assert_eq!(buffer.push(b"ktest: re"), Vec::<String>::new());
        assert_eq!(
            buffer.push(b"ady\r\nktest: ok a\nktest"),
            ["ktest: ready", "ktest: ok a"]
        );
        assert_eq!(buffer.push(b": ok b\n"), ["ktest: ok b"]);
        assert_eq!(buffer.finish(), None);
    }

    #[test]
    fn finish_returns_the_unterminated_line() {
        let mut buffer = LineBuffer::default();
        buffer.push(b"done\npanicked at");
        assert_eq!(buffer.finish().as_deref(), Some("panicked at"));
        assert_eq!(buffer.finish(), None);
    }
}
