//! Growing a heap when it runs out: one mechanism, for any chapter that can
//! find more memory.
//!
//! When an allocation does not fit, [`LockedHeap`](super::LockedHeap) calls
//! its [`Grower`] (set once, with `set_grower`) with the heap and the
//! request. The grower may add memory and say so; the allocation is then
//! tried once more, and fails for good if it still does not fit. (talc, a
//! Rust allocator, calls the same idea an `OomHandler`.) Chapter 2 leaves
//! the grower unset: its heap has a fixed run of frames. Chapter 3 sets
//! one that moves the heap's top into virtual memory mapped on demand.
//!
//! A grower adds memory with [`Heap::add_region`], or, for a heap that can
//! extend its last region in place so that the new bytes merge with free
//! blocks below them, with [`Grow`].

use super::{Heap, HeapError};
use core::alloc::Layout;

/// Called, with the heap locked, when `layout` does not fit: returns `true`
/// if it made room (the allocation is then tried again, once). It must not
/// allocate: the heap is locked.
pub type Grower<H> = fn(&mut H, Layout) -> bool;

/// A heap whose last region can grow at its top.
pub trait Grow: Heap {
    /// How many bytes [`extend_top`](Grow::extend_top) would have to add
    /// to the last region for `layout` to fit there, or `None` if it cannot
    /// fit that way. A grower asks this before it promises the memory.
    fn growth_for(&self, layout: Layout) -> Option<usize>;

    /// Moves the end of the last region `bytes` higher: the new bytes become
    /// free blocks (and merge with free blocks below them where they can).
    ///
    /// # Safety
    /// As for [`Heap::add_region`]: the `bytes` just above the last region
    /// must be usable by the heap alone, for as long as it exists. (They
    /// need not be backed yet — chapter 3 maps them when first touched.)
    unsafe fn extend_top(&mut self, bytes: usize) -> Result<(), HeapError>;
}
