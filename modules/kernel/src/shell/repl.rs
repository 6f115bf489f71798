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

/// Runs one command line.
pub fn execute(line: &str) -> Outcome {
    // LAB 1.3 BEGIN: take the command name from Args, find it (registry::find), run it; report unknown names and errors (with usage)
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
    // LAB END
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
        loop {
            let byte = match crate::input::read() {
                Input::Byte(byte) => byte,
                Input::Overrun { dropped } => {
                    editor.lost(dropped);
                    continue;
                }
            };
            match editor.feed(byte, &mut crate::console::write_bytes) {
                Event::Pending => continue,
                Event::Submitted => {
                    execute(editor.line());
                    break;
                }
                Event::Overrun { dropped } => {
                    crate::println!(
                        "input overrun: {dropped} bytes dropped, line discarded (nothing was run)"
                    );
                    break;
                }
                Event::TooLong { limit } => {
                    crate::println!(
                        "error: line too long (at most {limit} characters); nothing was run"
                    );
                    break;
                }
            }
        }
    }
}
