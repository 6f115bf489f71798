//! Chapter 2's shell commands: look at the heap and the frames, poke them
//! by hand, and ask the heap debugger what it knows.
//!
//! Every command prints a `name: key=value ...` summary line first (for
//! tests and graders to parse), then the details for people.

mod debugging;
mod demo;
mod frames;
mod heap;
mod heapmap;
mod scratch;

use kernel::shell::{self, registry::Command};

const COMMANDS: &[Command] = &[
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
];

/// Adds the memory commands to the shell.
pub fn register() {
    shell::register_all(COMMANDS);
}
