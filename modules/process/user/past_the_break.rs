//! Misbehaves: touches a page above its break, which is not part of its
//! heap. Below the break a first touch maps a page; above it, it is a fault.
#![no_std]
#![no_main]

#[macro_use]
extern crate user;

use user::syscalls;

fn main(_args: &str) -> i32 {
    let brk = syscalls::sbrk(0).unwrap_or(0);
    let beyond = (brk + 0x10_0000) as *mut u32;
    println!(
        "the break is at {brk:#x}; writing at {:#x}",
        beyond as usize
    );
    // SAFETY: none; this is the misbehaviour the kernel must survive.
    unsafe { beyond.write_volatile(1) };
    println!("wrote past the break (this must not happen)");
    0
}

entry!(main);
