//! The record of one QEMU boot: everything the kernel printed on its serial
//! port, plus notes from the runner saying what it sent and when it gave up.
//!
//! Transcripts are written to the log directory so that a failure can be
//! investigated after the fact, and their last lines are printed right away
//! because that is usually where the explanation is (a panic message, an
//! exception dump).

use std::fs;
use std::io;
use std::path::Path;

/// Number of lines shown when a boot goes wrong.
pub const TAIL_LINES: usize = 40;

#[derive(Debug, Default)]
pub struct Transcript {
    text: Vec<u8>,
}

impl Transcript {
    /// Appends serial output (already stripped of `\r`).
    pub fn record_output(&mut self, bytes: &[u8]) {
        self.text.extend_from_slice(bytes);
    }

    /// Appends a runner note on a line of its own, marked `[runner]` so it
    /// cannot be mistaken for kernel output.
    pub fn note(&mut self, note: &str) {
        if !self.text.is_empty() && !self.text.ends_with(b"\n") {
            self.text.push(b'\n');
        }
        self.text
            .extend_from_slice(format!("[runner] {note}\n").as_bytes());
    }

    /// Everything recorded, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }

    /// The last `count` lines, as text.
    pub fn tail(&self, count: usize) -> String {
        last_lines(&String::from_utf8_lossy(&self.text), count)
    }

    /// Writes the whole transcript to `path`, creating its directory.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(path, &self.text)
    }
}

/// The last `count` lines of `text` (all of it if it is shorter).
pub fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(count);
    lines[start..]
        .iter()
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Makes `name` safe to use in a file name: test names contain `::`.
pub fn file_name_part(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' | '@' => c,
            _ => '_',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_start_on_a_fresh_line() {
        let mut transcript = Transcript::default();
        transcript.record_output(b"strata> ");
        transcript.note("send \"help\\r\"");
        transcript.record_output(b"help\n");
        assert_eq!(
            transcript.tail(10),
            "strata> \n[runner] send \"help\\r\"\nhelp\n"
        );
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(last_lines("a\nb", 5), "a\nb\n");
        assert_eq!(last_lines("", 5), "");
    }

    #[test]
    fn file_names_lose_path_separators() {
        assert_eq!(
            file_name_part("paging::map/unmap@16M"),
            "paging__map_unmap@16M"
        );
    }
}
