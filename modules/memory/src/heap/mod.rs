//! Heaps: handing out byte-sized pieces of memory.
//!
//! The frame allocator deals in whole 4 KiB frames. Most of what a kernel
//! allocates (a `Box<Task>`, a `Vec` that grows, a `String`) is far smaller,
//! so a *heap* takes a few large regions of memory and carves them up.
//!
//! This chapter has three heaps, one per file, all behind the [`Heap`] trait:
//!
//! | heap | file | allocate | free | good for |
//! |------|------|----------|------|-----------|
//! | [`BumpHeap`] | `bump.rs` | move a pointer | only all at once | boot-time tables, arenas |
//! | [`PoolHeap`] | `pool.rs` | first or best fit in a free list | coalesce with both neighbours | any sizes, little waste |
//! | [`BuddyHeap`] | `buddy.rs` | split a power of two | merge with the buddy | the kernel heap: no search |
//!
//! Every heap works on memory the *caller* gives it ([`Heap::add_region`]),
//! so the same code runs in the kernel over frames and on the host over a
//! `Vec<u8>`, where the property tests in `model_tests.rs` check it.
//!
//! A heap never trusts a pointer it is given back. [`Heap::deallocate`] and
//! friends check that the pointer is one this heap handed out and is still
//! allocated, and answer a double free or a foreign pointer with a
//! [`HeapError`] naming the address instead of corrupting their lists.

mod any;
pub mod buddy;
pub mod bump;
mod call_site;
pub mod debug;
mod locked;
pub mod pool;
pub mod slab;

#[cfg(test)]
mod model_tests;

pub use any::{AnyHeap, HeapKind};
pub use buddy::BuddyHeap;
pub use bump::BumpHeap;
pub use call_site::{CallSite, RETURN_CHAIN};
pub use debug::{DebugHeap, DebugMode};
pub use locked::LockedHeap;
pub use pool::{Fit, PoolHeap};
pub use slab::SlabHeap;

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;

/// The largest alignment a heap promises to honour (one page).
pub const MAX_ALIGN: usize = 4096;

/// At most this many separate regions per heap (the seed's
/// `extend_allocation_space`, and chapter 3's growth, add them).
pub const MAX_REGIONS: usize = 16;

/// Number of size classes in [`HeapStats::free_blocks`]: class `k` counts free
/// blocks of `2^k` up to `2^(k+1) - 1` bytes.
pub const SIZE_CLASSES: usize = 32;

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

/// One block, as [`Heap::for_each_block`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockInfo {
    /// Address of the block (its header, if it has one).
    pub start: usize,
    /// Size in bytes, header included.
    pub size: usize,
    /// Bytes of header at the start of the block.
    pub header: usize,
    pub free: bool,
}

/// What every heap in this chapter can do.
///
/// Only adding a region is `unsafe`: the heap must be told the truth about
/// memory it may use. Everything else checks its arguments, so a wrong pointer
/// comes back as an `Err`, not as corruption.
pub trait Heap {
    /// A short name: `buddy`, `pool` or `bump`.
    fn name(&self) -> &'static str;

    /// Hands `[start, start + size)` to the heap. A heap starts empty; the
    /// first region makes it usable, later ones extend it (they need not be
    /// next to each other).
    ///
    /// # Safety
    /// The memory must be valid for reads and writes, unused by anything
    /// else, and stay so for as long as the heap exists.
    unsafe fn add_region(&mut self, start: usize, size: usize) -> Result<(), HeapError>;

    /// Allocates a block for `layout`.
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<u8>, HeapError>;

    /// Frees a block. `layout` must be the one it was allocated with; the heap
    /// uses it only for statistics and checks the pointer itself.
    fn deallocate(&mut self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError>;

    /// Resizes a block to `new_size` bytes (same alignment), in place when it
    /// can, otherwise by moving it; the first `min(old, new)` bytes are kept.
    /// On error the old block is untouched and still allocated.
    fn reallocate(
        &mut self,
        pointer: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, HeapError>;

    /// How many bytes from `pointer` to the end of its block may be used
    /// (at least what was asked for) — the seeds' `_msize` / `mem_size`.
    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError>;

    fn stats(&self) -> HeapStats;

    /// Calls `visit` for every block, free or used, in address order.
    fn for_each_block(&self, visit: &mut dyn FnMut(BlockInfo));

    /// The smallest block size: the unit `heapmap` draws one cell per.
    fn granule(&self) -> usize;

    /// How many bytes [`extend_top`](Heap::extend_top) would have to add
    /// to the last region for `layout` to fit there, or `None` if this heap
    /// cannot grow that way. Chapter 3 asks this when an allocation fails,
    /// before it promises the frames behind the new bytes.
    fn growth_for(&self, _layout: Layout) -> Option<usize> {
        None
    }

    /// Moves the end of the last region `bytes` higher: the new bytes become
    /// free blocks (and merge with free blocks below them where they can).
    ///
    /// # Safety
    /// As for [`add_region`](Heap::add_region): the `bytes` just above the
    /// last region must be usable by the heap alone, for as long as it
    /// exists. (They need not be backed yet — chapter 3 maps them when they
    /// are first touched.)
    unsafe fn extend_top(&mut self, _bytes: usize) -> Result<(), HeapError> {
        Err(HeapError::Unsupported("growing a region in place"))
    }

    /// Whether `address` lies in one of this heap's regions.
    fn owns(&self, address: usize) -> bool;

    /// Walks every header and list the heap keeps; `Ok` if all are intact.
    /// O(blocks): for tests and `heapcheck`, never on the allocation path.
    fn check_integrity(&self) -> Result<(), HeapError> {
        Ok(())
    }

    /// The layout of one slab's memory (see `slab.rs`): a block that lies
    /// inside one page and ends at its end. Asking for a whole aligned page
    /// does that in any heap; the buddy heap overrides it to ask for a page
    /// minus its header, which fits one 4 KiB block instead of two.
    fn slab_span(&self) -> Layout {
        Layout::from_size_align(MAX_ALIGN, MAX_ALIGN).expect("a page is a valid layout")
    }

    /// [`allocate`](Heap::allocate), telling the heap where the request
    /// came from (a debugging heap records it; the others ignore it).
    fn allocate_at(&mut self, layout: Layout, _site: CallSite) -> Result<NonNull<u8>, HeapError> {
        self.allocate(layout)
    }

    /// [`deallocate`](Heap::deallocate), with the site of the free.
    fn deallocate_at(
        &mut self,
        pointer: NonNull<u8>,
        layout: Layout,
        _site: CallSite,
    ) -> Result<(), HeapError> {
        self.deallocate(pointer, layout)
    }

    /// [`reallocate`](Heap::reallocate), with the site of the request.
    fn reallocate_at(
        &mut self,
        pointer: NonNull<u8>,
        layout: Layout,
        new_size: usize,
        _site: CallSite,
    ) -> Result<NonNull<u8>, HeapError> {
        self.reallocate(pointer, layout, new_size)
    }
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

/// Moves a block: allocate, copy, free. Used by every heap's `reallocate`
/// when it cannot resize in place.
fn reallocate_by_moving<H: Heap + ?Sized>(
    heap: &mut H,
    pointer: NonNull<u8>,
    layout: Layout,
    new_size: usize,
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

/// The byte and block counts every heap keeps for [`HeapStats`], updated in
/// one place so that the three heaps count the same way.
#[derive(Debug, Clone, Copy)]
struct Accounting {
    total: usize,
    used: usize,
    requested: usize,
    allocations: usize,
    peak_used: usize,
}

impl Accounting {
    const fn new() -> Self {
        Self {
            total: 0,
            used: 0,
            requested: 0,
            allocations: 0,
            peak_used: 0,
        }
    }

    /// A block of `block` bytes was handed out for a request of `requested`.
    fn allocated(&mut self, block: usize, requested: usize) {
        self.used += block;
        self.peak_used = self.peak_used.max(self.used);
        self.requested += requested;
        self.allocations += 1;
    }

    fn freed(&mut self, block: usize, requested: usize) {
        self.used -= block;
        self.requested = self.requested.saturating_sub(requested);
        self.allocations -= 1;
    }

    /// A block changed size in place.
    fn resized(
        &mut self,
        (old_block, new_block): (usize, usize),
        (old_requested, new_requested): (usize, usize),
    ) {
        self.used = self.used - old_block + new_block;
        self.peak_used = self.peak_used.max(self.used);
        self.requested = self.requested.saturating_sub(old_requested) + new_requested;
    }

    /// The statistics, given what only the heap itself knows.
    fn stats(
        &self,
        largest_free: usize,
        free_blocks: [u32; SIZE_CLASSES],
        regions: usize,
    ) -> HeapStats {
        HeapStats {
            total: self.total,
            used: self.used,
            requested: self.requested,
            free: self.total - self.used,
            largest_free,
            allocations: self.allocations,
            peak_used: self.peak_used,
            free_blocks,
            regions,
        }
    }
}

/// The regions a heap manages: a fixed list, since a heap cannot allocate
/// its own bookkeeping.
#[derive(Debug, Clone, Copy)]
struct Regions {
    spans: [(usize, usize); MAX_REGIONS],
    len: usize,
}

impl Regions {
    const fn new() -> Self {
        Self {
            spans: [(0, 0); MAX_REGIONS],
            len: 0,
        }
    }

    fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.spans[..self.len].iter().copied()
    }

    /// Index of the region that contains `address`.
    fn find(&self, address: usize) -> Option<usize> {
        self.iter()
            .position(|(start, end)| (start..end).contains(&address))
    }

    /// Trims `[start, start + size)` to a start aligned to `align` and an
    /// end aligned to `granule`, checks that `min..=max` bytes remain and
    /// that it overlaps no region, and adds it. Returns (index, start, end).
    fn claim(
        &mut self,
        (start, size): (usize, usize),
        (align, granule): (usize, usize),
        (min, max): (usize, usize),
    ) -> Result<(usize, usize, usize), HeapError> {
        let bad = HeapError::BadRegion { start, size };
        let aligned = start.checked_next_multiple_of(align).ok_or(bad)?;
        let end = start.checked_add(size).ok_or(bad)? & !(granule - 1);
        if aligned >= end || !(min..=max).contains(&(end - aligned)) {
            return Err(bad);
        }
        Ok((self.add(aligned, end)?, aligned, end))
    }

    /// The region of a pointer handed back to a heap whose payloads are
    /// `align`-aligned and follow a header of at least `header` bytes.
    /// Returns (index, region start).
    fn locate(
        &self,
        address: usize,
        align: usize,
        header: usize,
    ) -> Result<(usize, usize), HeapError> {
        let index = self
            .find(address)
            .ok_or(HeapError::ForeignPointer { address })?;
        let (start, _) = self.get(index);
        if !address.is_multiple_of(align) || address - start < header {
            return Err(HeapError::InvalidPointer { address });
        }
        Ok((index, start))
    }

    /// Adds `[start, end)` after checking it overlaps no other region.
    fn add(&mut self, start: usize, end: usize) -> Result<usize, HeapError> {
        if self.iter().any(|(s, e)| start < e && s < end) {
            return Err(HeapError::BadRegion {
                start,
                size: end - start,
            });
        }
        let index = self.len;
        *self.spans.get_mut(index).ok_or(HeapError::TooManyRegions)? = (start, end);
        self.len += 1;
        Ok(index)
    }

    fn get(&self, index: usize) -> (usize, usize) {
        self.spans[index]
    }

    /// Moves the end of the last region to `end`, if that stays clear of
    /// every other region. Returns the last region's (index, start, old end).
    fn extend_last(&mut self, end: usize) -> Result<(usize, usize, usize), HeapError> {
        let index = self.len.checked_sub(1).ok_or(HeapError::NotInitialised)?;
        let (start, old_end) = self.get(index);
        let bad = HeapError::BadRegion {
            start: old_end,
            size: end.wrapping_sub(old_end),
        };
        if end <= old_end
            || self
                .iter()
                .any(|(s, e)| old_end < e && s < end && s != start)
        {
            return Err(bad);
        }
        self.spans[index].1 = end;
        Ok((index, start, old_end))
    }
}
