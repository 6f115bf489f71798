//! Backslash escapes, in both directions.
//!
//! Test scripts need to describe bytes that cannot be typed into a text file
//! (a lone carriage return, a backspace, an escape sequence), and failure
//! messages need to show serial output whose invisible bytes are often the
//! whole point ("was that `\r\n` or `\n`?"). Both use the same notation:
//! `\r \n \t \\ \xNN`.

/// Turns `\r \n \t \\ \xNN` in `text` into the bytes they stand for.
/// Everything else is taken literally.
pub fn expand(text: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        rest = after;
        if byte != b'\\' {
            bytes.push(byte);
            continue;
        }
        let Some((&kind, after)) = rest.split_first() else {
            return Err("`\\` at the end of the line (write `\\\\` for a backslash)".into());
        };
        rest = after;
        match kind {
            b'r' => bytes.push(b'\r'),
            b'n' => bytes.push(b'\n'),
            b't' => bytes.push(b'\t'),
            b'\\' => bytes.push(b'\\'),
            b'x' => {
                let hex = rest.get(..2).and_then(|digits| {
                    let digits = std::str::from_utf8(digits).ok()?;
                    u8::from_str_radix(digits, 16).ok()
                });
                let Some(value) = hex else {
                    return Err("`\\x` must be followed by two hex digits, e.g. `\\x1b`".into());
                };
                bytes.push(value);
                rest = &rest[2..];
            }
            other => {
                return Err(format!(
                    "unknown escape `\\{}` (known: \\r \\n \\t \\\\ \\xNN)",
                    other.escape_ascii()
                ))
            }
        }
    }
    Ok(bytes)
}

/// Shows `bytes` as a double-quoted string using the same escapes (plus
/// `\"` for a quote), cut after `max_chars` characters so a runaway kernel
/// cannot flood the report.
pub fn quote(bytes: &[u8], max_chars: usize) -> String {
    let mut quoted = String::from("\"");
    let mut chars = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escaped = match byte {
            b'\r' => "\\r".to_string(),
            b'\n' => "\\n".to_string(),
            b'\t' => "\\t".to_string(),
            b'\\' => "\\\\".to_string(),
            b'"' => "\\\"".to_string(),
            b' '..=b'~' => char::from(byte).to_string(),
            _ => format!("\\x{byte:02x}"),
        };
        if chars + escaped.len() > max_chars {
            quoted.push_str(&format!("\"... ({} more bytes)", bytes.len() - index));
            return quoted;
        }
        chars += escaped.len();
        quoted.push_str(&escaped);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_every_escape() {
        assert_eq!(
            expand(r"a\r\n\t\\\x1b[A\xFF").unwrap(),
            b"a\r\n\t\\\x1b[A\xff"
        );
        assert_eq!(expand("plain text").unwrap(), b"plain text");
        assert_eq!(expand("").unwrap(), b"");
    }

    #[test]
    fn rejects_bad_escapes() {
        assert!(expand(r"\q").unwrap_err().contains("unknown escape `\\q`"));
        assert!(expand(r"\x1").unwrap_err().contains("two hex digits"));
        assert!(expand(r"\xzz").unwrap_err().contains("two hex digits"));
        assert!(expand("trailing\\")
            .unwrap_err()
            .contains("end of the line"));
    }

    #[test]
    fn quotes_invisible_bytes() {
        assert_eq!(quote(b"ls\r\nok \"x\"\x08", 100), r#""ls\r\nok \"x\"\x08""#);
    }

    #[test]
    fn quoting_round_trips_through_expand() {
        let original = b"echo \\hi\t\x7f\r\n";
        let quoted = quote(original, 100);
        let inner = &quoted[1..quoted.len() - 1];
        assert_eq!(expand(inner).unwrap(), original);
    }

    #[test]
    fn quote_truncates_long_output() {
        assert_eq!(quote(b"abcdef", 4), "\"abcd\"... (2 more bytes)");
        assert_eq!(quote(b"abcd", 4), "\"abcd\"");
    }
}
