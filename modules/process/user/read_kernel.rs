//! Misbehaves: reads the kernel's code at 1 MiB. The page is mapped, but
//! for the kernel only (its U/S bit is clear), so the read faults and the
//! kernel ends the program with a report.
#![no_std]
#![no_main]

#[macro_use]
extern crate user;

fn main(_args: &str) -> i32 {
    let kernel_text = 0x0010_0000 as *const u32;
    // SAFETY: none; this is the misbehaviour the kernel must survive.
    let word = unsafe { kernel_text.read_volatile() };
    println!("read the kernel's first word: {word:#x} (this must not happen)");
    0
}

entry!(main);
