//! What can go wrong in a heap. Every error that concerns a pointer carries
//! it, so a report can name the address.

use super::MAX_ALIGN;
use core::fmt;

/// What went wrong. Every error that concerns a pointer carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeapError {
    /// No free block is large enough for the request.
    OutOfMemory { size: usize, align: usize },
    /// The alignment is above [`MAX_ALIGN`].
    AlignmentTooLarge { align: usize },
    /// The pointer is not inside any region of this heap.
    ForeignPointer { address: usize },
    /// The pointer is inside the heap but is not the start of a block it
    /// handed out (or the block's header was overwritten).
    InvalidPointer { address: usize },
    /// The block at this address is already free.
    DoubleFree { address: usize },
    /// A header inside the heap failed its check: memory was overwritten.
    CorruptHeader { address: usize },
    /// The region cannot be used: too small, or overlapping one in use.
    BadRegion { start: usize, size: usize },
    /// All [`MAX_REGIONS`] regions are in use.
    TooManyRegions,
    /// This heap cannot do that (e.g. a bump heap cannot tell a block's size).
    Unsupported(&'static str),
    /// There is no heap yet: the kernel has not set one up.
    NotInitialised,
}

impl fmt::Display for HeapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::OutOfMemory { size, align } => {
                write!(
                    f,
                    "out of memory: no free block for {size} bytes aligned to {align}"
                )
            }
            Self::AlignmentTooLarge { align } => {
                write!(f, "alignment {align} is above the maximum of {MAX_ALIGN}")
            }
            Self::ForeignPointer { address } => {
                write!(f, "{address:#010x} was not handed out by this heap")
            }
            Self::InvalidPointer { address } => {
                write!(f, "{address:#010x} is not the start of an allocated block")
            }
            Self::DoubleFree { address } => write!(f, "double free of {address:#010x}"),
            Self::CorruptHeader { address } => {
                write!(f, "corrupt block header at {address:#010x}")
            }
            Self::BadRegion { start, size } => {
                write!(f, "cannot use region {start:#010x}+{size:#x}")
            }
            Self::TooManyRegions => write!(f, "no room for another region"),
            Self::Unsupported(what) => write!(f, "not supported: {what}"),
            Self::NotInitialised => write!(f, "the heap is not set up yet"),
        }
    }
}
