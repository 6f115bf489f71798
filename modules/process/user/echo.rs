//! Reads lines with the `read` system call and writes them back, until an
//! empty line: a program that waits for input (Ctrl-C stops it too).
#![no_std]
#![no_main]

#[macro_use]
extern crate user;

use user::syscalls;

fn main(_args: &str) -> i32 {
    let mut buffer = [0u8; 80];
    let mut lines = 0;
    loop {
        print!("echo> ");
        match syscalls::read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                lines += 1;
                println!(
                    "{}",
                    core::str::from_utf8(&buffer[..n]).unwrap_or("(not UTF-8)")
                );
            }
            Err(errno) => {
                println!("read failed: {}", errno.name());
                return 1;
            }
        }
    }
    println!("echo: {lines} lines");
    0
}

entry!(main);
