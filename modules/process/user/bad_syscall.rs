//! Misbehaves politely: system calls with bad numbers and bad arguments.
//! Each must come back with an error code, and the kernel must go on.
#![no_std]
#![no_main]

#[macro_use]
extern crate user;
extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;

use user::abi::{self, Errno};
use user::syscalls::syscall;

fn show(what: &str, value: i32) -> bool {
    match Errno::from_return(value) {
        Some(errno) => {
            println!("{what}: error {}", errno.name());
            true
        }
        None => {
            println!("{what}: returned {value} (expected an error)");
            false
        }
    }
}

fn main(_args: &str) -> i32 {
    let checks = [
        show("call 999", syscall(999, 0, 0, 0)),
        show(
            "write from the kernel",
            syscall(abi::SYS_WRITE, 0x0010_0000, 16, 0),
        ),
        show(
            "write wrapping around",
            syscall(abi::SYS_WRITE, 0xC010_0000, 0xFFFF_FFF0, 0),
        ),
        show("write from null", syscall(abi::SYS_WRITE, 0, 1, 0)),
        show(
            "read into the kernel",
            syscall(abi::SYS_READ, 0x0010_0000, 16, 0),
        ),
        show(
            "read into read-only text",
            syscall(abi::SYS_READ, 0xC010_0000, 16, 0),
        ),
        show(
            "sbrk below the image",
            syscall(abi::SYS_SBRK, (-0x1000_0000i32) as u32, 0, 0),
        ),
        show(
            "sbrk into the stack",
            syscall(abi::SYS_SBRK, 0x0800_0000, 0, 0),
        ),
    ];
    // A write longer than the kernel moves in one call (4096 bytes) comes
    // back short: the kernel runs a system call with interrupts off, so it
    // keeps each one brief.
    let long = vec![b' '; 3 * 4096];
    let written = syscall(abi::SYS_WRITE, long.as_ptr() as u32, long.len() as u32, 0);
    println!("\nwrite of {} bytes: {written} written", long.len());
    let mut checks: Vec<bool> = checks.to_vec();
    checks.push(written == 4096);
    let passed = checks.iter().filter(|&&ok| ok).count();
    println!("bad-syscall: {passed}/{} refused", checks.len());
    if passed == checks.len() {
        0
    } else {
        1
    }
}

entry!(main);
