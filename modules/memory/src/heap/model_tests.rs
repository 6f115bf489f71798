//! Property tests: every heap against a simple model.
//!
//! proptest generates random sequences of allocate / free / reallocate /
//! add-region operations (or, for the buddy heaps, growth at the top of
//! their region whenever an allocation fails). The model is just the list of live blocks with the
//! byte each was filled with. After every step the test checks:
//!
//! - every live block is aligned, at least as large as asked
//!   (`usable_size`), and overlaps no other live block;
//! - every live block still holds its fill byte (nobody wrote over it), and
//!   `reallocate` kept the old contents;
//! - the heap's own integrity check passes, and its statistics agree with
//!   the model (live allocations, requested bytes);
//! - a double free and a foreign pointer are refused without any change;
//!
//! and at the end, after freeing everything, the heap is back in exactly
//! its initial state (for the buddy heaps: one maximal block per region;
//! a grown heap is compared with a fresh one grown the same way).

use super::{
    BuddyHeap, BumpHeap, DebugHeap, DebugMode, Fit, Grow, HeapError, HeapStats, Inspect, PoolHeap,
    SlabHeap,
};
use core::alloc::Layout;
use core::ptr::NonNull;
use proptest::prelude::*;

/// Page-aligned memory on the host for a heap to manage.
pub struct Arena {
    start: *mut u8,
    layout: Layout,
}

impl Arena {
    pub fn new(len: usize) -> Self {
        let layout = Layout::from_size_align(len, 4096).unwrap();
        // SAFETY: the layout has a non-zero size.
        let start = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!start.is_null());
        Self { start, layout }
    }

    pub fn start(&self) -> usize {
        self.start as usize
    }

    pub fn len(&self) -> usize {
        self.layout.size()
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.start, self.layout) }
    }
}

#[derive(Debug, Clone)]
pub(in crate::heap) enum Operation {
    Allocate { size: usize, align_shift: u32 },
    Free { index: usize },
    Reallocate { index: usize, size: usize },
    AddRegion { len: usize },
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0usize..64, 3 => 64usize..1024, 1 => 1024usize..16384]
}

pub(in crate::heap) fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        6 => (size(), prop_oneof![6 => 0u32..=4, 1 => 5u32..=12])
            .prop_map(|(size, align_shift)| Operation::Allocate { size, align_shift }),
        4 => any::<usize>().prop_map(|index| Operation::Free { index }),
        3 => (any::<usize>(), size()).prop_map(|(index, size)| Operation::Reallocate { index, size }),
        1 => prop_oneof![Just(4096usize), Just(12288), Just(40000)]
            .prop_map(|len| Operation::AddRegion { len }),
    ]
}

struct Live {
    pointer: NonNull<u8>,
    layout: Layout,
    fill: u8,
}

fn fill(live: &Live) {
    // SAFETY: the block is live and at least `layout.size()` bytes.
    unsafe {
        live.pointer
            .as_ptr()
            .write_bytes(live.fill, live.layout.size())
    }
}

fn holds_fill(live: &Live, len: usize) -> bool {
    // SAFETY: as in `fill`, for `len <= layout.size()`.
    let bytes = unsafe { core::slice::from_raw_parts(live.pointer.as_ptr(), len) };
    bytes.iter().all(|&byte| byte == live.fill)
}

/// What a heap's own consistency check looks like.
type Check<H> = fn(&H) -> Result<(), HeapError>;

/// How the heap under test gets more memory when it runs out.
pub(in crate::heap) enum Growth<H> {
    /// Only through `AddRegion` operations.
    Regions,
    /// By `extend_top` when an allocation fails, up to this many bytes in
    /// all (chapter 3's demand-paged heap does this): a [`Grow`] heap.
    Top {
        limit: usize,
        growth_for: fn(&H, Layout) -> Option<usize>,
        extend_top: unsafe fn(&mut H, usize) -> Result<(), HeapError>,
    },
}

// Function pointers are `Copy` whatever `H` is (a derive would demand it
// of `H`).
impl<H> Clone for Growth<H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H> Copy for Growth<H> {}

/// Growth at the top of a heap that can, within `limit` bytes.
pub(in crate::heap) fn at_the_top<H: Grow>(limit: usize) -> Growth<H> {
    Growth::Top {
        limit,
        growth_for: H::growth_for,
        extend_top: H::extend_top,
    }
}

/// Gives back what a front end holds for later (empty slabs, the
/// quarantine), so that the heap beneath can be compared with a fresh one.
pub(in crate::heap) type Settle<H> = fn(&mut H);

/// Runs `operations` on a fresh heap of type `H` and checks it against the
/// model. `initial_len` is the first region's size. A heap with caches
/// (`settle` is `Some`) may give them back when an operation fails, so
/// then only the owners' figures must be unchanged.
pub(in crate::heap) fn run_against_model<H: Inspect + Default>(
    mut heap: H, check: Check<H>, initial_len: usize, growth: Growth<H>, operations: &[Operation],
    settle: Option<Settle<H>>,
) -> Result<(), TestCaseError> {
    let owners = |stats: HeapStats| (stats.allocations, stats.requested);
    let unchanged = |before: HeapStats, after: HeapStats| match settle {
        None => before == after,
        Some(_) => owners(before) == owners(after),
    };
    let arena_len = match growth {
        Growth::Regions => initial_len,
        Growth::Top { limit, .. } => limit,
    };
    let mut arenas = vec![Arena::new(arena_len)];
    // SAFETY: the arenas are kept until the heap is dropped at the end.
    unsafe { heap.add_region(arenas[0].start(), initial_len) }.unwrap();
    let mut initial: HeapStats = heap.stats();
    let mut growths = Vec::new();
    let mut live: Vec<Live> = Vec::new();
    let mut next_fill = 1u8;

    for operation in operations {
        match *operation {
            Operation::Allocate { size, align_shift } => {
                let layout = Layout::from_size_align(size, 1 << align_shift).unwrap();
                let mut before = heap.stats();
                let mut result = heap.allocate(layout);
                if let (
                    Err(HeapError::OutOfMemory { .. }),
                    Growth::Top {
                        limit,
                        growth_for,
                        extend_top,
                    },
                ) = (result, growth)
                {
                    if let Some(bytes) = growth_for(&heap, layout) {
                        if before.total + bytes <= limit {
                            // SAFETY: the arena is `limit` bytes long, and
                            // the heap stays within it (checked just above).
                            unsafe { extend_top(&mut heap, bytes) }
                                .map_err(|e| TestCaseError::fail(format!("extend_top: {e}")))?;
                            before = heap.stats();
                            prop_assert_eq!(before.total, initial.total + bytes);
                            growths.push(bytes);
                            initial = grown_stats::<H>(initial_len, limit, &growths, extend_top)?;
                            result = heap.allocate(layout);
                            prop_assert!(result.is_ok(), "no room after growing: {:?}", result);
                        }
                    }
                }
                match result {
                    Ok(pointer) => {
                        let block = Live {
                            pointer,
                            layout,
                            fill: next_fill,
                        };
                        next_fill = next_fill.wrapping_add(1).max(1);
                        fill(&block);
                        live.push(block);
                    }
                    Err(HeapError::OutOfMemory { .. }) => {
                        prop_assert!(
                            unchanged(before, heap.stats()),
                            "a failed allocation changed the heap"
                        );
                    }
                    Err(error) => return Err(TestCaseError::fail(format!("allocate: {error}"))),
                }
            }
            Operation::Free { index } if !live.is_empty() => {
                let block = live.swap_remove(index % live.len());
                prop_assert!(
                    holds_fill(&block, block.layout.size()),
                    "contents overwritten"
                );
                heap.deallocate(block.pointer, block.layout)
                    .map_err(|e| TestCaseError::fail(format!("free: {e}")))?;
                // A second free must be refused and change nothing.
                let before = heap.stats();
                let again = heap.deallocate(block.pointer, block.layout);
                prop_assert!(
                    matches!(
                        again,
                        Err(HeapError::DoubleFree { .. } | HeapError::InvalidPointer { .. })
                    ),
                    "double free accepted: {:?}",
                    again
                );
                prop_assert_eq!(heap.stats(), before);
            }
            Operation::Reallocate { index, size } if !live.is_empty() => {
                let index = index % live.len();
                let old = &live[index];
                let before = heap.stats();
                match heap.reallocate(old.pointer, old.layout, size) {
                    Ok(pointer) => {
                        let moved = Live {
                            pointer,
                            layout: old.layout,
                            fill: old.fill,
                        };
                        prop_assert!(
                            holds_fill(&moved, size.min(old.layout.size())),
                            "realloc lost data"
                        );
                        let layout = Layout::from_size_align(size, old.layout.align()).unwrap();
                        live[index] = Live {
                            pointer,
                            layout,
                            fill: old.fill,
                        };
                        fill(&live[index]);
                    }
                    Err(HeapError::OutOfMemory { .. }) => {
                        prop_assert!(
                            unchanged(before, heap.stats()),
                            "a failed realloc changed the heap"
                        );
                    }
                    Err(error) => return Err(TestCaseError::fail(format!("realloc: {error}"))),
                }
            }
            Operation::AddRegion { len }
                if arenas.len() < 4 && matches!(growth, Growth::Regions) =>
            {
                arenas.push(Arena::new(len));
                let arena = arenas.last().unwrap();
                let before = heap.stats();
                // SAFETY: the arena lives until the end of the test.
                unsafe { heap.add_region(arena.start(), len) }.unwrap();
                let after = heap.stats();
                prop_assert_eq!(after.total, before.total + len);
                // The state to return to now includes the new region's
                // free blocks (adding a region only ever adds free blocks).
                initial.total = after.total;
                initial.used += after.used - before.used;
                for (class, count) in initial.free_blocks.iter_mut().enumerate() {
                    *count += after.free_blocks[class] - before.free_blocks[class];
                }
            }
            _ => {}
        }
        check_live_blocks(&heap, &live)?;
        check(&heap).map_err(|error| TestCaseError::fail(format!("integrity: {error}")))?;
        let stats = heap.stats();
        prop_assert_eq!(stats.allocations, live.len());
        prop_assert_eq!(
            stats.requested,
            live.iter().map(|b| b.layout.size()).sum::<usize>()
        );
        prop_assert!(stats.used <= stats.total && stats.peak_used >= stats.used);
    }

    // A pointer from elsewhere is refused.
    let mut outside = 0u64;
    let foreign = heap.deallocate(NonNull::from(&mut outside).cast(), Layout::new::<u64>());
    prop_assert!(
        matches!(foreign, Err(HeapError::ForeignPointer { .. })),
        "foreign pointer: {:?}",
        foreign
    );

    for block in live.drain(..) {
        prop_assert!(holds_fill(&block, block.layout.size()));
        heap.deallocate(block.pointer, block.layout)
            .map_err(|e| TestCaseError::fail(format!("free: {e}")))?;
    }
    if let Some(settle) = settle {
        settle(&mut heap);
    }
    let end = heap.stats();
    // A heap's own bookkeeping (the exact-fit heap's bitmap) stays used.
    prop_assert_eq!(end.used, initial.used);
    prop_assert_eq!(end.allocations, 0);
    prop_assert_eq!(
        end.free_blocks,
        initial.free_blocks,
        "not back to the initial free blocks"
    );
    prop_assert_eq!(end.total, initial.total);
    check(&heap).map_err(|error| TestCaseError::fail(format!("integrity: {error}")))?;
    drop(heap);
    drop(arenas);
    Ok(())
}

/// The statistics of a fresh heap of `len` bytes grown by `growths`, in
/// an arena of `limit`: what a grown heap must come back to once
/// everything is freed.
fn grown_stats<H: Inspect + Default>(
    len: usize, limit: usize, growths: &[usize],
    extend_top: unsafe fn(&mut H, usize) -> Result<(), HeapError>,
) -> Result<HeapStats, TestCaseError> {
    let arena = Arena::new(limit);
    let mut heap = H::default();
    // SAFETY: the arena outlives the heap, which is dropped here, and the
    // growths stayed within `limit` when the heap under test made them.
    unsafe {
        heap.add_region(arena.start(), len)
            .map_err(|e| TestCaseError::fail(format!("add_region: {e}")))?;
        for &bytes in growths {
            extend_top(&mut heap, bytes)
                .map_err(|e| TestCaseError::fail(format!("extend_top: {e}")))?;
        }
    }
    Ok(heap.stats())
}

/// Says which of the pool's policies a failure happened under.
fn in_fit(fit: Fit, error: TestCaseError) -> TestCaseError {
    TestCaseError::fail(format!("{} fit: {error}", fit.name()))
}

fn check_live_blocks<H: Inspect>(heap: &H, live: &[Live]) -> Result<(), TestCaseError> {
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(live.len());
    for block in live {
        let address = block.pointer.as_ptr() as usize;
        prop_assert_eq!(address % block.layout.align(), 0, "misaligned block");
        let usable = heap
            .usable_size(block.pointer)
            .map_err(|e| TestCaseError::fail(format!("usable_size: {e}")))?;
        prop_assert!(
            usable >= block.layout.size(),
            "usable_size {} < {}",
            usable,
            block.layout.size()
        );
        spans.push((address, address + block.layout.size().max(1)));
    }
    spans.sort_unstable();
    for pair in spans.windows(2) {
        prop_assert!(
            pair[0].1 <= pair[1].0,
            "live blocks overlap: {:x?} and {:x?}",
            pair[0],
            pair[1]
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn buddy_heap_matches_the_model(
        len in prop_oneof![Just(65536usize), Just(4096 * 5 + 2016), Just(8192)],
        operations in prop::collection::vec(operation(), 1..120),
    ) {
        run_against_model(BuddyHeap::new(), BuddyHeap::check_integrity, len, Growth::Regions, &operations, None)?;
    }

    #[test]
    fn buddy_heap_grown_at_the_top_matches_the_model(
        len in prop_oneof![Just(4096usize), Just(4096 + 992), Just(32)],
        operations in prop::collection::vec(operation(), 1..120),
    ) {
        let growth = at_the_top(256 * 1024);
        run_against_model(BuddyHeap::new(), BuddyHeap::check_integrity, len, growth, &operations, None)?;
    }

    #[test]
    fn pool_heap_matches_the_model(
        len in prop_oneof![Just(65536usize), Just(5000), Just(8192)],
        operations in prop::collection::vec(operation(), 1..120),
    ) {
        // The same operations under each placement policy.
        for fit in Fit::ALL {
            run_against_model(PoolHeap::with_fit(fit), PoolHeap::check_integrity, len, Growth::Regions, &operations, None)
                .map_err(|error| in_fit(fit, error))?;
        }
    }

    #[test]
    fn bump_heap_matches_the_model(
        len in prop_oneof![Just(65536usize), Just(8192)],
        operations in prop::collection::vec(operation(), 1..120),
    ) {
        run_against_model(BumpHeap::new(), |_| Ok(()), len, Growth::Regions, &operations, None)?;
    }

    #[test]
    fn slabs_over_the_buddy_heap_match_the_model(
        len in prop_oneof![Just(65536usize), Just(4096 * 5 + 2016), Just(8192)],
        operations in prop::collection::vec(operation(), 1..120),
    ) {
        let settle: Settle<SlabHeap<BuddyHeap>> = |heap| { heap.release_empty_slabs(); };
        run_against_model(SlabHeap::default(), Inspect::check_integrity, len, Growth::Regions, &operations, Some(settle))?;
    }

    #[test]
    fn slabs_over_a_growing_buddy_heap_match_the_model(
        len in prop_oneof![Just(4096usize), Just(4096 + 992)],
        operations in prop::collection::vec(operation(), 1..120),
    ) {
        let settle: Settle<SlabHeap<BuddyHeap>> = |heap| { heap.release_empty_slabs(); };
        let growth = at_the_top(256 * 1024);
        run_against_model(SlabHeap::default(), Inspect::check_integrity, len, growth, &operations, Some(settle))?;
    }

    #[test]
    fn slabs_over_the_pool_match_the_model(
        len in prop_oneof![Just(65536usize), Just(20000)],
        operations in prop::collection::vec(operation(), 1..120),
    ) {
        let settle: Settle<SlabHeap<PoolHeap>> = |heap| { heap.release_empty_slabs(); };
        for fit in Fit::ALL {
            let heap = SlabHeap::new(PoolHeap::with_fit(fit), true);
            run_against_model(heap, Inspect::check_integrity, len, Growth::Regions, &operations, Some(settle))
                .map_err(|error| in_fit(fit, error))?;
        }
    }

    #[test]
    fn the_kernel_stack_in_full_debug_mode_matches_the_model(
        len in prop_oneof![Just(65536usize), Just(4096 * 5 + 2016)],
        operations in prop::collection::vec(operation(), 1..120),
    ) {
        type Stack = DebugHeap<SlabHeap<BuddyHeap>>;
        let settle: Settle<Stack> = |heap| {
            heap.flush_quarantine();
            heap.beneath_mut().release_empty_slabs();
        };
        // The model frees every block twice on purpose: only double frees
        // may be reported.
        let check: Check<Stack> = |heap| match heap.bugs_by_kind() {
            [0, 0, _] => heap.check_integrity(),
            _ => panic!("a correct program was reported: {:?}", heap.bugs_found()),
        };
        prop_assert_eq!(Stack::default().mode(), DebugMode::Full);
        run_against_model(Stack::default(), check, len, Growth::Regions, &operations, Some(settle))?;
    }
}
