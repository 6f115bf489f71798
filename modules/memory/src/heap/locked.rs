//! A heap behind a lock, usable as Rust's `GlobalAlloc`.
//!
//! The lock is an [`IrqMutex`]: interrupts stay off while the heap is being
//! changed, so an interrupt handler that allocates cannot find the lists
//! half-updated, and cannot spin forever on a lock its own CPU holds.
//!
//! `GlobalAlloc` has no way to return an error from `dealloc`, so a double
//! free or a foreign pointer is *reported* through a callback (the kernel
//! prints it) and the block is left alone: a leak, never corruption.

use super::{Heap, HeapError, HeapStats};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::sync::{IrqMutex, IrqMutexGuard};

/// Called with every error `GlobalAlloc` cannot return.
pub type ErrorReporter = fn(&HeapError);

/// A [`Heap`] that many users, interrupt handlers included, can share.
pub struct LockedHeap<H> {
    heap: IrqMutex<H>,
    reporter: spin::Once<ErrorReporter>,
    errors_reported: AtomicUsize,
    /// The size and alignment of the last request that failed for lack of
    /// memory (for the allocation-error report).
    last_failure: IrqMutex<Option<Layout>>,
}

impl<H: Heap> LockedHeap<H> {
    pub const fn new(heap: H) -> Self {
        Self {
            heap: IrqMutex::new(heap),
            reporter: spin::Once::new(),
            errors_reported: AtomicUsize::new(0),
            last_failure: IrqMutex::new(None),
        }
    }

    /// Locks the heap (interrupts off until the guard is dropped).
    pub fn lock(&self) -> IrqMutexGuard<'_, H> {
        self.heap.lock()
    }

    /// Statistics, if the heap is not locked right now (a panic report must
    /// not wait for a lock its own CPU may hold).
    pub fn try_stats(&self) -> Option<HeapStats> {
        self.heap.try_lock().map(|heap| heap.stats())
    }

    /// Sets where errors that `dealloc` and `realloc` cannot return go.
    pub fn set_error_reporter(&self, reporter: ErrorReporter) {
        self.reporter.call_once(|| reporter);
    }

    /// How many errors have been reported so far.
    pub fn errors_reported(&self) -> usize {
        self.errors_reported.load(Ordering::Relaxed)
    }

    /// The last allocation that failed for lack of memory.
    pub fn last_failure(&self) -> Option<Layout> {
        *self.last_failure.lock()
    }

    fn report(&self, error: &HeapError) {
        self.errors_reported.fetch_add(1, Ordering::Relaxed);
        if let Some(reporter) = self.reporter.get() {
            reporter(error);
        }
    }

    fn note_out_of_memory(&self, layout: Layout) {
        *self.last_failure.lock() = Some(layout);
    }
}

// SAFETY: every method hands the heap's answer through unchanged; the heaps
// return blocks that are unique, at least `layout.size()` long and aligned to
// `layout.align()`, or an error (turned into null). Errors on `dealloc` leave
// the heap untouched.
unsafe impl<H: Heap> GlobalAlloc for LockedHeap<H> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let result = self.heap.lock().allocate(layout);
        match result {
            Ok(pointer) => pointer.as_ptr(),
            Err(HeapError::OutOfMemory { .. }) => {
                self.note_out_of_memory(layout);
                null_mut()
            }
            Err(error) => {
                self.report(&error);
                null_mut()
            }
        }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        let Some(pointer) = NonNull::new(pointer) else {
            return self.report(&HeapError::InvalidPointer { address: 0 });
        };
        // The guard is dropped at the end of the statement, before reporting.
        let result = self.heap.lock().deallocate(pointer, layout);
        if let Err(error) = result {
            self.report(&error);
        }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(pointer) = NonNull::new(pointer) else {
            self.report(&HeapError::InvalidPointer { address: 0 });
            return null_mut();
        };
        let result = self.heap.lock().reallocate(pointer, layout, new_size);
        match result {
            Ok(pointer) => pointer.as_ptr(),
            Err(HeapError::OutOfMemory { .. }) => {
                self.note_out_of_memory(
                    Layout::from_size_align(new_size, layout.align()).unwrap_or(layout),
                );
                null_mut()
            }
            Err(error) => {
                self.report(&error);
                null_mut()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::model_tests::Arena;
    use crate::heap::BuddyHeap;
    use std::sync::atomic::AtomicUsize as Counter;

    static SEEN: Counter = Counter::new(0);

    #[test]
    fn global_alloc_reports_what_it_cannot_return() {
        let arena = Arena::new(4096);
        let locked = LockedHeap::new(BuddyHeap::new());
        // SAFETY: the arena outlives the heap.
        unsafe { locked.lock().add_region(arena.start(), arena.len()) }.unwrap();
        locked.set_error_reporter(|_| {
            SEEN.fetch_add(1, Ordering::Relaxed);
        });
        let layout = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: a valid layout; the pointer is freed once, then once more
        // on purpose: the heap must catch the second free.
        unsafe {
            let p = locked.alloc(layout);
            assert!(!p.is_null());
            let before = locked.lock().stats();
            let p = locked.realloc(p, layout, 128);
            assert!(!p.is_null());
            let grown = Layout::from_size_align(128, 8).unwrap();
            locked.dealloc(p, grown);
            assert_eq!(locked.errors_reported(), 0);
            locked.dealloc(p, grown);
            assert_eq!(locked.errors_reported(), 1);
            assert_eq!(SEEN.load(Ordering::Relaxed), 1);
            assert_eq!(locked.lock().stats().allocations, before.allocations - 1);
            // Too big: null, and remembered for the report.
            let huge = Layout::from_size_align(1 << 20, 8).unwrap();
            assert!(locked.alloc(huge).is_null());
            assert_eq!(locked.last_failure(), Some(huge));
            assert_eq!(locked.errors_reported(), 1, "running out is not a misuse");
        }
        assert_eq!(locked.try_stats().unwrap().used, 0);
    }
}
