//! Device drivers. Each device's port I/O lives in its own file and nowhere
//! else.
//!
//! | file        | device                                  | interrupt |
//! |-------------|-----------------------------------------|-----------|
//! | `pic.rs`    | two 8259 programmable interrupt controllers | —     |
//! | `pit.rs`    | 8253/8254 programmable interval timer    | IRQ 0     |
//! | `keyboard.rs` | PS/2 keyboard (and the reset line of its controller) | IRQ 1 |
//! | `serial.rs` | COM1, a 16550 UART                       | IRQ 4     |
//! | `vga.rs`    | VGA text mode: 80×25 cells at 0xB8000, hardware cursor | — |
//! | `qemu.rs`   | QEMU's debug-exit and power-off ports    | —         |

pub mod keyboard;
pub mod pic;
pub mod pit;
pub mod qemu;
pub mod serial;
pub mod vga;
