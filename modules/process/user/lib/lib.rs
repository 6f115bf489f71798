//! What every user program is built with: its entry point, the system calls,
//! `print!`, the heap (`Box`, `Vec`, `String`) and a panic handler.
//!
//! A program uses this library and names its `main`:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! #[macro_use]
//! extern crate user;
//!
//! fn main(args: &str) -> i32 { println!("hi"); 0 }
//! entry!(main);
//! ```
//!
//! The kernel starts a program at `_start` with its stack pointer at the top
//! of the user stack, the argument text's address in EAX and its length in
//! EBX. `_start` passes them to the program's `main` and exits with what
//! it returns.
//!
//! `abi.rs` (the system calls' numbers) and `user_malloc.rs` (the heap) are
//! the kernel crate's own files, compiled in here too: the kernel and its
//! programs cannot disagree on the interface, and the heap is tested on the
//! host with the kernel's tests.
#![no_std]

#[path = "../../src/abi.rs"]
pub mod abi;
pub mod syscalls;
pub mod print;
#[path = "../../src/user_malloc.rs"]
#[allow(dead_code)]
pub mod user_malloc;
pub mod heap;

extern crate alloc;

pub use abi::Errno;

#[cfg(target_os = "none")]
// The first instruction of every program: align the stack as the i386 C
// calling convention wants (16 bytes at each call), pass EAX and EBX (the
// arguments' address and length), and never come back.
core::arch::global_asm!(
    r#"
    .section .text.start, "ax"
    .global _start
_start:
    and esp, -16
    sub esp, 8
    push ebx
    push eax
    call strata_user_start
    ud2
    "#
);

/// Defines the entry point that `_start` calls: it runs `$main` with the
/// program's arguments and exits with its status.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[no_mangle]
        extern "C" fn strata_user_start(text: *const u8, len: usize) -> ! {
            // SAFETY: `_start` passes what the kernel put in EAX and EBX:
            // the arguments' address and length, on the stack.
            let args = unsafe { $crate::arguments(text, len) };
            $crate::syscalls::exit($main(args))
        }
    };
}

/// The argument text the kernel put on the stack.
///
/// # Safety
/// `text` and `len` must be what the kernel passed to `_start`.
pub unsafe fn arguments(text: *const u8, len: usize) -> &'static str {
    if text.is_null() || len == 0 {
        return "";
    }
    // SAFETY: the kernel copied `len` bytes of UTF-8 (a shell line) to
    // `text`, on the stack, before the program's first instruction, and
    // nothing writes there again.
    let bytes = unsafe { core::slice::from_raw_parts(text, len) };
    core::str::from_utf8(bytes).unwrap_or("")
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("{info}");
    syscalls::exit(abi::PANICKED)
}
