//! Counting results and printing them in one consistent format.
//!
//! Every layer reports through [`Summary`], so all results look alike
//! (`test NAME ... ok`) however they were obtained, and the run ends with
//! exactly one machine-readable line, `N passed, N failed`, which CI parses.

use std::fmt::Write;

/// Running totals of one `strata-runner test` invocation.
///
/// A summary prints as it goes, or, made with [`Summary::held`], keeps its
/// text until [`Summary::absorb`] prints it: that is how work running beside
/// other work (see [`crate::jobs`]) still reads in order.
#[derive(Debug, Default)]
pub struct Summary {
    passed: usize,
    /// Names of the failed tests, in the order they failed.
    failures: Vec<String>,
    /// The text printed so far, if it is held back.
    held: Option<String>,
}

impl Summary {
    /// A summary that keeps its text instead of printing it.
    pub fn held() -> Self {
        Summary {
            held: Some(String::new()),
            ..Summary::default()
        }
    }

    /// Prints `text` (or holds it back).
    pub fn say(&mut self, text: &str) {
        match &mut self.held {
            Some(held) => held.push_str(text),
            None => print!("{text}"),
        }
    }

    /// Prints `line` and a line break (or holds them back).
    pub fn line(&mut self, line: &str) {
        self.say(&format!("{line}\n"));
    }

    /// Records and prints a passed test.
    pub fn pass(&mut self, name: &str) {
        self.line(&format!("test {name} ... ok"));
        self.passed += 1;
    }

    /// Records and prints a failed test, followed by `details` indented
    /// underneath (the reason, a log excerpt, ...). `details` may be empty.
    pub fn fail(&mut self, name: &str, details: &str) {
        self.line(&format!("test {name} ... FAILED"));
        self.say(&indent(details));
        self.failures.push(name.to_string());
    }

    /// Prints an ignored test; it counts as neither passed nor failed.
    pub fn ignore(&mut self, name: &str) {
        self.line(&format!("test {name} ... ignored"));
    }

    /// Takes in what `other` found: its text is printed (or held, if this
    /// summary holds its own), its results counted.
    /// The text held back so far (empty if it was printed).
    pub fn held_text(&self) -> &str {
        self.held.as_deref().unwrap_or("")
    }

    pub fn absorb(&mut self, other: Summary) {
        if let Some(text) = &other.held {
            self.say(text);
        }
        self.passed += other.passed;
        self.failures.extend(other.failures);
    }

    pub fn all_passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The text printed at the very end: a blank line, the failed tests again
    /// (so they are not lost in a long log), then the totals line.
    pub fn final_report(&self) -> String {
        let mut report = String::from("\n");
        if !self.failures.is_empty() {
            report.push_str("failures:\n");
            for name in &self.failures {
                let _ = writeln!(report, "    {name}");
            }
        }
        let _ = writeln!(
            report,
            "{} passed, {} failed",
            self.passed,
            self.failures.len()
        );
        report
    }
}

/// Indents every line of `text` by four spaces, ending with a newline.
pub fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    {line}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_passes_and_failures() {
        let mut summary = Summary::default();
        summary.pass("kernel/host/a");
        summary.fail("kernel/host/b", "assertion failed");
        summary.pass("kernel/kernel/c");
        summary.ignore("kernel/host/d");
        summary.fail("kernel/e2e/shell: help", "");
        assert!(!summary.all_passed());
        assert_eq!(
            summary.final_report(),
            "\nfailures:\n    kernel/host/b\n    kernel/e2e/shell: help\n2 passed, 2 failed\n"
        );
    }

    #[test]
    fn totals_line_stands_alone_when_everything_passed() {
        let mut summary = Summary::default();
        summary.pass("x");
        assert!(summary.all_passed());
        assert_eq!(summary.final_report(), "\n1 passed, 0 failed\n");
        assert_eq!(Summary::default().final_report(), "\n0 passed, 0 failed\n");
    }

    #[test]
    fn a_held_summary_keeps_its_text_until_absorbed() {
        let mut job = Summary::held();
        job.line("boot all");
        job.pass("a");
        job.fail("b", "why");
        let mut outer = Summary::held();
        outer.pass("first");
        outer.absorb(job);
        assert_eq!(
            outer.held.as_deref(),
            Some("test first ... ok\nboot all\ntest a ... ok\ntest b ... FAILED\n    why\n")
        );
        assert_eq!(
            outer.final_report(),
            "\nfailures:\n    b\n2 passed, 1 failed\n"
        );
    }

    #[test]
    fn indents_each_line() {
        assert_eq!(indent("a\nb\n"), "    a\n    b\n");
        assert_eq!(indent(""), "");
    }
}
