//! Chapter 4's in-kernel tests: each runs a user program to its end and
//! checks how it ended, and that every frame came back.

use crate::abi::{Errno, KILLED_BY_CTRL_C, KILLED_BY_FAULT};
use crate::process::{self, Killed, Outcome};
use crate::user_copy;
use paging::memory::kernel::ktest::KernelTest;
use paging::memory::setup;

pub const TESTS: &[KernelTest] = &[
    KernelTest::new("process::hello_exits_0_and_gives_every_frame_back", hello),
    KernelTest::new("process::malloc_demo_grows_its_heap_on_faults", malloc_demo),
    KernelTest::new("process::reading_the_kernel_ends_the_program", read_kernel),
    KernelTest::new("process::writing_its_own_code_ends_the_program", write_text),
    KernelTest::new(
        "process::touching_past_the_break_ends_the_program",
        past_the_break,
    ),
    KernelTest::new("process::bad_system_calls_get_error_codes", bad_syscall),
    KernelTest::new(
        "process::a_null_data_segment_ends_only_the_program",
        null_selector,
    ),
    KernelTest::new("process::running_out_of_memory_is_survived", out_of_memory),
    KernelTest::new("process::a_copy_that_faults_is_an_error", copy_faults),
    KernelTest::new("process::a_missing_program_is_refused", missing),
    KernelTest::new("process::bad_elf_files_are_refused_with_the_field", bad_elf),
];

/// Runs `name` and checks that every frame the program took came back.
fn run(name: &str, args: &str) -> Outcome {
    let before = process::program_frames();
    let outcome = process::run(name, args).unwrap_or_else(|error| panic!("run {name}: {error}"));
    assert_eq!(process::program_frames(), before, "{name} leaked frames");
    assert!(
        outcome.freed >= 3,
        "a directory, a table and a page at least"
    );
    outcome
}

/// `frames` before a program equals `frames` after it: every count, once
/// the kernel heap has grown for the first run's bookkeeping.
fn hello() {
    let outcome = run("hello", "a b");
    assert_eq!((outcome.status, outcome.killed), (0, None));
    let before = setup::frames().counts();
    let second = run("hello", "");
    assert_eq!(
        setup::frames().counts(),
        before,
        "the frame counts, all of them"
    );
    assert_eq!(second.pid, outcome.pid + 1, "pids count up");
}

fn malloc_demo() {
    let outcome = run("malloc-demo", "");
    assert_eq!((outcome.status, outcome.killed), (0, None));
    assert!(
        outcome.faults >= 8,
        "the heap grew page by page: {} faults",
        outcome.faults
    );
}

fn expect_killed(outcome: &Outcome) {
    assert_eq!(outcome.status, KILLED_BY_FAULT);
    assert!(
        matches!(outcome.killed, Some(Killed::Fault { vector: 14, .. })),
        "{:?}",
        outcome.killed
    );
}

fn read_kernel() {
    expect_killed(&run("read-kernel", ""));
    // The kernel goes on: another program runs.
    assert_eq!(run("hello", "").status, 0);
}

fn write_text() {
    expect_killed(&run("write-text", ""));
}

fn past_the_break() {
    expect_killed(&run("past-the-break", ""));
}

/// The trap path loads the kernel's data segment whatever the program left
/// in DS: a system call made with a null DS is answered (right), and the
/// kernel goes on.
fn null_selector() {
    let outcome = run("null-selector", "");
    assert_eq!(
        (outcome.status, outcome.killed),
        (0, None),
        "getpid answered right"
    );
    assert_eq!(run("hello", "").status, 0, "and the kernel goes on");
}

fn bad_syscall() {
    let outcome = run("bad-syscall", "");
    assert_eq!(
        (outcome.status, outcome.killed),
        (0, None),
        "every bad call refused"
    );
}

fn out_of_memory() {
    let outcome = run("out-of-memory", "");
    assert_eq!((outcome.status, outcome.killed), (0, None));
    let panicked = run("out-of-memory", "panic");
    assert_eq!(panicked.status, crate::abi::PANICKED);
}

/// The copy itself survives a fault: an unmapped address in the scratch
/// window, which no check stands in front of here.
fn copy_faults() {
    let mut buffer = [0u8; 16];
    assert_eq!(
        user_copy::copy_from_user(&mut buffer, 0xE000_0000),
        Err(Errno::BadAddress)
    );
    assert_eq!(
        user_copy::copy_to_user(0xE000_0000, &buffer),
        Err(Errno::BadAddress)
    );
    let _ = KILLED_BY_CTRL_C;
}

fn missing() {
    assert!(matches!(
        process::run("no-such-program", ""),
        Err(process::RunError::NoSuchProgram)
    ));
}

/// The loader refuses a damaged copy of `hello`, says which field is
/// wrong, and keeps no frame.
fn bad_elf() {
    let hello = crate::programs::find("hello").expect("GRUB loaded hello");
    let before = process::program_frames();
    let mut bytes = alloc::vec::Vec::from(hello.bytes);
    bytes[18] = 0x3E; // e_machine: x86-64
    let error = crate::loader::load(&bytes).err().expect("refused");
    assert_eq!(
        alloc::format!("{error}"),
        "bad ELF file: e_machine is 0x3e, expected 3 (i386)"
    );
    let error = crate::loader::load(&hello.bytes[..40])
        .err()
        .expect("refused");
    assert!(alloc::format!("{error}").contains("too short"), "{error}");
    // The entry point moved into the data: not executable.
    let mut bytes = alloc::vec::Vec::from(hello.bytes);
    bytes[24..28].copy_from_slice(&0xC7F0_0000u32.to_le_bytes());
    assert!(matches!(
        crate::loader::load(&bytes).err(),
        Some(crate::loader::LoadError::Elf(
            crate::elf::ElfError::EntryNotExecutable { .. }
        ))
    ));
    assert_eq!(
        process::program_frames(),
        before,
        "a refused file keeps no frame"
    );
}
