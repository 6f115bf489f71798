//! Asks for memory until there is none: `malloc` returns null when the
//! break cannot move (the kernel refuses what its free frames could not
//! back), and the program says so and exits cleanly. Then a `Vec` that
//! cannot grow ends it through the allocation-error path (a panic).
#![no_std]
#![no_main]

#[macro_use]
extern crate user;

extern crate alloc;

use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use user::heap::HEAP;

fn main(args: &str) -> i32 {
    let chunk = Layout::from_size_align(1 << 20, 8).unwrap();
    let mut chunks = Vec::new();
    loop {
        // SAFETY: a non-zero layout; the block is only touched below.
        let block = unsafe { HEAP.alloc(chunk) };
        if block.is_null() {
            break;
        }
        // Touch the first byte of every page: each is a demand fault.
        for page in (0..chunk.size()).step_by(4096) {
            // SAFETY: inside the block just allocated.
            unsafe { block.add(page).write_volatile(1) };
        }
        chunks.push(block);
    }
    println!(
        "out-of-memory: malloc returned null after {} MiB",
        chunks.len()
    );
    for block in chunks {
        // SAFETY: allocated above with this layout.
        unsafe { HEAP.dealloc(block, chunk) };
    }
    if args == "panic" {
        // 2 GiB: more than the break may ever cover.
        let vector: Vec<u8> = Vec::with_capacity(core::hint::black_box(usize::MAX / 2));
        drop(vector);
    }
    0
}

entry!(main);
