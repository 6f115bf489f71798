//! The command table.
//!
//! A fixed-size table (chapter 1 has no heap) of [`Command`]s, in the order
//! they were registered. Names must be unique: registering a second `help`
//! is an error, not a silent replacement.

use super::args::{Args, CommandError};
use crate::sync::IrqMutex;

/// What a command does with its arguments.
pub type CommandFn = for<'a> fn(&mut Args<'a>) -> Result<(), CommandError<'a>>;

/// A shell command.
#[derive(Clone, Copy)]
pub struct Command {
    /// What the user types.
    pub name: &'static str,
    /// The arguments, for `help` and error messages, e.g. `SIZE [ALIGN]`.
    pub usage: &'static str,
    /// One line saying what it does.
    pub summary: &'static str,
    pub run: CommandFn,
}

/// Why a command could not be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterError {
    /// A command with this name exists already.
    Duplicate(&'static str),
    /// The table has no room left.
    Full,
}

/// Up to `CAPACITY` commands.
#[derive(Clone)]
pub struct CommandTable<const CAPACITY: usize> {
    commands: [Option<Command>; CAPACITY],
    len: usize,
}

impl<const CAPACITY: usize> CommandTable<CAPACITY> {
    pub const fn new() -> Self {
        Self {
            commands: [None; CAPACITY],
            len: 0,
        }
    }

    pub fn register(&mut self, command: Command) -> Result<(), RegisterError> {
        if self.find(command.name).is_some() {
            return Err(RegisterError::Duplicate(command.name));
        }
        let slot = self.commands.get_mut(self.len).ok_or(RegisterError::Full)?;
        *slot = Some(command);
        self.len += 1;
        Ok(())
    }

    pub fn find(&self, name: &str) -> Option<&Command> {
        self.iter().find(|command| command.name == name)
    }

    /// The commands in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &Command> {
        self.commands[..self.len].iter().flatten()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const CAPACITY: usize> Default for CommandTable<CAPACITY> {
    fn default() -> Self {
        Self::new()
    }
}

/// The shell's commands: the built-ins, then what later chapters register.
static COMMANDS: IrqMutex<CommandTable<64>> = IrqMutex::new(CommandTable::new());

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

/// The command named `name`, if one is registered (a copy: the table's
/// lock is not held while it runs).
pub fn find(name: &str) -> Option<Command> {
    COMMANDS.lock().find(name).copied()
}

/// Calls `visit` for every registered command, in registration order.
pub fn for_each_command(visit: impl FnMut(&Command)) {
    // Copy the table out so `visit` may print (or even register) freely.
    let table = COMMANDS.lock().clone();
    table.iter().for_each(visit);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(name: &'static str) -> Command {
        Command {
            name,
            usage: "",
            summary: "test",
            run: |args| args.finish(),
        }
    }

    #[test]
    fn commands_are_found_by_exact_name_in_order() {
        let mut table = CommandTable::<4>::new();
        table.register(command("help")).unwrap();
        table.register(command("heap")).unwrap();
        assert_eq!(table.find("heap").map(|c| c.name), Some("heap"));
        assert!(table.find("hea").is_none());
        assert!(table.find("HELP").is_none());
        let names: Vec<_> = table.iter().map(|c| c.name).collect();
        assert_eq!(names, ["help", "heap"]);
    }

    #[test]
    fn duplicates_and_overflow_are_refused() {
        let mut table = CommandTable::<2>::new();
        table.register(command("a")).unwrap();
        assert_eq!(
            table.register(command("a")),
            Err(RegisterError::Duplicate("a"))
        );
        table.register(command("b")).unwrap();
        assert_eq!(table.register(command("c")), Err(RegisterError::Full));
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn a_found_command_runs_with_its_arguments() {
        let mut table = CommandTable::<2>::new();
        table.register(command("quiet")).unwrap();
        let run = table.find("quiet").unwrap().run;
        assert_eq!(run(&mut Args::new("quiet")), Ok(()));
        assert_eq!(
            run(&mut Args::new("quiet loud")),
            Err(CommandError::Unexpected("loud"))
        );
    }
}
