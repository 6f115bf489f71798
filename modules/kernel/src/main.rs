//! Strata, chapter 1: the bootable kernel.
//!
//! `boot.rs` jumps here with the values GRUB left in EAX and EBX. Chapter 1
//! initialises the machine, then runs either the in-kernel tests (when booted
//! with `test` on the command line) or the interactive shell.
#![no_std]
#![no_main]

use kernel::{ktest, shell, tests};

const BANNER: &str = "Strata - chapter 1: the kernel and its I/O";

#[no_mangle]
pub extern "C" fn kmain(magic: u32, boot_info_addr: u32) -> ! {
    kernel::init(magic, boot_info_addr);
    if ktest::requested() {
        ktest::run(&[tests::TESTS]);
    }
    shell::run(BANNER)
}
