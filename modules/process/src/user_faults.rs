//! What happens when a program traps without asking: an exception in ring
//! 3, or Ctrl-C while it runs.
//!
//! Chapter 1 sends every exception raised in ring 3 here first
//! (`trap::set_user_exception_handler`), before the kernel's own handlers:
//!
//! ```text
//!  exception in ring 3
//!    page fault, not present, in the heap (below the break) or the stack
//!        -> map a zeroed frame (demand paging); the instruction runs again
//!    anything else (a protection fault, a touch above the break, #GP, #UD,
//!    a divide error, ...)
//!        -> print the decoded report with the program's name and pid,
//!           and end the program with status 139
//! ```
//!
//! The kernel never dies of a program's fault: the program is ended, its
//! address space torn down, and the shell goes on.
//!
//! **Ctrl-C.** A program that loops without a system call never gives the
//! kernel a chance to look at the keyboard. But interrupts still come (the
//! timer, the key itself), and each returns to ring 3 through chapter 1's
//! trap path. The input filter notes the Ctrl-C byte as it arrives (from
//! the keyboard or the serial line); the hook that runs just before
//! `iretd` to ring 3 sees the note and ends the program.

use crate::abi::KILLED_BY_CTRL_C;
use crate::process::{self, Killed, CURRENT};
use crate::user_layout::UserPart;
use core::sync::atomic::Ordering;
use paging::memory::kernel::cpu::exceptions::{self, Report, PAGE_FAULT};
use paging::memory::kernel::cpu::trap::TrapFrame;
use paging::memory::kernel::{console, println};
use paging::page_fault::{access, ErrorCodeBits};
use x86::irq::PageFaultError;

/// Ctrl-C, as a byte.
const CTRL_C: u8 = 0x03;

/// The input filter (`input::set_filter`): takes Ctrl-C while a program
/// runs; everything else goes to the input queue as usual.
pub fn filter(byte: u8) -> bool {
    if byte == CTRL_C && process::RUNNING.load(Ordering::Relaxed) {
        process::CTRL_C_PENDING.store(true, Ordering::Relaxed);
        return true;
    }
    false
}

/// Whether Ctrl-C is pending; clears it.
pub fn take_ctrl_c() -> bool {
    process::CTRL_C_PENDING.swap(false, Ordering::Relaxed)
}

/// The hook before `iretd` to ring 3 (`trap::set_user_return_hook`).
pub fn on_return_to_user(_frame: &mut TrapFrame) {
    if take_ctrl_c() {
        console::write_bytes(b"^C\n");
        process::end(KILLED_BY_CTRL_C, Some(Killed::Interrupted));
    }
}

/// The handler of every exception raised in ring 3.
pub fn handle(frame: &mut TrapFrame) {
    let vector = frame.vector;
    let address = exceptions::faulting_address();
    let code = PageFaultError::from_bits_truncate(frame.error_code);
    let mut unserved = None;
    if vector == u32::from(PAGE_FAULT) && !code.contains(PageFaultError::P) {
        let served = CURRENT
            .lock()
            .as_mut()
            .map(|program| program.fault_in(address));
        match served {
            Some(Ok(_)) => return,
            // A part that is not demand-paged is in the report already; a
            // page that should have been brought in and was not, is not.
            Some(Err(reason)) if code_is_demand(reason) => unserved = Some(reason),
            Some(Err(_)) => {}
            None => {}
        }
    }
    report(frame, address, code);
    if let Some(reason) = unserved {
        println!("  not brought in: {reason}");
    }
    process::kill_for_fault(vector, address)
}

/// Whether `fault_in`'s refusal was for lack of a frame.
fn code_is_demand(reason: &str) -> bool {
    reason == crate::process::NO_FRAME
}

/// The report: whose program, chapter 1's decoding of the exception, and
/// for a page fault the access and the part of the user region.
fn report(frame: &TrapFrame, address: u32, code: PageFaultError) {
    let current = CURRENT.lock();
    let (name, pid, part) = match current.as_ref() {
        Some(program) => (program.name.as_str(), program.pid, program.part_of(address)),
        None => ("?", 0, UserPart::Kernel),
    };
    println!("*** program {name} (pid {pid}) ended by an exception in ring 3");
    println!(
        "{}",
        Report::new(frame, "the program is ended; the kernel goes on")
    );
    if frame.vector == u32::from(PAGE_FAULT) {
        println!(
            "  a user-mode {} of {address:#010x}: {}",
            access(code),
            part.describe()
        );
        println!("{}", ErrorCodeBits(code));
    }
}
