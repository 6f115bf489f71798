//! The table of this chapter's commands, and adding them to the shell:
//! the shell is chapter 1's, and grows by registration, without chapter 1
//! being edited.

use kernel::shell::{self, registry::Command};

pub const COMMANDS: &[Command] = &[
    super::heap::HEAP_COMMAND,
    super::heapmap::HEAPMAP_COMMAND,
    super::heap::ALLOC_COMMAND,
    super::heap::FREE_COMMAND,
    super::frames::FRAMES_COMMAND,
    super::frames::FRAME_COMMAND,
    super::demo::DEMO_COMMAND,
    super::debugging::SLABS_COMMAND,
    super::debugging::HEAPCHECK_COMMAND,
    super::debugging::LEAKS_COMMAND,
];

/// Adds the memory commands to the shell.
pub fn register() {
    shell::register_all(COMMANDS);
}
