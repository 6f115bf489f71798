//! Misbehaves: writes over its own code. Text pages are mapped read-only
//! (and executable), so the write faults.
#![no_std]
#![no_main]

#[macro_use]
extern crate user;

fn main(_args: &str) -> i32 {
    let own_code = main as *const () as *mut u8;
    // SAFETY: none; this is the misbehaviour the kernel must survive.
    unsafe { own_code.write_volatile(0xCC) };
    println!("wrote over my own code (this must not happen)");
    0
}

entry!(main);
