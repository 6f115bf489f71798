//! The console: one place to print to, two places it shows up.
//!
//! Every byte printed goes to the VGA screen and to COM1. Serial terminals
//! want `\r\n` where the screen wants `\n`, so the console adds the `\r` on
//! the serial side. [`print!`](crate::print) and [`println!`](crate::println)
//! work like the standard library's.

use crate::drivers::{serial, vga::VgaText};
use crate::screen::{Attribute, CellGrid, TextScreen};
use crate::sync::IrqMutex;
use core::fmt::{self, Write};

// SAFETY: the VGA text buffer is identity-mapped at 0xB8000 in every chapter,
// and this is the only `VgaText` ever created.
static SCREEN: IrqMutex<TextScreen<VgaText>> =
    IrqMutex::new(TextScreen::new(unsafe { VgaText::new() }));

/// Brings up the serial port and clears the screen GRUB left behind.
pub fn init() {
    serial::init();
    // SeaBIOS and GRUB leave a serial terminal with automatic wrapping off
    // (`ESC [ ? 7 l`), so a line longer than the terminal would be cut at
    // its right edge. `ESC [ ? 7 h` turns wrapping back on.
    serial::write_bytes(b"\x1b[?7h");
    SCREEN.lock().clear();
}

/// Writes formatted text; what `print!` expands to.
pub fn print_fmt(args: fmt::Arguments) {
    let mut screen = SCREEN.lock();
    // Writing to the screen and the port cannot fail.
    let _ = Both(&mut screen).write_fmt(args);
}

/// Writes formatted text in the given colours (on the screen; serial is plain).
pub fn print_fmt_in(attribute: Attribute, args: fmt::Arguments) {
    let mut screen = SCREEN.lock();
    let previous = screen.attribute();
    screen.set_attribute(attribute);
    let _ = Both(&mut screen).write_fmt(args);
    screen.set_attribute(previous);
}

/// Writes raw bytes (the line editor's echo uses this).
pub fn write_bytes(bytes: &[u8]) {
    let mut screen = SCREEN.lock();
    Both(&mut screen).write_raw(bytes);
}

/// Clears the screen, and a serial terminal with the ANSI "erase display,
/// cursor home" sequence.
pub fn clear() {
    SCREEN.lock().clear();
    serial::write_bytes(b"\x1b[2J\x1b[H");
}

/// The screen's cursor, as (row, column).
pub fn cursor() -> (usize, usize) {
    SCREEN.lock().cursor()
}

/// Copies the characters of screen row `row` into `text` (for tests).
pub fn read_row(row: usize, text: &mut [u8; crate::screen::WIDTH]) {
    let screen = SCREEN.lock();
    for (column, byte) in text.iter_mut().enumerate() {
        *byte = screen.grid().read(row, column).character;
    }
}

/// Writes formatted text to the serial port only: for the report of a panic
/// that happened while printing, when the screen may be what failed.
pub fn print_serial_only(args: fmt::Arguments) {
    struct SerialOnly;
    impl Write for SerialOnly {
        fn write_str(&mut self, text: &str) -> fmt::Result {
            serial::write_bytes(text.as_bytes());
            Ok(())
        }
    }
    let _ = SerialOnly.write_fmt(args);
}

/// Makes printing possible from a panic or fatal-exception path even if the
/// code that was interrupted held the console.
pub fn take_for_emergency() {
    if SCREEN.is_locked() {
        // SAFETY: called only on the way to a halt; on one CPU the holder is
        // the interrupted code, which never runs again.
        unsafe { SCREEN.force_unlock() };
    }
    serial::take_for_emergency();
}

/// A writer that sends to both the screen and the serial port.
struct Both<'a>(&'a mut TextScreen<VgaText>);

impl Both<'_> {
    /// Serial first: if the screen code fails (a panic in a half-written
    /// lab, say), the line has already reached the host's log.
    fn write_raw(&mut self, bytes: &[u8]) {
        // Send runs of bytes without '\n' in one go, and "\r\n" for each '\n'.
        for (index, chunk) in bytes.split(|&b| b == b'\n').enumerate() {
            if index > 0 {
                serial::write_bytes(b"\r\n");
            }
            serial::write_bytes(chunk);
        }
        self.0.write_bytes(bytes);
    }
}

impl Write for Both<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.write_raw(text.as_bytes());
        Ok(())
    }
}

/// Prints to the screen and the serial port.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::console::print_fmt(format_args!($($arg)*)));
}

/// Prints to the screen and the serial port, with a newline.
#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::console::print_fmt(format_args!("{}\n", format_args!($($arg)*))));
}
