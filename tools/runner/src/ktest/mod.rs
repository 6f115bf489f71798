//! Layer 2: kernel tests, run inside the test kernel under QEMU.
//!
//! Some things can only be tested on the (emulated) machine itself: loading
//! a GDT, taking an interrupt, mapping a page. The chapter's test kernel
//! (`<iso-dir>/strata-NAME-test.iso`) contains such tests and reports on its
//! serial port using the protocol in [`protocol`].
//!
//! For each variant of the kernel command line in `modules/NAME/ktest.conf`
//! (see [`config`]):
//!
//! 1. at each RAM size the file lists, one boot runs every normal test
//!    (`all`), and learns the names of the *isolated* tests — those that end
//!    the kernel on purpose (an expected panic or CPU exception), so they
//!    cannot share a boot with others;
//! 2. then one boot per isolated test runs just that test, at one RAM size
//!    (128M if listed, else the first): what such a test checks — that a
//!    fault is reported — does not change with the amount of RAM, and each
//!    of these boots costs as much as a whole `all` boot.
//!
//! Boots run side by side, one per core ([`crate::jobs`]); the output reads
//! in the order above all the same.
//!
//! A boot that goes wrong in any way (a failed test, a timeout, an exit
//! status other than 33/35, a missing `ktest: done`) counts as a failure;
//! its serial log is always saved under `<log-dir>` and, on failure, its
//! last lines are printed.

mod config;
mod protocol;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::Options;
use crate::jobs::{self, Job};
use crate::line_buffer::LineBuffer;
use crate::qemu::{self, Ending, Firmware, Machine, Received, EXIT_FAILURE, EXIT_SUCCESS};
use crate::summary::{indent, Summary};
use crate::transcript::{file_name_part, TAIL_LINES};
use protocol::Message;

/// Runs the kernel tests of `chapter` and reports them into `summary`.
pub fn run(chapter: &str, options: &Options, summary: &mut Summary) {
    let config_path = Path::new("modules").join(chapter).join("ktest.conf");
    let config = match config::load(&config_path) {
        Ok(config) => config,
        Err(message) => {
            summary.fail(&format!("{chapter}/kernel (ktest.conf)"), &message);
            return;
        }
    };
    let variants = std::iter::once(String::new()).chain(config.variants.iter().cloned());
    let mut isos = Vec::new();
    for variant in variants {
        let iso = options.iso_dir.join(config::iso_name(chapter, &variant));
        if let Some(qemu) = qemu::prepare(&iso, &format!("{chapter}/kernel"), summary) {
            isos.push((variant, iso, qemu));
        }
    }
    let several_sizes = config.memory_sizes.len() > 1;
    let isolated_memory = config.isolated_memory();
    let mut kernels = Vec::new();
    for (variant, iso, qemu) in &isos {
        for memory in &config.memory_sizes {
            let mut suffix = String::new();
            if several_sizes {
                suffix.push_str(&format!("@{memory}"));
            }
            if !variant.is_empty() {
                suffix.push_str(&format!("+{variant}"));
            }
            kernels.push(TestKernel {
                chapter,
                qemu,
                iso,
                memory,
                suffix,
                timeout: options.timeout,
                log_dir: &options.log_dir,
            });
        }
    }
    let all_boots: Vec<Job<'_, Vec<String>>> = kernels
        .iter()
        .map(|kernel| -> Job<'_, Vec<String>> { Box::new(move |summary| kernel.run_all(summary)) })
        .collect();
    let isolated = jobs::run_in_order(all_boots, summary);
    let isolated_boots: Vec<Job<'_, ()>> = kernels
        .iter()
        .zip(&isolated)
        .filter(|(kernel, _)| kernel.memory == isolated_memory)
        .flat_map(|(kernel, names)| {
            names.iter().map(move |name| -> Job<'_, ()> {
                Box::new(move |summary| kernel.run_isolated(name, summary))
            })
        })
        .collect();
    jobs::run_in_order(isolated_boots, summary);
}

/// RAM for a graded boot: the size `make run` uses.
const GRADE_MEMORY: &str = "128M";

/// One graded kernel check (`make grade`): boots `iso`, asks for `test`
/// followed by the grader's `token`, and passes only if the kernel printed
/// `ktest: ok TEST token=TOKEN` and then exited with success. On failure
/// the serial log is saved to `log`, and the reason says what went wrong.
pub fn run_graded(
    qemu: &Path, iso: &Path, test: &str, token: &str, timeout: Duration, log: &Path,
) -> Result<(), GradedFailure> {
    let runner = TestKernel {
        chapter: "",
        qemu,
        iso,
        memory: GRADE_MEMORY,
        suffix: String::new(),
        timeout,
        log_dir: Path::new(""),
    };
    let mut verdict: Option<Result<(), String>> = None;
    let mut untokened = false;
    // The grade prints its own line per boot; the runner's boot line is
    // held back (and dropped), so that `--format json` keeps stdout clean.
    // Warnings about the kernel's output still go out, on stderr.
    let mut held = Summary::held();
    let boot = runner.boot(&format!("{test} {token}"), &mut held);
    for warning in held
        .held_text()
        .lines()
        .filter(|line| line.starts_with("warning:"))
    {
        eprintln!("{warning}");
    }
    let boot = boot.map_err(|reason| GradedFailure {
        reason,
        reached_tests: false,
    })?;
    for message in &boot.messages {
        match message {
            Message::Ok {
                name,
                token: echoed,
            } if name == test => {
                if echoed.as_deref() == Some(token) {
                    verdict = Some(Ok(()));
                } else {
                    untokened = true;
                }
            }
            Message::Failed { name, reason } if name == test => verdict = Some(Err(reason.clone())),
            _ => {}
        }
    }
    let failure = runner.one_test_failure(verdict, &boot, |why| {
        if untokened {
            "an `ok` line without this run's token was printed; only the test \
             framework's own report counts"
                .to_string()
        } else {
            format!("the kernel stopped before the test finished: {why}")
        }
    });
    let Some(mut reason) = failure else {
        return Ok(());
    };
    let transcript = boot.machine.transcript();
    // A panic before the test ran (during boot, or in a nested panic) is
    // only in the log: quote it, since it usually names the unfinished lab.
    if let Some(panic) = transcript
        .text()
        .lines()
        .find(|line| line.contains("KERNEL PANIC"))
    {
        reason = format!("{reason}; {}", panic.trim());
    }
    if let Err(error) = transcript.save(log) {
        reason = format!("{reason} (could not save {}: {error})", log.display());
    }
    Err(GradedFailure {
        reason,
        reached_tests: boot.ready,
    })
}

/// Why a graded kernel check failed.
#[derive(Debug)]
pub struct GradedFailure {
    pub reason: String,
    /// Whether the kernel got as far as `ktest: ready`. If not, every other
    /// check on the same kernel would fail the same way.
    pub reached_tests: bool,
}

/// One chapter's test kernel at one RAM size.
struct TestKernel<'a> {
    chapter: &'a str,
    qemu: &'a Path,
    iso: &'a Path,
    memory: &'a str,
    /// `@16M` when several sizes are tested, `+heap=pool` for a variant, so
    /// results can be told apart.
    suffix: String,
    timeout: Duration,
    log_dir: &'a Path,
}

/// How a boot went, from the runner's point of view.
struct Boot {
    machine: Machine,
    /// What the kernel said, in order (other than `ready`).
    messages: Vec<Message>,
    /// Whether the kernel said `ktest: ready` (and got its command).
    ready: bool,
    timed_out: bool,
    ending: Ending,
}

impl TestKernel<'_> {
    fn test_name(&self, test: &str) -> String {
        format!("{}/kernel/{test}{}", self.chapter, self.suffix)
    }

    /// The boot that runs every normal test. Returns the isolated tests the
    /// kernel announced.
    fn run_all(&self, summary: &mut Summary) -> Vec<String> {
        let mut running: Option<String> = None;
        let (mut passed, mut failed) = (0, 0);
        let mut done = None;
        let mut isolated = Vec::new();

        let boot = match self.boot("all", summary) {
            Ok(boot) => boot,
            Err(error) => {
                let name = format!("{}/kernel{} (boot)", self.chapter, self.suffix);
                summary.fail(&name, &error);
                return Vec::new();
            }
        };
        for message in &boot.messages {
            match message {
                Message::Run(name) => running = Some(name.clone()),
                Message::Ok { name, .. } => {
                    summary.pass(&self.test_name(name));
                    passed += 1;
                    running = None;
                }
                Message::Failed { name, reason } => {
                    summary.fail(&self.test_name(name), reason);
                    failed += 1;
                    running = None;
                }
                Message::Isolated(name) => isolated.push(name.clone()),
                Message::Done { passed, failed } => done = Some((*passed, *failed)),
                Message::Ready | Message::Unrecognized(_) => {}
            }
        }

        let problem = self.boot_problem(&boot).or_else(|| match done {
            None => Some(format!(
                "kernel exited ({}) before printing `ktest: done`; \
                 tests not reported by then were not run",
                boot.ending.describe()
            )),
            Some((p, f)) if (p, f) != (passed, failed) => Some(format!(
                "kernel reported `{p} passed, {f} failed` but printed \
                 {passed} `ok` and {failed} `FAILED` lines"
            )),
            Some(_) if failed == 0 && boot.ending.code() == Some(EXIT_FAILURE) => {
                Some("kernel exited with status 35 (failure) although no test failed".into())
            }
            Some(_) if failed > 0 && boot.ending.code() == Some(EXIT_SUCCESS) => Some(format!(
                "kernel exited with status 33 (success) although {failed} test(s) failed"
            )),
            Some(_) => None,
        });

        // A test that was announced but never reported is the likely culprit.
        // An exit with status 35 before `done` (the kernel gave up, e.g. after
        // a panic) is also counted on its own, since the remaining tests
        // never ran; any other problem is charged to the boot as a whole.
        if let Some(problem) = &problem {
            let aborted = done.is_none() && boot.ending.code() == Some(EXIT_FAILURE);
            if let Some(test) = &running {
                let reason = format!("kernel stopped during this test: {problem}");
                summary.fail(&self.test_name(test), &reason);
            }
            if aborted || running.is_none() {
                let what = if aborted { "aborted" } else { "boot" };
                let name = format!("{}/kernel{} ({what})", self.chapter, self.suffix);
                summary.fail(&name, problem);
            }
        }
        self.finish(&boot, "all", problem.is_some() || failed > 0, summary);
        isolated
    }

    /// A boot that runs only the isolated test `test`.
    fn run_isolated(&self, test: &str, summary: &mut Summary) {
        let mut verdict: Option<Result<(), String>> = None;
        let name = self.test_name(test);
        let boot = match self.boot(test, summary) {
            Ok(boot) => boot,
            Err(error) => return summary.fail(&name, &error),
        };
        for message in &boot.messages {
            match message {
                Message::Ok { name, .. } if name == test => verdict = Some(Ok(())),
                Message::Failed { name, reason } if name == test => {
                    verdict = Some(Err(reason.clone()))
                }
                Message::Ok { name, .. } | Message::Failed { name, .. } => summary.line(&format!(
                    "warning: asked for {test} but the kernel reported on {name}"
                )),
                _ => {}
            }
        }

        let failure = self.one_test_failure(verdict, &boot, |why| {
            format!("kernel stopped during this test: {why}")
        });
        match &failure {
            None => summary.pass(&name),
            Some(reason) => summary.fail(&name, reason),
        }
        self.finish(&boot, test, failure.is_some(), summary);
    }

    /// Boots the test kernel, answers `ktest: ready` with `command`, and
    /// keeps every other protocol message until QEMU exits or the time limit
    /// is reached. Says how long the boot took in `summary`. Fails only if
    /// QEMU cannot be started.
    fn boot(&self, command: &str, summary: &mut Summary) -> Result<Boot, String> {
        let mut machine = Machine::boot(self.qemu, self.iso, self.memory, Firmware::Quiet)
            .map_err(|error| format!("could not start {}: {error}", self.qemu.display()))?;
        let deadline = Instant::now() + self.timeout;
        let mut lines = LineBuffer::default();
        let mut ready = false;
        let mut messages = Vec::new();
        let timed_out = loop {
            let chunk = match machine.receive(deadline) {
                Received::Output(chunk) => chunk,
                Received::TimedOut => break true,
                Received::Closed => break false,
            };
            for line in lines.push(&chunk) {
                let Some(message) = protocol::parse_line(&line) else {
                    continue;
                };
                match message {
                    Message::Ready if !ready => {
                        ready = true;
                        let boot_time = machine.uptime().as_secs_f64();
                        summary.line(&format!(
                            "boot {command}{} (booted in {boot_time:.1} s)",
                            self.suffix
                        ));
                        if let Err(error) = machine.send(format!("{command}\r").as_bytes()) {
                            machine.note(&format!("could not send the command: {error}"));
                        }
                    }
                    Message::Unrecognized(body) => {
                        summary.line(&format!("warning: unrecognised ktest line: {body}"));
                    }
                    message => messages.push(message),
                }
            }
        };
        if let Some(line) = lines.finish() {
            if let Some(message) = protocol::parse_line(&line) {
                messages.push(message);
            }
        }
        let ending = if timed_out {
            machine.note(&format!("timed out after {} s", self.timeout.as_secs()));
            machine.kill()
        } else {
            machine.wait_for_exit()
        };
        Ok(Boot {
            machine,
            messages,
            ready,
            timed_out,
            ending,
        })
    }

    /// Why a boot that ran one test failed, or `None` if it passed: the
    /// test's own verdict, then the boot must have exited with 33.
    /// `no_verdict` words the failure of a boot that never gave one; it gets
    /// the boot's problem, or how it ended.
    fn one_test_failure(
        &self, verdict: Option<Result<(), String>>, boot: &Boot,
        no_verdict: impl FnOnce(String) -> String,
    ) -> Option<String> {
        match (verdict, self.boot_problem(boot)) {
            (Some(Err(reason)), _) => Some(reason),
            (Some(Ok(())), None) if boot.ending.code() == Some(EXIT_SUCCESS) => None,
            (Some(Ok(())), None) => Some(format!(
                "printed `ok` but then ended with {} instead of 33",
                boot.ending.describe()
            )),
            (Some(Ok(())), Some(problem)) => Some(format!("printed `ok` but then {problem}")),
            (None, problem) => Some(no_verdict(
                problem.unwrap_or_else(|| boot.ending.describe()),
            )),
        }
    }

    /// Problems every boot can have, whatever it was running.
    fn boot_problem(&self, boot: &Boot) -> Option<String> {
        let ending = boot.ending.describe();
        if boot.timed_out {
            Some(format!("timed out after {} s", self.timeout.as_secs()))
        } else if !boot.ready {
            Some(format!(
                "kernel ended before printing `ktest: ready` ({ending})"
            ))
        } else if !matches!(boot.ending.code(), Some(EXIT_SUCCESS | EXIT_FAILURE)) {
            Some(format!("kernel ended abnormally ({ending})"))
        } else {
            None
        }
    }

    /// Saves the serial log; on failure, says where it is and shows its end.
    fn finish(&self, boot: &Boot, what: &str, failed: bool, summary: &mut Summary) {
        let file = format!(
            "{}-kernel-{}.log",
            self.chapter,
            file_name_part(&format!("{what}{}", self.suffix))
        );
        let path: PathBuf = self.log_dir.join(file);
        let transcript = boot.machine.transcript();
        if let Err(error) = transcript.save(&path) {
            summary.line(&format!(
                "warning: could not write {}: {error}",
                path.display()
            ));
        }
        if failed {
            summary.line(&format!("    serial log: {}", path.display()));
            summary.line(&format!("    last {TAIL_LINES} lines:"));
            summary.say(&indent(&indent(&transcript.tail(TAIL_LINES))));
        }
    }
}
