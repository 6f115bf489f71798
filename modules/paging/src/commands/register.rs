//! The table of this chapter's commands, and adding them to the shell:
//! the shell is chapter 1's, and grows by registration, without chapter 1
//! being edited.

use memory::kernel::shell::{self, registry::Command};

pub const COMMANDS: &[Command] = &[
    super::pages::PAGES_COMMAND,
    super::pages::TRANSLATE_COMMAND,
    super::mapping::MAP_COMMAND,
    super::mapping::UNMAP_COMMAND,
    super::touch::TOUCH_COMMAND,
    super::bench::BENCH_COMMAND,
];

/// Adds the paging commands to the shell.
pub fn register() {
    shell::register_all(COMMANDS);
}
