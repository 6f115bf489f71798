//! Chapter 2's shell commands: look at the heap and the frames, poke them
//! by hand, ask the heap debugger what it knows, and trace the heap.
//!
//! Every command prints a `name: key=value ...` summary line first (for
//! tests and graders to parse), then the details for people.

mod scratch;
mod heap;
mod frames;
mod heapmap;
mod demo;
mod debugging;
mod heaptrace;
pub mod register;

pub use register::register;
