//! Layer 1: host tests.
//!
//! A chapter's pure logic (allocators, parsers, page-table arithmetic) is
//! tested as an ordinary Linux program with `cargo test`. The target is
//! `i686-unknown-linux-gnu` so that `usize` and pointers are 4 bytes, as in
//! the kernel. We capture cargo's output and re-print each result in the
//! runner's own `test CHAPTER/host/NAME ... ok` format.

pub mod libtest;

use std::env;
use std::process::Command;
use std::time::Instant;

use crate::summary::Summary;
use crate::transcript::{last_lines, TAIL_LINES};
use libtest::Outcome;

/// Target triple for host tests: 32-bit, like the kernel.
pub const HOST_TARGET: &str = "i686-unknown-linux-gnu";

/// Runs the host tests of `chapter` and reports them into `summary`.
pub fn run(chapter: &str, summary: &mut Summary) {
    let package = format!("strata-{chapter}");
    // Respect $CARGO (set when we are started through cargo) so the same
    // toolchain builds the tests.
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let result = Command::new(&cargo)
        .args(["test", "--lib", "-p", &package, "--target", HOST_TARGET])
        .output();
    let output = match result {
        Ok(output) => output,
        Err(error) => {
            summary.fail(
                &format!("{chapter}/host (build)"),
                &format!("could not start {}: {error}", cargo.to_string_lossy()),
            );
            return;
        }
    };
    println!("(cargo test took {:.1} s)", started.elapsed().as_secs_f64());

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let details = libtest::failure_details(&stdout);
    let mut failed = 0;
    for line in stdout.lines() {
        let Some(test) = libtest::parse_test_line(line) else {
            continue;
        };
        let name = format!("{chapter}/host/{}", test.name);
        match test.outcome {
            Outcome::Passed => summary.pass(&name),
            Outcome::Ignored => summary.ignore(&name),
            Outcome::Failed => {
                failed += 1;
                let detail = details
                    .iter()
                    .find(|(test_name, _)| *test_name == test.name)
                    .map_or("", |(_, text)| text.as_str());
                summary.fail(&name, detail);
            }
        }
    }

    if output.status.success() {
        return;
    }
    // Cargo failed without any failing test to show for it: the tests did
    // not compile, or the test program crashed before libtest could report.
    let finished = stdout.lines().any(libtest::is_result_line);
    let started = stdout.lines().any(libtest::is_running_line);
    let label = match (finished, started) {
        (true, _) if failed > 0 => return,
        (true, _) => "cargo",
        (false, true) => "crashed",
        (false, false) => "build",
    };
    let combined = format!("{stdout}{stderr}");
    summary.fail(
        &format!("{chapter}/host ({label})"),
        &format!(
            "cargo test -p {package} failed ({}); last lines of its output:\n{}",
            output.status,
            last_lines(&combined, TAIL_LINES)
        ),
    );
}
