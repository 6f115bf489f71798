//! `make grade CHAPTER=N`: runs a chapter's graded checks and scores them.
//!
//! Host checks run in one `cargo test` of the chapter's crate, filtered to
//! the graded tests; kernel checks run one per boot of the chapter's test
//! kernel, so a `todo!()` reached by one check cannot take the others down.
//!
//! Every run picks a random *token*. Kernel checks pass only if the kernel
//! echoes it in its `ok` line, which only the test framework does after the
//! test returned; property tests take their seed from it
//! (`PROPTEST_RNG_SEED`), and kernel tests may vary their inputs with it
//! (`ktest::seed()`). A fixed string printed by the kernel therefore cannot
//! pass a check, and a fixed answer to fixed inputs will not either. To
//! repeat a run exactly, pass its token back: `make grade TOKEN=…`.

use std::collections::HashMap;
use std::env;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::json::{self, CheckResult};
use super::labs_conf::{Check, CheckKind};
use super::{find_chapter, load_chapters, Chapter};
use crate::cli::GradeOptions;
use crate::host::libtest::{self, Outcome};
use crate::ktest;
use crate::qemu;
use crate::transcript::{file_name_part, last_lines};

/// Prints the human-readable report: on stdout, or on stderr when stdout
/// carries the JSON grade (`--format json`) and nothing else.
macro_rules! say {
    ($json:expr, $($arg:tt)*) => {
        if $json {
            eprintln!($($arg)*)
        } else {
            println!($($arg)*)
        }
    };
}

/// Like [`say!`], without the end of the line.
macro_rules! say_part {
    ($json:expr, $($arg:tt)*) => {
        if $json {
            eprint!($($arg)*)
        } else {
            print!($($arg)*)
        }
    };
}

/// Points earned and possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    pub earned: u32,
    pub total: u32,
}

impl Score {
    pub fn is_full(&self) -> bool {
        self.earned == self.total
    }
}

/// Grades the chapter `options` names, printing as it goes. The error is a
/// problem that stopped grading altogether (an unknown chapter, say).
pub fn run(root: &Path, options: &GradeOptions) -> Result<Score, String> {
    let chapters = load_chapters(root)?;
    let chapter = find_chapter(&chapters, &options.chapter)?;
    let token = match &options.token {
        Some(token) => token.clone(),
        None => random_token()?,
    };
    say!(
        options.json,
        "Grading chapter {}: {} (modules/{})",
        chapter.number(),
        chapter.conf.title,
        chapter.module
    );
    say!(
        options.json,
        "token {token}: repeat this exact run with `make grade CHAPTER={} TOKEN={token}`",
        chapter.number()
    );
    // Old logs would only confuse: this run's failures are what counts.
    let _ = fs::remove_dir_all(&options.log_dir);

    let checks = || {
        chapter
            .conf
            .sections
            .iter()
            .flat_map(|section| &section.checks)
    };
    let host: Vec<&Check> = checks().filter(|c| c.kind == CheckKind::Host).collect();
    let kernel: Vec<&Check> = checks().filter(|c| c.kind == CheckKind::Kernel).collect();
    let mut results = run_host_checks(root, chapter, &host, &token, options);
    results.extend(run_kernel_checks(chapter, &kernel, &token, options));

    let mut earned = 0;
    let mut reported = Vec::new();
    for section in &chapter.conf.sections {
        let section_earned: u32 = section
            .checks
            .iter()
            .filter(|check| results.get(&key(check)).is_some_and(Result::is_ok))
            .map(|check| check.points)
            .sum();
        earned += section_earned;
        say!(
            options.json,
            "\n{:<13}{:<62}{:>3}/{}",
            section.label(),
            section.title,
            section_earned,
            section.points()
        );
        for check in &section.checks {
            let result = results
                .get(&key(check))
                .cloned()
                .unwrap_or_else(|| Err("not run".to_string()));
            reported.push(CheckResult {
                lab: section
                    .id
                    .map_or_else(|| "foundations".to_string(), |id| id.to_string()),
                kind: check.kind.to_string(),
                test: check.test.clone(),
                points: check.points,
                passed: result.is_ok(),
                message: result.clone().err().unwrap_or_default(),
            });
            let got = if result.is_ok() { check.points } else { 0 };
            let verdict = if result.is_ok() { "ok" } else { "FAILED" };
            say!(
                options.json,
                "  {verdict:<7}{:>3}/{:<3} {:<7} {}",
                got,
                check.points,
                check.kind,
                check.test
            );
            if let Err(reason) = result {
                for line in reason.lines() {
                    say!(options.json, "           {line}");
                }
            }
        }
    }
    let score = Score {
        earned,
        total: chapter.conf.total_points(),
    };
    say!(options.json, "\nScore: {}/{}", score.earned, score.total);
    if !score.is_full() {
        say!(
            options.json,
            "Logs of the failed checks are in {}/. `make run` boots the kernel \
             (it stops with the message of the first stub it reaches).",
            options.log_dir.display()
        );
    }
    if options.json {
        let grade = json::grade(
            chapter.number(),
            &token,
            &reported,
            (score.earned, score.total),
        );
        println!("{grade}");
    }
    Ok(score)
}

/// Results are looked up by kind and test name.
pub(super) fn key(check: &Check) -> (CheckKind, String) {
    (check.kind, check.test.clone())
}

pub(super) type Results = HashMap<(CheckKind, String), Result<(), String>>;

/// Runs the graded unit tests with one `cargo test` in the tree at `root`,
/// seeded by the token. Each check's result is keyed by [`key`].
pub(super) fn run_host_checks(
    root: &Path, chapter: &Chapter, checks: &[&Check], token: &str, options: &GradeOptions,
) -> Results {
    let log_dir = options.log_dir.as_path();
    let mut results = Results::new();
    if checks.is_empty() {
        return results;
    }
    say!(
        options.json,
        "\n== host checks: cargo test -p {}",
        chapter.package()
    );
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .current_dir(root)
        .args(["test", "--lib", "-p", &chapter.package()])
        .args(["--target", crate::host::HOST_TARGET, "--", "--exact"])
        .args(checks.iter().map(|check| check.test.as_str()))
        .env("PROPTEST_RNG_SEED", seed_of(token).to_string())
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) => {
            let reason = format!("could not start {}: {error}", cargo.to_string_lossy());
            for check in checks {
                results.insert(key(check), Err(reason.clone()));
            }
            return results;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let combined = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let log = log_dir.join("host-tests.log");
    let outcomes: HashMap<String, Outcome> = stdout
        .lines()
        .filter_map(libtest::parse_test_line)
        .map(|line| (line.name, line.outcome))
        .collect();
    let details = libtest::failure_details(&stdout);
    let built = stdout.lines().any(libtest::is_running_line);
    let mut any_failed = false;
    for check in checks {
        let result = match outcomes.get(&check.test) {
            Some(Outcome::Passed) => Ok(()),
            Some(Outcome::Failed) => {
                let detail = details
                    .iter()
                    .find(|(name, _)| *name == check.test)
                    .map_or(String::new(), |(_, text)| text.clone());
                Err(summarize_failure(&detail))
            }
            Some(Outcome::Ignored) => Err("the test is marked #[ignore]".into()),
            None if !built => Err(format!(
                "the tests did not build; the end of cargo's output:\n{}",
                last_lines(&combined, 12)
            )),
            None => Err("no such test in the crate (renamed or deleted?)".into()),
        };
        any_failed |= result.is_err();
        results.insert(key(check), result);
    }
    if any_failed {
        if let Err(error) = fs::create_dir_all(log_dir).and_then(|()| fs::write(&log, &combined)) {
            say!(
                options.json,
                "warning: could not write {}: {error}",
                log.display()
            );
        } else {
            say!(options.json, "(cargo's whole output: {})", log.display());
        }
    }
    results
}

/// Boots the test kernel once per check.
fn run_kernel_checks(
    chapter: &Chapter, checks: &[&Check], token: &str, options: &GradeOptions,
) -> Results {
    let mut results = Results::new();
    if checks.is_empty() {
        return results;
    }
    say!(
        options.json,
        "\n== kernel checks: one boot each of strata-{}-test.iso",
        chapter.module
    );
    let iso = options
        .iso_dir
        .join(format!("strata-{}-test.iso", chapter.module));
    let qemu = if iso.is_file() {
        qemu::find_qemu()
    } else {
        Err(qemu::missing_iso(&iso))
    };
    // If the kernel does not even reach its tests, every check would fail
    // the same way: say so once and skip the other boots.
    let mut boot_failure: Option<String> = None;
    for check in checks {
        let result = match (&qemu, &boot_failure) {
            (Err(reason), _) => Err(reason.clone()),
            (Ok(_), Some(reason)) => Err(format!("not booted: {reason}")),
            (Ok(qemu), None) => {
                let log = log_path(&options.log_dir, chapter, &check.test);
                say_part!(options.json, "boot for {} ... ", check.test);
                let result =
                    ktest::run_graded(qemu, &iso, &check.test, token, options.timeout, &log);
                say!(
                    options.json,
                    "{}",
                    if result.is_ok() { "ok" } else { "FAILED" }
                );
                result.map_err(|failure| {
                    let reason = summarize_failure(&failure.reason);
                    if !failure.reached_tests {
                        boot_failure =
                            Some(format!("the kernel did not reach its tests ({reason})"));
                    }
                    format!("{reason}\nlog: {}", log.display())
                })
            }
        };
        results.insert(key(check), result);
    }
    results
}

fn log_path(log_dir: &Path, chapter: &Chapter, test: &str) -> PathBuf {
    log_dir.join(format!("{}-{}.log", chapter.module, file_name_part(test)))
}

/// A failure in a line or two: a `todo!()` of a lab is named as such.
fn summarize_failure(detail: &str) -> String {
    if let Some(start) = detail.find("LAB ") {
        let stub = detail[start..].lines().next().unwrap_or("");
        let lab = stub
            .split(|c: char| c == ':' || c.is_whitespace())
            .nth(1)
            .unwrap_or("?");
        return format!("reached the unfinished stub of lab {lab}: {stub}");
    }
    let lines: Vec<&str> = detail
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("note: run with"))
        .collect();
    if lines.is_empty() {
        "failed (no message)".to_string()
    } else {
        lines[..lines.len().min(3)].join("\n")
    }
}

/// 16 hex digits from the system's random source.
pub(super) fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 8];
    fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|error| format!("cannot read /dev/urandom for a token: {error}"))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// The proptest seed for a token: FNV-1a of its bytes (any token works).
fn seed_of(token: &str) -> u64 {
    token.bytes().fold(0xCBF2_9CE4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, b, "two draws of 64 random bits should differ");
    }

    #[test]
    fn seeds_differ_per_token() {
        assert_ne!(seed_of("5f1c09a2e4b7d836"), seed_of("5f1c09a2e4b7d837"));
        assert_eq!(seed_of("abc"), seed_of("abc"));
    }

    #[test]
    fn a_stub_is_named_in_the_summary() {
        let detail = "thread 'heap::buddy::tests::x' panicked at src/heap/buddy.rs:477:9:\n\
                      not yet implemented: LAB 2.4: split the block until its order fits\n\
                      note: run with `RUST_BACKTRACE=1`";
        assert_eq!(
            summarize_failure(detail),
            "reached the unfinished stub of lab 2.4: LAB 2.4: split the block until its order fits"
        );
        assert_eq!(
            summarize_failure("thread 'a' panicked at x.rs:1:1:\nassertion failed\nnote: run with `RUST_BACKTRACE=1`"),
            "thread 'a' panicked at x.rs:1:1:\nassertion failed"
        );
        assert_eq!(summarize_failure(""), "failed (no message)");
    }
}
