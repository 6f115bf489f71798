//! How the shell prints sizes.

use core::fmt;

/// A byte count printed with a binary unit: `512 B`, `4 KiB`, `1.5 MiB`.
/// Exact multiples print without decimals; others with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
        let bytes = self.0;
        let mut unit = 0;
        while unit + 1 < UNITS.len() && bytes >= 1u64 << (10 * (unit + 1)) {
            unit += 1;
        }
        let scale = 1u64 << (10 * unit);
        let whole = bytes / scale;
        let tenths = (bytes % scale) * 10 / scale;
        let text_width = f.width().unwrap_or(0);
        let mut buffer = FixedText::<32>::new();
        if tenths == 0 {
            let _ = fmt::write(&mut buffer, format_args!("{whole} {}", UNITS[unit]));
        } else {
            let _ = fmt::write(
                &mut buffer,
                format_args!("{whole}.{tenths} {}", UNITS[unit]),
            );
        }
        write!(f, "{:>text_width$}", buffer.as_str())
    }
}

/// Text formatted into a fixed buffer on the stack (there may be no heap).
/// Whatever does not fit is cut off, at a character boundary.
pub struct FixedText<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> FixedText<N> {
    pub const fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }

    pub fn as_str(&self) -> &str {
        // Only whole `&str` pieces (cut at char boundaries) are ever stored.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> Default for FixedText<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for FixedText<N> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut take = text.len().min(N - self.len);
        while !text.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_pick_the_largest_whole_unit() {
        assert_eq!(ByteSize(0).to_string(), "0 B");
        assert_eq!(ByteSize(1023).to_string(), "1023 B");
        assert_eq!(ByteSize(4096).to_string(), "4 KiB");
        assert_eq!(ByteSize(1536 * 1024).to_string(), "1.5 MiB");
        assert_eq!(ByteSize(639 * 1024).to_string(), "639 KiB");
        assert_eq!(ByteSize(4 << 30).to_string(), "4 GiB");
        assert_eq!(format!("[{:>8}]", ByteSize(4096)), "[   4 KiB]");
    }

    #[test]
    fn fixed_text_cuts_off_at_a_character_boundary() {
        use core::fmt::Write;
        let mut text = FixedText::<6>::new();
        text.write_str("ab\u{e9}\u{e9}\u{e9}").unwrap();
        // "ab" + two 2-byte characters fill 6 bytes; the third is cut.
        assert_eq!(text.as_str(), "ab\u{e9}\u{e9}");
        text.write_str("more").unwrap();
        assert_eq!(text.as_str(), "ab\u{e9}\u{e9}");
    }
}
