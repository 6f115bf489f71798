//! Strata, chapter 2: the kernel of chapter 1, plus memory.
//!
//! After chapter 1's `init`, `memory::init` builds the memory map,
//! the frame allocator and the kernel heap; from then on `Box`, `Vec` and
//! friends work. The memory commands join the shell.
#![no_std]
#![no_main]

use kernel::{ktest, shell};

const BANNER: &str = "Strata - chapter 2: memory (frames, buddy heap, pool and bump allocators)";

#[no_mangle]
pub extern "C" fn kmain(magic: u32, boot_info_addr: u32) -> ! {
    kernel::init(magic, boot_info_addr);
    memory::init();
    memory::commands::register();
    if ktest::requested() {
        ktest::run(&[
            kernel::tests::TESTS,
            memory::frame_tests::TESTS,
            memory::tests::TESTS,
            memory::debug_tests::TESTS,
        ]);
    }
    shell::run(BANNER)
}
