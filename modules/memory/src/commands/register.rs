//! The table of this chapter's commands, and adding them to the shell:
//! the shell is chapter 1's, and grows by registration, without chapter 1
//! being edited.

use super::{debugging, demo, frames, heap, heapmap, heaptrace};
use kernel::shell::{self, registry::Command};

pub const COMMANDS: &[Command] = &[
    heap::HEAP_COMMAND,
    heapmap::HEAPMAP_COMMAND,
    heap::ALLOC_COMMAND,
    heap::FREE_COMMAND,
    frames::FRAMES_COMMAND,
    frames::FRAME_COMMAND,
    demo::DEMO_COMMAND,
    debugging::SLABS_COMMAND,
    debugging::HEAPCHECK_COMMAND,
    debugging::LEAKS_COMMAND,
    heaptrace::HEAPTRACE_COMMAND,
];

/// Adds the memory commands to the shell.
pub fn register() {
    shell::register_all(COMMANDS);
}
