//! # Strata, chapter 3: paging
//!
//! Chapter 2 handed out physical memory; this chapter puts the MMU between
//! the kernel and that memory. Every address the kernel uses becomes
//! *virtual*, translated through page tables the kernel writes itself. That
//! buys three things this chapter shows one at a time:
//!
//! 1. protection — kernel code is read-only, the null page and the stack's
//!    guard page are not mapped at all, so mistakes fault instead of
//!    corrupting memory;
//! 2. memory on demand — the heap reserves 256 MiB of addresses (half for
//!    its blocks, half for large allocations, a run of pages each) but gets
//!    a frame only when a page is first touched;
//! 3. faults you can read — every page fault is decoded, and even a kernel
//!    stack overflow is reported, from a task with a stack of its own.
//!
//! Read it in this order (each file uses only the ones before it):
//!
//! 1. [`address`] — virtual addresses and pages as types of their own;
//!    [`mapping`] — map and unmap: one entry written or cleared, over any
//!    way of finding it ([`mapping::PageEntries`]);
//!    [`page_table`] — the two-level tables and the one walk that finds the
//!    entries, over any memory;
//! 2. [`layout`] — what lives where in the kernel's address space;
//! 3. `kernel_space` — building the tables and turning paging on;
//! 4. [`growing_heap`] — the kernel heap that grows on page faults;
//!    [`large_allocations`] — large requests get pages of their own;
//!    `regions` — which region an address is in, right now;
//! 5. `fixup` — letting a probe fault and carry on (an exception table);
//!    `guard_pages` — KFENCE-style pages for the heap debugger;
//! 6. [`page_fault`] — decoding a fault, deciding who serves it, and the
//!    handler that serves what it can (chapter 1's fatal report gets its
//!    decoding for the rest);
//! 7. `double_fault` — the double-fault task and the stack guard page;
//! 8. `commands` — `pages`, `translate`, `map`, `unmap`, `touch`, `bench`.
//!
//! 1, 2, the arithmetic in 4 and the decoding and decision in 6 are plain
//! `no_std` code, tested on the host (`cargo htest -p strata-paging`); the
//! rest needs the real machine and is tested in the kernel.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

/// Chapter 2 (and through it chapter 1), for the chapter after this one.
pub use memory;

pub mod address;
pub mod mapping;
pub mod page_table;
pub mod layout;
#[cfg(target_os = "none")]
pub mod kernel_space;
pub mod growing_heap;
pub mod large_allocations;
#[cfg(target_os = "none")]
pub mod regions;
#[cfg(target_os = "none")]
pub mod fixup;
#[cfg(target_os = "none")]
pub mod guard_pages;
pub mod page_fault;
#[cfg(target_os = "none")]
pub mod double_fault;
#[cfg(target_os = "none")]
pub mod commands;
#[cfg(target_os = "none")]
pub mod heap_tests;
#[cfg(target_os = "none")]
pub mod tests;

/// Turns paging on and moves the heap into its own virtual range: called
/// after [`memory::setup::init`] has set up the frames (but not chapter 2's
/// heap: this chapter's replaces it), before anything is allocated.
#[cfg(target_os = "none")]
pub fn init() {
    kernel_space::init();
    page_fault::install();
    double_fault::install();
    growing_heap::init();
    large_allocations::init();
    guard_pages::install();
    log::info!("paging on: kernel read-only where it should be, heap grows on demand");
}
