//! Measures what a page of the lazy heap costs: moves the break up by 256
//! pages, touches each page once (each touch is a demand fault: the kernel
//! maps a zeroed frame), and exits with the average cycles per touch, read
//! with `rdtsc`. The kernel's `bench` runs it and shows the figure as
//! `user_fault_page=`, next to its own heap's `fault_page=`.
#![no_std]
#![no_main]

#[macro_use]
extern crate user;

use user::syscalls;

const PAGES: usize = 256;

fn cycles() -> u64 {
    // SAFETY: rdtsc only reads the time-stamp counter, which the kernel
    // leaves readable in ring 3 (CR4.TSD clear).
    unsafe { core::arch::x86::_rdtsc() }
}

fn main(_args: &str) -> i32 {
    let Ok(start) = syscalls::sbrk((PAGES * 4096) as isize) else {
        println!("fault-bench: no memory for {PAGES} pages");
        return -1;
    };
    let before = cycles();
    for page in 0..PAGES {
        // SAFETY: the page is below the break just moved: the program's.
        unsafe { ((start + page * 4096) as *mut u8).write_volatile(1) };
    }
    let per_page = (cycles() - before) / PAGES as u64;
    per_page.min(i32::MAX as u64) as i32
}

entry!(main);
