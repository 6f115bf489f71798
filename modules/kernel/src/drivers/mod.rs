//! Device drivers. Each device's port I/O lives in its own file and nowhere
//! else. Read them in this order (the keyboard uses the timer):
//!
//! | file        | device                                  | interrupt |
//! |-------------|-----------------------------------------|-----------|
//! | `pic.rs`    | two 8259 programmable interrupt controllers | —     |
//! | `pit.rs`    | 8253/8254 programmable interval timer    | IRQ 0     |
//! | `vga.rs`    | VGA text mode: 80×25 cells at 0xB8000, hardware cursor | — |
//! | `serial.rs` | COM1, a 16550 UART                       | IRQ 4     |
//! | `keyboard.rs` | PS/2 keyboard (and the reset line of its controller) | IRQ 1 |
//! | `qemu.rs`   | QEMU's debug-exit and power-off ports    | —         |
//!
//! A driver says what its interrupt handler is; `kernel::init` connects
//! each to its IRQ line, so that no driver depends on the trap path (which
//! comes later, since its reports print through the console, which prints
//! through these drivers).

pub mod pic;
pub mod pit;
pub mod vga;
pub mod serial;
pub mod keyboard;
pub mod qemu;
