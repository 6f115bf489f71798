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
//! yet is a frame the heap may still ask for, and so is every page of a
//! large allocation not touched yet (`large_allocations` promises them with
//! `promise`, and `settle`s as they get frames). So the top only moves
//! while `free frames >= promised pages + new pages + new page tables`
//! ([`HeapWindow::can_grow`]). When frames run out, the
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

/// The heap's range, how much of it is in use and mapped, and what is
/// promised: a snapshot of the heap's bookkeeping (the kernel keeps it in
/// atomics, because the fault handler reads it while the grower runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapWindow {
    pub start: usize,
    pub end: usize,
    /// `start..top` is the heap's region. The page tables for it exist.
    pub top: usize,
    /// Pages below `top` that have a frame.
    pub mapped_pages: usize,
    /// Frames promised to others than the heap's region (the large
    /// allocations): pages they may still fault in.
    pub promised_elsewhere: usize,
}

impl HeapWindow {
    /// Pages below `top` that have no frame yet: frames promised to the heap.
    pub fn promised_pages(&self) -> usize {
        (self.top - self.start).div_ceil(PAGE_SIZE) - self.mapped_pages
    }

    /// The top after growing by at least `bytes`, rounded up to a
    /// [`GROWTH_STEP`]; `None` past the end of the range (or past the end
    /// of the address space).
    pub fn grown_top(&self, bytes: usize) -> Option<usize> {
        // LAB 3.4 BEGIN: top + bytes, rounded up to a multiple of GROWTH_STEP, without overflowing (checked_add, checked_next_multiple_of); None past `end`
        let top = self
            .top
            .checked_add(bytes)?
            .checked_next_multiple_of(GROWTH_STEP)?;
        (top <= self.end).then_some(top)
        // LAB END
    }

    /// Whether `free_frames` can back every promise made so far — the
    /// heap's ([`promised_pages`](Self::promised_pages)) and others'
    /// ([`promised_elsewhere`](Self::promised_elsewhere)) — and the growth
    /// to `new_top`: one frame for each new page, and one for each page
    /// table the new pages need (a table covers [`TABLE_SPAN`] from
    /// `start`; those below `top` exist). Tables are taken at once, so a
    /// fault never needs a frame for one.
    pub fn can_grow(&self, new_top: usize, free_frames: usize) -> bool {
        // LAB 3.4 BEGIN: count the new pages (top..new_top) and the new tables (tables up to new_top less tables up to top, each TABLE_SPAN from start, rounded up); every promise so far plus those must fit in free_frames
        let tables = |top: usize| (top - self.start).div_ceil(TABLE_SPAN);
        let pages = (new_top - self.top).div_ceil(PAGE_SIZE);
        let needed = self.promised_pages()
            + self.promised_elsewhere
            + pages
            + (tables(new_top) - tables(self.top));
        needed <= free_frames
        // LAB END
    }

    /// Whether `free_frames` can back every promise made so far and
    /// `pages` more, promised to someone besides the heap's region.
    pub fn can_promise(&self, pages: usize, free_frames: usize) -> bool {
        // LAB 3.4 BEGIN: every promise so far (the heap's and elsewhere) plus `pages` must fit in free_frames, without overflowing
        (self.promised_pages() + self.promised_elsewhere)
            .checked_add(pages)
            .is_some_and(|needed| needed <= free_frames)
        // LAB END
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
            promised_elsewhere: PROMISED_ELSEWHERE.load(Ordering::Relaxed),
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

    /// Why a heap page could not be brought in.
    #[derive(Debug, Clone, Copy)]
    pub struct FaultInError {
        page: Page,
        reason: &'static str,
    }

    /// Promises `pages` frames to someone besides the heap's region, if the
    /// free frames cover every promise made so far and these too
    /// ([`HeapWindow::can_promise`]). One promise for everything that
    /// faults pages in: the heap's growth checks it as well.
    pub fn promise(pages: usize) -> bool {
        // LAB 3.4 BEGIN: count the free frames (setup::try_frames; locked: no promise); if window().can_promise, add the pages to PROMISED_ELSEWHERE; say whether it did
        let Some(free_frames) = setup::try_frames().map(|frames| frames.counts().free) else {
            return false;
        };
        let enough = window().can_promise(pages, free_frames);
        if enough {
            PROMISED_ELSEWHERE.fetch_add(pages, Ordering::Relaxed);
        }
        enough
        // LAB END
    }

    /// `pages` promised with [`promise`] got their frames, or are not
    /// wanted any more.
    pub fn settle(pages: usize) {
        PROMISED_ELSEWHERE.fetch_sub(pages, Ordering::Relaxed);
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

    /// Demand paging's one step: maps a fresh, zeroed frame at `page`,
    /// writable and owned by the mapping (so `unmap_owned` gives it back).
    /// The heap, the large allocations and the guard pages all bring pages
    /// in with it.
    ///
    /// It runs in the page-fault handler, maybe while the code that faulted
    /// holds the frame allocator or the page tables: so it only *tries* to
    /// take their locks, and fails rather than waits (a wait would never
    /// end).
    pub fn fault_in_page(page: Page) -> Result<(), FaultInError> {
        // LAB 3.3 BEGIN: take a frame for Owner::Heap from setup::try_frames() (a try-lock: None means locked); map it writable and owned with kernel_space::map_owned (a try-lock too), giving the frame back if that fails; zero the page; every failure is a FaultInError that says why
        let error = |reason| FaultInError { page, reason };
        let frame = setup::try_frames()
            .ok_or(error(
                "the frame allocator is locked by the code that faulted",
            ))?
            .allocate(Owner::Heap)
            .map_err(|_| error("no free frame (another user took the promised frames)"))?;
        if let Err(reason) = kernel_space::map_owned(page, frame, PTFlags::RW) {
            if let Some(mut frames) = setup::try_frames() {
                let _ = frames.free(frame, Owner::Heap);
            }
            return Err(error(reason));
        }
        // SAFETY: the page was just mapped, writable, to a frame nobody else
        // has; zeroing it hides whatever the frame held before.
        unsafe { core::ptr::write_bytes(page.start().as_usize() as *mut u8, 0, PAGE_SIZE) };
        Ok(())
        // LAB END
    }

    /// A demand fault in the heap's region: brings the page of `address`
    /// in, and counts it (`mapped=` and `faults=` in the `heap` line).
    pub fn fault_in(address: VirtAddr) -> Result<(), FaultInError> {
        fault_in_page(Page::containing(address))?;
        MAPPED_PAGES.fetch_add(1, Ordering::Relaxed);
        FAULTS.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The heap's grower: moves the top if the heap can use it and the
    /// frames to back it are there. Runs with the heap locked, so it must
    /// not allocate.
    ///
    /// The page tables for the new pages are made *before* the top moves,
    /// so that a fault below the top never needs a frame for a table; and
    /// the top moves *before* the heap extends into the new bytes, because
    /// extending writes block headers there, and those writes fault: the
    /// handler must find them below the top.
    fn grow(heap: &mut KernelHeap, layout: Layout) -> bool {
        // LAB 3.4 BEGIN: ask the heap how much it must grow (growth_for); the new top (window().grown_top); the free frames (setup::try_frames: a try-lock, the frame allocator may be locked by the allocating code); refuse unless can_grow; make the tables (kernel_space::ensure_tables); move TOP, then extend_top (on failure put TOP back); count it in GROWTHS
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
        if !current.can_grow(new_top, free_frames)
            || kernel_space::ensure_tables(VirtAddr::new(current.top), VirtAddr::new(new_top))
                .is_err()
        {
            return false;
        }
        TOP.store(new_top, Ordering::Relaxed);
        // SAFETY: current.top..new_top is inside the heap's reserved range,
        // used by nothing else; its frames are promised (checked above).
        if unsafe { heap.extend_top(new_top - current.top) }.is_err() {
            TOP.store(current.top, Ordering::Relaxed);
            return false;
        }
        GROWTHS.fetch_add(1, Ordering::Relaxed);
        true
        // LAB END
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
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn window(top_offset: usize, mapped_pages: usize) -> HeapWindow {
        HeapWindow {
            start: HEAP_START,
            end: HEAP_END,
            top: HEAP_START + top_offset,
            mapped_pages,
            promised_elsewhere: 0,
        }
    }

    /// Foundations.
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
        assert_eq!(
            heap.grown_top(usize::MAX - HEAP_START - GROWTH_STEP),
            None,
            "no overflow when rounding up"
        );
    }

    #[test]
    fn growing_needs_frames_for_pages_tables_and_promises() {
        let heap = window(GROWTH_STEP, 4);
        let new_top = HEAP_START + 4 * TABLE_SPAN;
        // 1008 pages to the end of the first table, 3 more tables of pages,
        // and 3 new tables; 12 pages below the old top are still promised.
        let pages = (4 * TABLE_SPAN - GROWTH_STEP) / PAGE_SIZE;
        assert!(heap.can_grow(new_top, pages + 3 + 12));
        assert!(!heap.can_grow(new_top, pages + 3 + 11));
        // Promises made elsewhere count too.
        let shared = HeapWindow {
            promised_elsewhere: 5,
            ..heap
        };
        assert!(shared.can_grow(new_top, pages + 3 + 12 + 5));
        assert!(!shared.can_grow(new_top, pages + 3 + 12 + 4));
        // A step within the first table needs no table.
        let step = heap.top + GROWTH_STEP;
        assert!(heap.can_grow(step, 16 + 12));
        assert!(!heap.can_grow(step, 16 + 11));
        // Nothing new and nothing promised: no frame needed.
        assert!(window(GROWTH_STEP, 16).can_grow(HEAP_START + GROWTH_STEP, 0));
    }

    #[test]
    fn a_promise_must_leave_every_earlier_promise_covered() {
        let heap = HeapWindow {
            promised_elsewhere: 100,
            ..window(GROWTH_STEP, 6)
        };
        // 10 pages of the heap and 100 elsewhere are promised already.
        assert!(heap.can_promise(40, 150));
        assert!(!heap.can_promise(41, 150));
        assert!(heap.can_promise(0, 110));
        assert!(!heap.can_promise(0, 109), "broken already: nothing more");
        assert!(!heap.can_promise(usize::MAX, usize::MAX), "no overflow");
    }

    /// The range for the property test: 12 MiB, three page tables.
    const SMALL_END: usize = HEAP_START + 3 * TABLE_SPAN;

    /// One event in the life of the heap's range.
    #[derive(Debug, Clone)]
    enum Event {
        /// The heap asks to grow by this many bytes.
        Grow(usize),
        /// A fault brings in one of the promised heap pages.
        FaultIn(usize),
        /// Someone besides the heap asks for a promise of this many pages.
        Promise(usize),
        /// Pages promised elsewhere get their frames (faults in a run).
        Settle(usize),
        /// Pages promised elsewhere are not wanted any more (a run freed).
        Release(usize),
        /// Someone who does not know about the promise takes frames
        /// (`frame alloc`), or gives some back.
        Take(usize),
        GiveBack(usize),
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            3 => (1usize..(2 << 20)).prop_map(Event::Grow),
            4 => any::<usize>().prop_map(Event::FaultIn),
            2 => (0..600usize).prop_map(Event::Promise),
            2 => (1..200usize).prop_map(Event::Settle),
            1 => (1..200usize).prop_map(Event::Release),
            1 => (1..100usize).prop_map(Event::Take),
            1 => (1..300usize).prop_map(Event::GiveBack),
        ]
    }

    /// The range page by page: which pages are below the top and which of
    /// those have a frame, which page tables exist, and the frames.
    struct Model {
        top: usize,
        mapped: BTreeSet<usize>,
        tables: BTreeSet<usize>,
        free: usize,
        elsewhere: usize,
        /// Frames were taken behind the promise's back: it may be broken.
        taken: bool,
    }

    impl Model {
        /// Pages below the top without a frame: each is a frame owed.
        fn unmapped_below_top(&self) -> Vec<usize> {
            (0..(self.top - HEAP_START) / PAGE_SIZE)
                .filter(|page| !self.mapped.contains(page))
                .collect()
        }

        fn promised(&self) -> usize {
            self.unmapped_below_top().len() + self.elsewhere
        }

        fn window(&self) -> HeapWindow {
            HeapWindow {
                start: HEAP_START,
                end: SMALL_END,
                top: self.top,
                mapped_pages: self.mapped.len(),
                promised_elsewhere: self.elsewhere,
            }
        }
    }

    proptest! {
        /// Lab 3.4: growth and promises against a model that counts page
        /// by page. The window must grant exactly what the frames can
        /// back, and then, unless someone took frames behind the
        /// promise's back, every promised page can still get a frame.
        #[test]
        fn the_promise_matches_a_model(
            free in 0..3000usize,
            events in prop::collection::vec(event(), 1..80),
        ) {
            let mut model = Model {
                top: HEAP_START,
                mapped: BTreeSet::new(),
                tables: BTreeSet::new(),
                free,
                elsewhere: 0,
                taken: false,
            };
            for event in events {
                let window = model.window();
                match event {
                    Event::Grow(bytes) => {
                        let steps = (model.top - HEAP_START + bytes).div_ceil(GROWTH_STEP);
                        let expected = Some(HEAP_START + steps * GROWTH_STEP)
                            .filter(|&top| top <= SMALL_END);
                        prop_assert_eq!(window.grown_top(bytes), expected);
                        let Some(new_top) = expected else { continue };
                        let new_tables: Vec<usize> = (0..(new_top - HEAP_START).div_ceil(TABLE_SPAN))
                            .filter(|table| !model.tables.contains(table))
                            .collect();
                        let new_pages = (new_top - model.top) / PAGE_SIZE;
                        let granted = model.free >= model.promised() + new_pages + new_tables.len();
                        prop_assert_eq!(window.can_grow(new_top, model.free), granted, "{:?}", window);
                        if granted {
                            model.free -= new_tables.len();
                            model.tables.extend(new_tables);
                            model.top = new_top;
                        }
                    }
                    Event::FaultIn(choice) => {
                        let owed = model.unmapped_below_top();
                        if owed.is_empty() {
                            continue;
                        }
                        prop_assert!(model.taken || model.free > 0, "a promised page found no frame");
                        if model.free > 0 {
                            model.free -= 1;
                            model.mapped.insert(owed[choice % owed.len()]);
                        }
                    }
                    Event::Promise(pages) => {
                        let granted = model.free >= model.promised() + pages;
                        prop_assert_eq!(window.can_promise(pages, model.free), granted, "{:?}", window);
                        if granted {
                            model.elsewhere += pages;
                        }
                    }
                    Event::Settle(pages) => {
                        let pages = pages.min(model.elsewhere);
                        prop_assert!(model.taken || model.free >= pages, "a promised page found no frame");
                        let pages = pages.min(model.free);
                        model.elsewhere -= pages;
                        model.free -= pages;
                    }
                    Event::Release(pages) => model.elsewhere -= pages.min(model.elsewhere),
                    Event::Take(frames) => {
                        let frames = frames.min(model.free);
                        model.free -= frames;
                        model.taken |= frames > 0;
                    }
                    Event::GiveBack(frames) => model.free += frames,
                }
                prop_assert!(model.taken || model.free >= model.promised(), "the promise broke");
            }
        }
    }
}
