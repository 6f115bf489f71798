//! The shell: read a line, find the command, run it, repeat.
//!
//! - [`line_editor`] turns keystrokes and serial bytes into lines (backspace,
//!   history with the arrow keys, Enter as CR, LF or CRLF);
//! - [`args`] splits a line into words and parses numbers;
//! - [`registry`] is the command table. Chapter 1 registers the built-ins in
//!   [`builtins`]; later chapters call [`register`] to add their own, so the
//!   shell grows without this crate being edited;
//! - [`format`] has the number formats commands print;
//! - [`handles`] numbers what a command handed out (later chapters' `alloc`
//!   and `frame alloc`), so that only that can be given back.

pub mod args;
pub mod builtins;
pub mod format;
pub mod handles;
pub mod line_editor;
pub mod registry;

pub use args::{Args, CommandError};
pub use registry::{Command, CommandFn, RegisterError};

use crate::input::Input;
use crate::sync::IrqMutex;
use line_editor::{Event, LineEditor};
use registry::CommandTable;

/// What the shell prints when it is ready for a command.
pub const PROMPT: &str = "strata> ";

static COMMANDS: IrqMutex<CommandTable<64>> = IrqMutex::new(CommandTable::new());

/// Registers the built-in commands.
pub fn init() {
    for command in builtins::COMMANDS {
        register(*command).expect("built-in command names are unique");
    }
}

/// Adds a command to the shell.
pub fn register(command: Command) -> Result<(), RegisterError> {
    COMMANDS.lock().register(command)
}

/// Adds a chapter's commands to the shell; a name that is taken already is
/// logged and skipped (the earlier command stays).
pub fn register_all(commands: &[Command]) {
    for command in commands {
        if let Err(error) = register(*command) {
            log::error!("cannot register shell command {}: {error:?}", command.name);
        }
    }
}

/// Calls `visit` for every registered command, in registration order.
pub fn for_each_command(visit: impl FnMut(&Command)) {
    // Copy the table out so `visit` may print (or even register) freely.
    let table = COMMANDS.lock().clone();
    table.iter().for_each(visit);
}

/// Prints a command's `name: key=value ...` summary line, broken between
/// its words so that no line is wider than the VGA screen (80 columns);
/// continuation lines are indented by two spaces.
pub fn print_summary(args: core::fmt::Arguments) {
    print_wrapped(0, 2, args);
    crate::println!();
}

/// Prints `args` from `column` on, broken between words at the screen's
/// width, continuation lines starting at column `indent`.
pub fn print_wrapped(column: usize, indent: usize, args: core::fmt::Arguments) {
    struct Console;
    impl core::fmt::Write for Console {
        fn write_str(&mut self, text: &str) -> core::fmt::Result {
            crate::print!("{text}");
            Ok(())
        }
    }
    let mut writer =
        format::Wrapping::new(Console, crate::screen::WIDTH, indent).starting_at(column);
    let _ = core::fmt::write(&mut writer, args);
    let _ = writer.finish();
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
    // LAB 1.3 BEGIN: take the command name from Args, find it in COMMANDS (copy it out), run it; report unknown names and errors (with usage)
    let mut args = Args::new(line);
    let Some(name) = args.command_name() else {
        return Outcome::Empty;
    };
    let Some(command) = COMMANDS.lock().find(name).copied() else {
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
