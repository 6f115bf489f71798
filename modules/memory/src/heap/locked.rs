//! A heap behind a lock, usable as Rust's `GlobalAlloc`.
//!
//! The lock is an [`IrqMutex`]: interrupts stay off while the heap is being
//! changed, so an interrupt handler that allocates cannot find the lists
//! half-updated, and cannot spin forever on a lock its own CPU holds.
//!
//! `GlobalAlloc` has no way to return an error from `dealloc`, so a double
//! free or a foreign pointer is *reported* through a callback (the kernel
//! prints it) and the block is left alone: a leak, never corruption.
//!
//! Every entry point passes the heap its *call site* (see `call_site.rs`):
//! the kernel's own, [`LockedHeap::allocate`] and [`LockedHeap::deallocate`],
//! are `#[track_caller]`; `GlobalAlloc`'s walk the frame pointers, but only
//! once [`LockedHeap::record_call_sites`] is switched on (by the heap
//! debugger), so that they cost nothing otherwise.
//!
//! A heap can also be given a *grower* ([`LockedHeap::set_grower`]): when an
//! allocation does not fit, the grower may make the heap bigger (chapter 3
//! extends its top into virtual memory that is mapped on demand), and the
//! allocation is tried once more before it fails. `growth.rs` explains the
//! mechanism. And it can be given somewhere else for large requests
//! ([`LockedHeap::set_large`]; chapter 3 gives each a run of pages), as
//! `large.rs` explains.
//!
//! Every request that goes through it can be traced ([`LockedHeap::tracer`],
//! the shell's `heaptrace`): the answer is handed to the [`Tracer`] as a
//! [`TraceEvent`] before interrupts are back on, so the lines come out in
//! the order the requests were served (`trace.rs`).

use super::trace::{TraceEvent, Tracer};
use super::{CallSite, Grower, HeapError, HeapStats, LargeAllocations, Traced};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kernel::sync::{IrqMutex, IrqMutexGuard};

/// Called with every error `GlobalAlloc` cannot return.
pub type ErrorReporter = fn(&HeapError);

/// A [`Heap`](super::Heap) that many users, interrupt handlers included, can share.
pub struct LockedHeap<H> {
    heap: IrqMutex<H>,
    reporter: spin::Once<ErrorReporter>,
    grower: spin::Once<Grower<H>>,
    large: spin::Once<&'static dyn LargeAllocations>,
    errors_reported: AtomicUsize,
    /// Whether `GlobalAlloc` calls find their return addresses.
    record_call_sites: AtomicBool,
    /// The size and alignment of the last request that failed for lack of
    /// memory (for the allocation-error report).
    last_failure: IrqMutex<Option<Layout>>,
    /// `heaptrace`: every request as a line (`trace.rs`).
    tracer: Tracer,
    /// Held from a traced request until its line is out: interrupts stay
    /// off, so no other request is served in between.
    trace_order: IrqMutex<()>,
}

impl<H: Traced> LockedHeap<H> {
    pub const fn new(heap: H) -> Self {
        Self {
            heap: IrqMutex::new(heap),
            reporter: spin::Once::new(),
            grower: spin::Once::new(),
            large: spin::Once::new(),
            errors_reported: AtomicUsize::new(0),
            record_call_sites: AtomicBool::new(false),
            last_failure: IrqMutex::new(None),
            tracer: Tracer::new(),
            trace_order: IrqMutex::new(()),
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

    /// Sets what to call when an allocation does not fit (once; later calls
    /// are ignored).
    pub fn set_grower(&self, grower: Grower<H>) {
        self.grower.call_once(|| grower);
    }

    /// Sends requests of at least `large.threshold()` bytes to `large`
    /// from now on (once; later calls are ignored).
    pub fn set_large(&self, large: &'static dyn LargeAllocations) {
        self.large.call_once(|| large);
    }

    /// Where large requests go, if anywhere.
    pub fn large(&self) -> Option<&'static dyn LargeAllocations> {
        self.large.get().copied()
    }

    /// The large-allocation service, if `layout` is for it.
    fn large_for(&self, layout: Layout) -> Option<&'static dyn LargeAllocations> {
        self.large()
            .filter(|large| layout.size() >= large.threshold())
    }

    /// The large-allocation service, if `pointer` is one of its blocks.
    fn large_owning(&self, pointer: NonNull<u8>) -> Option<&'static dyn LargeAllocations> {
        self.large()
            .filter(|large| large.owns(pointer.as_ptr() as usize))
    }

    /// Allocates like `GlobalAlloc::alloc` (growing the heap if it can), but
    /// returns the error: for the shell's `alloc`, which prints it. The
    /// caller's file and line are the block's call site.
    #[track_caller]
    pub fn allocate(&self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
        let site = CallSite::caller();
        let allocate = || {
            if let Some(pointer) = self
                .large_for(layout)
                .and_then(|large| large.allocate(layout).ok())
            {
                return Ok(pointer);
            }
            self.with_growth(layout, |heap| heap.allocate_at(layout, site))
        };
        self.traced(allocate, |result| self.allocation_event(layout, result))
    }

    /// Frees a block from [`allocate`](Self::allocate), returning the error
    /// instead of reporting it. The caller's line is the site of the free.
    #[track_caller]
    pub fn deallocate(&self, pointer: NonNull<u8>, layout: Layout) -> Result<(), HeapError> {
        let site = CallSite::caller();
        let deallocate = || match self.large_owning(pointer) {
            Some(large) => large.deallocate(pointer),
            None => self.heap.lock().deallocate_at(pointer, layout, site),
        };
        self.traced(deallocate, |result| free_event(pointer, layout, result))
    }

    /// How many bytes from `pointer` may be used, wherever it lives.
    pub fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
        match self.large_owning(pointer) {
            Some(large) => large.usable_size(pointer),
            None => self.heap.lock().usable_size(pointer),
        }
    }

    /// Whether every request is traced, how many have been, and where the
    /// lines go (`trace.rs`).
    pub fn tracer(&self) -> &Tracer {
        &self.tracer
    }

    /// Makes `GlobalAlloc` calls record the return addresses above them.
    pub fn record_call_sites(&self, on: bool) {
        self.record_call_sites.store(on, Ordering::Relaxed);
    }

    /// The call site of a `GlobalAlloc` call: return addresses, skipping
    /// the frames of `alloc`'s own plumbing and of this file.
    #[inline(always)]
    fn global_alloc_site(&self) -> CallSite {
        if self.record_call_sites.load(Ordering::Relaxed) {
            CallSite::return_addresses(GLOBAL_ALLOC_FRAMES)
        } else {
            CallSite::Unknown
        }
    }

    /// Runs `operation` on the locked heap; if it runs out of memory and the
    /// grower makes room, runs it once more.
    fn with_growth<T>(
        &self, layout: Layout, operation: impl Fn(&mut H) -> Result<T, HeapError>,
    ) -> Result<T, HeapError> {
        let mut heap = self.heap.lock();
        match operation(&mut heap) {
            Err(HeapError::OutOfMemory { .. }) if self.grow(&mut heap, layout) => {
                operation(&mut heap)
            }
            result => result,
        }
    }

    fn grow(&self, heap: &mut H, layout: Layout) -> bool {
        self.grower.get().is_some_and(|grow| grow(heap, layout))
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

impl<H: Traced> LockedHeap<H> {
    /// Moves a block between the heap and the large allocations (or within
    /// the large allocations): allocate, copy, free.
    ///
    /// # Safety
    /// As for `GlobalAlloc::realloc`: `pointer` is live with `layout`.
    unsafe fn move_block(
        &self, pointer: NonNull<u8>, layout: Layout, new_layout: Layout, site: CallSite,
    ) -> Result<NonNull<u8>, HeapError> {
        let new = self.alloc_at(new_layout, site)?;
        // SAFETY: both blocks are live, distinct and at least this long.
        unsafe {
            core::ptr::copy_nonoverlapping(
                pointer.as_ptr(),
                new.as_ptr(),
                layout.size().min(new_layout.size()),
            );
        }
        // An error here is reported; the new block is the answer all the same.
        let _ = self.dealloc_at(pointer, layout, site);
        Ok(new)
    }
}

/// Frames above a `GlobalAlloc` method to skip before keeping return
/// addresses. None: at the kernel's opt-level, `alloc`'s plumbing
/// (`__rust_alloc`, `exchange_malloc`, `RawVec`...) is one or two frames, so
/// the [`RETURN_CHAIN`](super::RETURN_CHAIN) addresses kept reach the code
/// that called `Box::new` (the kernel test `boxes_record_their_callers`
/// checks it).
const GLOBAL_ALLOC_FRAMES: usize = 0;

// SAFETY: every method hands the heap's answer through unchanged; the heaps
// return blocks that are unique, at least `layout.size()` long and aligned to
// `layout.align()`, or an error (turned into null). Errors on `dealloc` leave
// the heap untouched. Tracing only reads the answer.
unsafe impl<H: Traced> GlobalAlloc for LockedHeap<H> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let site = self.global_alloc_site();
        let result = self.traced(
            || self.alloc_at(layout, site),
            |result| self.allocation_event(layout, result),
        );
        result.map_or(null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        let Some(pointer) = NonNull::new(pointer) else {
            return self.report(&HeapError::InvalidPointer { address: 0 });
        };
        let site = self.global_alloc_site();
        let _ = self.traced(
            || self.dealloc_at(pointer, layout, site),
            |result| free_event(pointer, layout, result),
        );
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(pointer) = NonNull::new(pointer) else {
            self.report(&HeapError::InvalidPointer { address: 0 });
            return null_mut();
        };
        let site = self.global_alloc_site();
        let result = self.traced(
            // SAFETY: the caller's promises for `realloc`.
            || unsafe { self.realloc_at(pointer, layout, new_size, site) },
            |result| self.realloc_event(pointer, layout, new_size, result),
        );
        result.map_or(null_mut(), NonNull::as_ptr)
    }
}

/// `GlobalAlloc`'s work, with the call site found by its caller (in the
/// `GlobalAlloc` method's own frame) and the answer as a `Result`. Errors
/// that `GlobalAlloc` cannot return are reported here, and running out of
/// memory is noted for the allocation-error report.
impl<H: Traced> LockedHeap<H> {
    fn alloc_at(&self, layout: Layout, site: CallSite) -> Result<NonNull<u8>, HeapError> {
        if let Some(pointer) = self
            .large_for(layout)
            .and_then(|large| large.allocate(layout).ok())
        {
            return Ok(pointer);
        }
        let result = self.with_growth(layout, |heap| heap.allocate_at(layout, site));
        self.note_error(layout, result)
    }

    fn dealloc_at(
        &self, pointer: NonNull<u8>, layout: Layout, site: CallSite,
    ) -> Result<(), HeapError> {
        let result = match self.large_owning(pointer) {
            Some(large) => large.deallocate(pointer),
            // The guard is dropped at the end of the statement, before reporting.
            None => self.heap.lock().deallocate_at(pointer, layout, site),
        };
        if let Err(error) = &result {
            self.report(error);
        }
        result
    }

    /// # Safety
    /// As for `GlobalAlloc::realloc`: `pointer` is live with `layout`.
    unsafe fn realloc_at(
        &self, pointer: NonNull<u8>, layout: Layout, new_size: usize, site: CallSite,
    ) -> Result<NonNull<u8>, HeapError> {
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            self.note_out_of_memory(layout);
            return Err(super::out_of_memory(layout));
        };
        let (large_old, large_new) = (self.large_owning(pointer), self.large_for(new_layout));
        // A block about to be moved between the two must be live: check it
        // before anything reads it (a freed block, a foreign pointer).
        let live = match large_old {
            Some(large) => large.usable_size(pointer),
            None if large_new.is_some() => self.heap.lock().usable_size(pointer),
            None => Ok(0),
        };
        if let Err(error) = live {
            self.report(&error);
            return Err(error);
        }
        match (large_old, large_new) {
            (None, None) => {}
            (Some(large), Some(_)) if large.resize_in_place(pointer, new_size).is_ok() => {
                return Ok(pointer);
            }
            // SAFETY: the caller's promises for `realloc` are those of
            // `move_block`.
            _ => return unsafe { self.move_block(pointer, layout, new_layout, site) },
        }
        let result = self.with_growth(new_layout, |heap| {
            heap.reallocate_at(pointer, layout, new_size, site)
        });
        self.note_error(new_layout, result)
    }

    /// Notes running out of memory for `layout`, or reports another error.
    fn note_error<T>(&self, layout: Layout, result: Result<T, HeapError>) -> Result<T, HeapError> {
        match &result {
            Ok(_) => {}
            Err(HeapError::OutOfMemory { .. }) => self.note_out_of_memory(layout),
            Err(error) => self.report(error),
        }
        result
    }

    /// Runs `operation`; if tracing is on, with interrupts off (the
    /// `trace_order` lock) until `event` has described its answer to the
    /// tracer, so that the lines come out in the order the heap served
    /// the requests.
    #[inline(always)]
    fn traced<T>(
        &self, operation: impl FnOnce() -> Result<T, HeapError>,
        event: impl FnOnce(&Result<T, HeapError>) -> TraceEvent,
    ) -> Result<T, HeapError> {
        if !self.tracer.is_on() {
            return operation();
        }
        // Taken only if free: a request made while one is being traced
        // (none is, today) runs with interrupts already off.
        let _in_order = self.trace_order.try_lock();
        let result = operation();
        self.tracer.emit(event(&result));
        result
    }

    /// The event for an allocation of `layout`.
    fn allocation_event(
        &self, layout: Layout, result: &Result<NonNull<u8>, HeapError>,
    ) -> TraceEvent {
        match *result {
            Ok(pointer) => TraceEvent::Alloc {
                address: pointer.as_ptr() as usize,
                size: layout.size(),
                align: layout.align(),
                usable: self.usable_size(pointer).unwrap_or(layout.size()),
            },
            Err(_) => TraceEvent::Fail {
                size: layout.size(),
                align: layout.align(),
            },
        }
    }

    /// The event for a reallocation of `pointer` (`layout`) to `new_size`.
    fn realloc_event(
        &self, pointer: NonNull<u8>, layout: Layout, new_size: usize,
        result: &Result<NonNull<u8>, HeapError>,
    ) -> TraceEvent {
        match *result {
            Ok(new) => TraceEvent::Realloc {
                from: pointer.as_ptr() as usize,
                to: new.as_ptr() as usize,
                size: new_size,
                old: layout.size(),
                align: layout.align(),
                usable: self.usable_size(new).unwrap_or(new_size),
            },
            Err(HeapError::OutOfMemory { .. }) => TraceEvent::Fail {
                size: new_size,
                align: layout.align(),
            },
            Err(_) => TraceEvent::Refused {
                address: pointer.as_ptr() as usize,
                size: layout.size(),
            },
        }
    }
}

/// The event for a free of `pointer` (`layout`).
fn free_event(pointer: NonNull<u8>, layout: Layout, result: &Result<(), HeapError>) -> TraceEvent {
    let (address, size) = (pointer.as_ptr() as usize, layout.size());
    match result {
        Ok(()) => TraceEvent::Free { address, size },
        Err(_) => TraceEvent::Refused { address, size },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::model_tests::Arena;
    use crate::heap::{BuddyHeap, Grow, Heap};
    use std::boxed::Box;
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

    static TRACE: std::sync::Mutex<std::vec::Vec<TraceEvent>> =
        std::sync::Mutex::new(std::vec::Vec::new());

    #[test]
    fn tracing_sees_every_request_in_order_and_only_when_on() {
        let arena = Arena::new(4096);
        let locked = LockedHeap::new(BuddyHeap::new());
        // SAFETY: the arena outlives the heap.
        unsafe { locked.lock().add_region(arena.start(), arena.len()) }.unwrap();
        locked.set_error_reporter(|_| {});
        locked
            .tracer()
            .set_sink(|event| TRACE.lock().unwrap().push(*event));
        let layout = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: valid layouts; the second free of `q` is on purpose.
        unsafe {
            let untraced = locked.alloc(layout);
            locked.tracer().set_on(true);
            let p = locked.allocate(layout).unwrap().as_ptr();
            let q = locked.realloc(p, layout, 200);
            let grown = Layout::from_size_align(200, 8).unwrap();
            locked.dealloc(q, grown);
            locked.dealloc(q, grown);
            assert!(locked
                .alloc(Layout::from_size_align(8192, 1).unwrap())
                .is_null());
            locked.tracer().set_on(false);
            locked.dealloc(untraced, layout);
            let (p, q) = (p as usize, q as usize);
            assert_eq!(
                *TRACE.lock().unwrap(),
                [
                    TraceEvent::Alloc {
                        address: p,
                        size: 64,
                        align: 8,
                        usable: 112
                    },
                    TraceEvent::Realloc {
                        from: p,
                        to: q,
                        size: 200,
                        old: 64,
                        align: 8,
                        usable: 240
                    },
                    TraceEvent::Free {
                        address: q,
                        size: 200
                    },
                    TraceEvent::Refused {
                        address: q,
                        size: 200
                    },
                    TraceEvent::Fail {
                        size: 8192,
                        align: 1
                    },
                ]
            );
        }
        assert_eq!(locked.tracer().events(), 5);
    }

    /// A stand-in for chapter 3's page runs: a second heap over its own
    /// arena, for requests of 1 KiB and more.
    struct SecondHeap {
        heap: spin::Mutex<BuddyHeap>,
        range: (usize, usize),
    }

    impl LargeAllocations for SecondHeap {
        fn threshold(&self) -> usize {
            1024
        }
        fn owns(&self, address: usize) -> bool {
            (self.range.0..self.range.1).contains(&address)
        }
        fn allocate(&self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
            self.heap.lock().allocate(layout)
        }
        fn deallocate(&self, pointer: NonNull<u8>) -> Result<(), HeapError> {
            let any = Layout::new::<u8>();
            self.heap.lock().deallocate(pointer, any)
        }
        fn resize_in_place(&self, pointer: NonNull<u8>, new_size: usize) -> Result<(), HeapError> {
            let fits = self.heap.lock().usable_size(pointer)? >= new_size;
            fits.then_some(()).ok_or(HeapError::OutOfMemory {
                size: new_size,
                align: 1,
            })
        }
        fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
            self.heap.lock().usable_size(pointer)
        }
    }

    #[test]
    fn large_requests_go_elsewhere_and_move_back_when_they_shrink() {
        let (small, large) = (Arena::new(1 << 16), Arena::new(1 << 16));
        let locked = LockedHeap::new(BuddyHeap::new());
        let mut second = BuddyHeap::new();
        // SAFETY: the arenas outlive both heaps (dropped at the end).
        unsafe {
            locked
                .lock()
                .add_region(small.start(), small.len())
                .unwrap();
            second.add_region(large.start(), large.len()).unwrap();
        }
        let service: &'static SecondHeap = Box::leak(Box::new(SecondHeap {
            heap: spin::Mutex::new(second),
            range: (large.start(), large.start() + large.len()),
        }));
        locked.set_large(service);
        let in_large = |pointer: *mut u8| service.owns(pointer as usize);
        let layout = |size| Layout::from_size_align(size, 8).unwrap();
        // SAFETY: valid layouts; every block is freed once (the second free
        // below is on purpose and must be refused).
        unsafe {
            let big = locked.alloc(layout(2000));
            assert!(in_large(big));
            assert_eq!(locked.lock().stats().allocations, 0, "not in the heap");
            big.write_bytes(5, 2000);
            let bigger = locked.realloc(big, layout(2000), 3000);
            assert!(in_large(bigger));
            let shrunk = locked.realloc(bigger, layout(3000), 100);
            assert!(!in_large(shrunk), "back in the heap");
            assert!((0..100).all(|i| *shrunk.add(i) == 5), "contents moved");
            let grown = locked.realloc(shrunk, layout(100), 5000);
            assert!(in_large(grown));
            assert!((0..100).all(|i| *grown.add(i) == 5));
            let grown = NonNull::new(grown).unwrap();
            assert_eq!(locked.usable_size(grown), service.usable_size(grown));
            locked.deallocate(grown, layout(5000)).unwrap();
            assert!(matches!(
                locked.deallocate(grown, layout(5000)),
                Err(HeapError::DoubleFree { .. })
            ));
            let reported = locked.errors_reported();
            assert!(locked.realloc(grown.as_ptr(), layout(5000), 100).is_null());
            assert_eq!(
                locked.errors_reported(),
                reported + 1,
                "a stale pointer is reported"
            );
            // A freed heap block grown past the threshold: refused before
            // it is copied anywhere.
            let small_block = locked.alloc(layout(100));
            locked.dealloc(small_block, layout(100));
            assert!(locked.realloc(small_block, layout(100), 4000).is_null());
            assert_eq!(locked.errors_reported(), reported + 2);
            assert_eq!(
                service.heap.lock().stats().allocations,
                0,
                "nothing was moved"
            );
        }
        assert_eq!(locked.lock().stats().allocations, 0);
        assert_eq!(service.heap.lock().stats().allocations, 0);
    }

    #[test]
    fn a_grower_makes_room_and_the_allocation_is_retried() {
        let arena = Arena::new(64 * 1024);
        let locked = LockedHeap::new(BuddyHeap::new());
        // SAFETY: the arena outlives the heap; the grower below only extends
        // the heap within it.
        unsafe { locked.lock().add_region(arena.start(), 4096) }.unwrap();
        locked.set_grower(|heap, layout| {
            let Some(bytes) = heap.growth_for(layout) else {
                return false;
            };
            let total = heap.stats().total;
            // SAFETY: the arena holds 64 KiB from the region's start.
            total + bytes <= 64 * 1024 && unsafe { heap.extend_top(bytes) }.is_ok()
        });
        let layout = Layout::from_size_align(20_000, 8).unwrap();
        // SAFETY: valid layouts; each block is freed once.
        unsafe {
            let p = locked.alloc(layout);
            assert!(!p.is_null(), "the grower made room");
            // A 32 KiB block must start at a multiple of 32 KiB: the top
            // moved from 4 KiB to 32 KiB, then one block further.
            assert_eq!(locked.lock().stats().total, 64 * 1024);
            let q = locked.realloc(p, layout, 30_000);
            assert_eq!(q, p, "30 000 bytes still fit the 32 KiB block");
            let too_big = Layout::from_size_align(40_000, 8).unwrap();
            assert!(
                locked.alloc(too_big).is_null(),
                "the grower refuses past 64 KiB"
            );
            assert_eq!(locked.last_failure(), Some(too_big));
            locked.dealloc(q, Layout::from_size_align(30_000, 8).unwrap());
        }
        let stats = locked.try_stats().unwrap();
        assert_eq!((stats.used, stats.free_blocks[16]), (0, 1));
    }
}
