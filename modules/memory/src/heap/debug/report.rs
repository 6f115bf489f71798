//! What the heap debugger says when it catches a bug.
//!
//! Every report names the block by the address its owner was given, its
//! size, and where it was allocated (and freed), because those are the three
//! things you need to find the line that went wrong.

use crate::heap::CallSite;
use core::fmt;

/// A heap bug, caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeapBug {
    /// A freed block was written to while it waited in quarantine: its
    /// poison pattern changed at `offset`.
    WriteAfterFree {
        block: usize,
        size: usize,
        offset: usize,
        allocated_at: CallSite,
        freed_at: CallSite,
    },
    /// The red zone after a block was written: the owner wrote `by` bytes
    /// past the end.
    Overrun {
        block: usize,
        size: usize,
        by: usize,
        allocated_at: CallSite,
    },
    /// A block was freed a second time.
    DoubleFree {
        block: usize,
        size: usize,
        allocated_at: CallSite,
        freed_at: CallSite,
        again_at: CallSite,
    },
}

impl HeapBug {
    /// How many kinds of bug there are.
    pub const KINDS: usize = 3;

    /// 0: write after free, 1: overrun, 2: double free.
    pub fn kind(&self) -> usize {
        match self {
            HeapBug::WriteAfterFree { .. } => 0,
            HeapBug::Overrun { .. } => 1,
            HeapBug::DoubleFree { .. } => 2,
        }
    }

    /// The address of the block it concerns.
    pub fn block(&self) -> usize {
        match *self {
            HeapBug::WriteAfterFree { block, .. }
            | HeapBug::Overrun { block, .. }
            | HeapBug::DoubleFree { block, .. } => block,
        }
    }
}

fn bytes(count: usize) -> &'static str {
    if count == 1 {
        "byte"
    } else {
        "bytes"
    }
}

impl fmt::Display for HeapBug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HeapBug::WriteAfterFree {
                block,
                size,
                offset,
                allocated_at,
                freed_at,
            } => write!(
                f,
                "write after free: block {block:#010x} ({size} {}, allocated at {allocated_at}, \
                 freed at {freed_at}) was written at offset {offset} after it was freed",
                bytes(size)
            ),
            HeapBug::Overrun {
                block,
                size,
                by,
                allocated_at,
            } => write!(
                f,
                "overrun: block {block:#010x} ({size} {}, allocated at {allocated_at}) \
                 was written {by} {} past its end",
                bytes(size),
                bytes(by)
            ),
            HeapBug::DoubleFree {
                block,
                size,
                allocated_at,
                freed_at,
                again_at,
            } => write!(
                f,
                "double free: block {block:#010x} ({size} {}, allocated at {allocated_at}) \
                 was freed at {freed_at} and again at {again_at}",
                bytes(size)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn reports_read_as_sentences() {
        let at = CallSite::Return([0x10_1000, 0, 0]);
        let overrun = HeapBug::Overrun {
            block: 0x2000,
            size: 1,
            by: 3,
            allocated_at: at,
        };
        assert_eq!(
            format!("{overrun}"),
            "overrun: block 0x00002000 (1 byte, allocated at 0x00101000) was written 3 bytes past its end"
        );
        assert_eq!(overrun.block(), 0x2000);
    }
}
