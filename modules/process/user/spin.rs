//! Loops for ever without a system call: only Ctrl-C (from the keyboard or
//! the serial line) stops it. The kernel sees the key in the interrupt that
//! brings it, and ends the program on the way back to ring 3.
#![no_std]
#![no_main]

#[macro_use]
extern crate user;

fn main(_args: &str) -> i32 {
    println!("spin: looping; press Ctrl-C to stop me");
    let mut count: u32 = 0;
    loop {
        count = core::hint::black_box(count.wrapping_add(1));
    }
}

entry!(main);
