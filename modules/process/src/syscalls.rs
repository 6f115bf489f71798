//! The system calls: `int 0x80` from ring 3, dispatched on EAX.
//!
//! ```text
//!  program                       kernel
//!  mov eax, 2 (write)
//!  mov ebx, buffer
//!  mov ecx, length
//!  int 0x80  ----- DPL-3 gate --->  trap stub -> dispatch -> handle(frame)
//!                                     write(frame.ebx, frame.ecx):
//!                                       check the range (user_pointer)
//!                                       copy it in, a piece at a time
//!                                       (user_copy, fault-proof)
//!                                     frame.eax = bytes written, or -errno
//!  eax = result  <---- iretd ------
//! ```
//!
//! Every argument is checked before use; a bad one is an error code in
//! EAX, never a kernel fault. The handler runs with interrupts off (the
//! gate is an interrupt gate); `read`, which waits for a line, turns them
//! on while it waits.

use crate::abi::{Errno, KILLED_BY_CTRL_C};
use crate::dispatch::{dispatch, Services};
use crate::process::{self, Killed, CURRENT};
use crate::user_copy::{copy_from_user, copy_to_user};
use crate::user_faults;
use crate::user_pointer::{self, Access};
use paging::memory::kernel::console;
use paging::memory::kernel::cpu::trap::TrapFrame;
use paging::memory::kernel::drivers::pit;
use paging::memory::kernel::input;
use paging::memory::kernel::interrupts;
use paging::memory::kernel::shell::line_editor::{Event, LineEditor, MAX_LINE};
use paging::memory::kernel::sync::IrqMutex;

/// How many bytes `write` moves at a time, through a kernel buffer.
const CHUNK: usize = 256;

/// The handler of `int 0x80` (registered by `lib.rs`).
pub fn handle(frame: &mut TrapFrame) {
    frame.eax = dispatch(&mut Kernel, frame.eax, frame.ebx, frame.ecx, frame.edx);
}

/// The services, as the kernel provides them.
struct Kernel;

impl Services for Kernel {
    fn exit(&mut self, status: i32) -> Result<u32, Errno> {
        if CURRENT.lock().is_none() {
            return Err(Errno::InvalidArgument);
        }
        process::end(status, None)
    }
    fn write(&mut self, buffer: u32, length: u32) -> Result<u32, Errno> {
        write(buffer, length)
    }
    fn read(&mut self, buffer: u32, capacity: u32) -> Result<u32, Errno> {
        read(buffer, capacity)
    }
    fn sbrk(&mut self, increment: i32) -> Result<u32, Errno> {
        with_program(|program| program.sbrk(increment))
    }
    fn getpid(&mut self) -> Result<u32, Errno> {
        with_program(|program| Ok(program.pid))
    }
    fn uptime(&mut self) -> Result<u32, Errno> {
        Ok(pit::uptime_ms() as u32)
    }
}

/// Runs `call` on the running program (none: an invalid call).
fn with_program<T>(
    call: impl FnOnce(&mut process::Running) -> Result<T, Errno>,
) -> Result<T, Errno> {
    match CURRENT.lock().as_mut() {
        Some(program) => call(program),
        None => Err(Errno::InvalidArgument),
    }
}

/// The most one `write` moves: the kernel runs a system call with
/// interrupts off, so a call must stay short (Ctrl-C and the timer wait
/// for it). A longer write returns a short count, as on Linux; the program
/// writes the rest with another call.
const MAX_WRITE: u32 = 4096;

/// `write(buffer, length)`: the bytes go to the console. The whole range
/// must be the program's; at most [`MAX_WRITE`] bytes of it are written,
/// and their count returned.
fn write(address: u32, length: u32) -> Result<u32, Errno> {
    with_program(|program| {
        user_pointer::check(address, length, Access::Read, &program.memory())?;
        program.prepare(address, length.min(MAX_WRITE), Access::Read)
    })?;
    let length = length.min(MAX_WRITE);
    let mut buffer = [0u8; CHUNK];
    let mut done = 0;
    while done < length {
        let piece = (length - done).min(CHUNK as u32) as usize;
        copy_from_user(&mut buffer[..piece], address + done)?;
        console::write_bytes(&buffer[..piece]);
        done += piece as u32;
    }
    Ok(length)
}

/// The line editor of programs' input (the shell has its own), and the pid
/// of the program it last served: each program starts with a fresh editor,
/// with no half-typed line and no history from the program before.
static EDITOR: IrqMutex<(u32, LineEditor)> = IrqMutex::new((0, LineEditor::new()));

/// `read(buffer, capacity)`: waits for a line from the console (keyboard
/// or serial), echoing and editing it as the shell does, and copies it,
/// without its Enter, to the buffer; a longer line is cut to `capacity`.
fn read(address: u32, capacity: u32) -> Result<u32, Errno> {
    // A line is at most MAX_LINE bytes: only that much of the buffer is
    // ever written, so only that much is checked and mapped.
    let writable = capacity.min(MAX_LINE as u32);
    let pid = with_program(|program| {
        program.prepare(address, writable, Access::Write)?;
        Ok(program.pid)
    })?;
    {
        let mut editor = EDITOR.lock();
        if editor.0 != pid {
            *editor = (pid, LineEditor::new());
        }
    }
    let mut echo = |bytes: &[u8]| console::write_bytes(bytes);
    loop {
        interrupts::disable();
        if user_faults::take_ctrl_c() {
            console::write_bytes(b"^C\n");
            process::end(KILLED_BY_CTRL_C, Some(Killed::Interrupted));
        }
        let Some(byte) = input::try_read() else {
            // Checking and sleeping must be one step: see enable_and_halt.
            interrupts::enable_and_halt();
            continue;
        };
        let mut guard = EDITOR.lock();
        let editor = &mut guard.1;
        match editor.feed(byte, &mut echo) {
            Event::Submitted => {
                let line = editor.line().as_bytes();
                let length = line.len().min(writable as usize);
                let mut copy = [0u8; MAX_LINE];
                copy[..length].copy_from_slice(&line[..length]);
                drop(guard);
                copy_to_user(address, &copy[..length])?;
                return Ok(length as u32);
            }
            Event::TooLong { .. } | Event::Overrun { .. } => {
                return Err(Errno::InvalidArgument);
            }
            Event::Pending => {}
        }
    }
}
