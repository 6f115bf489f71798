//! Strata, chapter 4: the kernel of chapters 1–3, running user programs.
//!
//! After chapter 3's `paging::init`, `process::init` adds the user
//! segments, the system-call gate, the handlers for ring 3 and the
//! programs GRUB loaded; the `programs` and `run` commands join the shell.
#![no_std]
#![no_main]

use process::paging;
use process::paging::memory;
use process::paging::memory::kernel::{self, ktest, shell};

const BANNER: &str = "Strata - chapter 4: user space (programs in ring 3, system calls, a heap that grows on page faults)";

#[no_mangle]
pub extern "C" fn kmain(magic: u32, boot_info_addr: u32) -> ! {
    kernel::init(magic, boot_info_addr);
    memory::setup::init();
    paging::init();
    process::init();
    memory::commands::register();
    paging::commands::register();
    process::commands::register();
    if ktest::requested() {
        ktest::run(&[kernel::tests::TESTS, process::tests::TESTS]);
    }
    shell::run(BANNER)
}
