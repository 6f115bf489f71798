//! The kernel heap, in virtual memory that is mapped on demand.
//!
//! Chapter 2 gave the heap a fixed run of physical frames, chosen at boot.
//! Here the heap gets a 128 MiB range of *addresses* instead
//! ([`HEAP_START`]..[`HEAP_END`]) and no frames at all. Two mechanisms make
//! that work:
//!
//! ```text
//!  HEAP_START                 top                               HEAP_END
//!  |<-- the heap's region -->|<------- reserve: not in use ------->|
//!  [M][M][ ][M][ ][ ][ ][M][ ]
//!   M = page mapped (a frame behind it), [ ] = in the heap, not mapped yet
//! ```
//!
//! - **Demand paging.** When the heap (or whoever it gave a block to) first
//!   touches a page below `top`, the CPU raises a page fault. The handler
//!   sees a not-present fault below `top`, takes a frame, maps it, zeroes
//!   it and returns; the faulting instruction runs again and succeeds.
//! - **Growing the top.** When an allocation does not fit, the heap's
//!   *grower* asks the buddy heap how far its top must move
//!   ([`Grow::growth_for`](memory::heap::Grow::growth_for)), checks that
//!   enough frames are free to back the new pages, and moves the top
//!   ([`Grow::extend_top`](memory::heap::Grow::extend_top)).
//!
//! The frame check is a *promise*: every page below `top` that is not mapped
//! yet is a frame the heap may still ask for, so the top only moves while
//! `free frames >= promised pages + new pages`. When frames run out, the
//! grower says no, the allocation returns null, and the usual out-of-memory
//! report follows — the fault handler is never left without a frame for a
//! page the heap was allowed to use. (Other users of the frame allocator —
//! `frame alloc`, `map` — do not know about the promise; if they take the
//! last frames, the next heap fault stops the kernel with a clear report.)
//!
//! Frames of heap pages that become wholly free again are *not* given back:
//! pages stay mapped once touched. Giving them back is an exercise in the
//! course text (the buddy heap's free-block headers sit at block starts, so
//! every page of a free block but its first could be unmapped).
//!
//! The pool and bump heaps (`heap=pool`, `heap=bump`) cannot grow at the top;
//! they get a fixed region in the same range, sized as in chapter 2, and
//! still have its pages mapped on demand.

use crate::address::{PAGE_SIZE, TABLE_SPAN};
pub use crate::layout::{HEAP_END, HEAP_RESERVED, HEAP_START};

/// The buddy heap starts with this much of its range (chapter 2's smallest
/// heap); only the pages it touches get frames.
pub const INITIAL_SIZE: usize = 256 << 10;
/// The top moves in steps of at least this much (fewer, larger growths).
pub const GROWTH_STEP: usize = 64 << 10;

/// The heap's range and how much of it is in use, mapped and promised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapWindow {
    pub start: usize,
    pub end: usize,
    /// `start..top` is the heap's region.
    pub top: usize,
    /// Pages below `top` that have a frame.
    pub mapped_pages: usize,
}

impl HeapWindow {
    /// Pages below `top` that have no frame yet: frames promised to the heap.
    pub fn promised_pages(&self) -> usize {
        (self.top - self.start).div_ceil(PAGE_SIZE) - self.mapped_pages
    }

    /// The top after growing by at least `bytes`, rounded up to a
    /// [`GROWTH_STEP`]; `None` past the end of the range.
    pub fn grown_top(&self, bytes: usize) -> Option<usize> {
        let top = self
            .top
            .checked_add(bytes)?
            .checked_next_multiple_of(GROWTH_STEP)?;
        (top <= self.end).then_some(top)
    }

    /// Frames needed to move the top to `new_top`: one per new page, plus
    /// one per page table the new pages need.
    pub fn frames_to_grow(&self, new_top: usize) -> usize {
        let tables = |top: usize| (top - self.start).div_ceil(TABLE_SPAN);
        (new_top - self.top).div_ceil(PAGE_SIZE) + tables(new_top) - tables(self.top)
    }

    /// Whether `free_frames` can back everything promised so far and the
    /// growth to `new_top`.
    pub fn can_grow(&self, new_top: usize, free_frames: usize) -> bool {
        free_frames >= self.promised_pages() + self.frames_to_grow(new_top)
    }
}

#[cfg(target_os = "none")]
pub use kernel_side::*;

#[cfg(target_os = "none")]
mod kernel_side {
    use super::*;
    use crate::address::{Page, VirtAddr};
    use crate::kernel_space;
    use core::alloc::Layout;
    use core::fmt::{self, Write};
    use core::sync::atomic::{AtomicUsize, Ordering};
    use memory::frames::{Owner, FRAME_SIZE};
    use memory::heap::Grow;
    use memory::kernel_heap::{self, KernelHeap, HEAP};
    use memory::setup;
    use x86::bits32::paging::PTFlags;

    // Atomics, not a lock: the fault handler reads them while the grower —
    // which runs with the heap locked — may be the code that faulted.
    static TOP: AtomicUsize = AtomicUsize::new(HEAP_START);
    /// Frames promised to others than the heap's region (chapter 3's large
    /// allocations): pages they may still fault in.
    static PROMISED_ELSEWHERE: AtomicUsize = AtomicUsize::new(0);
    static MAPPED_PAGES: AtomicUsize = AtomicUsize::new(0);
    static FAULTS: AtomicUsize = AtomicUsize::new(0);
    static GROWTHS: AtomicUsize = AtomicUsize::new(0);

    /// What the heap's bookkeeping says right now.
    pub fn window() -> HeapWindow {
        HeapWindow {
            start: HEAP_START,
            end: HEAP_END,
            top: TOP.load(Ordering::Relaxed),
            mapped_pages: MAPPED_PAGES.load(Ordering::Relaxed),
        }
    }

    /// What the heap's paging has done so far.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Counters {
        /// Demand faults served: pages brought in.
        pub faults: usize,
        /// Times the top moved.
        pub growths: usize,
    }

    pub fn counters() -> Counters {
        Counters {
            faults: FAULTS.load(Ordering::Relaxed),
            growths: GROWTHS.load(Ordering::Relaxed),
        }
    }

    /// Gives the kernel heap its first region in the heap range. Paging and
    /// the page-fault handler must be on: the heap's first header write
    /// is the first demand fault.
    pub fn init() {
        let options = kernel_heap::options_from_command_line();
        let free_frames = setup::frames().counts().free;
        let size = if options.kind.grows_at_top() {
            INITIAL_SIZE
        } else {
            kernel_heap::heap_size_for(free_frames * FRAME_SIZE)
        };
        let empty = window();
        let top = HEAP_START + size;
        if !empty.can_grow(top, free_frames) {
            panic!("not enough free frames ({free_frames}) for a {size}-byte kernel heap");
        }
        if let Err(error) =
            kernel_space::ensure_tables(VirtAddr::new(HEAP_START), VirtAddr::new(top))
        {
            panic!("cannot make page tables for the heap: {error}");
        }
        TOP.store(top, Ordering::Relaxed);
        // SAFETY: HEAP_START..top is reserved for the heap alone (see
        // `layout`); its pages are mapped by `fault_in` when first touched,
        // and the frames for them are promised above. Nothing was allocated
        // yet: chapter 3 calls this before anything uses the heap.
        unsafe { kernel_heap::install(options, HEAP_START, size) };
        HEAP.set_grower(grow);
    }

    /// The frames the kernel holds from now on: its heap pages (as mapped),
    /// its page tables and the page directory. (`large_allocations` adds
    /// its own and tells chapter 2's `frames` about the sum.)
    pub fn kernel_frames() -> usize {
        MAPPED_PAGES.load(Ordering::Relaxed) + kernel_space::space().counts().tables + 1
    }

    /// Whether a fault at `address` is the heap's to serve: below the top.
    pub fn serves(address: VirtAddr) -> bool {
        (HEAP_START..TOP.load(Ordering::Relaxed)).contains(&address.as_usize())
    }

    /// Why a heap page could not be brought in.
    #[derive(Debug, Clone, Copy)]
    pub struct FaultInError {
        page: Page,
        reason: &'static str,
    }

    impl FaultInError {
        /// Why `page` could not be brought in (for others that fault pages
        /// in on the same terms: the large allocations).
        pub fn new(page: Page, reason: &'static str) -> Self {
            Self { page, reason }
        }
    }

    /// Promises `pages` frames to someone besides the heap's region, if the
    /// free frames cover every promise made so far and these too. One
    /// promise for everything that faults pages in: the heap's growth
    /// checks it as well.
    pub fn promise(pages: usize) -> bool {
        let Some(free_frames) = setup::try_frames().map(|frames| frames.counts().free) else {
            return false;
        };
        let promised = window().promised_pages() + PROMISED_ELSEWHERE.load(Ordering::Relaxed);
        let enough = promised
            .checked_add(pages)
            .is_some_and(|needed| needed <= free_frames);
        if enough {
            PROMISED_ELSEWHERE.fetch_add(pages, Ordering::Relaxed);
        }
        enough
    }

    /// `pages` promised with [`promise`] got their frames, or are not
    /// wanted any more.
    pub fn settle(pages: usize) {
        PROMISED_ELSEWHERE.fetch_sub(pages, Ordering::Relaxed);
    }

    /// Frames promised to others than the heap's region.
    pub fn promised_elsewhere() -> usize {
        PROMISED_ELSEWHERE.load(Ordering::Relaxed)
    }

    impl fmt::Display for FaultInError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "cannot back heap page {:#010x}: {} ({} pages were promised to the heap)",
                self.page,
                self.reason,
                window().promised_pages()
            )
        }
    }

    /// Demand paging: maps a fresh, zeroed frame at the page of `address`.
    pub fn fault_in(address: VirtAddr) -> Result<(), FaultInError> {
        // LAB 3.3 BEGIN: take a frame (setup::try_frames), map it writable and owned at the page with kernel_space::map_owned (a try-lock: it fails rather than waits; free the frame if it fails), zero the page, count it in MAPPED_PAGES and FAULTS
        let page = Page::containing(address);
        let error = |reason| FaultInError { page, reason };
        let frame = setup::try_frames()
            .ok_or(error(
                "the frame allocator is locked by the code that faulted",
            ))?
            .allocate(Owner::Heap)
            .map_err(|_| {
                error("no free frame (another user took the frames promised to the heap)")
            })?;
        if let Err(reason) = kernel_space::map_owned(page, frame, PTFlags::RW) {
            if let Some(mut frames) = setup::try_frames() {
                let _ = frames.free(frame, Owner::Heap);
            }
            return Err(error(reason));
        }
        // SAFETY: the page was just mapped, writable, to a frame nobody else
        // has; zeroing it hides whatever the frame held before.
        unsafe { core::ptr::write_bytes(page.start().as_usize() as *mut u8, 0, PAGE_SIZE) };
        MAPPED_PAGES.fetch_add(1, Ordering::Relaxed);
        FAULTS.fetch_add(1, Ordering::Relaxed);
        Ok(())
        // LAB END
    }

    /// The heap's grower: moves the top if the heap can use it and the
    /// frames to back it are there. Runs with the heap locked, so it must
    /// not allocate.
    fn grow(heap: &mut KernelHeap, layout: Layout) -> bool {
        let Some(bytes) = heap.growth_for(layout) else {
            return false;
        };
        let current = window();
        let Some(new_top) = current.grown_top(bytes) else {
            return false;
        };
        let Some(free_frames) = setup::try_frames().map(|frames| frames.counts().free) else {
            return false;
        };
        let free_for_the_heap = free_frames.saturating_sub(promised_elsewhere());
        if !current.can_grow(new_top, free_for_the_heap)
            || kernel_space::ensure_tables(VirtAddr::new(current.top), VirtAddr::new(new_top))
                .is_err()
        {
            return false;
        }
        // The top moves first: extending the heap writes headers into the
        // new pages, and those faults must find them inside the heap.
        TOP.store(new_top, Ordering::Relaxed);
        // SAFETY: current.top..new_top is inside the heap's reserved range,
        // used by nothing else; its frames are promised (checked above).
        if unsafe { heap.extend_top(new_top - current.top) }.is_err() {
            TOP.store(current.top, Ordering::Relaxed);
            return false;
        }
        GROWTHS.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Chapter 2's `heap:` line gains what paging adds (`large_allocations`
    /// adds its own after this).
    pub fn summary(line: &mut dyn Write) -> fmt::Result {
        let window = window();
        write!(
            line,
            " reserved={HEAP_RESERVED} top={} mapped={} faults={} growths={}",
            window.top - window.start,
            window.mapped_pages * PAGE_SIZE,
            FAULTS.load(Ordering::Relaxed),
            GROWTHS.load(Ordering::Relaxed)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(top_offset: usize, mapped_pages: usize) -> HeapWindow {
        HeapWindow {
            start: HEAP_START,
            end: HEAP_END,
            top: HEAP_START + top_offset,
            mapped_pages,
        }
    }

    #[test]
    fn promised_pages_are_the_unmapped_pages_below_the_top() {
        assert_eq!(window(GROWTH_STEP, 0).promised_pages(), 16);
        assert_eq!(window(GROWTH_STEP, 3).promised_pages(), 13);
        assert_eq!(window(GROWTH_STEP, 16).promised_pages(), 0);
    }

    #[test]
    fn the_top_grows_in_steps_and_stops_at_the_end() {
        let heap = window(GROWTH_STEP, 1);
        assert_eq!(heap.grown_top(1), Some(HEAP_START + 2 * GROWTH_STEP));
        assert_eq!(
            heap.grown_top(GROWTH_STEP),
            Some(HEAP_START + 2 * GROWTH_STEP)
        );
        assert_eq!(
            heap.grown_top(GROWTH_STEP + 1),
            Some(HEAP_START + 3 * GROWTH_STEP)
        );
        assert_eq!(heap.grown_top(HEAP_RESERVED - GROWTH_STEP), Some(HEAP_END));
        assert_eq!(heap.grown_top(HEAP_RESERVED - GROWTH_STEP + 1), None);
        assert_eq!(heap.grown_top(usize::MAX), None, "no overflow");
    }

    #[test]
    fn growing_needs_frames_for_pages_tables_and_promises() {
        let heap = window(GROWTH_STEP, 4);
        let new_top = HEAP_START + 4 * TABLE_SPAN;
        // 1008 pages to the end of the first table, 3 more tables of pages,
        // and 3 new tables; 12 pages below the old top are still promised.
        let pages = (4 * TABLE_SPAN - GROWTH_STEP) / PAGE_SIZE;
        assert_eq!(heap.frames_to_grow(new_top), pages + 3);
        assert!(heap.can_grow(new_top, pages + 3 + 12));
        assert!(!heap.can_grow(new_top, pages + 3 + 11));
        assert_eq!(
            window(GROWTH_STEP, 16).frames_to_grow(HEAP_START + GROWTH_STEP),
            0
        );
    }
}
