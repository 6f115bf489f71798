//! Large allocations elsewhere: a capability a later chapter registers.
//!
//! A heap is the wrong home for a 16 MiB buffer. A buddy heap needs an
//! aligned block twice that size to cut it from, and even a heap that
//! trims wastes nothing only if the memory around the buffer can be used
//! by others. With paging there is a better answer: give the buffer a run
//! of *pages* of its own, frames only where it is touched, and unmap it
//! all when it is freed (Linux calls this `vmalloc`).
//!
//! Chapter 2 cannot do that (no paging yet), but it can leave the door
//! open: a [`LockedHeap`](super::LockedHeap) may be given, once, something
//! that serves large requests (`set_large`). From then on every request of
//! at least its [`threshold`](LargeAllocations::threshold) goes there, a
//! pointer it [`owns`](LargeAllocations::owns) is freed there, and a
//! reallocation that crosses the threshold moves the block from one to the
//! other. Chapter 3 registers its page runs (`large_allocations.rs`).

use super::HeapError;
use core::alloc::Layout;
use core::ptr::NonNull;

/// Something that serves large requests apart from the heap. Its methods
/// take `&self`: it keeps its own lock, and is called without the heap's.
pub trait LargeAllocations: Sync {
    /// Requests of at least this many bytes come here.
    fn threshold(&self) -> usize;

    /// Whether `address` lies in the range it hands out from, live or
    /// not: a pointer there is its to free (or to call a double free).
    fn owns(&self, address: usize) -> bool;

    /// Allocates `layout` (at least the threshold; aligned to at most a
    /// page).
    fn allocate(&self, layout: Layout) -> Result<NonNull<u8>, HeapError>;

    /// Frees an allocation it handed out.
    fn deallocate(&self, pointer: NonNull<u8>) -> Result<(), HeapError>;

    /// Resizes an allocation without moving it, or fails (`OutOfMemory`)
    /// and changes nothing: the caller then moves it.
    fn resize_in_place(&self, pointer: NonNull<u8>, new_size: usize) -> Result<(), HeapError>;

    /// Bytes usable from `pointer` (its whole pages).
    fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError>;
}
