//! Splitting a command line into words, and reading numbers from them.
//!
//! Commands read their arguments through [`Args`], which turns every mistake
//! into a [`CommandError`] that says what was wrong — `bad number for SIZE:
//! 'ten'` — instead of a command silently using a default.

use core::fmt;
use core::str::SplitWhitespace;

/// The words of a command line, read one at a time.
pub struct Args<'a> {
    words: SplitWhitespace<'a>,
    command_name: Option<&'a str>,
}

impl<'a> Args<'a> {
    /// Splits `line`; the first word is the command's name.
    pub fn new(line: &'a str) -> Self {
        let mut words = line.split_whitespace();
        let command_name = words.next();
        Self {
            words,
            command_name,
        }
    }

    /// The first word of the line, if there is one.
    pub fn command_name(&self) -> Option<&'a str> {
        self.command_name
    }

    /// The next word, if any.
    pub fn next_word(&mut self) -> Option<&'a str> {
        self.words.next()
    }

    /// The next word; `what` names it in the error if it is missing.
    pub fn word(&mut self, what: &'static str) -> Result<&'a str, CommandError<'a>> {
        self.next_word().ok_or(CommandError::Missing(what))
    }

    /// The next word as a number (see [`parse_number`]).
    pub fn number(&mut self, what: &'static str) -> Result<u64, CommandError<'a>> {
        let text = self.word(what)?;
        parse_number(text).map_err(|reason| CommandError::BadNumber { what, text, reason })
    }

    /// Like [`number`](Self::number), but the argument may be left out.
    pub fn optional_number(&mut self, what: &'static str) -> Result<Option<u64>, CommandError<'a>> {
        match self.next_word() {
            None => Ok(None),
            Some(text) => parse_number(text)
                .map(Some)
                .map_err(|reason| CommandError::BadNumber { what, text, reason }),
        }
    }

    /// All remaining words (for commands like `echo`).
    pub fn rest(&mut self) -> impl Iterator<Item = &'a str> + '_ {
        &mut self.words
    }

    /// Succeeds only if every word has been read; catches typos like
    /// `free 3 4`.
    pub fn finish(&mut self) -> Result<(), CommandError<'a>> {
        match self.next_word() {
            None => Ok(()),
            Some(extra) => Err(CommandError::Unexpected(extra)),
        }
    }
}

/// Why a command did not run (or failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandError<'a> {
    /// A required argument was not given.
    Missing(&'static str),
    /// An argument that should be a number is not one.
    BadNumber {
        what: &'static str,
        text: &'a str,
        reason: NumberError,
    },
    /// More arguments than the command takes.
    Unexpected(&'a str),
    /// The arguments do not fit together; the message says why.
    Usage(&'static str),
    /// The command ran and failed; the message says why.
    Failed(&'static str),
    /// The command ran, failed, and has already printed why (for messages
    /// with numbers in them, which a `&'static str` cannot hold).
    Reported,
}

impl CommandError<'_> {
    /// Whether the arguments were wrong (so the usage line helps).
    pub fn is_usage_error(&self) -> bool {
        matches!(
            self,
            Self::Missing(_) | Self::BadNumber { .. } | Self::Unexpected(_) | Self::Usage(_)
        )
    }
}

impl fmt::Display for CommandError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(what) => write!(f, "missing {what}"),
            Self::BadNumber { what, text, reason } => {
                write!(f, "bad number for {what}: '{text}' ({reason})")
            }
            Self::Unexpected(word) => write!(f, "unexpected argument '{word}'"),
            Self::Usage(message) | Self::Failed(message) => f.write_str(message),
            Self::Reported => f.write_str("failed"),
        }
    }
}

/// Why a word is not a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// Not digits in the base it claims.
    NotANumber,
    /// Does not fit in 64 bits.
    TooLarge,
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotANumber => f.write_str("expected e.g. 4096, 0x1000 or 4K"),
            Self::TooLarge => f.write_str("too large"),
        }
    }
}

/// Parses a number the way a kernel hacker types one: decimal (`4096`),
/// hexadecimal (`0x1000`), binary (`0b1010`), with `_` separators allowed and
/// an optional binary-unit suffix (`4K`, `2M`, `1G` = ×1024, ×1024², ×1024³).
pub fn parse_number(text: &str) -> Result<u64, NumberError> {
    let (digits, multiplier) = match text.as_bytes().last() {
        Some(b'k' | b'K') => (&text[..text.len() - 1], 1 << 10),
        Some(b'm' | b'M') => (&text[..text.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    let (digits, radix) = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (hex, 16)
    } else if let Some(binary) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (binary, 2)
    } else {
        (digits, 10)
    };
    let mut value: u64 = 0;
    let mut any_digit = false;
    for character in digits.chars() {
        if character == '_' && any_digit {
            continue;
        }
        let digit = character.to_digit(radix).ok_or(NumberError::NotANumber)?;
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(digit)))
            .ok_or(NumberError::TooLarge)?;
        any_digit = true;
    }
    if !any_digit {
        return Err(NumberError::NotANumber);
    }
    value.checked_mul(multiplier).ok_or(NumberError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_every_accepted_form() {
        assert_eq!(parse_number("0"), Ok(0));
        assert_eq!(parse_number("4096"), Ok(4096));
        assert_eq!(parse_number("0x1000"), Ok(4096));
        assert_eq!(parse_number("0XfF"), Ok(255));
        assert_eq!(parse_number("0b101"), Ok(5));
        assert_eq!(parse_number("4K"), Ok(4096));
        assert_eq!(parse_number("2m"), Ok(2 << 20));
        assert_eq!(parse_number("1G"), Ok(1 << 30));
        assert_eq!(parse_number("0x10K"), Ok(16 << 10));
        assert_eq!(parse_number("1_000_000"), Ok(1_000_000));
        assert_eq!(parse_number("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn bad_numbers_say_why() {
        for text in [
            "", "K", "0x", "ten", "12ab", "-1", "1.5", "_1", "0x_", "4KB",
        ] {
            assert_eq!(parse_number(text), Err(NumberError::NotANumber), "{text:?}");
        }
        assert_eq!(
            parse_number("18446744073709551616"),
            Err(NumberError::TooLarge)
        );
        assert_eq!(parse_number("17179869184G"), Err(NumberError::TooLarge));
    }

    #[test]
    fn args_read_words_and_report_mistakes() {
        let mut args = Args::new("  alloc   64  0x10 extra ");
        assert_eq!(args.command_name(), Some("alloc"));
        assert_eq!(args.number("SIZE"), Ok(64));
        assert_eq!(args.optional_number("ALIGN"), Ok(Some(16)));
        assert_eq!(args.finish(), Err(CommandError::Unexpected("extra")));
        assert_eq!(args.word("HANDLE"), Err(CommandError::Missing("HANDLE")));
        assert_eq!(args.optional_number("ALIGN"), Ok(None));

        let mut args = Args::new("free ten");
        let error = args.number("HANDLE").unwrap_err();
        assert_eq!(
            error.to_string(),
            "bad number for HANDLE: 'ten' (expected e.g. 4096, 0x1000 or 4K)"
        );
        assert_eq!(Args::new("   ").command_name(), None);
    }

    #[test]
    fn rest_yields_the_remaining_words() {
        let mut args = Args::new("echo hello   big  world");
        let words: Vec<&str> = args.rest().collect();
        assert_eq!(words, ["hello", "big", "world"]);
    }
}
