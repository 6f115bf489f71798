//! The heap debugger: catching use-after-free, overruns, double frees and
//! leaks, in the spirit of Linux's SLUB debugging, KASAN's quarantine,
//! kmemleak and KFENCE — small enough to read in one sitting.
//!
//! [`DebugHeap`] wraps any [`Heap`](super::Heap). Switched off ([`DebugMode::Off`], the
//! kernel's `heapdebug=off`) every call goes straight through: one branch,
//! no bytes. Switched on, every block gets a header in front and, in
//! `full` mode, a red zone behind:
//!
//! ```text
//!   block from the heap beneath
//!   | (alignment gap) | debug header | data (what the owner asked for) | red zone |
//!                       check, size,   ^ the pointer the owner gets      16 bytes of
//!                       sites, links                                     0xCC
//! ```
//!
//! | bug | how it is caught | when |
//! |-----|------------------|------|
//! | write after free | freed data is filled with 0x6B and parked in a *quarantine* (FIFO); a changed byte is a write after free | when the block leaves quarantine, and by `heapcheck` |
//! | overrun | the red zone after the data must still be 0xCC | on free, on realloc, and by `heapcheck` |
//! | double free | the header says "freed" while the block is in quarantine | at the second free |
//! | leak | live blocks are linked through their headers, with their call site | `leaks`, `leaks mark` / `leaks since` |
//! | out of bounds, at once | a sampled block sits against an unmapped page ([`GuardPages`], chapter 3) | the faulting instruction |
//!
//! New data is filled with 0x5A, so a read of memory nobody wrote shows up
//! as `5a5a5a5a` rather than as a plausible stale value.

mod report;
mod leaks;
mod guard_pages;
mod debug_heap;
mod quarantine;
mod heap_traits;

pub use debug_heap::{BugReporter, CheckSummary, DebugHeap, HEADER_SIZE};
pub use guard_pages::{GuardPages, GuardedBlock};
pub use leaks::{LeakGroup, LeakReport, LiveBlock};
pub use report::HeapBug;

/// Freed data is filled with this (Linux's `POISON_FREE`).
pub const FREED_BYTE: u8 = 0x6B;
/// New data is filled with this (Linux's `POISON_INUSE`).
pub const FRESH_BYTE: u8 = 0x5A;
/// Red zones are filled with this.
pub const RED_ZONE_BYTE: u8 = 0xCC;
/// Bytes of red zone after each block in `full` mode.
pub const RED_ZONE: usize = 16;
/// The quarantine holds at most this many blocks...
pub const QUARANTINE_BLOCKS: usize = 256;
/// ...and at most this many bytes of blocks.
pub const QUARANTINE_BYTES: usize = 256 * 1024;

/// How much checking the heap does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugMode {
    /// None: the heap beneath, untouched.
    Off,
    /// Headers with call sites, poisoning, quarantine, double-free and
    /// leak reports.
    Poison,
    /// All of `Poison`, plus red zones and (with paging) guard pages.
    Full,
}

impl DebugMode {
    pub const ALL: [DebugMode; 3] = [DebugMode::Off, DebugMode::Poison, DebugMode::Full];

    /// Parses the value of `heapdebug=` on the kernel command line.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.name() == text)
    }

    pub fn name(self) -> &'static str {
        match self {
            DebugMode::Off => "off",
            DebugMode::Poison => "poison",
            DebugMode::Full => "full",
        }
    }
}

#[cfg(test)]
mod tests;
