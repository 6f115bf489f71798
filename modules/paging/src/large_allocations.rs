//! Large allocations, page by page: the kernel's `vmalloc`.
//!
//! A request of [`THRESHOLD`] bytes or more does not go to the heap at
//! all. It gets a *run* of pages of its own in the upper half of the heap's
//! range ([`LARGE_START`]..[`LARGE_END`]), rounded up to whole pages and
//! followed by one unmapped guard page:
//!
//! ```text
//!  LARGE_START                                                  LARGE_END
//!  |[M][M][ ][ ]|g|[M][ ][ ][ ][ ][ ][ ][ ]|g|          free           |
//!   run: 4 pages    run: 8 pages (16 MiB would be 4096)
//!   M = touched (a frame behind it), [ ] = not touched yet, g = guard page
//! ```
//!
//! - **Frames on demand.** A run is only *addresses* at first. Each page
//!   gets a frame when it is first touched, by the same page-fault path as
//!   the heap, and the frames it may still need are *promised* (see
//!   `growing_heap`), so a fault never finds the frames gone.
//! - **Exact to the page.** 16 MiB is 4096 pages, not the 8192 a buddy
//!   block would round it to; at most one page minus a byte is lost.
//! - **Growing without copying.** `realloc` to a larger size maps more
//!   pages after the run, if the addresses up to the next run are free.
//! - **Freeing gives everything back.** Every page is unmapped and its
//!   frame returned at once; the heap could only keep the memory for its
//!   next blocks.
//!
//! Why 64 KiB? Rounding to pages loses up to 4 KiB per allocation, a page
//! is at least one fault, and a run takes at least two pages of addresses.
//! At 64 KiB, rounding costs at most 1/16 of the request and the heap no
//! longer holds blocks that size; `make bench`'s `large` workload measures
//! both ways (docs/benchmarks.md).
//!
//! [`PageRuns`] is the bookkeeping alone — which addresses each run has,
//! where a new one fits — plain arithmetic, tested on the host against a
//! model; the kernel side maps, unmaps and keeps the promise.

use crate::address::PAGE_SIZE;
pub use crate::layout::{LARGE_END, LARGE_START};
use memory::heap::HeapError;

/// Requests of at least this many bytes get a run of pages.
pub const THRESHOLD: usize = 64 << 10;
/// At most this many runs are live at once.
pub const MAX_RUNS: usize = 256;
/// Unmapped pages after each run: an overrun faults instead of writing
/// into the next run.
pub const GUARD_PAGES: usize = 1;

/// One run: its first address, its pages, and the bytes asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub start: usize,
    pub pages: usize,
    pub size: usize,
}

impl Run {
    pub fn end(&self) -> usize {
        self.start + self.pages * PAGE_SIZE
    }

    /// The end of the run and its guard: where the next run may start.
    fn reach(&self) -> usize {
        self.end() + GUARD_PAGES * PAGE_SIZE
    }
}

/// Pages for `size` bytes (at least one).
pub fn pages_for(size: usize) -> usize {
    size.div_ceil(PAGE_SIZE).max(1)
}

/// The live runs, sorted by address, in `[start, end)`.
pub struct PageRuns {
    start: usize,
    end: usize,
    runs: [Run; MAX_RUNS],
    len: usize,
}

/// What a resize did: the run before and after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resized {
    pub old: Run,
    pub new: Run,
}

/// What the runs need from paging: the kernel's page tables and frames,
/// or a double of them on the host.
pub trait PageBacking {
    /// Promises frames for `pages` more pages that may be touched later;
    /// `false` if the free frames do not cover it (nothing promised).
    fn promise(&mut self, pages: usize) -> bool;

    /// The pages `[from, to)` are not wanted any more: unmap those that
    /// were touched and give their frames back, and take back the promise
    /// for the others.
    fn release(&mut self, from: usize, to: usize);

    /// Takes back a promise of `pages` that were never part of a run.
    fn release_promise(&mut self, pages: usize);
}

impl PageRuns {
    pub const fn new(start: usize, end: usize) -> Self {
        Self {
            start,
            end,
            runs: [Run {
                start: 0,
                pages: 0,
                size: 0,
            }; MAX_RUNS],
            len: 0,
        }
    }

    pub fn runs(&self) -> &[Run] {
        &self.runs[..self.len]
    }

    /// Live runs, their pages, and the bytes asked for.
    pub fn totals(&self) -> (usize, usize, usize) {
        let runs = self.runs();
        let pages = runs.iter().map(|run| run.pages).sum();
        let bytes = runs.iter().map(|run| run.size).sum();
        (runs.len(), pages, bytes)
    }

    /// First fit: the lowest gap that holds the pages and a guard. Records
    /// the run and returns it, or `None` if no gap is large enough (or all
    /// [`MAX_RUNS`] are in use).
    pub fn place(&mut self, size: usize) -> Option<Run> {
        let pages = pages_for(size);
        let needed = pages.checked_add(GUARD_PAGES)?.checked_mul(PAGE_SIZE)?;
        if self.len == MAX_RUNS {
            return None;
        }
        let mut from = self.start;
        let mut index = 0;
        for run in self.runs() {
            if run.start - from >= needed {
                break;
            }
            from = run.reach();
            index += 1;
        }
        if self.end.checked_sub(from)? < needed {
            return None;
        }
        let run = Run {
            start: from,
            pages,
            size,
        };
        self.runs.copy_within(index..self.len, index + 1);
        self.runs[index] = run;
        self.len += 1;
        Some(run)
    }

    fn index_of(&self, start: usize) -> Option<usize> {
        self.runs()
            .binary_search_by_key(&start, |run| run.start)
            .ok()
    }

    /// The run that starts at `start`: a pointer this handed out.
    pub fn starting_at(&self, start: usize) -> Option<Run> {
        self.index_of(start).map(|index| self.runs[index])
    }

    /// The run whose pages hold `address` (not its guard page).
    pub fn containing(&self, address: usize) -> Option<Run> {
        let index = self.runs().partition_point(|run| run.start <= address);
        let run = self.runs[..self.len].get(index.checked_sub(1)?)?;
        (address < run.end()).then_some(*run)
    }

    /// Forgets the run that starts at `start`, and returns it.
    pub fn remove(&mut self, start: usize) -> Option<Run> {
        let index = self.index_of(start)?;
        let run = self.runs[index];
        self.runs.copy_within(index + 1..self.len, index);
        self.len -= 1;
        Some(run)
    }

    /// Resizes the run at `start` to `size` bytes without moving it: fewer
    /// pages, or more if the addresses after it (up to the next run's, or
    /// the end, less a guard) are free. `None`: it cannot; nothing changed.
    pub fn resize(&mut self, start: usize, size: usize) -> Option<Resized> {
        let index = self.index_of(start)?;
        let old = self.runs[index];
        let pages = pages_for(size);
        let limit = self.runs[..self.len]
            .get(index + 1)
            .map_or(self.end, |next| next.start);
        let new_reach = pages
            .checked_add(GUARD_PAGES)?
            .checked_mul(PAGE_SIZE)?
            .checked_add(start)?;
        if pages > old.pages && new_reach > limit {
            return None;
        }
        let new = Run { start, pages, size };
        self.runs[index] = new;
        Some(Resized { old, new })
    }
}

impl PageRuns {
    /// A run for `size` bytes, with frames promised for all its pages.
    pub fn allocate(
        &mut self, backing: &mut impl PageBacking, size: usize,
    ) -> Result<Run, HeapError> {
        let pages = pages_for(size);
        let refused = out_of_memory(size);
        if !backing.promise(pages) {
            return Err(refused);
        }
        self.place(size).ok_or_else(|| {
            backing.release_promise(pages);
            refused
        })
    }

    /// Frees the run at `start`: every frame comes back.
    pub fn free(&mut self, backing: &mut impl PageBacking, start: usize) -> Result<Run, HeapError> {
        let run = self.remove(start).ok_or_else(|| self.refusal(start))?;
        backing.release(run.start, run.end());
        Ok(run)
    }

    /// Resizes the run at `start` in place: more pages are promised, fewer
    /// are released. Fails, changing nothing, if the pages after it are
    /// not free or not enough frames are.
    pub fn resize_in_place(
        &mut self, backing: &mut impl PageBacking, start: usize, size: usize,
    ) -> Result<Resized, HeapError> {
        let old = self.starting_at(start).ok_or_else(|| self.refusal(start))?;
        let more = pages_for(size).saturating_sub(old.pages);
        if more > 0 && !backing.promise(more) {
            return Err(out_of_memory(size));
        }
        let Some(resized) = self.resize(start, size) else {
            backing.release_promise(more);
            return Err(out_of_memory(size));
        };
        if resized.new.pages < resized.old.pages {
            backing.release(resized.new.end(), resized.old.end());
        }
        Ok(resized)
    }

    /// Why `address` is not the start of a live run: inside one, or not
    /// in one at all (freed already, or never handed out).
    fn refusal(&self, address: usize) -> HeapError {
        match self.containing(address) {
            Some(_) => HeapError::InvalidPointer { address },
            None => HeapError::DoubleFree { address },
        }
    }
}

fn out_of_memory(size: usize) -> HeapError {
    HeapError::OutOfMemory {
        size,
        align: PAGE_SIZE,
    }
}

#[cfg(target_os = "none")]
pub use kernel_side::*;

#[cfg(target_os = "none")]
mod kernel_side {
    use super::*;
    use crate::address::{Page, VirtAddr};
    use crate::growing_heap;
    use crate::kernel_space;
    use core::alloc::Layout;
    use core::fmt::{self, Write};
    use core::ptr::NonNull;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use memory::frames::Owner;
    use memory::heap::{LargeAllocations, MAX_ALIGN};
    use memory::kernel::sync::IrqMutex;
    use memory::kernel_heap::{self, HEAP};
    use memory::setup;

    static RUNS: IrqMutex<PageRuns> = IrqMutex::new(PageRuns::new(LARGE_START, LARGE_END));
    /// Pages of runs that have a frame.
    static MAPPED: AtomicUsize = AtomicUsize::new(0);

    /// The page runs, as the heap's [`LargeAllocations`].
    pub struct PageRunAllocations;

    static SERVICE: PageRunAllocations = PageRunAllocations;

    /// Makes the page tables for the whole range now (so that runs never
    /// need a frame for a table, and freeing one gives back every frame it
    /// took), and sends large requests here from now on.
    pub fn init() {
        if let Err(error) =
            kernel_space::ensure_tables(VirtAddr::new(LARGE_START), VirtAddr::new(LARGE_END))
        {
            panic!("cannot make page tables for large allocations: {error}");
        }
        HEAP.set_large(&SERVICE);
        kernel_heap::extend_summary(summary);
        setup::count_kernel_frames_with(kernel_frames);
    }

    /// The live runs, copied out (for `pages` and `heap`).
    pub fn snapshot() -> ([Run; MAX_RUNS], usize) {
        let runs = RUNS.lock();
        let mut copy = [Run {
            start: 0,
            pages: 0,
            size: 0,
        }; MAX_RUNS];
        copy[..runs.runs().len()].copy_from_slice(runs.runs());
        (copy, runs.runs().len())
    }

    /// The frames the kernel holds: the heap's (as `growing_heap` counts
    /// them) and the touched pages of large allocations.
    fn kernel_frames() -> usize {
        growing_heap::kernel_frames() + mapped_pages()
    }

    /// Pages of runs that have a frame now.
    pub fn mapped_pages() -> usize {
        MAPPED.load(Ordering::Relaxed)
    }

    /// Whether a fault at `address` is in a live run's pages. Never waits
    /// for the lock: a fault while it is held (which the code below never
    /// allows) is not served.
    pub fn serves(address: VirtAddr) -> bool {
        RUNS.try_lock()
            .is_some_and(|runs| runs.containing(address.as_usize()).is_some())
    }

    /// Demand paging for a run: a fresh, zeroed frame at `address`'s page
    /// (`growing_heap::fault_in_page`). Its frame was promised when the
    /// run was made, so the promise is settled.
    pub fn fault_in(address: VirtAddr) -> Result<(), growing_heap::FaultInError> {
        growing_heap::fault_in_page(Page::containing(address))?;
        MAPPED.fetch_add(1, Ordering::Relaxed);
        growing_heap::settle(1);
        Ok(())
    }

    /// The kernel's page tables and frames, with chapter 3's one promise.
    struct KernelBacking;

    impl PageBacking for KernelBacking {
        fn promise(&mut self, pages: usize) -> bool {
            growing_heap::promise(pages)
        }

        fn release(&mut self, from: usize, to: usize) {
            for address in (from..to).step_by(PAGE_SIZE) {
                let page = Page::containing(VirtAddr::new(address));
                if kernel_space::translate(page.start()).is_err() {
                    growing_heap::settle(1);
                    continue;
                }
                // Fails only if the page tables or the frame allocator are
                // locked by whoever is freeing (nothing that holds them
                // frees a large block). Then the page stays mapped, or its
                // frame is lost: said loudly, and counted as it is.
                if let Err(reason) = kernel_space::unmap_owned(page, Owner::Heap) {
                    log::error!("large allocations: page {page:#010x} not given back: {reason}");
                }
                if kernel_space::translate(page.start()).is_err() {
                    MAPPED.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }

        fn release_promise(&mut self, pages: usize) {
            growing_heap::settle(pages);
        }
    }

    impl LargeAllocations for PageRunAllocations {
        fn threshold(&self) -> usize {
            THRESHOLD
        }

        fn owns(&self, address: usize) -> bool {
            (LARGE_START..LARGE_END).contains(&address)
        }

        fn allocate(&self, layout: Layout) -> Result<NonNull<u8>, HeapError> {
            if layout.align() > MAX_ALIGN {
                return Err(HeapError::AlignmentTooLarge {
                    align: layout.align(),
                });
            }
            let run = RUNS.lock().allocate(&mut KernelBacking, layout.size())?;
            Ok(NonNull::new(run.start as *mut u8).expect("runs are never at 0"))
        }

        fn deallocate(&self, pointer: NonNull<u8>) -> Result<(), HeapError> {
            let address = pointer.as_ptr() as usize;
            RUNS.lock().free(&mut KernelBacking, address).map(|_| ())
        }

        fn resize_in_place(&self, pointer: NonNull<u8>, new_size: usize) -> Result<(), HeapError> {
            let address = pointer.as_ptr() as usize;
            RUNS.lock()
                .resize_in_place(&mut KernelBacking, address, new_size)
                .map(|_| ())
        }

        fn usable_size(&self, pointer: NonNull<u8>) -> Result<usize, HeapError> {
            let address = pointer.as_ptr() as usize;
            let runs = RUNS.lock();
            let run = runs
                .starting_at(address)
                .ok_or_else(|| runs.refusal(address))?;
            Ok(run.pages * PAGE_SIZE)
        }
    }

    /// The `heap:` line gains what paging adds: the heap's window, then the
    /// large allocations.
    fn summary(line: &mut dyn Write) -> fmt::Result {
        growing_heap::summary(line)?;
        let (runs, pages, bytes) = RUNS.lock().totals();
        write!(
            line,
            " large={runs} large_bytes={bytes} large_pages={pages} large_mapped={}",
            mapped_pages()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// A page-table double: a page has a frame (its bytes) once written;
    /// frames promised and not yet taken are counted.
    struct SimulatedSpace {
        frames: usize,
        promised: usize,
        pages: BTreeMap<usize, Box<[u8; PAGE_SIZE]>>,
    }

    impl SimulatedSpace {
        fn new(frames: usize) -> Self {
            Self {
                frames,
                promised: 0,
                pages: BTreeMap::new(),
            }
        }

        /// Writes `byte` at `address`, faulting the page in on first touch
        /// (which must find its frame promised).
        fn write(&mut self, address: usize, byte: u8) {
            let page = address - address % PAGE_SIZE;
            if !self.pages.contains_key(&page) {
                assert!(self.promised > 0, "a fault with no frame promised");
                self.promised -= 1;
                self.pages.insert(page, Box::new([0; PAGE_SIZE]));
            }
            self.pages.get_mut(&page).unwrap()[address % PAGE_SIZE] = byte;
        }

        fn read(&self, address: usize) -> u8 {
            let page = address - address % PAGE_SIZE;
            self.pages
                .get(&page)
                .map_or(0, |bytes| bytes[address % PAGE_SIZE])
        }

        fn free_frames(&self) -> usize {
            self.frames - self.pages.len()
        }
    }

    impl PageBacking for SimulatedSpace {
        fn promise(&mut self, pages: usize) -> bool {
            let enough = self.promised + pages <= self.free_frames();
            if enough {
                self.promised += pages;
            }
            enough
        }

        fn release(&mut self, from: usize, to: usize) {
            for page in (from..to).step_by(PAGE_SIZE) {
                if self.pages.remove(&page).is_none() {
                    self.promised -= 1;
                }
            }
        }

        fn release_promise(&mut self, pages: usize) {
            self.promised -= pages;
        }
    }

    const START: usize = 0x1000_0000;
    const END: usize = START + (64 << 20);

    #[test]
    fn sixteen_mib_is_4096_pages_and_all_come_back() {
        let mut space = SimulatedSpace::new(5000);
        let mut runs = PageRuns::new(START, END);
        let run = runs.allocate(&mut space, 16 << 20).unwrap();
        assert_eq!((run.start, run.pages), (START, 4096));
        for page in (run.start..run.end()).step_by(PAGE_SIZE) {
            space.write(page, 1);
        }
        assert_eq!(space.pages.len(), 4096, "one frame per page, not 8192");
        assert_eq!(space.promised, 0);
        runs.free(&mut space, run.start).unwrap();
        assert_eq!((space.pages.len(), space.promised), (0, 0));
        assert_eq!(
            runs.free(&mut space, run.start),
            Err(HeapError::DoubleFree { address: START })
        );
    }

    #[test]
    fn no_promise_without_frames_and_nothing_changes() {
        let mut space = SimulatedSpace::new(100);
        let mut runs = PageRuns::new(START, END);
        assert!(matches!(
            runs.allocate(&mut space, 101 * PAGE_SIZE),
            Err(HeapError::OutOfMemory { .. })
        ));
        let run = runs.allocate(&mut space, 60 * PAGE_SIZE).unwrap();
        assert!(
            runs.allocate(&mut space, 41 * PAGE_SIZE).is_err(),
            "60 are promised"
        );
        assert!(runs
            .resize_in_place(&mut space, run.start, 101 * PAGE_SIZE)
            .is_err());
        assert_eq!((runs.runs().len(), space.promised), (1, 60));
    }

    #[test]
    fn runs_keep_a_guard_page_and_grow_only_into_free_addresses() {
        let mut space = SimulatedSpace::new(10_000);
        let mut runs = PageRuns::new(START, END);
        let first = runs.allocate(&mut space, THRESHOLD).unwrap();
        let second = runs.allocate(&mut space, THRESHOLD + 1).unwrap();
        assert_eq!(
            second.start,
            first.end() + PAGE_SIZE,
            "one guard page between"
        );
        assert_eq!(second.pages, pages_for(THRESHOLD) + 1, "exact to the page");
        assert!(
            runs.resize_in_place(&mut space, first.start, THRESHOLD + 1)
                .is_err(),
            "the second is in the way"
        );
        let grown = runs
            .resize_in_place(&mut space, second.start, 4 * THRESHOLD)
            .unwrap();
        assert_eq!(grown.new.start, second.start);
        assert_eq!(
            runs.containing(first.end()),
            None,
            "the guard page is no one's"
        );
        assert_eq!(runs.containing(first.end() - 1), Some(first));
        assert_eq!(
            runs.free(&mut space, first.start + PAGE_SIZE),
            Err(HeapError::InvalidPointer {
                address: first.start + PAGE_SIZE
            })
        );
        runs.free(&mut space, first.start).unwrap();
        let third = runs.allocate(&mut space, THRESHOLD).unwrap();
        assert_eq!(third.start, first.start, "first fit reuses the gap");
    }

    #[derive(Debug, Clone)]
    enum Operation {
        Allocate {
            pages: usize,
            extra: usize,
        },
        Free {
            index: usize,
        },
        Resize {
            index: usize,
            pages: usize,
        },
        /// A resize by a few pages: tests the edges (a gap of exactly the
        /// guard page, the range's end).
        Nudge {
            index: usize,
            delta: isize,
        },
        Touch {
            index: usize,
            page: usize,
        },
    }

    fn operation() -> impl Strategy<Value = Operation> {
        prop_oneof![
            3 => (1usize..300, 0usize..PAGE_SIZE).prop_map(|(pages, extra)| Operation::Allocate { pages, extra }),
            2 => any::<usize>().prop_map(|index| Operation::Free { index }),
            2 => (any::<usize>(), 1usize..400).prop_map(|(index, pages)| Operation::Resize { index, pages }),
            2 => (any::<usize>(), -2isize..=3).prop_map(|(index, delta)| Operation::Nudge { index, delta }),
            3 => (any::<usize>(), any::<usize>()).prop_map(|(index, page)| Operation::Touch { index, page }),
        ]
    }

    /// A live allocation in the model: where, how big, and the byte each
    /// page it touched should hold.
    struct Live {
        start: usize,
        size: usize,
        written: BTreeMap<usize, u8>,
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Random allocate, free, resize (in place, or moved by copying as
        /// the heap would) and touch, against a model: contents kept, no
        /// overlap, guards respected, frames only for touched pages, and
        /// every frame and promise back at the end.
        #[test]
        fn page_runs_match_the_model(
            frames in 200usize..3000,
            operations in prop::collection::vec(operation(), 1..80),
        ) {
            let mut space = SimulatedSpace::new(frames);
            let mut runs = PageRuns::new(START, START + (8 << 20));
            let mut live: Vec<Live> = Vec::new();
            let mut next = 1u8;
            for operation in operations {
                match operation {
                    Operation::Allocate { pages, extra } => {
                        let size = (pages - 1) * PAGE_SIZE + extra + 1;
                        if let Ok(run) = runs.allocate(&mut space, size) {
                            prop_assert_eq!(run.pages, pages_for(size));
                            live.push(Live { start: run.start, size, written: BTreeMap::new() });
                        }
                    }
                    Operation::Free { index } if !live.is_empty() => {
                        let gone = live.swap_remove(index % live.len());
                        runs.free(&mut space, gone.start).unwrap();
                        prop_assert!(runs.free(&mut space, gone.start).is_err());
                    }
                    Operation::Resize { .. } | Operation::Nudge { .. } if !live.is_empty() => {
                        let (index, pages) = match operation {
                            Operation::Resize { index, pages } => (index % live.len(), pages),
                            Operation::Nudge { index, delta } => {
                                let index = index % live.len();
                                let pages = pages_for(live[index].size).saturating_add_signed(delta);
                                (index, pages.max(1))
                            }
                            _ => unreachable!(),
                        };
                        let size = pages * PAGE_SIZE;
                        let start = live[index].start;
                        match runs.resize_in_place(&mut space, start, size) {
                            Ok(resized) => prop_assert_eq!(resized.new.start, start),
                            // Moving, as `LockedHeap` does: a new run, the
                            // touched pages copied, the old run freed.
                            Err(_) => match runs.allocate(&mut space, size) {
                                Ok(new) => {
                                    let copied: Vec<_> = live[index].written.iter()
                                        .filter(|(&offset, _)| offset < size)
                                        .map(|(&offset, &byte)| (offset, byte)).collect();
                                    for &(offset, byte) in &copied {
                                        space.write(new.start + offset, byte);
                                    }
                                    runs.free(&mut space, start).unwrap();
                                    live[index].start = new.start;
                                    live[index].written = copied.into_iter().collect();
                                }
                                Err(_) => continue,
                            },
                        }
                        live[index].size = size;
                        live[index].written.retain(|&offset, _| offset < size);
                    }
                    Operation::Touch { index, page } if !live.is_empty() => {
                        let count = live.len();
                        let block = &mut live[index % count];
                        let offset = (page % pages_for(block.size)) * PAGE_SIZE + page % 7;
                        let offset = offset.min(block.size - 1);
                        space.write(block.start + offset, next);
                        block.written.insert(offset, next);
                        next = next.wrapping_add(1).max(1);
                    }
                    _ => {}
                }
                // Contents, sizes, no overlap, guards.
                let mut spans: Vec<(usize, usize)> = Vec::new();
                for block in &live {
                    let run = runs.starting_at(block.start).expect("live");
                    prop_assert_eq!(run.pages, pages_for(block.size));
                    for (&offset, &byte) in &block.written {
                        prop_assert_eq!(space.read(block.start + offset), byte);
                    }
                    spans.push((run.start, run.end() + GUARD_PAGES * PAGE_SIZE));
                }
                spans.sort_unstable();
                for pair in spans.windows(2) {
                    prop_assert!(pair[0].1 <= pair[1].0, "runs overlap or share a guard");
                }
                prop_assert_eq!(runs.runs().len(), live.len());
                // Frames: only touched pages of live runs; the rest promised.
                let pages: usize = live.iter().map(|block| pages_for(block.size)).sum();
                prop_assert!(space.pages.keys().all(|&page| runs.containing(page).is_some()));
                prop_assert_eq!(space.pages.len() + space.promised, pages);
            }
            for block in live {
                runs.free(&mut space, block.start).unwrap();
            }
            prop_assert_eq!((space.pages.len(), space.promised, runs.runs().len()), (0, 0, 0));
        }
    }
}
