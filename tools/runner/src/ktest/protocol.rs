//! The text protocol a test kernel speaks on its serial port.
//!
//! Every protocol line contains `ktest: ` followed by one message. Anything
//! else on the serial port (boot log, exception dumps) is kept in the log
//! but otherwise ignored, so the kernel may print freely between messages.
//!
//! | kernel prints                        | meaning                                      |
//! |--------------------------------------|----------------------------------------------|
//! | `ktest: ready`                       | waiting for a command on the serial port      |
//! | `ktest: run NAME`                    | starting test NAME                            |
//! | `ktest: ok NAME`                     | NAME passed                                   |
//! | `ktest: ok NAME token=T`             | NAME passed, in a boot the grader sent `T` to |
//! | `ktest: FAILED NAME: REASON`         | NAME failed (`: REASON` is optional)          |
//! | `ktest: isolated NAME`               | NAME must run in a boot of its own            |
//! | `ktest: done P passed, F failed`     | all tests of this boot reported               |
//!
//! The runner answers `ktest: ready` with `all\r` (run every normal test) or
//! `NAME\r` (run just the isolated test NAME). The grader (`make grade`)
//! sends `NAME TOKEN\r`, and accepts only `ok` lines that carry its token. Test names may contain `::`,
//! so a FAILED line's name ends at the first whitespace, and a trailing `:`
//! is not part of it.

/// One protocol message.
#[derive(Debug, PartialEq)]
pub enum Message {
    Ready,
    Run(String),
    Ok {
        name: String,
        /// The grader's token, echoed (`token=T`); `None` without one.
        token: Option<String>,
    },
    Failed {
        name: String,
        reason: String,
    },
    Isolated(String),
    Done {
        passed: usize,
        failed: usize,
    },
    /// A `ktest: ` line the runner does not understand: worth a warning,
    /// since it usually means the two sides disagree about the protocol.
    Unrecognized(String),
}

const MARKER: &str = "ktest: ";

/// Parses one serial line. Lines without `ktest: ` give `None`.
pub fn parse_line(line: &str) -> Option<Message> {
    let start = line.find(MARKER)?;
    let body = line[start + MARKER.len()..].trim_end();
    let (word, rest) = body.split_once(' ').unwrap_or((body, ""));
    let rest = rest.trim();
    let single_name =
        || (!rest.is_empty() && !rest.contains(char::is_whitespace)).then(|| rest.to_string());

    let message = match word {
        "ready" if rest.is_empty() => Some(Message::Ready),
        "run" => single_name().map(Message::Run),
        "ok" => parse_ok(rest),
        "isolated" => single_name().map(Message::Isolated),
        "FAILED" => parse_failed(rest),
        "done" => parse_done(rest),
        _ => None,
    };
    Some(message.unwrap_or_else(|| Message::Unrecognized(body.to_string())))
}

/// `NAME` or `NAME token=T`.
fn parse_ok(rest: &str) -> Option<Message> {
    let mut words = rest.split_whitespace();
    let name = words.next()?.to_string();
    let token = match words.next() {
        None => None,
        Some(word) => Some(word.strip_prefix("token=")?.to_string()),
    };
    words
        .next()
        .is_none()
        .then_some(Message::Ok { name, token })
}

/// `NAME: REASON` or just `NAME`.
fn parse_failed(rest: &str) -> Option<Message> {
    let (name, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let name = name.strip_suffix(':').unwrap_or(name);
    if name.is_empty() {
        return None;
    }
    Some(Message::Failed {
        name: name.to_string(),
        reason: reason.trim().to_string(),
    })
}

/// `P passed, F failed`.
fn parse_done(rest: &str) -> Option<Message> {
    let (passed, failed) = rest.split_once(", ")?;
    let passed = passed.strip_suffix(" passed")?.parse().ok()?;
    let failed = failed.strip_suffix(" failed")?.parse().ok()?;
    Some(Message::Done { passed, failed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Message {
        parse_line(line).expect("a protocol line")
    }

    #[test]
    fn parses_every_message() {
        assert_eq!(parse("ktest: ready"), Message::Ready);
        assert_eq!(
            parse("ktest: run gdt::loads"),
            Message::Run("gdt::loads".into())
        );
        assert_eq!(
            parse("ktest: ok gdt::loads"),
            Message::Ok {
                name: "gdt::loads".into(),
                token: None
            }
        );
        assert_eq!(
            parse("ktest: ok gdt::loads token=5f1c"),
            Message::Ok {
                name: "gdt::loads".into(),
                token: Some("5f1c".into())
            }
        );
        assert_eq!(
            parse("ktest: isolated idt::page_fault"),
            Message::Isolated("idt::page_fault".into())
        );
        assert_eq!(
            parse("ktest: done 12 passed, 1 failed"),
            Message::Done {
                passed: 12,
                failed: 1
            }
        );
    }

    #[test]
    fn failed_name_may_contain_colons() {
        assert_eq!(
            parse("ktest: FAILED memory::frames::reuse: expected 0x1000, got 0x2000"),
            Message::Failed {
                name: "memory::frames::reuse".into(),
                reason: "expected 0x1000, got 0x2000".into()
            }
        );
        assert_eq!(
            parse("ktest: FAILED heap::grow"),
            Message::Failed {
                name: "heap::grow".into(),
                reason: String::new()
            }
        );
    }

    #[test]
    fn tolerates_prefixes_and_trailing_space() {
        assert_eq!(
            parse("[INFO] ktest: ok a  "),
            Message::Ok {
                name: "a".into(),
                token: None
            }
        );
    }

    #[test]
    fn other_lines_are_not_protocol() {
        assert_eq!(parse_line("Strata booting, 128 MiB RAM"), None);
        assert_eq!(parse_line("ktest:ready"), None);
        assert_eq!(parse_line(""), None);
    }

    #[test]
    fn malformed_messages_are_flagged() {
        for line in [
            "ktest: hello",
            "ktest: ready now",
            "ktest: ok",
            "ktest: ok two names",
            "ktest: ok a token=b c",
            "ktest: done 3 passed",
            "ktest: done x passed, 0 failed",
            "ktest: FAILED",
        ] {
            assert!(
                matches!(parse(line), Message::Unrecognized(_)),
                "{line} should be unrecognized"
            );
        }
    }
}
