//! The shell: read a line, find the command, run it, repeat.
//!
//! Read it in this order:
//!
//! - [`args`] splits a line into words and parses numbers;
//! - [`format`] has the number formats commands print, and the summary
//!   lines they start with, wrapped to the screen;
//! - [`registry`] is the command table. Chapter 1 registers the built-ins in
//!   [`builtins`]; later chapters call [`register`] to add their own, so the
//!   shell grows without this crate being edited;
//! - [`handles`] numbers what a command handed out (later chapters' `alloc`
//!   and `frame alloc`), so that only that can be given back;
//! - [`line_editor`] turns keystrokes and serial bytes into lines (backspace,
//!   history with the arrow keys, Enter as CR, LF or CRLF);
//! - [`builtins`], the commands every chapter starts with;
//! - [`repl`] (read, execute, print, loop): [`execute`] a line, and [`run`] the shell.

pub mod args;
pub mod format;
pub mod registry;
pub mod handles;
pub mod line_editor;
pub mod builtins;
pub mod repl;

pub use args::{Args, CommandError};
pub use format::{print_summary, print_wrapped};
pub use registry::{for_each_command, register, register_all, Command, CommandFn, RegisterError};
pub use repl::{execute, init, run, Outcome, PROMPT};
