//! The table of this chapter's commands, and adding them to the shell:
//! the shell is chapter 1's, and grows by registration, without chapter 1
//! being edited.

use super::{bench, mapping, pages, touch};
use memory::kernel::shell::{self, registry::Command};

pub const COMMANDS: &[Command] = &[
    pages::PAGES_COMMAND,
    pages::TRANSLATE_COMMAND,
    mapping::MAP_COMMAND,
    mapping::UNMAP_COMMAND,
    touch::TOUCH_COMMAND,
    bench::BENCH_COMMAND,
];

/// Adds the paging commands to the shell.
pub fn register() {
    shell::register_all(COMMANDS);
}
