//! Reading the output of Rust's built-in test harness (libtest).
//!
//! `cargo test` prints one line per finished test:
//!
//! ```text
//! test frames::tests::alloc_then_free ... ok
//! test frames::tests::double_free - should panic ... ok
//! test frames::tests::huge ... ignored, needs 4 GiB
//! test frames::tests::reuse ... FAILED
//! ```
//!
//! and, when something failed, the captured output of each failed test:
//!
//! ```text
//! failures:
//!
//! ---- frames::tests::reuse stdout ----
//! thread 'frames::tests::reuse' panicked at src/frames.rs:40:9:
//! ...
//!
//! failures:
//!     frames::tests::reuse
//!
//! test result: FAILED. 1 passed; 1 failed; 1 ignored; ...
//! ```

/// The verdict on one test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    Passed,
    Failed,
    Ignored,
}

/// One `test NAME ... OUTCOME` line.
#[derive(Debug, PartialEq)]
pub struct TestLine {
    pub name: String,
    pub outcome: Outcome,
}

/// Parses a `test NAME ... OUTCOME` line; other lines give `None`.
pub fn parse_test_line(line: &str) -> Option<TestLine> {
    let rest = line.strip_prefix("test ")?;
    let (name, verdict) = rest.rsplit_once(" ... ")?;
    let outcome = match verdict.trim_end() {
        "ok" => Outcome::Passed,
        "FAILED" => Outcome::Failed,
        v if v == "ignored" || v.starts_with("ignored,") => Outcome::Ignored,
        // e.g. benchmark results: not a pass/fail verdict.
        _ => return None,
    };
    let name = name.strip_suffix(" - should panic").unwrap_or(name);
    Some(TestLine {
        name: name.to_string(),
        outcome,
    })
}

/// Whether `line` is libtest's closing `test result: ...` line. Its absence
/// means the test binary never ran to the end (or was never built).
pub fn is_result_line(line: &str) -> bool {
    line.starts_with("test result: ")
}

/// Whether `line` is libtest's `running N tests` line: its presence means
/// the test binary was built and started.
pub fn is_running_line(line: &str) -> bool {
    line.starts_with("running ") && (line.ends_with(" tests") || line.ends_with(" test"))
}

/// Collects the `---- NAME stdout ----` sections: test name → its captured
/// output (typically the panic message).
pub fn failure_details(output: &str) -> Vec<(String, String)> {
    let mut details: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in output.lines() {
        let header = line
            .strip_prefix("---- ")
            .and_then(|rest| rest.strip_suffix(" stdout ----"));
        let ends_section = header.is_some() || line == "failures:" || is_result_line(line);
        if ends_section {
            if let Some((name, text)) = current.take() {
                details.push((name, text.trim_matches('\n').trim_end().to_string()));
            }
        }
        if let Some(name) = header {
            current = Some((name.to_string(), String::new()));
        } else if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    if let Some((name, text)) = current {
        details.push((name, text.trim_matches('\n').trim_end().to_string()));
    }
    details
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_line(name: &str, outcome: Outcome) -> Option<TestLine> {
        Some(TestLine {
            name: name.to_string(),
            outcome,
        })
    }

    #[test]
    fn parses_outcomes() {
        assert_eq!(
            parse_test_line("test a::b ... ok"),
            test_line("a::b", Outcome::Passed)
        );
        assert_eq!(
            parse_test_line("test a::c ... FAILED"),
            test_line("a::c", Outcome::Failed)
        );
        assert_eq!(
            parse_test_line("test a::d ... ignored"),
            test_line("a::d", Outcome::Ignored)
        );
        assert_eq!(
            parse_test_line("test a::e ... ignored, needs real hardware"),
            test_line("a::e", Outcome::Ignored)
        );
        assert_eq!(
            parse_test_line("test a::f - should panic ... ok"),
            test_line("a::f", Outcome::Passed)
        );
    }

    #[test]
    fn ignores_other_lines() {
        assert_eq!(parse_test_line("running 3 tests"), None);
        assert_eq!(
            parse_test_line("test result: ok. 3 passed; 0 failed; 0 ignored"),
            None
        );
        assert_eq!(parse_test_line("test big ... bench:  1,234 ns/iter"), None);
        assert_eq!(parse_test_line("   Compiling strata-kernel v0.1.0"), None);
    }

    #[test]
    fn recognises_result_and_running_lines() {
        assert!(is_result_line("test result: FAILED. 1 passed; 1 failed"));
        assert!(!is_result_line("test a ... ok"));
        assert!(is_running_line("running 12 tests"));
        assert!(is_running_line("running 1 test"));
        assert!(!is_running_line("running the kernel"));
    }

    #[test]
    fn extracts_failure_sections() {
        let output = "\
running 3 tests
test a ... FAILED
test b ... ok
test c ... FAILED

failures:

---- a stdout ----
thread 'a' panicked at src/lib.rs:3:5:
left: 1
right: 2

---- c stdout ----
boom

failures:
    a
    c

test result: FAILED. 1 passed; 2 failed; 0 ignored
";
        assert_eq!(
            failure_details(output),
            [
                (
                    "a".to_string(),
                    "thread 'a' panicked at src/lib.rs:3:5:\nleft: 1\nright: 2".to_string()
                ),
                ("c".to_string(), "boom".to_string()),
            ]
        );
    }
}
