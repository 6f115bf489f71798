//! QEMU's two escape hatches: leaving with an exit status, and powering off.
//!
//! Tests boot the kernel with `-device isa-debug-exit,iobase=0xf4,iosize=0x04`:
//! writing a value *v* to port 0xF4 makes QEMU exit with status `(v << 1) | 1`.
//! On real hardware nothing listens there and the write is harmless.

use x86::io::{outl, outw};

const DEBUG_EXIT_PORT: u16 = 0xF4;
/// QEMU's ACPI power-management control port on the default `pc` machine.
const ACPI_PM1A_CONTROL: u16 = 0x604;
/// SLP_TYPa = 0 with SLP_EN: "soft off" in QEMU's ACPI tables.
const ACPI_SOFT_OFF: u16 = 0x2000;

/// The values the test runner expects. QEMU turns them into exit statuses 33
/// and 35; 0 and 1 are avoided because QEMU itself exits with those.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    Success = 0x10,
    Failure = 0x11,
}

/// Ends the QEMU run with `code`. If nothing listens on the port (not QEMU, or
/// no debug-exit device), halts instead.
pub fn exit(code: ExitCode) -> ! {
    // SAFETY: port 0xF4 is QEMU's debug-exit device, or nothing at all.
    unsafe { outl(DEBUG_EXIT_PORT, code as u32) };
    crate::interrupts::halt_forever()
}

/// Asks QEMU to power the machine off. Returns if nobody listened.
pub fn power_off() {
    // SAFETY: on QEMU's `pc` machine this port is the ACPI PM1a control
    // register; elsewhere it is unused.
    unsafe { outw(ACPI_PM1A_CONTROL, ACPI_SOFT_OFF) };
}
