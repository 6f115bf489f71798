//! The user heap at work: `Box`, `Vec` and `String` over `malloc`,
//! which grows the break with `sbrk`. The kernel maps none of the new bytes
//! until the program touches them, one page fault per page.
#![no_std]
#![no_main]

#[macro_use]
extern crate user;

extern crate alloc;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use user::heap::HEAP;
use user::syscalls;

fn main(_args: &str) -> i32 {
    let start = syscalls::sbrk(0).unwrap_or(0);
    println!("malloc-demo: the break starts at {start:#x}");
    // A thousand small boxes: one 16 KiB growth of the heap covers many.
    let boxes: Vec<Box<[u32; 8]>> = (0..1000).map(|i| Box::new([i; 8])).collect();
    let sum: u32 = boxes.iter().map(|b| b[7]).sum();
    let (bytes, free) = HEAP.usage();
    println!("1000 boxes: sum={sum} heap={bytes} free={free}");
    // A growing string: realloc moves it, or grows it in place.
    let mut text = String::new();
    for i in 0..500 {
        let _ = write!(text, "{i},");
    }
    println!(
        "a string of {} bytes, ending \"{}\"",
        text.len(),
        &text[text.len() - 8..]
    );
    drop(boxes);
    drop(text);
    let (free_blocks, used_blocks) = HEAP.blocks();
    let end = syscalls::sbrk(0).unwrap_or(0);
    println!(
        "all freed: free_blocks={free_blocks} used_blocks={used_blocks} break={end:#x} grown={}",
        end - start
    );
    if free_blocks == 1 && used_blocks == 0 {
        0
    } else {
        1
    }
}

entry!(main);
