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

/// A writer that breaks long lines between words, for a screen that would
/// otherwise cut words in two: text goes on to `out` as it is, except that
/// a word that would pass column `width` starts a new line, indented by
/// `indent` spaces. Runs of spaces become one space. Call
/// [`finish`](Self::finish) at the end, or the last word stays unwritten.
pub struct Wrapping<W: fmt::Write> {
    out: W,
    width: usize,
    indent: usize,
    column: usize,
    /// The word being collected; a word that fills it is written as it is.
    word: FixedText<WORD_LIMIT>,
    space_before_word: bool,
}

/// Longest word [`Wrapping`] keeps whole.
const WORD_LIMIT: usize = 128;

impl<W: fmt::Write> Wrapping<W> {
    pub fn new(out: W, width: usize, indent: usize) -> Self {
        Self {
            out,
            width,
            indent,
            column: 0,
            word: FixedText::new(),
            space_before_word: false,
        }
    }

    /// Starts at `column` rather than at the left edge (text is already on
    /// the line).
    pub fn starting_at(mut self, column: usize) -> Self {
        self.column = column;
        self
    }

    /// Writes the last word; returns the writer.
    pub fn finish(mut self) -> Result<W, fmt::Error> {
        self.end_word()?;
        Ok(self.out)
    }

    fn end_word(&mut self) -> fmt::Result {
        let word = self.word.as_str();
        if word.is_empty() {
            return Ok(());
        }
        let space = usize::from(self.space_before_word && self.column > 0);
        if self.column > self.indent && self.column + space + word.len() > self.width {
            self.out.write_char('\n')?;
            for _ in 0..self.indent {
                self.out.write_char(' ')?;
            }
            self.column = self.indent;
        } else if space == 1 {
            self.out.write_char(' ')?;
            self.column += 1;
        }
        self.out.write_str(word)?;
        self.column += word.len();
        self.word = FixedText::new();
        self.space_before_word = false;
        Ok(())
    }
}

impl<W: fmt::Write> fmt::Write for Wrapping<W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for character in text.chars() {
            match character {
                ' ' => {
                    self.end_word()?;
                    self.space_before_word = true;
                }
                '\n' => {
                    self.end_word()?;
                    self.out.write_char('\n')?;
                    self.column = 0;
                    self.space_before_word = false;
                }
                _ => {
                    if self.word.as_str().len() + character.len_utf8() > WORD_LIMIT {
                        self.end_word()?;
                    }
                    self.word.write_char(character)?;
                }
            }
        }
        Ok(())
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

/// Prints a command's `name: key=value ...` summary line, broken between
/// its words so that no line is wider than the VGA screen (80 columns);
/// continuation lines are indented by two spaces.
pub fn print_summary(args: core::fmt::Arguments) {
    print_wrapped(0, 2, args);
    crate::println!();
}

/// Prints `args` from `column` on, broken between words at the screen's
/// width, continuation lines starting at column `indent`.
pub fn print_wrapped(column: usize, indent: usize, args: core::fmt::Arguments) {
    struct Console;
    impl core::fmt::Write for Console {
        fn write_str(&mut self, text: &str) -> core::fmt::Result {
            crate::print!("{text}");
            Ok(())
        }
    }
    let mut writer = Wrapping::new(Console, crate::screen::WIDTH, indent).starting_at(column);
    let _ = core::fmt::write(&mut writer, args);
    let _ = writer.finish();
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

    fn wrapped(pieces: &[&str], width: usize, indent: usize) -> String {
        use core::fmt::Write;
        let mut writer = Wrapping::new(String::new(), width, indent);
        for piece in pieces {
            writer.write_str(piece).unwrap();
        }
        writer.finish().unwrap()
    }

    #[test]
    fn wrapping_breaks_between_words_and_keeps_every_word() {
        // Words may arrive in pieces, as `write!` hands them over.
        let pieces = [
            "heap: kind=",
            "buddy total=83",
            "88608 used=0 free=8388608",
            " largest=8388608",
        ];
        let text = wrapped(&pieces, 32, 4);
        assert_eq!(
            text,
            "heap: kind=buddy total=8388608\n    used=0 free=8388608\n    largest=8388608"
        );
        assert!(text.lines().all(|line| line.len() <= 32));
        assert_eq!(
            text.split_whitespace().collect::<Vec<_>>(),
            pieces.concat().split_whitespace().collect::<Vec<_>>()
        );
        assert_eq!(wrapped(&["short line\n"], 80, 2), "short line\n");
        assert_eq!(wrapped(&[""], 80, 2), "");
        // A word wider than the screen is not split, and nothing is lost
        // around it.
        assert_eq!(wrapped(&["a 0123456789 b"], 6, 0), "a\n0123456789\nb");
        assert_eq!(
            wrapped(&["ab \u{e9}\u{e9}\u{e9}"], 4, 0),
            "ab\n\u{e9}\u{e9}\u{e9}"
        );
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
