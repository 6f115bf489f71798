//! The physical frame allocator: who owns each 4 KiB frame of RAM.
//!
//! Physical memory is handed out in *frames*: 4 KiB pieces, aligned to
//! 4 KiB, the unit the MMU maps in chapter 3. The allocator keeps, for every
//! frame from address 0 up to the end of usable RAM:
//!
//! - a bit in `free`: 1 = free right now. A [`LevelBitmap`], so the lowest
//!   free frame is found in a handful of steps, not by a scan from the
//!   bottom;
//! - a one-byte *tag* in `tags`: reserved (never RAM, or kept by the
//!   kernel from the start), free, or held — and then by whom, an
//!   [`Owner`].
//!
//! The owner is what keeps a mistake from becoming a corruption. Every
//! allocation says who it is for, and every free says who is giving the
//! frame back; a free by anyone but the holder is refused. So the shell's
//! `frame free` cannot hand the page directory back to the allocator (to be
//! handed out and overwritten a moment later), and a page table cannot free
//! the frame of a user program. With the tags, every mistake can be told
//! apart and refused with the address: a frame already free
//! ([`FrameError::DoubleFree`]), one that was never handed out
//! ([`FrameError::Reserved`]), one beyond the end
//! ([`FrameError::OutOfRange`]), one someone else holds
//! ([`FrameError::NotYours`]).
//!
//! The bitmap needs a bit per frame (plus its summaries) and the tags a byte,
//! four to a word: together about 36 KiB for 128 MiB of RAM, 288 KiB for
//! 1 GiB. They live in memory the caller provides (the kernel takes it from
//! the memory map and reserves it, so the allocator never hands out its own
//! storage).

mod bitmap;
mod allocator;

pub use allocator::FrameAllocator;
pub use bitmap::LevelBitmap;

pub use crate::address::{Frame, PhysAddr, FRAME_SIZE};

use core::fmt;

/// Who holds a frame that is in use. The holders are the same in every
/// chapter, so the list is here, where frames are handed out; later
/// chapters use the ones marked for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Owner {
    /// Kernel structures that are not the heap: a command's scratch
    /// buffer, a benchmark's frames.
    Kernel = 1,
    /// The kernel heap's memory.
    Heap = 2,
    /// Page directories and page tables (chapter 3).
    PageTable = 3,
    /// Pages mapped by hand with `map` (chapter 3).
    Mapping = 4,
    /// Frames the shell's `frame alloc` handed out.
    Shell = 5,
    /// A user program's memory (chapter 4).
    User = 6,
}

impl Owner {
    /// Every owner, in tag order.
    pub const ALL: [Owner; 6] = [
        Owner::Kernel,
        Owner::Heap,
        Owner::PageTable,
        Owner::Mapping,
        Owner::Shell,
        Owner::User,
    ];

    /// A short name, for summaries (`heap`, `page_tables`...).
    pub fn name(self) -> &'static str {
        match self {
            Owner::Kernel => "kernel",
            Owner::Heap => "heap",
            Owner::PageTable => "page_tables",
            Owner::Mapping => "mappings",
            Owner::Shell => "shell",
            Owner::User => "user",
        }
    }

    fn from_tag(tag: u8) -> Option<Owner> {
        Owner::ALL.into_iter().find(|owner| *owner as u8 == tag)
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Owner::Kernel => "the kernel",
            Owner::Heap => "the kernel heap",
            Owner::PageTable => "the page tables",
            Owner::Mapping => "a page mapped with map",
            Owner::Shell => "the shell (frame alloc)",
            Owner::User => "a user program",
        })
    }
}

/// What a frame is, right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameState {
    /// Not RAM, or RAM the kernel kept from the start (its image, the boot
    /// information, these tables): never handed out.
    Reserved,
    Free,
    Held(Owner),
}

/// Why a frame operation was refused. Each carries the frame concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// No free frame (or run of frames) is left.
    OutOfFrames { count: usize, align: usize },
    /// The frame is beyond the memory this allocator covers.
    OutOfRange { frame: Frame },
    /// The frame is reserved or not RAM: it was never handed out.
    Reserved { frame: Frame },
    /// The frame is already free.
    DoubleFree { frame: Frame },
    /// The frame is held by `holder`, not by `by`, who tried to free it.
    NotYours {
        frame: Frame,
        holder: Owner,
        by: Owner,
    },
    /// A count of zero, or an alignment that is not a power of two.
    BadRequest { count: usize, align: usize },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::OutOfFrames { count, align } => {
                write!(
                    f,
                    "out of frames: no {count} free frame(s) aligned to {align:#x}"
                )
            }
            Self::OutOfRange { frame } => write!(f, "{frame:#010x} is beyond physical memory"),
            Self::Reserved { frame } => {
                write!(f, "{frame:#010x} is reserved or not RAM, never handed out")
            }
            Self::DoubleFree { frame } => write!(f, "frame {frame:#010x} is already free"),
            Self::NotYours { frame, holder, by } => write!(
                f,
                "frame {frame:#010x} is held by {holder}, so {by} may not free it"
            ),
            Self::BadRequest { count, align } => {
                write!(f, "bad request: {count} frame(s) aligned to {align:#x}")
            }
        }
    }
}

/// Frame counts, for the `frames` command and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameCounts {
    /// Frames of usable RAM (below 4 GiB) in the memory map.
    pub total: usize,
    /// Of those, frames that are reserved and never handed out.
    pub reserved: usize,
    pub free: usize,
    pub used: usize,
    /// `used`, by owner: `held[owner as usize - 1]` (see [`Self::held_by`]).
    held: [usize; Owner::ALL.len()],
}

impl FrameCounts {
    /// Frames `owner` holds.
    pub fn held_by(&self, owner: Owner) -> usize {
        self.held[owner as usize - 1]
    }
}
