//! The first user program: it greets, shows its pid and arguments, and
//! exits with status 0.
#![no_std]
#![no_main]

#[macro_use]
extern crate user;

use user::syscalls;

fn main(args: &str) -> i32 {
    println!(
        "hello from ring 3: pid={} args=\"{}\"",
        syscalls::getpid(),
        args
    );
    0
}

entry!(main);
