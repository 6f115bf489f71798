//! Strata, chapter 3: the kernel of chapters 1 and 2, with paging.
//!
//! After chapter 1's `init` and chapter 2's frame allocator,
//! `paging::init` builds the page tables, turns paging on, installs the
//! page-fault handler and the double-fault task, and gives the kernel heap
//! its virtual range. The paging commands join the shell.
#![no_std]
#![no_main]

use memory::kernel::{self, ktest, shell};

const BANNER: &str =
    "Strata - chapter 3: paging (page tables, a heap that grows on page faults, guard pages)";

#[no_mangle]
pub extern "C" fn kmain(magic: u32, boot_info_addr: u32) -> ! {
    kernel::init(magic, boot_info_addr);
    memory::setup::init();
    paging::init();
    memory::commands::register();
    paging::commands::register();
    if ktest::requested() {
        ktest::run(&[
            kernel::tests::TESTS,
            memory::frame_tests::TESTS,
            memory::tests::TESTS,
            memory::debug_tests::TESTS,
            paging::heap_tests::TESTS,
            paging::tests::TESTS,
        ]);
    }
    shell::run(BANNER)
}
