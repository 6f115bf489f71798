//! # Strata, chapter 4: user space
//!
//! Chapters 1–3 built a kernel that runs only itself. This chapter runs
//! *programs*: ELF files that GRUB loads as modules, each in ring 3 with an
//! address space of its own, talking to the kernel through system calls,
//! with a heap that grows on page faults. A program that misbehaves is
//! ended with a report; the kernel goes on.
//!
//! It extends the earlier chapters by registering, not by editing them:
//! two segments in chapter 1's GDT, a handler for `int 0x80`, a handler
//! for exceptions raised in ring 3, a hook on the way back to ring 3, an
//! input filter for Ctrl-C, an entry in chapter 3's exception table, and
//! two shell commands.
//!
//! Read it in this order (each file uses only the ones before it):
//!
//! 1. [`abi`] — the system calls' numbers and error codes, shared with the
//!    programs; [`user_layout`] — where a program lives;
//! 2. [`elf`] — reading an ELF executable, every field checked;
//! 3. [`user_malloc`] — the programs' `malloc` (compiled into each of them,
//!    tested here);
//! 4. [`user_pointer`] — checking a system call's pointers;
//!    [`heap_break`] — the break, and the frames promised to the heap;
//!    [`dispatch`] — from `int 0x80`'s registers to a service;
//! 5. `segments` — the user code and data segments;
//!    `user_space` — a program's page directory, and tearing it down;
//!    `programs` — the files GRUB loaded; `loader` — a file into an
//!    address space;
//! 6. `user_copy` — copying to and from user memory, fault-proof;
//!    `ring3` — into ring 3 and back;
//! 7. `process` — running a program, its lazy heap, its end;
//!    `user_faults` — exceptions in ring 3, and Ctrl-C;
//!    `syscalls` — the system calls;
//! 8. `commands` — `programs` and `run`; `tests` — in-kernel tests.
//!
//! 1–4 are plain code, tested on the host (`cargo htest -p
//! strata-process`); the rest needs the machine and is tested in the kernel
//! and by the end-to-end scripts (`e2e/`).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub use paging;

pub mod abi;
pub mod user_layout;
pub mod elf;
pub mod user_malloc;
pub mod user_pointer;
pub mod heap_break;
pub mod dispatch;
#[cfg(target_os = "none")]
pub mod segments;
#[cfg(target_os = "none")]
pub mod user_space;
#[cfg(target_os = "none")]
pub mod programs;
#[cfg(target_os = "none")]
pub mod loader;
#[cfg(target_os = "none")]
pub mod user_copy;
#[cfg(target_os = "none")]
pub mod ring3;
#[cfg(target_os = "none")]
pub mod process;
#[cfg(target_os = "none")]
pub mod user_faults;
#[cfg(target_os = "none")]
pub mod syscalls;
#[cfg(target_os = "none")]
pub mod commands;
#[cfg(target_os = "none")]
pub mod tests;

/// Sets chapter 4 up, after `paging::init`: the segments, the exception
/// table entry, the programs, the handlers and hooks, and the kernel heap's
/// page tables (made now, so that every program's directory shares them).
#[cfg(target_os = "none")]
pub fn init() {
    use paging::address::VirtAddr;
    use paging::kernel_space;
    use paging::layout::{HEAP_END, HEAP_START};
    use paging::memory::kernel::cpu::{idt, trap};
    use paging::memory::kernel::input;

    segments::init();
    user_copy::init();
    programs::init();
    trap::set_syscall_handler(syscalls::handle);
    idt::open_syscall_gate();
    trap::set_user_exception_handler(user_faults::handle);
    trap::set_user_return_hook(user_faults::on_return_to_user);
    input::set_filter(user_faults::filter);
    if let Err(error) =
        kernel_space::ensure_tables(VirtAddr::new(HEAP_START), VirtAddr::new(HEAP_END))
    {
        panic!("no frames for the kernel heap's page tables: {error}");
    }
}
