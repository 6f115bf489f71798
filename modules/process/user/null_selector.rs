//! Misbehaves at the level of segments: loads a null selector into DS and
//! ES, then makes a system call. The kernel must not run on the program's
//! segments (on a trap from ring 3 the CPU keeps DS and ES as they were):
//! its trap path loads its own data segment on every trap and puts the
//! program's back on the way out. Without that, the kernel's first memory
//! access would fault, inside the trap handler, for ever. The program then
//! puts its own data segment back (from SS, which is the same segment) and
//! checks that the call answered right.
#![no_std]
#![no_main]

#[macro_use]
extern crate user;

use user::syscalls;

fn main(_args: &str) -> i32 {
    println!("null-selector: loading 0 into DS and ES, then int 0x80 (getpid)");
    let pid: u32;
    // SAFETY: the asm touches no memory while DS and ES are null, and puts
    // the program's data segment back (SS holds the same selector) before
    // any Rust code runs again.
    unsafe {
        core::arch::asm!(
            "xor eax, eax",
            "mov ds, ax",
            "mov es, ax",
            "mov eax, 5",
            "int 0x80",
            "mov edx, eax",
            "mov ax, ss",
            "mov ds, ax",
            "mov es, ax",
            out("eax") _,
            out("edx") pid,
        );
    }
    let expected = syscalls::getpid();
    println!("null-selector: getpid gave {pid} with a null DS (expected {expected}); the kernel used its own");
    if pid == expected {
        0
    } else {
        1
    }
}

entry!(main);
