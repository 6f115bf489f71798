//! # Strata, chapter 1: the kernel and its I/O
//!
//! This crate is the ground floor every later chapter stands on. Read it in
//! this order:
//!
//! 1. [`boot`] — the Multiboot2 header, the first instructions, and the boot
//!    information GRUB hands us; [`command_line`] — the options in it;
//! 2. [`cpu`] — the GDT, the IDT and the trap path that every exception and
//!    interrupt takes;
//! 3. [`drivers`] — the 8259 PICs, the PIT, the VGA text screen, the COM1
//!    serial port and the PS/2 keyboard;
//! 4. [`console`] and [`logger`] — `print!`, `println!` and `log::info!`,
//!    shown on the screen *and* sent over serial;
//! 5. [`shell`] — the line editor and the command table that later chapters
//!    add their commands to;
//! 6. [`ktest`] — the in-kernel test framework.
//!
//! [`init`] wires all of it together; a chapter's `main.rs` calls it first.
#![cfg_attr(not(test), no_std)]

pub mod boot;
pub mod command_line;
pub mod console;
pub mod cpu;
pub mod drivers;
pub mod input;
pub mod ktest;
pub mod logger;
pub mod panic;
pub mod screen;
pub mod shell;
pub mod sync;
// The in-kernel tests need the real machine; the host never builds them.
#[cfg(target_os = "none")]
pub mod tests;

/// The name every chapter's banner starts with.
pub const OS_NAME: &str = "Strata";

/// Brings the machine from "GRUB just jumped to us" to "interrupts are on and
/// every device works", in an order where each step only needs the ones
/// before it.
///
/// `magic` and `boot_info_addr` are the values GRUB left in EAX and EBX.
pub fn init(magic: u32, boot_info_addr: u32) {
    // Output first, so that anything that goes wrong later can be reported.
    console::init();
    logger::init();
    boot::init(magic, boot_info_addr);
    logger::apply_command_line(command_line::text());
    command_line::register(command_line::OPTIONS);

    // The CPU's own tables, then the interrupt controllers and devices.
    cpu::gdt::init();
    cpu::idt::init();
    drivers::pic::init();
    drivers::pit::init(drivers::pit::DEFAULT_HZ);
    drivers::keyboard::init();
    drivers::serial::enable_input_interrupts();
    shell::init();

    cpu::interrupts::enable();
    log::info!(
        "kernel ready: GDT, IDT, PICs, {} Hz timer, keyboard and serial input",
        drivers::pit::frequency()
    );
}

/// Stops the CPU for good: interrupts off, then `hlt` in a loop (an NMI could
/// still wake it, so loop).
pub fn halt_forever() -> ! {
    loop {
        cpu::interrupts::disable();
        cpu::interrupts::halt();
    }
}
