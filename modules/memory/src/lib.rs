//! # Strata, chapter 2: memory
//!
//! Chapter 1 booted the machine; this chapter decides who gets which byte of
//! it. Read it in this order:
//!
//! 1. [`address`] — physical addresses and frames as types of their own;
//!    [`memory_map`] — what RAM exists, from GRUB's multiboot2 memory map,
//!    and what of it is already taken (the kernel, the boot information...);
//! 2. [`frames`] — the physical frame allocator: 4 KiB frames, one bit each;
//! 3. [`heap`] — byte-sized allocations: the buddy heap with block headers
//!    (the kernel's `#[global_allocator]`), the first-fit pool and the bump
//!    allocator, all behind one trait;
//! 4. `setup` and `kernel_heap` — how the kernel puts them together at
//!    boot: the map and the frames, then the heap on them (`init`);
//! 5. `commands` — `heap`, `heapmap`, `alloc`, `free`, `frames`, `demo`,
//!    and `heaptrace`, which streams every allocation and free to serial.
//!
//! Everything in 1–3 is plain `no_std` code over memory the caller hands
//! it, so it is tested on the host (`cargo htest -p strata-memory`) as well
//! as in the kernel.
#![cfg_attr(not(test), no_std)]
// Rust's hook for reporting a failed allocation before stopping.
#![cfg_attr(target_os = "none", feature(alloc_error_handler))]

extern crate alloc;

/// Chapter 1, re-exported: chapter 3 depends on this chapter alone and
/// reaches the kernel's I/O, shell and CPU tables through it.
pub use kernel;

pub mod address;
pub mod memory_map;
pub mod frames;
pub mod heap;

#[cfg(target_os = "none")]
pub mod setup;
#[cfg(target_os = "none")]
pub mod kernel_heap;
#[cfg(target_os = "none")]
pub mod commands;
#[cfg(target_os = "none")]
pub mod tests;
#[cfg(target_os = "none")]
pub mod frame_tests;
#[cfg(target_os = "none")]
pub mod debug_tests;

/// Builds the memory map, the frame allocator and, on frames of its own,
/// the kernel heap: after this, `Box` and `Vec` work.
#[cfg(target_os = "none")]
pub fn init() {
    setup::init();
    kernel_heap::init();
}
