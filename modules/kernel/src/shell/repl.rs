//! The shell's read–execute–print loop: read a line from the editor,
//! [`execute`] it, repeat.
//!
//! Everything before this file is a part; this file puts them together.

use super::builtins;
use super::line_editor::{Event, LineEditor};
use super::registry::{self, register};
use super::{Args, CommandError};
use crate::input::Input;

/// What the shell prints when it is ready for a command.
pub const PROMPT: &str = "strata> ";

/// Registers the built-in commands.
pub fn init() {
    for command in builtins::COMMANDS {
        register(*command).expect("built-in command names are unique");
    }
}

/// What became of a line given to [`execute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing but white space.
    Empty,
    /// The command ran and succeeded.
    Ran,
    /// The command ran and reported an error.
    Failed,
    /// No command has that name.
    Unknown,
}

/// Runs one command line: its first word names the command, which gets the
/// rest. The command is copied out of the table, so that the table's lock
/// is not held while it runs (it may print, or register commands). Unknown
/// names and the errors a command returns are reported here, as `NAME:
/// error`, with the usage line when the arguments were wrong;
/// `CommandError::Reported` means the command has said it already.
pub fn execute(line: &str) -> Outcome {
    let mut args = Args::new(line);
    let Some(name) = args.command_name() else {
        return Outcome::Empty;
    };
    let Some(command) = registry::find(name) else {
        crate::println!("unknown command: {name} (try help)");
        return Outcome::Unknown;
    };
    match (command.run)(&mut args) {
        Ok(()) => Outcome::Ran,
        Err(CommandError::Reported) => Outcome::Failed,
        Err(error) => {
            crate::println!("{name}: {error}");
            if error.is_usage_error() {
                crate::println!("usage: {} {}", command.name, command.usage);
            }
            Outcome::Failed
        }
    }
}

/// Prints `banner` and runs the interactive shell for ever.
pub fn run(banner: &str) -> ! {
    // Every chapter has registered its options by now.
    crate::command_line::warn_about_problems();
    crate::println!("{banner}");
    crate::println!("Type 'help' for the list of commands.\n");
    let mut editor = LineEditor::new();
    loop {
        crate::print!("{PROMPT}");
        read_and_execute(
            &mut editor,
            crate::input::read,
            &mut crate::console::write_bytes,
        );
    }
}

/// Feeds `editor` what `read` returns until it has a line, and runs it:
/// one turn of the shell. The editor's echo goes to `echo` (the console,
/// in the shell). Returns what became of the line, or `None` if the editor
/// refused it (too long, or it lost bytes), after saying why.
pub fn read_and_execute(
    editor: &mut LineEditor, mut read: impl FnMut() -> Input, echo: &mut impl FnMut(&[u8]),
) -> Option<Outcome> {
    loop {
        let byte = match read() {
            Input::Byte(byte) => byte,
            Input::Overrun { dropped } => {
                editor.lost(dropped);
                continue;
            }
        };
        match editor.feed(byte, echo) {
            Event::Pending => continue,
            Event::Submitted => return Some(execute(editor.line())),
            Event::Overrun { dropped } => {
                crate::println!(
                    "input overrun: {dropped} bytes dropped, line discarded (nothing was run)"
                );
                return None;
            }
            Event::TooLong { limit } => {
                crate::println!(
                    "error: line too long (at most {limit} characters); nothing was run"
                );
                return None;
            }
        }
    }
}
