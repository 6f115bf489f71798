//! Counting results and printing them in one consistent format.
//!
//! Every layer reports through [`Summary`], so all results look alike
//! (`test NAME ... ok`) however they were obtained, and the run ends with
//! exactly one machine-readable line, `N passed, N failed`, which CI parses.

use std::fmt::Write;

/// Running totals of one `strata-runner test` invocation.
#[derive(Debug, Default)]
pub struct Summary {
    passed: usize,
    /// Names of the failed tests, in the order they failed.
    failures: Vec<String>,
}

impl Summary {
    /// Records and prints a passed test.
    pub fn pass(&mut self, name: &str) {
        println!("test {name} ... ok");
        self.passed += 1;
    }

    /// Records and prints a failed test, followed by `details` indented
    /// underneath (the reason, a log excerpt, ...). `details` may be empty.
    pub fn fail(&mut self, name: &str, details: &str) {
        println!("test {name} ... FAILED");
        print!("{}", indent(details));
        self.failures.push(name.to_string());
    }

    /// Prints an ignored test; it counts as neither passed nor failed.
    pub fn ignore(&self, name: &str) {
        println!("test {name} ... ignored");
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
    fn indents_each_line() {
        assert_eq!(indent("a\nb\n"), "    a\n    b\n");
        assert_eq!(indent(""), "");
    }
}
