//! The in-kernel test framework.
//!
//! Some things can only be tested in the running kernel: that `int3` really
//! comes back, that the timer really ticks, that a divide by zero is caught
//! and reported. Booted with `test` on its command line, a chapter's kernel
//! runs its [`KernelTest`]s instead of the shell, and talks to the host's test
//! runner (`tools/runner`) over the serial port:
//!
//! ```text
//! kernel                               runner
//! ktest: ready                  ->
//!                               <-     all            (or one test's name)
//! ktest: run cpu::breakpoint_returns
//! ktest: ok cpu::breakpoint_returns
//! ktest: isolated cpu::divide_error_is_reported   (expects a panic: own boot)
//! ktest: done 9 passed, 0 failed
//! (exit through isa-debug-exit: QEMU's status 33 = success, 35 = failure)
//! ```
//!
//! The grader (`make grade`) adds a *token* to its request, a word it picks
//! at random for each run: `shell::registered_commands_run 5f1c09a2e4b7d836`.
//! The kernel then ends each `ok` line with `token=5f1c…`, so a line printed
//! by code that did not run the test cannot pass, and tests may use
//! [`seed`] to vary their inputs from one grading run to the next.
//!
//! A test fails by panicking (`assert!`). A test that *expects* a panic — or a
//! CPU exception, which the kernel turns into a panic — cannot go on after it,
//! so the runner boots the kernel again for each such test alone, and the
//! panic handler reports whether the message held the expected words.

use crate::drivers::qemu::{self, ExitCode};
use crate::println;
use crate::shell::format::FixedText;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use spin::Once;

/// One in-kernel test.
pub struct KernelTest {
    /// `area::what_it_checks`, unique across the kernel.
    pub name: &'static str,
    pub run: fn(),
    /// If set, the test passes only by panicking with a message that
    /// contains this text.
    pub expected_panic: Option<&'static str>,
}

impl KernelTest {
    /// A test that must return normally.
    pub const fn new(name: &'static str, run: fn()) -> Self {
        Self {
            name,
            run,
            expected_panic: None,
        }
    }

    /// A test that must panic with a message containing `message_part`.
    pub const fn expecting_panic(
        name: &'static str, run: fn(), message_part: &'static str,
    ) -> Self {
        Self {
            name,
            run,
            expected_panic: Some(message_part),
        }
    }
}

static RUNNING: AtomicBool = AtomicBool::new(false);
static CURRENT: AtomicPtr<KernelTest> = AtomicPtr::new(core::ptr::null_mut());
/// The grader's token for this boot ("" when the runner sent none).
static TOKEN: Once<FixedText<TOKEN_CAPACITY>> = Once::new();
static SEED: AtomicU64 = AtomicU64::new(DEFAULT_SEED);

/// Longest token kept; the grader's are 16 hex digits.
const TOKEN_CAPACITY: usize = 32;
/// The seed when no token was sent, so plain `make test` runs are repeatable.
const DEFAULT_SEED: u64 = 0x5EED_5EED_5EED_5EED;

/// Whether the kernel was booted to run its tests: `test` (or `test=on`)
/// on the command line; `test=off` boots the shell.
pub fn requested() -> bool {
    crate::command_line::switch("test", false)
}

/// Whether the test framework is in charge (the panic handler asks).
pub fn is_running() -> bool {
    RUNNING.load(Ordering::Relaxed)
}

/// The grader's token for this boot, or "" if none was sent.
pub fn token() -> &'static str {
    TOKEN.get().map_or("", FixedText::as_str)
}

/// A number derived from the token (FNV-1a), for tests that vary their
/// inputs per grading run; a fixed value when there is no token.
pub fn seed() -> u64 {
    SEED.load(Ordering::Relaxed)
}

/// Prints the `ok` line, with the token when there is one.
fn report_ok(name: &str) {
    match token() {
        "" => println!("ktest: ok {name}"),
        token => println!("ktest: ok {name} token={token}"),
    }
}

/// Runs the tests the host asks for, from every suite, and exits QEMU.
pub fn run(suites: &[&'static [KernelTest]]) -> ! {
    RUNNING.store(true, Ordering::Relaxed);
    crate::command_line::warn_about_problems();
    let tests = || suites.iter().flat_map(|suite| suite.iter());
    println!("ktest: ready");
    let line = read_request();
    let mut words = line.as_str().split(' ').filter(|word| !word.is_empty());
    let request = words.next().unwrap_or("");
    if let Some(word) = words.next() {
        let mut token = FixedText::new();
        let _ = token.write_str(word);
        let seed = word.bytes().fold(0xCBF2_9CE4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3)
        });
        SEED.store(seed, Ordering::Relaxed);
        TOKEN.call_once(|| token);
    }
    if request == "all" {
        let mut passed = 0;
        for test in tests().filter(|test| test.expected_panic.is_none()) {
            run_one(test);
            report_ok(test.name);
            passed += 1;
        }
        for test in tests().filter(|test| test.expected_panic.is_some()) {
            println!("ktest: isolated {}", test.name);
        }
        println!("ktest: done {passed} passed, 0 failed");
        qemu::exit(ExitCode::Success);
    }
    let Some(test) = tests().find(|test| test.name == request) else {
        println!("ktest: FAILED {request}: no such test");
        qemu::exit(ExitCode::Failure);
    };
    run_one(test);
    match test.expected_panic {
        None => {
            report_ok(test.name);
            qemu::exit(ExitCode::Success)
        }
        Some(part) => {
            println!(
                "ktest: FAILED {}: returned, but should have panicked with \"{part}\"",
                test.name
            );
            qemu::exit(ExitCode::Failure)
        }
    }
}

fn run_one(test: &'static KernelTest) {
    println!("ktest: run {}", test.name);
    CURRENT.store(
        test as *const KernelTest as *mut KernelTest,
        Ordering::Relaxed,
    );
    (test.run)();
    CURRENT.store(core::ptr::null_mut(), Ordering::Relaxed);
}

/// Reads the runner's request: one line over serial (or the keyboard), a
/// test name (or `all`) and, from the grader, a token after a space.
fn read_request() -> FixedText<128> {
    let mut request = FixedText::new();
    loop {
        match crate::input::read_byte() {
            b'\r' | b'\n' if !request.as_str().trim().is_empty() => return request,
            byte @ 0x20..=0x7E => {
                let _ = request.write_char(byte as char);
            }
            _ => {}
        }
    }
}

/// Called by the panic handler while tests run: decides whether this panic was
/// the one the current test expected, reports, and exits QEMU.
pub fn on_panic(info: &core::panic::PanicInfo) -> ! {
    let mut message = FixedText::<256>::new();
    let _ = write!(message, "{}", info.message());
    let message = message.as_str();
    let current = CURRENT.load(Ordering::Relaxed);
    // SAFETY: CURRENT only ever holds null or a `&'static KernelTest`.
    let Some(test) = (unsafe { current.as_ref() }) else {
        println!("ktest: FAILED (outside any test): panicked: {message}");
        qemu::exit(ExitCode::Failure);
    };
    match test.expected_panic {
        Some(part) if message.contains(part) => {
            println!("panicked as expected: {message}");
            report_ok(test.name);
            qemu::exit(ExitCode::Success)
        }
        _ => {
            let (file, line) = info.location().map_or(("?", 0), |l| (l.file(), l.line()));
            println!(
                "ktest: FAILED {}: panicked at {file}:{line}: {message}",
                test.name
            );
            qemu::exit(ExitCode::Failure)
        }
    }
}
