//! `print!` and `println!`: formatted text through the `write` system call,
//! a buffer of 128 bytes at a time.

use core::fmt::{self, Write};

struct Console {
    buffer: [u8; 128],
    len: usize,
}

impl Console {
    fn flush(&mut self) {
        if self.len > 0 {
            let _ = super::syscalls::write(&self.buffer[..self.len]);
            self.len = 0;
        }
    }
}

impl Write for Console {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for &byte in text.as_bytes() {
            if self.len == self.buffer.len() {
                self.flush();
            }
            self.buffer[self.len] = byte;
            self.len += 1;
        }
        Ok(())
    }
}

/// Formats `args` and writes them out.
pub fn print(args: fmt::Arguments) {
    let mut console = Console {
        buffer: [0; 128],
        len: 0,
    };
    let _ = console.write_fmt(args);
    console.flush();
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::print::print(format_args!($($arg)*)) };
}

#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::print::print(format_args!("{}\n", format_args!($($arg)*))) };
}
