//! The system calls, one function each: `int 0x80` with the number in EAX
//! and the arguments in EBX, ECX and EDX (see `abi.rs`).

use super::abi::{self, Errno};
use core::arch::asm;

/// A raw system call: what EAX holds afterwards.
pub fn syscall(number: u32, a: u32, b: u32, c: u32) -> i32 {
    let result: u32;
    // SAFETY: `int 0x80` enters the kernel through the system-call gate;
    // the kernel changes nothing but EAX and the memory the call names.
    unsafe {
        asm!("int 0x80", inlateout("eax") number => result, in("ebx") a, in("ecx") b, in("edx") c)
    };
    result as i32
}

fn check(value: i32) -> Result<u32, Errno> {
    match Errno::from_return(value) {
        Some(errno) if value < 0 => Err(errno),
        _ => Ok(value as u32),
    }
}

/// Ends the program with `status`.
pub fn exit(status: i32) -> ! {
    syscall(abi::SYS_EXIT, status as u32, 0, 0);
    // The kernel never returns from exit; if it did, fault rather than run on.
    loop {
        // SAFETY: ud2 only raises #UD.
        unsafe { asm!("ud2") };
    }
}

/// Writes `bytes` to the console.
pub fn write(bytes: &[u8]) -> Result<usize, Errno> {
    check(syscall(
        abi::SYS_WRITE,
        bytes.as_ptr() as u32,
        bytes.len() as u32,
        0,
    ))
    .map(|n| n as usize)
}

/// Reads one line of input (without its end) into `buffer`.
pub fn read(buffer: &mut [u8]) -> Result<usize, Errno> {
    check(syscall(
        abi::SYS_READ,
        buffer.as_mut_ptr() as u32,
        buffer.len() as u32,
        0,
    ))
    .map(|n| n as usize)
}

/// Moves the break by `increment` bytes; returns the old break.
pub fn sbrk(increment: isize) -> Result<usize, Errno> {
    check(syscall(abi::SYS_SBRK, increment as u32, 0, 0)).map(|n| n as usize)
}

pub fn getpid() -> u32 {
    syscall(abi::SYS_GETPID, 0, 0, 0) as u32
}

/// Milliseconds since the kernel booted.
pub fn uptime() -> u32 {
    syscall(abi::SYS_UPTIME, 0, 0, 0) as u32
}
