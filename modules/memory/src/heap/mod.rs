//! Heaps: handing out byte-sized pieces of memory.
//!
//! The frame allocator deals in whole 4 KiB frames. Most of what a kernel
//! allocates (a `Box<Task>`, a `Vec` that grows, a `String`) is far smaller,
//! so a *heap* takes a few large regions of memory and carves them up.
//!
//! This chapter has four heaps, one per file or folder, all behind the
//! [`Heap`] trait:
//!
//! | heap | file | allocate | free | good for |
//! |------|------|----------|------|-----------|
//! | [`BumpHeap`] | `bump.rs` | move a pointer | only all at once | boot-time tables, arenas |
//! | [`PoolHeap`] | `pool/` | first or best fit in a free list | coalesce with both neighbours | any sizes, little waste |
//! | [`BuddyHeap`] | `buddy/` | split a power of two | merge with the buddy | no search: the kernel's default, and the lab's heap |
//! | [`ExactHeap`] | `exact/` | split, then give back the unused tail | merge every piece with its buddy | little waste (`heap=exact`) |
//!
//! **The interface, in layers.** [`Heap`] is the core, what a heap must do
//! and what a student writes: take a region, allocate, free, reallocate,
//! say how big a block is, count. Everything else is a separate
//! *capability*, a trait of its own that a heap implements only if it can:
//!
//! | trait | what | who asks |
//! |-------|------|----------|
//! | [`Inspect`] (`inspect.rs`) | walk the blocks, check every header | `heapmap`, `heap check`, the slabs and the debugger above a heap |
//! | [`Grow`] (`growth.rs`) | move the last region's end up | chapter 3's heap, through [`Grower`] |
//! | [`LargeAllocations`] (`large.rs`) | serve large requests apart from the heap | chapter 3's page runs, through `LockedHeap::set_large` |
//! | [`Traced`] (`call_site.rs`) | hear where each request came from | the heap debugger |
//!
//! Two *wrappers* stack on a heap, each a `Heap` itself: slabs in front for
//! small objects (`slab/`) and the heap debugger (`debug/`). The kernel's
//! stack is named in one place, `kernel_heap.rs`. The lock around it all
//! (`locked.rs`) can trace every request as a line of text (`trace.rs`,
//! the shell's `heaptrace`).
//!
//! Every heap works on memory the *caller* gives it ([`Heap::add_region`]),
//! so the same code runs in the kernel over frames and on the host over a
//! `Vec<u8>`, where the property tests in `model_tests.rs` check it.
//!
//! A heap never trusts a pointer it is given back. [`Heap::deallocate`] and
//! friends check that the pointer is one this heap handed out and is still
//! allocated, and answer a double free or a foreign pointer with a
//! [`HeapError`] naming the address instead of corrupting their lists.

mod accounting;
mod regions;
mod inspect;
mod growth;
mod large;
mod call_site;
pub mod bump;
pub mod pool;
pub mod buddy;
pub mod exact;
mod any;
pub mod slab;
pub mod debug;
pub mod trace;
mod locked;

#[cfg(test)]
mod model_tests;

pub use any::{AnyHeap, HeapKind};
pub use buddy::BuddyHeap;
pub use bump::BumpHeap;
pub use call_site::{CallSite, Traced, RETURN_CHAIN};
pub use debug::{DebugHeap, DebugMode};
pub use exact::ExactHeap;
pub use growth::{Grow, Grower};
pub use inspect::{BlockInfo, Inspect};
pub use large::LargeAllocations;
pub use locked::LockedHeap;
pub use pool::{Fit, PoolHeap};
pub use slab::SlabHeap;
pub use trace::{TraceEvent, Tracer};

use accounting::Accounting;
use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;
use regions::Regions;

/// The largest alignment a heap promises to honour (one page).
pub const MAX_ALIGN: usize = 4096;

/// At most this many separate regions per heap (chapter 3's growth, and a
/// caller that hands a heap more memory later, add them).
pub const MAX_REGIONS: usize = 16;

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

/// Number of size classes in [`HeapStats::free_blocks`]: class `k` counts free
/// blocks of `2^k` up to `2^(k+1) - 1` bytes.
pub const SIZE_CLASSES: usize = 32;

/// A snapshot of a heap's bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes under management (all regions, headers included).
    pub total: usize,
    /// Bytes in allocated blocks, headers and rounding included.
    pub used: usize,
    /// Bytes the callers asked for, in live allocations.
    pub requested: usize,
    /// `total - used`.
    pub free: usize,
    /// Size of the largest free block (an upper bound on one allocation).
    pub largest_free: usize,
    /// Live allocations.
    pub allocations: usize,
    /// The most bytes `used` has ever been.
    pub peak_used: usize,
    /// Number of free blocks by size class: `free_blocks[k]` counts free
    /// blocks of `2^k ..= 2^(k+1)-1` bytes (for the buddy heap: exactly `2^k`).
    pub free_blocks: [u32; SIZE_CLASSES],
    /// Number of regions.
    pub regions: usize,
}

impl HeapStats {
    pub const fn empty() -> Self {
        Self {
            total: 0,
            used: 0,
            requested: 0,
            free: 0,
            largest_free: 0,
            allocations: 0,
            peak_used: 0,
            free_blocks: [0; SIZE_CLASSES],
            regions: 0,
        }
    }
}

/// The core of a heap: what every heap in this chapter does, and what a
/// student implements.
///
/// Only adding a region is `unsafe`: the heap must be told the truth about
/// memory it may use. Everything else checks its arguments, so a wrong pointer
/// comes back as an `Err`, not as corruption.
pub trait Heap {
    /// A short name: `buddy`, `exact`, `pool` or `bump`.
    fn name(&self) -> &'static str;

    /// Hands `[start, start + size)` to the heap. A heap starts empty; the
    /// first region makes it usable, later ones extend it (they need not be
    /// next to each other).
    ///
    /// # Safety
    /// The memory must be valid for reads and writes, unused by anything
    /// else, and stay so for as long as the heap exists.
    unsafe fn add_region(&mut self, start: usize, size: usize) -> Result<(), HeapError>;

    /// Allocates a block for `layout`: at least `layout.size()` bytes,
    /// aligned to `layout.align()` (up to [`MAX_ALIGN`]), overlapping no
    /// other live block. A zero-size request gets a block of its own too
    /// (the smallest the heap has): a distinct pointer, freed like any
    /// other.
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError>;

    /// Frees a block. `layout` must be the one it was allocated with; the heap
    /// uses it only for statistics and checks the pointer itself.
    fn deallocate(&mut self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError>;

    /// Resizes a block to `new_size` bytes (same alignment), in place when it
    /// can, otherwise by moving it; the first `min(old, new)` bytes are kept.
    /// On error the old block is untouched and still allocated.
    fn reallocate(
        &mut self, pointer: NonNull<u8>, layout: Layout, new_size: usize,
    ) -> Result<NonNull<u8>, HeapError>;

    /// How many bytes from `pointer` to the end of its block may be used
    /// (at least what was asked for; what C libraries call `malloc_usable_size`).
    /// `pointer` must be one [`allocate`](Self::allocate) returned and that
    /// is still live: a pointer into the middle of a block is an error.
    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError>;

    fn stats(&self) -> HeapStats;
}

/// The size class of a block of `size` bytes: `floor(log2(size))`.
pub fn size_class(size: usize) -> usize {
    debug_assert!(size > 0);
    (usize::BITS - 1 - size.leading_zeros()) as usize
}

/// Checks a layout against [`MAX_ALIGN`].
fn check_alignment(layout: Layout) -> Result<(), HeapError> {
    if layout.align() > MAX_ALIGN {
        Err(HeapError::AlignmentTooLarge {
            align: layout.align(),
        })
    } else {
        Ok(())
    }
}

/// The error for a request that does not fit.
fn out_of_memory(layout: Layout) -> HeapError {
    HeapError::OutOfMemory {
        size: layout.size(),
        align: layout.align(),
    }
}

/// A layer that asked the heap beneath for more than `layout` (a slab's
/// page for a small object, a debug header and red zone around it) reports
/// running out for the request its caller made, not for its own.
fn for_request(error: HeapError, layout: Layout) -> HeapError {
    match error {
        HeapError::OutOfMemory { .. } => out_of_memory(layout),
        other => other,
    }
}

/// Moves a block: allocate, copy, free. Used by every heap's `reallocate`
/// when it cannot resize in place.
fn reallocate_by_moving<H: Heap + ?Sized>(
    heap: &mut H, pointer: NonNull<u8>, layout: Layout, new_size: usize,
) -> Result<NonNull<u8>, HeapError> {
    let new_layout =
        Layout::from_size_align(new_size, layout.align()).map_err(|_| out_of_memory(layout))?;
    let new_pointer = heap.allocate(new_layout)?;
    let keep = layout.size().min(new_size);
    // SAFETY: both blocks belong to the heap, are at least `keep` bytes long
    // (the old one was checked by the caller, the new one was just allocated
    // for `new_size`) and are distinct, so they do not overlap.
    unsafe { core::ptr::copy_nonoverlapping(pointer.as_ptr(), new_pointer.as_ptr(), keep) };
    heap.deallocate(pointer, layout)?;
    Ok(new_pointer)
}
