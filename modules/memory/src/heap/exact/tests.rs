//! The exact-fit heap's unit tests: trimming, pieces, the bitmap, and the
//! errors a trimmed allocation must still catch.

use super::bitmap::Start;
use super::*;
use crate::heap::buddy::aligned_blocks;
use crate::heap::model_tests::{at_the_top, operation, run_against_model, Arena, Growth, Settle};
use crate::heap::SlabHeap;
use crate::heap::{BlockInfo, Grow, Heap, HeapError, Inspect, MAX_ALIGN};
use core::alloc::Layout;
use core::ptr::NonNull;
use proptest::prelude::*;

fn heap_over(arena: &Arena) -> ExactHeap {
    let mut heap = ExactHeap::new();
    // SAFETY: the arena outlives the heap in every test.
    unsafe { heap.add_region(arena.start(), arena.len()) }.unwrap();
    heap
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 1).unwrap()
}

/// The blocks `heapmap` would show: (offset from the region, size, free).
fn blocks(heap: &ExactHeap, start: usize) -> Vec<(usize, usize, bool)> {
    let mut seen = Vec::new();
    heap.for_each_block(&mut |block: BlockInfo| {
        seen.push((block.start - start, block.size, block.free))
    });
    seen
}

/// What a request of `size` keeps: header and payload, to the granule.
fn kept(size: usize) -> usize {
    (HEADER_SIZE + size).next_multiple_of(GRANULE)
}

#[test]
fn header_and_granule_on_i686() {
    if cfg!(target_pointer_width = "32") {
        assert_eq!((HEADER_SIZE, GRANULE), (16, 32));
    }
}

#[test]
fn the_bitmap_is_the_first_block_and_the_rest_is_free() {
    let arena = Arena::new(1 << 16);
    let heap = heap_over(&arena);
    heap.check_integrity().unwrap();
    let seen = blocks(&heap, arena.start());
    let bitmap = ExactHeap::bitmap_block((1 << 16) / GRANULE);
    assert_eq!(seen[0], (0, bitmap, false), "the bitmap's own block");
    assert!(seen[1..].iter().all(|&(_, _, free)| free));
    assert_eq!(seen.iter().map(|b| b.1).sum::<usize>(), 1 << 16);
    let stats = heap.stats();
    assert_eq!((stats.used, stats.allocations), (bitmap, 0));
}

/// The chapter's example: 5000 bytes keep 5000 + header, rounded to the
/// granule; the rest of the 8 KiB block comes back as the blocks that tile
/// it, each twice the one before. (Trimming alone: `allocate` would first
/// try a run of smaller blocks.)
#[test]
fn trimming_keeps_the_request_and_gives_back_the_tail() {
    let arena = Arena::new(1 << 16);
    let mut heap = heap_over(&arena);
    let before = heap.stats();
    let order = ExactHeap::order_for_length(kept(5000));
    let (block, region, found) = heap.take_free(order).unwrap();
    heap.trim(region, block, found, kept(5000));
    let start = arena.start();
    let seen = blocks(&heap, start);
    let at = seen.iter().position(|b| b.0 == block - start).unwrap();
    assert_eq!(seen[at], (block - start, kept(5000), false));
    // The blocks after it, up to the end of the block it came from.
    let size = 1 << found;
    let tail: Vec<_> = seen[at + 1..]
        .iter()
        .take_while(|b| b.0 < block - start + size)
        .copied()
        .collect();
    let expected: Vec<_> = aligned_blocks(kept(5000), size)
        .map(|(offset, order)| (block - start + offset, 1 << order, true))
        .collect();
    assert_eq!(tail, expected);
    if GRANULE == 32 && size == 8192 {
        let sizes: Vec<_> = tail.iter().map(|b| b.1).collect();
        assert_eq!(sizes, [32, 64, 1024, 2048]);
    }
    heap.check_integrity().unwrap();
    heap.release(region, block, block + kept(5000)).unwrap();
    heap.check_integrity().unwrap();
    assert_eq!(heap.stats().free_blocks, before.free_blocks, "merged back");
}

/// Through `allocate`: the request keeps its size wherever it lands, and
/// freeing it restores the free blocks exactly.
#[test]
fn an_allocation_keeps_its_size_and_merges_back() {
    let arena = Arena::new(1 << 16);
    let mut heap = heap_over(&arena);
    let before = heap.stats();
    let pointer = heap.allocate(layout(5000)).unwrap();
    assert_eq!(heap.length_of(pointer), Ok(kept(5000)));
    assert_eq!(heap.usable_size(pointer), Ok(kept(5000) - HEADER_SIZE));
    heap.check_integrity().unwrap();
    heap.deallocate(pointer, layout(5000)).unwrap();
    heap.check_integrity().unwrap();
    assert_eq!(heap.stats().free_blocks, before.free_blocks);
}

/// A run: blocks that lie end to end but are not buddies serve a request
/// none of them could serve alone.
#[test]
fn a_run_of_small_free_blocks_serves_a_larger_request() {
    let arena = Arena::new(1 << 16);
    let mut heap = heap_over(&arena);
    // Fill everything with small blocks, then free a stretch of them: it
    // comes back as blocks of several orders, none of 4 KiB or more.
    let small = layout(GRANULE - HEADER_SIZE);
    let mut live = Vec::new();
    while let Ok(pointer) = heap.allocate(small) {
        live.push(pointer);
    }
    live.sort_by_key(|pointer| pointer.as_ptr() as usize);
    let stretch = 3000 / GRANULE + 8;
    let first = live.len() / 2 + 3;
    for pointer in live.drain(first..first + stretch) {
        heap.deallocate(pointer, small).unwrap();
    }
    heap.check_integrity().unwrap();
    assert!(heap.stats().largest_free < 4096);
    let request = layout(3000);
    let pointer = heap.allocate(request).expect("a run is long enough");
    heap.check_integrity().unwrap();
    heap.deallocate(pointer, request).unwrap();
    for pointer in live {
        heap.deallocate(pointer, small).unwrap();
    }
    heap.check_integrity().unwrap();
}

#[test]
fn waste_is_less_than_a_granule_for_every_size() {
    let arena = Arena::new(1 << 20);
    let mut heap = heap_over(&arena);
    for size in (1..20_000).step_by(97) {
        let pointer = heap.allocate(layout(size)).unwrap();
        let length = heap.length_of(pointer).unwrap();
        assert!(length >= HEADER_SIZE + size && length - (HEADER_SIZE + size) < GRANULE);
        heap.deallocate(pointer, layout(size)).unwrap();
    }
    heap.check_integrity().unwrap();
}

#[test]
fn a_double_free_of_a_trimmed_block_is_caught_and_changes_nothing() {
    let arena = Arena::new(1 << 16);
    let mut heap = heap_over(&arena);
    let keep = heap.allocate(layout(100)).unwrap();
    let pointer = heap.allocate(layout(5000)).unwrap();
    heap.deallocate(pointer, layout(5000)).unwrap();
    let before = heap.stats();
    assert_eq!(
        heap.deallocate(pointer, layout(5000)),
        Err(HeapError::DoubleFree {
            address: pointer.as_ptr() as usize
        })
    );
    assert_eq!(heap.stats(), before);
    heap.check_integrity().unwrap();
    heap.deallocate(keep, layout(100)).unwrap();
}

/// A pointer to the second piece of an allocation, with a perfect copy of
/// a used header before it: the bitmap knows no block starts there.
#[test]
fn a_pointer_into_a_trimmed_allocation_is_refused_even_behind_a_forged_header() {
    let arena = Arena::new(1 << 16);
    let mut heap = heap_over(&arena);
    let pointer = heap.allocate(layout(5000)).unwrap();
    let block = pointer.as_ptr() as usize - HEADER_SIZE;
    let second_piece = block + 4096;
    heap.write_used(second_piece, GRANULE);
    let inside = NonNull::new((second_piece + HEADER_SIZE) as *mut u8).unwrap();
    let before = heap.stats();
    assert_eq!(
        heap.deallocate(inside, layout(16)),
        Err(HeapError::InvalidPointer {
            address: inside.as_ptr() as usize
        })
    );
    assert_eq!(
        heap.usable_size(inside).map(|_| ()),
        Err(HeapError::InvalidPointer {
            address: inside.as_ptr() as usize
        })
    );
    assert_eq!(heap.stats(), before);
    heap.deallocate(pointer, layout(5000)).unwrap();
    heap.check_integrity().unwrap();
}

/// Writing one byte past the allocation (an overflow) breaks the header of
/// the first free block of the tail. Freeing the allocation must notice it
/// before merging, and leave everything as it was.
#[test]
fn a_corrupted_tail_header_stops_the_free_before_anything_changes() {
    let arena = Arena::new(1 << 16);
    let mut heap = heap_over(&arena);
    let pointer = heap.allocate(layout(5000)).unwrap();
    let block = pointer.as_ptr() as usize - HEADER_SIZE;
    let tail = block + kept(5000);
    let region = heap.regions.find(tail).unwrap();
    assert_eq!(heap.start_at(region, tail), Start::Free);
    let usable = heap.usable_size(pointer).unwrap();
    // SAFETY: the byte after the usable part is the tail block's header,
    // inside the arena: the overflow a buggy program would make.
    unsafe { pointer.as_ptr().add(usable).write(0xAA) };
    let before = heap.stats();
    assert_eq!(
        heap.deallocate(pointer, layout(5000)),
        Err(HeapError::CorruptHeader { address: tail })
    );
    assert_eq!(heap.stats(), before);
    assert_eq!(heap.usable_size(pointer), Ok(usable), "still allocated");
    assert_eq!(
        heap.check_integrity(),
        Err(HeapError::CorruptHeader { address: tail })
    );
}

#[test]
fn foreign_and_misaligned_pointers_are_refused() {
    let arena = Arena::new(1 << 16);
    let mut heap = heap_over(&arena);
    let pointer = heap.allocate(layout(64)).unwrap();
    let mut outside = 0u64;
    let foreign = NonNull::from(&mut outside).cast::<u8>();
    assert!(matches!(
        heap.deallocate(foreign, layout(8)),
        Err(HeapError::ForeignPointer { .. })
    ));
    let shifted = NonNull::new(pointer.as_ptr().wrapping_add(HEADER_SIZE)).unwrap();
    assert!(matches!(
        heap.deallocate(shifted, layout(8)),
        Err(HeapError::InvalidPointer { .. })
    ));
    heap.deallocate(pointer, layout(64)).unwrap();
    heap.check_integrity().unwrap();
}

#[test]
fn alignment_up_to_a_page_is_honoured_and_freed() {
    let arena = Arena::new(1 << 18);
    let mut heap = heap_over(&arena);
    let before = heap.stats();
    let mut live = Vec::new();
    for shift in 0..=12 {
        let layout = Layout::from_size_align(100 + shift, 1 << shift).unwrap();
        let pointer = heap.allocate(layout).unwrap();
        assert!((pointer.as_ptr() as usize).is_multiple_of(1 << shift));
        assert!(heap.usable_size(pointer).unwrap() >= layout.size());
        live.push((pointer, layout));
    }
    heap.check_integrity().unwrap();
    for (pointer, layout) in live {
        heap.deallocate(pointer, layout).unwrap();
    }
    assert_eq!(heap.stats().free_blocks, before.free_blocks);
}

/// Growing in place takes free memory after the allocation's end, whatever
/// its alignment: 5000 bytes become 7000 without moving, although the
/// block's upper buddy (the next 8 KiB) is not involved at all.
#[test]
fn realloc_grows_into_the_free_memory_after_the_end() {
    let arena = Arena::new(1 << 16);
    let mut heap = heap_over(&arena);
    let pointer = heap.allocate(layout(5000)).unwrap();
    // SAFETY: 5000 bytes are usable.
    unsafe { pointer.as_ptr().write_bytes(7, 5000) };
    let grown = heap.reallocate(pointer, layout(5000), 7000).unwrap();
    assert_eq!(grown, pointer, "in place");
    assert_eq!(heap.length_of(grown), Ok(kept(7000)));
    // SAFETY: the first 5000 bytes were kept.
    let bytes = unsafe { core::slice::from_raw_parts(grown.as_ptr(), 5000) };
    assert!(bytes.iter().all(|&byte| byte == 7));
    heap.check_integrity().unwrap();
    // Shrinking gives the end back, and it merges with what follows.
    let shrunk = heap.reallocate(grown, layout(7000), 100).unwrap();
    assert_eq!(shrunk, pointer);
    assert_eq!(heap.length_of(shrunk), Ok(kept(100)));
    heap.check_integrity().unwrap();
    // Blocked by a neighbour: it moves. (Small blocks are taken smallest
    // first, so one of them soon lands right after the allocation.)
    let end = shrunk.as_ptr() as usize - HEADER_SIZE + kept(100);
    let lands_at_end = |heap: &mut ExactHeap| {
        let pointer = heap.allocate(layout(10)).unwrap();
        pointer.as_ptr() as usize - HEADER_SIZE == end
    };
    assert!(
        (0..100).any(|_| lands_at_end(&mut heap)),
        "a neighbour at the end"
    );
    let moved = heap.reallocate(shrunk, layout(100), 2000).unwrap();
    assert_ne!(moved, shrunk);
    heap.check_integrity().unwrap();
}

/// The bitmap covers the region it was built for; when the region grows
/// past that, a new one twice the size is built at the top and the old one
/// freed. Blocks allocated before keep working.
#[test]
fn growing_past_the_bitmap_moves_it() {
    let limit = 1 << 20;
    let arena = Arena::new(limit);
    let mut heap = ExactHeap::new();
    // SAFETY: the arena outlives the heap; growth stays inside it.
    unsafe { heap.add_region(arena.start(), 8192) }.unwrap();
    let first = heap.allocate(layout(1000)).unwrap();
    let old_bitmap = heap.bitmaps[0].block;
    let big = layout(100_000);
    assert!(matches!(
        heap.allocate(big),
        Err(HeapError::OutOfMemory { .. })
    ));
    let bytes = heap.growth_for(big).unwrap();
    assert!(8192 + bytes <= limit);
    // SAFETY: inside the arena.
    unsafe { heap.extend_top(bytes) }.unwrap();
    assert_ne!(heap.bitmaps[0].block, old_bitmap, "moved");
    assert!(heap.bitmaps[0].granules >= 2 * (8192 + bytes) / GRANULE);
    assert_eq!(heap.stats().total, 8192 + bytes);
    heap.check_integrity().unwrap();
    let pointer = heap.allocate(big).unwrap();
    heap.check_integrity().unwrap();
    heap.deallocate(first, layout(1000)).unwrap();
    heap.deallocate(pointer, big).unwrap();
    heap.check_integrity().unwrap();
    assert_eq!(
        heap.stats().used,
        ExactHeap::bitmap_block(heap.bitmaps[0].granules)
    );
}

#[test]
fn a_region_too_small_for_its_bitmap_is_refused() {
    let arena = Arena::new(4096);
    let mut heap = ExactHeap::new();
    // SAFETY: the arena outlives the heap.
    let result = unsafe { heap.add_region(arena.start(), GRANULE) };
    assert!(matches!(result, Err(HeapError::BadRegion { .. })));
    assert_eq!(heap.stats().regions, 0);
}

#[test]
fn out_of_memory_changes_nothing() {
    let arena = Arena::new(1 << 14);
    let mut heap = heap_over(&arena);
    let before = heap.stats();
    assert!(matches!(
        heap.allocate(layout(1 << 14)),
        Err(HeapError::OutOfMemory { .. })
    ));
    assert_eq!(heap.stats(), before);
    heap.check_integrity().unwrap();
}

/// The slabs ask for `page_block` and need it to fill exactly one page. A
/// power-of-two length is never served from a run, which may start
/// anywhere, even when runs are there to take.
#[test]
fn a_page_block_always_fills_one_page() {
    let arena = Arena::new(1 << 18);
    let mut heap = heap_over(&arena);
    let small = layout(100);
    let scattered: Vec<_> = (0..50).map(|_| heap.allocate(small).unwrap()).collect();
    for pointer in scattered.iter().step_by(2) {
        heap.deallocate(*pointer, small).unwrap();
    }
    let page = heap.page_block();
    for _ in 0..10 {
        let pointer = heap.allocate(page).unwrap();
        let block = pointer.as_ptr() as usize - HEADER_SIZE;
        assert!(block.is_multiple_of(MAX_ALIGN), "{block:#x}");
        assert_eq!(heap.length_of(pointer), Ok(MAX_ALIGN));
    }
    heap.check_integrity().unwrap();
}

/// A size no region can hold is refused, whatever address arithmetic it
/// would take, and the block stays as it was.
#[test]
fn an_impossible_reallocation_is_refused_and_changes_nothing() {
    let arena = Arena::new(1 << 16);
    let mut heap = heap_over(&arena);
    let pointer = heap.allocate(layout(100)).unwrap();
    let before = heap.stats();
    for size in [usize::MAX / 2, usize::MAX - 4096, 1 << 20] {
        assert!(matches!(
            heap.reallocate(pointer, layout(100), size),
            Err(HeapError::OutOfMemory { .. })
        ));
        assert_eq!(heap.stats(), before);
    }
    heap.check_integrity().unwrap();
    heap.deallocate(pointer, layout(100)).unwrap();
}

/// Growing the top frees the new bytes, which merge with the free block
/// below. If that block's header is corrupt, the growth is refused and
/// everything is as it was, the bitmap included (this growth moves it): a
/// grower must be able to trust the error.
#[test]
fn growth_over_a_corrupt_neighbour_is_refused_and_undone() {
    let arena = Arena::new(1 << 16);
    let mut heap = ExactHeap::new();
    // SAFETY: the arena outlives the heap; growth stays inside it.
    unsafe { heap.add_region(arena.start(), 12288) }.unwrap();
    // The last free block is 4 KiB at 8 KiB; growing to 32 KiB frees a
    // 4 KiB block at 12 KiB first, its buddy.
    let mut top_block = 0;
    heap.for_each_block(&mut |block: BlockInfo| {
        if block.free {
            top_block = block.start;
        }
    });
    assert_eq!(top_block, arena.start() + 8192);
    // SAFETY: the free block's header, inside the arena: the corruption a
    // buggy program would cause.
    unsafe { (top_block as *mut u8).write(0x55) };
    let before = heap.stats();
    let bitmap = heap.bitmaps[0];
    // SAFETY: inside the arena.
    let grown = unsafe { heap.extend_top(20480) };
    assert_eq!(grown, Err(HeapError::CorruptHeader { address: top_block }));
    assert_eq!(heap.stats(), before);
    assert_eq!(heap.regions.get(0).1, arena.start() + 12288);
    assert_eq!(
        (heap.bitmaps[0].block, heap.bitmaps[0].granules),
        (bitmap.block, bitmap.granules),
        "the old bitmap is back"
    );
    let pointer = heap.allocate(layout(100)).expect("the heap still works");
    heap.deallocate(pointer, layout(100)).unwrap();
}

// The exact-fit heap against the model of `model_tests.rs`: random
// allocate, free and reallocate (and growth at the top), contents kept, no
// overlap, a double free refused, everything back at the end.
proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn exact_heap_matches_the_model(
        len in prop_oneof![Just(65536usize), Just(4096 * 5 + 2016), Just(8192)],
        operations in prop::collection::vec(operation(), 1..120),
    ) {
        run_against_model(ExactHeap::new(), ExactHeap::check_integrity, len, Growth::Regions, &operations, None)?;
    }

    #[test]
    fn exact_heap_grown_at_the_top_matches_the_model(
        len in prop_oneof![Just(4096usize), Just(4096 + 992), Just(1024)],
        operations in prop::collection::vec(operation(), 1..120),
    ) {
        let growth = at_the_top(256 * 1024);
        run_against_model(ExactHeap::new(), ExactHeap::check_integrity, len, growth, &operations, None)?;
    }

    #[test]
    fn slabs_over_a_growing_exact_heap_match_the_model(
        len in prop_oneof![Just(4096usize), Just(4096 + 992)],
        operations in prop::collection::vec(operation(), 1..120),
    ) {
        let settle: Settle<SlabHeap<ExactHeap>> = |heap| { heap.release_empty_slabs(); };
        let growth = at_the_top(256 * 1024);
        let heap = SlabHeap::new(ExactHeap::new(), true);
        run_against_model(heap, Inspect::check_integrity, len, growth, &operations, Some(settle))?;
    }
}
