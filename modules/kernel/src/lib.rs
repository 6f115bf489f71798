//! # Strata, chapter 1: the kernel and its I/O
//!
//! This crate is the ground floor every later chapter stands on. Read it in
//! this order (each file uses only the ones before it):
//!
//! 1. [`interrupts`] and [`sync`] — the interrupt flag, and the lock that
//!    keeps interrupts off while it is held; [`screen`] — a text screen's
//!    logic, over any grid of cells;
//! 2. [`command_line`] and [`boot`] — the Multiboot2 header, the first
//!    instructions, the boot information GRUB hands us and the options in it;
//! 3. [`input`] — where keystrokes and serial bytes wait for the shell;
//! 4. [`drivers`] — the 8259 PICs, the PIT, the VGA text screen, the COM1
//!    serial port and the PS/2 keyboard;
//! 5. [`console`] and [`logger`] — `print!`, `println!` and `log::info!`,
//!    shown on the screen *and* sent over serial;
//! 6. [`cpu`] — the GDT, the exceptions, the trap path that every exception
//!    and interrupt takes, and the IDT;
//! 7. [`shell`] — the line editor and the command table that later chapters
//!    add their commands to;
//! 8. [`ktest`] and [`panic`](mod@panic) — the in-kernel test framework, and what a
//!    panic prints (the tests themselves, in `trap_tests` and `tests`, are
//!    built for the kernel only).
//!
//! [`init`] wires all of it together; a chapter's `main.rs` calls it first.
#![cfg_attr(not(test), no_std)]

pub mod interrupts;
pub mod sync;
pub mod screen;
pub mod command_line;
pub mod boot;
pub mod input;
pub mod drivers;
pub mod console;
pub mod logger;
pub mod cpu;
pub mod shell;
pub mod ktest;
pub mod panic;
// The in-kernel tests need the real machine; the host never builds them.
#[cfg(target_os = "none")]
pub mod trap_tests;
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

    // The CPU's own tables, then the interrupt controllers and devices,
    // each device's handler on its IRQ line.
    cpu::gdt::init();
    cpu::idt::init();
    drivers::pic::init();
    drivers::pit::init(drivers::pit::DEFAULT_HZ);
    cpu::trap::set_irq_handler(drivers::pit::TIMER_IRQ, |_| drivers::pit::tick());
    drivers::keyboard::init();
    cpu::trap::set_irq_handler(drivers::keyboard::KEYBOARD_IRQ, |_| {
        drivers::keyboard::on_interrupt()
    });
    cpu::trap::set_irq_handler(drivers::serial::COM1_IRQ, |_| {
        drivers::serial::receive_pending()
    });
    // The serial driver holds bytes back when the input queue is full, and
    // is asked for them again once the shell has emptied it.
    input::on_room(drivers::serial::receive_pending);
    drivers::serial::receive_pending();
    shell::init();

    interrupts::enable();
    log::info!(
        "kernel ready: GDT, IDT, PICs, {} Hz timer, keyboard and serial input",
        drivers::pit::frequency()
    );
}
