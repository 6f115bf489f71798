//! COM1, a 16550 UART: the kernel's second screen and second keyboard.
//!
//! Everything the kernel prints is also sent here, so under QEMU
//! (`-serial stdio`) it appears in your terminal — and tests can read it.
//! Bytes that arrive raise IRQ 4; its handler, `receive_pending`, moves
//! them into the shared [`input`] queue, where the shell reads
//! them exactly like keystrokes.
//!
//! The register-level driver is the `uart_16550` crate; this file decides the
//! settings (115 200 baud, 8N1, FIFO on, interrupt on received data) and
//! connects the device to the rest of the kernel.

use crate::input;
use crate::sync::IrqMutex;
use uart_16550::backend::PioBackend;
use uart_16550::spec::registers::{IER, LSR};
use uart_16550::{BaudRate, Config, Uart16550};

/// COM1's I/O port base.
pub const COM1_PORT: u16 = 0x3F8;
/// COM1's IRQ line.
pub const COM1_IRQ: u8 = 4;

static COM1: IrqMutex<Option<Uart16550<PioBackend>>> = IrqMutex::new(None);

/// Initialises COM1. Without a UART (real hardware without COM1) the kernel
/// simply carries on with the screen alone.
pub fn init() {
    // SAFETY: 0x3F8..0x3FF are COM1's registers, used only through this
    // driver for the whole life of the kernel.
    let Ok(mut uart) = (unsafe { Uart16550::new_port(COM1_PORT) }) else {
        return;
    };
    let config = Config {
        baud_rate: BaudRate::Baud115200,
        interrupts: IER::DATA_READY,
        ..Config::DEFAULT
    };
    if uart.init(config).is_ok() {
        *COM1.lock() = Some(uart);
    }
}

/// Whether a UART answered at boot.
pub fn is_present() -> bool {
    COM1.lock().is_some()
}

/// Sends `bytes` as they are (the console adds the `\r` before each `\n`).
pub fn write_bytes(bytes: &[u8]) {
    if let Some(uart) = COM1.lock().as_mut() {
        uart.send_bytes_exact(bytes);
    }
}

/// Moves bytes from the UART into the input queue while the queue has room:
/// the handler of IRQ 4 (`kernel::init` connects them, and drains the UART
/// once then: it raises its interrupt only when its receive buffer goes from
/// empty to non-empty, so bytes left sitting there would block it forever).
///
/// This is flow control: bytes that do not fit stay in the UART's 16-byte
/// FIFO, and a full FIFO makes QEMU stop reading the host's input until
/// there is space, so a long paste waits instead of being cut. The input
/// queue calls this again (see [`input::on_room`]) once the shell has read
/// everything: the UART will not interrupt again while its FIFO is still
/// non-empty, so it has to be asked.
///
/// A real UART cannot hold the sender back without hardware handshake; when
/// its FIFO overflows it sets the overrun bit in its line status, and the
/// loss is marked in the queue so the shell discards that line.
pub(crate) fn receive_pending() {
    if let Some(uart) = COM1.lock().as_mut() {
        while input::room() > 0 {
            let Ok(byte) = uart.try_receive_byte() else {
                break;
            };
            input::push(byte);
        }
        if uart.lsr().contains(LSR::OVERRUN_ERROR) {
            input::lost(1);
        }
    }
}

/// For panic and fatal-exception reports: if the code that was interrupted
/// held the port, it will never release it, so release it now.
pub fn take_for_emergency() {
    if COM1.is_locked() {
        // SAFETY: called only on the way to a halt, when the holder (the code
        // the panic interrupted on this single CPU) never runs again.
        unsafe { COM1.force_unlock() };
    }
}
